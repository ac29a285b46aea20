"""Replay every captured client request (tests/fixtures/wire-samples) against /soap/mktows/2_2.

Bytes go over a raw socket with the client's own request headers (spelling, order,
SOAPAction form, Connection), re-signed for `holdout_user` with a fresh timestamp of the
same shape as the captured one. Every success body is validated against the served schema.
The replays, chunked bodies and keep-alive are about the HTTP server, so they run on the real
SQLite server (`sqlite_server`); the documented client quirks are raw XML that the app in
process answers (`asgi_server`).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from lxml import etree
from support.rawhttp import (
    RawConnection,
    RawResponse,
    build_request,
    decode_chunks,
    parse_http_capture,
    resign,
    same_shape_timestamp,
)
from support.soap import HOLDOUT_KEY, HOLDOUT_USER, SOAP_ENV, TNS, auth_header_xml, envelope, post, validator_for

SAMPLES = Path(__file__).parent / "fixtures" / "wire-samples"
PAIRS = sorted(p.stem for p in SAMPLES.glob("*.xml") if (SAMPLES / f"{p.stem}.http").exists())
# The importToList samples import 3 rows into `Seed Program.Seed List` (declared by the
# instance file of support/server.py); one import at a time per list, so each waits for the
# previous one to finish.
IMPORT_STATUS_BODY = (
    "<ns1:paramsGetImportToListStatus><programName>Seed Program</programName><listName>Seed List</listName>"
    "</ns1:paramsGetImportToListStatus>"
)

EMAIL_RE = re.compile(rb"<(?:\w+:)?(?:keyValue|Email)\b[^>]*>([^<]+@holdout\.example\.com)<")


def _op(stem: str) -> str:
    return stem.split("-", 1)[1]


def _sample(stem: str) -> tuple[bytes, str]:
    return (SAMPLES / f"{stem}.xml").read_bytes(), (SAMPLES / f"{stem}.http").read_text(encoding="utf-8")


def _fault_code(resp: RawResponse) -> int | None:
    try:
        env = etree.fromstring(resp.body)
    except etree.XMLSyntaxError:
        return None
    code = env.findtext(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault/detail/{{{TNS}}}serviceException/code")
    return int(code) if code and code.strip().isdigit() else None


def _body_child(resp: RawResponse) -> etree._Element:
    env = etree.fromstring(resp.body)
    return [c for c in env.find(f"{{{SOAP_ENV}}}Body") if isinstance(c.tag, str)][0]


def _assert_success(sqlite_server, resp: RawResponse, op: str) -> etree._Element:
    assert resp.status == 200, f"HTTP {resp.status}: {resp.text[:3000]}"
    assert (resp.header("content-type") or "").replace(" ", "").lower() == "text/xml;charset=utf-8"
    assert resp.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), resp.body[:80]
    child = validator_for(sqlite_server.endpoint("2_2")).validate_envelope(resp.body)
    assert child.tag == f"{{{TNS}}}success{op[0].upper()}{op[1:]}", resp.text[:2000]
    return child


@pytest.fixture(scope="module")
def seeded(sqlite_server):
    """Create the leads the getLead samples look up (by email), once on the real SQLite server."""
    emails: set[str] = set()
    for stem in PAIRS:
        emails.update(m.decode() for m in EMAIL_RE.findall((SAMPLES / f"{stem}.xml").read_bytes()))
    for email in sorted(emails):
        if "-imp" in email:
            continue
        body = (
            f"<ns1:paramsSyncLead><leadRecord><Email>{email}</Email><leadAttributeList><attribute>"
            "<attrName>FirstName</attrName><attrValue>Seeded</attrValue></attribute></leadAttributeList></leadRecord>"
            "<returnLead>false</returnLead></ns1:paramsSyncLead>"
        )
        resp = post(sqlite_server.endpoint("2_2"), envelope(body, auth_header_xml(HOLDOUT_USER, HOLDOUT_KEY)))
        assert resp.status_code == 200, f"seeding {email}: {resp.text[:2000]}"
    return emails


def test_sample_inventory():
    assert len(PAIRS) == 30, PAIRS
    assert {_op(s) for s in PAIRS} == {"getLead", "getLeadChanges", "getMultipleLeads", "importToList", "syncLead"}


def test_same_shape_timestamp():
    for original, suffix in (
        ("2026-11-28T13:55:31+00:00", "+00:00"),
        ("2026-11-28T05:55:32-08:00", "-08:00"),
        ("2026-11-28T13:55:35.286Z", "Z"),
        ("2026-11-28T13:53:34Z", "Z"),
        ("2026-11-28T13:53:34", ""),
    ):
        new = same_shape_timestamp(original)
        assert len(new) == len(original) and new.endswith(suffix), (original, new)


@pytest.mark.parametrize("stem", PAIRS)
def test_replay_sample(sqlite_server, seeded, stem):
    body, http = _sample(stem)
    cap = parse_http_capture(http)
    op = _op(stem)
    if op == "importToList":
        _wait_for_seed_import(sqlite_server)
    new_body = resign(body, HOLDOUT_KEY)
    raw = build_request(cap, "/soap/mktows/2_2", f"127.0.0.1:{sqlite_server.port}", new_body)
    with RawConnection("127.0.0.1", sqlite_server.port) as conn:
        resp = conn.request(raw)
        connection_hdr = (cap.header("connection") or "").lower()
        if "close" in connection_hdr:
            assert conn.closed_by_peer(), "the client asked for Connection: close; the server kept the socket open"

    child = _assert_success(sqlite_server, resp, op)
    if op == "importToList":
        assert child.findtext("result/importStatus") in ("PROCESSING", "COMPLETE")
        result = _wait_for_seed_import(sqlite_server)
        assert result.findtext("estimatedRows") == "3" and result.findtext("rowsImported") == "3"
        return
    if op == "syncLead":
        result = child.find("result")
        assert result.findtext("syncStatus/status") in ("CREATED", "UPDATED")
        rec = result.find("leadRecord")
        sent_email = re.search(rb"<Email[^>]*>([^<]+)</Email>", body).group(1).decode()
        assert rec.findtext("Email") == sent_email
        attrs = {a.findtext("attrName"): a.findtext("attrValue") for a in rec.iterfind("leadAttributeList/attribute")}
        sent = dict(
            re.findall(
                r"<attrName[^>]*>([^<]+)</attrName>(?:<attrType>[^<]*</attrType>)?<attrValue[^>]*>([^<]*)</attrValue>",
                body.decode("utf-8"),
            )
        )
        for k, v in sent.items():
            assert attrs.get(k) == v, f"{k}: sent {v!r}, lead has {attrs.get(k)!r}"
    elif op == "getLead":
        result = child.find("result")
        assert int(result.findtext("count")) >= 1
        wanted = re.search(rb"<keyValue[^>]*>([^<]+)</keyValue>", body).group(1).decode()
        assert all(r.findtext("Email") == wanted for r in result.iterfind("leadRecordList/leadRecord"))
    elif op == "getMultipleLeads":
        result = child.find("result")
        n = int(result.findtext("returnCount"))
        assert n == len(result.findall("leadRecordList/leadRecord")) and n <= 20
        for rec in result.iterfind("leadRecordList/leadRecord"):
            names = {a.findtext("attrName") for a in rec.iterfind("leadAttributeList/attribute")}
            assert names <= {"FirstName", "LastName"}, names
    elif op == "getLeadChanges":
        result = child.find("result")
        assert result.findtext("returnCount") == "0"  # IDNUM 0 names no lead
        assert result.findtext("remainingCount") == "0"


def _wait_for_seed_import(sqlite_server, timeout: float = 60) -> etree._Element | None:
    """The last import into Seed Program.Seed List once it is no longer PROCESSING (None: never imported)."""
    from support.soap import call, success

    deadline = time.monotonic() + timeout
    while True:
        resp = call(sqlite_server.endpoint("2_2"), IMPORT_STATUS_BODY)
        if resp.status_code == 500 and b"<code>20110</code>" in resp.content:
            return None
        success(resp, "getImportToListStatus")
        result = validator_for(sqlite_server.endpoint("2_2")).validate_envelope(resp.content).find("result")
        if result.findtext("status") != "PROCESSING":
            return result
        assert time.monotonic() < deadline, "the import into Seed Program.Seed List never finished"
        time.sleep(0.1)


def test_sync_lead_samples_are_idempotent_updates(sqlite_server, seeded):
    """Replaying a syncLead capture a second time updates the same lead."""
    body, http = _sample("php_soapclient-syncLead")
    cap = parse_http_capture(http)
    ids = []
    for _ in range(2):
        raw = build_request(cap, "/soap/mktows/2_2", f"127.0.0.1:{sqlite_server.port}", resign(body, HOLDOUT_KEY))
        with RawConnection("127.0.0.1", sqlite_server.port) as conn:
            child = _assert_success(sqlite_server, conn.request(raw), "syncLead")
        ids.append(child.findtext("result/leadId"))
        assert child.findtext("result/syncStatus/status") == "UPDATED"
    assert ids[0] == ids[1]


def test_chunked_request_body(sqlite_server, seeded):
    raw = (SAMPLES / "jaxws-getLead-chunked.raw").read_bytes()
    head, _, rest = raw.partition(b"\r\n\r\n")
    cap = parse_http_capture(head.decode("latin-1"))
    assert (cap.header("transfer-encoding") or "").lower() == "chunked"
    chunks = decode_chunks(rest)
    assert len(chunks) >= 2
    whole = b"".join(chunks)
    # keep the client's chunk boundaries: re-sign chunk by chunk (the header sits in one chunk)
    new_chunks = []
    for c in chunks:
        try:
            new_chunks.append(resign(c, HOLDOUT_KEY))
        except ValueError:
            new_chunks.append(c)
    assert b"".join(new_chunks) != whole, "the header was not re-signed"
    request = build_request(cap, "/soap/mktows/2_2", f"127.0.0.1:{sqlite_server.port}", b"", chunks=new_chunks)
    assert b"Content-Length" not in request.split(b"\r\n\r\n")[0]
    with RawConnection("127.0.0.1", sqlite_server.port) as conn:
        resp = conn.request(request)
    child = _assert_success(sqlite_server, resp, "getLead")
    assert int(child.findtext("result/count")) >= 1


def test_keep_alive_several_requests_on_one_socket(sqlite_server, seeded):
    body, http = _sample("zeep-getLead")
    cap = parse_http_capture(http)
    assert (cap.header("connection") or "").lower() == "keep-alive"
    with RawConnection("127.0.0.1", sqlite_server.port) as conn:
        for i in range(5):
            raw = build_request(cap, "/soap/mktows/2_2", f"127.0.0.1:{sqlite_server.port}", resign(body, HOLDOUT_KEY))
            resp = conn.request(raw)
            _assert_success(sqlite_server, resp, "getLead")
            assert "close" not in (resp.header("connection") or "").lower(), f"server closed after request {i + 1}"
        # a fault does not end the connection either
        bad = build_request(cap, "/soap/mktows/2_2", f"127.0.0.1:{sqlite_server.port}", body)  # stale timestamp
        resp = conn.request(bad)
        assert resp.status == 500 and _fault_code(resp) == 20016
        resp = conn.request(
            build_request(cap, "/soap/mktows/2_2", f"127.0.0.1:{sqlite_server.port}", resign(body, HOLDOUT_KEY))
        )
        _assert_success(sqlite_server, resp, "getLead")


def test_keep_alive_with_httpx_client(sqlite_server, seeded):
    body, _ = _sample("node_soap-getLead")
    with httpx.Client(timeout=30) as client:
        for _ in range(5):
            resp = client.post(
                sqlite_server.endpoint("2_2"),
                content=resign(body, HOLDOUT_KEY),
                headers={
                    "Content-Type": "text/xml; charset=utf-8",
                    "SOAPAction": '"http://www.marketo.com/mktows/getLead"',
                },
            )
            assert resp.status_code == 200, resp.text[:2000]
            validator_for(sqlite_server.endpoint("2_2")).validate_envelope(resp.content)


# --------------------------------------------------------------------------- documented client quirks
# Shapes the vendor's own samples and common clients send, as raw XML.


def _call_ok(asgi_server, op: str, body: str, *, version: str = "2_2", header: str | None = None) -> etree._Element:
    from support.soap import call, success

    return success(call(asgi_server.endpoint(version), body, header_xml=header), op)


def _new_lead(asgi_server, unique_email) -> tuple[str, str]:
    email = unique_email("quirk")
    el = _call_ok(
        asgi_server,
        "syncLead",
        f"<ns1:paramsSyncLead><leadRecord><Email>{email}</Email><leadAttributeList><attribute><attrName>FirstName</attrName>"
        "<attrValue>Q</attrValue></attribute></leadAttributeList></leadRecord><returnLead>false</returnLead></ns1:paramsSyncLead>",
    )
    return email, el.findtext("result/leadId")


def test_selector_without_xsi_type_is_inferred(asgi_server, unique_email):
    email, lead_id = _new_lead(asgi_server, unique_email)
    for sel in (
        f"<leadSelector><keyType>EMAIL</keyType><keyValues><stringItem>{email}</stringItem></keyValues></leadSelector>",
        f'<leadSelector xsi:type="LeadKeySelector"><keyType>IDNUM</keyType><keyValues><stringItem>{lead_id}</stringItem></keyValues></leadSelector>',
        f'<leadSelector xmlns:m="{TNS}" xsi:type="m:LeadKeySelector"><m:keyType>IDNUM</m:keyType><m:keyValues><stringItem>{lead_id}</stringItem></m:keyValues></leadSelector>',
    ):
        el = _call_ok(
            asgi_server, "getMultipleLeads", f"<ns1:paramsGetMultipleLeads>{sel}</ns1:paramsGetMultipleLeads>"
        )
        assert el.findtext("result/returnCount") == "1", sel
        assert el.findtext("result/leadRecordList/leadRecord/Email") == email


def test_lowercase_email_element_and_capitalised_boolean(asgi_server, unique_email):
    """Savon turns :email into <email>; the Ruby samples send "True"."""
    email = unique_email("savon")
    el = _call_ok(
        asgi_server,
        "syncLead",
        f"<ns1:paramsSyncLead><leadRecord><email>{email}</email></leadRecord><returnLead>True</returnLead></ns1:paramsSyncLead>",
    )
    assert el.findtext("result/leadRecord/Email") == email


def test_empty_and_nil_request_elements_mean_not_given(asgi_server, unique_email):
    email, lead_id = _new_lead(asgi_server, unique_email)
    el = _call_ok(
        asgi_server,
        "syncLead",
        f'<ns1:paramsSyncLead><leadRecord><Email>{email}</Email><ForeignSysPersonId xsi:nil="true"/></leadRecord>'
        "<returnLead>false</returnLead><marketoCookie></marketoCookie></ns1:paramsSyncLead>",
    )
    assert el.findtext("result/leadId") == lead_id
    el = _call_ok(
        asgi_server,
        "getMultipleLeads",
        '<ns1:paramsGetMultipleLeads><leadSelector xsi:type="ns1:LeadKeySelector"><keyType>IDNUM</keyType>'
        f"<keyValues><stringItem>{lead_id}</stringItem></keyValues></leadSelector>"
        '<streamPosition xsi:nil="true"/><batchSize xsi:nil="true"/><includeAttributes/></ns1:paramsGetMultipleLeads>',
    )
    assert el.findtext("result/returnCount") == "1"


def test_nil_context_header_and_lowercase_workspace(asgi_server, unique_email):
    from support.soap import auth_header_xml

    body = f"<ns1:paramsSyncLead><leadRecord><Email>{unique_email('ws')}</Email></leadRecord><returnLead>false</returnLead></ns1:paramsSyncLead>"
    _call_ok(asgi_server, "syncLead", body, header=auth_header_xml() + '<ns1:MktowsContextHeader xsi:nil="true"/>')
    body = f"<ns1:paramsSyncLead><leadRecord><Email>{unique_email('ws')}</Email></leadRecord><returnLead>false</returnLead></ns1:paramsSyncLead>"
    _call_ok(
        asgi_server,
        "syncLead",
        body,
        header=auth_header_xml()
        + "<ns1:MktowsContextHeader><targetWorkspace>default</targetWorkspace></ns1:MktowsContextHeader>",
    )


@pytest.mark.parametrize(
    "soapaction",
    [
        '"http://www.marketo.com/mktows/listMObjects"',
        "http://www.marketo.com/mktows/listMObjects",
        "",
        '""',
        "http://www.marketo.com/mktows/#paramsListMObjects",
        None,
    ],
)
def test_any_soapaction_form(asgi_server, soapaction):
    from support.soap import envelope, post, success

    headers = {"Content-Type": "text/xml;charset=utf-8"}
    if soapaction is not None:
        headers["SOAPAction"] = soapaction
    success(post(asgi_server.endpoint(), envelope("<ns1:paramsListMObjects/>"), headers), "listMObjects")


@pytest.mark.parametrize(
    "ctype", ["text/xml", "text/xml;charset=UTF-8", "text/xml; charset=utf-8", 'text/xml; charset="utf-8"']
)
def test_content_type_spellings(asgi_server, ctype):
    from support.soap import envelope, post, success

    success(
        post(asgi_server.endpoint(), envelope("<ns1:paramsListMObjects/>"), {"Content-Type": ctype}), "listMObjects"
    )


def test_2_2_request_on_3_1_endpoint_and_3_1_fields_on_2_2(asgi_server, unique_email):
    """Requests are parsed with the union of all versions."""
    email, lead_id = _new_lead(asgi_server, unique_email)
    body = (
        f"<ns1:paramsListOperation><listOperation>ISMEMBEROFLIST</listOperation><listKey><keyType>MKTOLISTNAME</keyType>"
        f"<keyValue>Seed List</keyValue></listKey><listMemberList><leadKey><keyType>IDNUM</keyType><keyValue>{lead_id}</keyValue>"
        "</leadKey></listMemberList><strict>false</strict><skipActivityLog>false</skipActivityLog></ns1:paramsListOperation>"
    )
    _call_ok(asgi_server, "listOperation", body, version="3_1")
    body = (
        f"<ns1:paramsSyncLead><leadRecord><Email>{email}</Email></leadRecord><returnLead>false</returnLead>"
        "<moveCookie>false</moveCookie></ns1:paramsSyncLead>"
    )
    _call_ok(asgi_server, "syncLead", body, version="2_2")


def test_response_datetimes_have_offset_and_no_fraction(asgi_server, unique_email):
    email, lead_id = _new_lead(asgi_server, unique_email)
    el = _call_ok(
        asgi_server,
        "getLeadActivity",
        f"<ns1:paramsGetLeadActivity><leadKey><keyType>IDNUM</keyType><keyValue>{lead_id}</keyValue></leadKey></ns1:paramsGetLeadActivity>",
    )
    stamps = [t.text for t in el.iter("activityDateTime", "latestCreatedAt") if t.text]
    assert stamps
    for s in stamps:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", s), s


def test_skip_activity_log_on_2_2(asgi_server, unique_email):
    from support.soap import call, success

    _, lead_id = _new_lead(asgi_server, unique_email)
    list_name = asgi_server.fresh_list()
    body = (
        f"<ns1:paramsListOperation><listOperation>ADDTOLIST</listOperation><listKey><keyType>MKTOLISTNAME</keyType>"
        f"<keyValue>{list_name}</keyValue></listKey><listMemberList><leadKey><keyType>IDNUM</keyType><keyValue>{lead_id}</keyValue>"
        "</leadKey></listMemberList><skipActivityLog>true</skipActivityLog></ns1:paramsListOperation>"
    )
    assert success(call(asgi_server.endpoint("2_2"), body), "listOperation").findtext("result/success") == "true"
    el = _call_ok(
        asgi_server,
        "getLeadActivity",
        f"<ns1:paramsGetLeadActivity><leadKey><keyType>IDNUM</keyType><keyValue>{lead_id}</keyValue></leadKey></ns1:paramsGetLeadActivity>",
    )
    assert "Add to List" not in [t.text for t in el.iter("activityType")]


def test_clearlist_accepted_on_2_2(asgi_server, unique_email):
    """CLEARLIST (in the stubs of some 2_1/2_2 builds) removes every member."""
    from support.soap import call, success

    ids = [_new_lead(asgi_server, unique_email)[1] for _ in range(2)]
    list_name = asgi_server.fresh_list()

    def op(kind: str, keys: list[str]) -> etree._Element:
        members = "".join(f"<leadKey><keyType>IDNUM</keyType><keyValue>{i}</keyValue></leadKey>" for i in keys)
        body = (
            f"<ns1:paramsListOperation><listOperation>{kind}</listOperation><listKey><keyType>MKTOLISTNAME</keyType>"
            f"<keyValue>{list_name}</keyValue></listKey><listMemberList>{members}</listMemberList></ns1:paramsListOperation>"
        )
        return success(call(asgi_server.endpoint("2_2"), body), "listOperation")

    op("ADDTOLIST", ids)
    op("CLEARLIST", [])
    assert [s.text for s in op("ISMEMBEROFLIST", ids).iter("status")] == ["false", "false"]
