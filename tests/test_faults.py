"""Faults: shape, codes and hostile or broken input, as raw XML to the app in process (`asgi_server`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from support.soap import (
    SOAP_ENV,
    TNS,
    assert_fault,
    auth_header_xml,
    call,
    envelope,
    post,
    success,
)


def _get_lead(key_type: str, value: str) -> str:
    return f"<ns1:paramsGetLead><leadKey><keyType>{key_type}</keyType><keyValue>{value}</keyValue></leadKey></ns1:paramsGetLead>"


def _sync_lead(email: str, attrs: dict[str, str]) -> str:
    a = "".join(f"<attribute><attrName>{k}</attrName><attrValue>{v}</attrValue></attribute>" for k, v in attrs.items())
    return (
        f"<ns1:paramsSyncLead><leadRecord><Email>{email}</Email><leadAttributeList>{a}</leadAttributeList>"
        "</leadRecord><returnLead>false</returnLead></ns1:paramsSyncLead>"
    )


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S+00:00")


# --------------------------------------------------------------------------- shape


def test_fault_shape_exactly_as_the_vendor(asgi_server):
    resp = call(asgi_server.endpoint(), _get_lead("EMAIL", "nobody-at-all@example.invalid"))
    f = assert_fault(resp, 20103)  # checks status 500, content type, declaration, names
    assert f.faultcode.endswith(":Client") or f.faultcode.endswith(":Server")
    # `detail/serviceException` is qualified, its children are not.
    from lxml import etree

    env = etree.fromstring(resp.content)
    exc = env.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault/detail/{{{TNS}}}serviceException")
    assert [c.tag for c in exc] == ["name", "message", "code"]


def test_unknown_lead_20103_exact_texts(asgi_server, unique_email):
    email = unique_email("missing")
    f = assert_fault(call(asgi_server.endpoint(), _get_lead("EMAIL", email)), 20103)
    assert f.faultstring == "20103 - Lead not found"
    assert f.message == f"No lead found with EMAIL = {email} (20103)"


def test_unknown_lead_by_idnum_20103(asgi_server):
    f = assert_fault(call(asgi_server.endpoint(), _get_lead("IDNUM", "987654321")), 20103)
    assert f.message == "No lead found with IDNUM = 987654321 (20103)"


# --------------------------------------------------------------------------- request-level codes


def test_unknown_body_element_20019(asgi_server):
    assert_fault(call(asgi_server.endpoint(), "<ns1:paramsDoSomethingElse><x>1</x></ns1:paramsDoSomethingElse>"), 20019)


def test_body_element_in_foreign_namespace_20019(asgi_server):
    body = '<foo:paramsGetLead xmlns:foo="urn:not-marketo"><leadKey/></foo:paramsGetLead>'
    assert_fault(call(asgi_server.endpoint(), body), 20019)


def test_soapaction_never_decides_dispatch(asgi_server):
    """A wrong SOAPAction must not fault: dispatch is by body element."""
    hdrs = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '"http://www.marketo.com/mktows/deleteMObjects"'}
    success(post(asgi_server.endpoint(), envelope("<ns1:paramsListMObjects/>"), hdrs), "listMObjects")


@pytest.mark.parametrize(
    ("label", "payload", "ctype"),
    [
        ("truncated XML", b'<?xml version="1.0"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="', "text/xml; charset=UTF-8"),
        ("mismatched tags", b"<a><b></a></b>", "text/xml; charset=UTF-8"),
        ("JSON", b'{"leadKey": {"keyType": "EMAIL", "keyValue": "a@b.c"}}', "application/json"),
        ("JSON as text/xml", b'{"leadKey": 1}', "text/xml; charset=UTF-8"),
        ("HTML", b"<!doctype html><html><body><form></form></body></html>", "text/html"),
        (
            "XML without Envelope",
            b'<?xml version="1.0"?><paramsGetLead xmlns="http://www.marketo.com/mktows/"/>',
            "text/xml",
        ),
        (
            "SOAP 1.2 envelope",
            b'<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>'
            b'<ns1:paramsListMObjects xmlns:ns1="http://www.marketo.com/mktows/"/></env:Body></env:Envelope>',
            "application/soap+xml",
        ),
        ("Envelope without Body", f'<S:Envelope xmlns:S="{SOAP_ENV}"><S:Header/></S:Envelope>'.encode(), "text/xml"),
        ("empty body", b"", "text/xml; charset=UTF-8"),
        ("binary junk", bytes(range(256)) * 4, "application/octet-stream"),
    ],
)
def test_not_a_soap_message_is_20012(asgi_server, label, payload, ctype):
    resp = post(asgi_server.endpoint(), payload, {"Content-Type": ctype})
    f = assert_fault(resp, 20012)
    assert "Traceback" not in resp.text and "<html" not in resp.text.lower()
    assert f.faultstring == "20012 - Request Not Understood"


def test_body_with_two_elements_is_not_understood(asgi_server):
    body = "<ns1:paramsListMObjects/><ns1:paramsListMObjects/>"
    assert_fault(call(asgi_server.endpoint(), body), 20012, 20019, 20017)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="http://www.marketo.com/mktows/">
<SOAP-ENV:Header>HEADER</SOAP-ENV:Header>
<SOAP-ENV:Body><ns1:paramsGetLead><leadKey><keyType>EMAIL</keyType><keyValue>&lol9;</keyValue></leadKey></ns1:paramsGetLead></SOAP-ENV:Body>
</SOAP-ENV:Envelope>"""


def test_billion_laughs_is_refused_without_expansion(asgi_server):
    payload = BILLION_LAUGHS.replace(b"HEADER", auth_header_xml().encode())
    resp = post(asgi_server.endpoint(), payload)
    assert_fault(resp)
    assert b"lollollol" not in resp.content
    assert len(resp.content) < 10_000
    success(call(asgi_server.endpoint(), "<ns1:paramsListMObjects/>"), "listMObjects")  # still alive


@pytest.mark.parametrize("target", ["file:///etc/passwd", "http://127.0.0.1:9/xxe"])
def test_external_entity_is_refused_and_not_resolved(asgi_server, target):
    payload = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "{target}">]>'
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:ns1="{TNS}"><SOAP-ENV:Header>{auth_header_xml()}</SOAP-ENV:Header>'
        "<SOAP-ENV:Body><ns1:paramsGetLead><leadKey><keyType>EMAIL</keyType><keyValue>&xxe;</keyValue></leadKey>"
        "</ns1:paramsGetLead></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()
    resp = post(asgi_server.endpoint(), payload)
    assert_fault(resp)
    assert b"root:" not in resp.content


def test_oversize_body_is_a_soap_fault(asgi_server):
    big = "x" * (11 * 1024 * 1024)
    body = (
        '<ns1:paramsGetMultipleLeads><leadSelector xsi:type="ns1:LeadKeySelector"><keyType>EMAIL</keyType>'
        f"<keyValues><stringItem>{big}</stringItem></keyValues></leadSelector></ns1:paramsGetMultipleLeads>"
    )
    resp = call(asgi_server.endpoint(), body)
    f = assert_fault(resp, 20012)
    assert "larger than the limit of 10485760 bytes" in f.message
    success(call(asgi_server.endpoint(), "<ns1:paramsListMObjects/>"), "listMObjects")  # still alive


def test_non_utf8_garbage_in_utf8_document(asgi_server):
    payload = envelope("<ns1:paramsListMObjects/>").replace(
        b"<ns1:paramsListMObjects/>", b"<ns1:paramsGetLead>\xff\xfe</ns1:paramsGetLead>"
    )
    fault = assert_fault(post(asgi_server.endpoint(), payload), 20018)
    assert "encoding" in fault.message


def test_unknown_declared_encoding_is_bad_encoding(asgi_server):
    payload = envelope("<ns1:paramsListMObjects/>").replace(b'encoding="UTF-8"', b'encoding="X-NOPE"', 1)
    assert_fault(post(asgi_server.endpoint(), payload), 20018)


# --------------------------------------------------------------------------- operation-level codes


def test_missing_lead_key_20017_or_20101(asgi_server):
    assert_fault(call(asgi_server.endpoint(), "<ns1:paramsGetLead/>"), 20017, 20101)


def test_empty_lead_key_value(asgi_server):
    assert_fault(call(asgi_server.endpoint(), _get_lead("EMAIL", "")), 20101, 20017, 20103)


def test_non_numeric_idnum_20102(asgi_server):
    f = assert_fault(call(asgi_server.endpoint(), _get_lead("IDNUM", "abc")), 20102)
    assert f.faultstring == "20102 - Lead Key Bad"


def test_unknown_key_type_20102(asgi_server):
    assert_fault(call(asgi_server.endpoint(), _get_lead("SHOESIZE", "42")), 20102, 20017)


def test_batch_size_not_a_number_is_a_fault_not_a_crash(asgi_server):
    body = (
        '<ns1:paramsGetMultipleLeads><leadSelector xsi:type="ns1:LeadKeySelector"><keyType>EMAIL</keyType>'
        "<keyValues><stringItem>a@b.c</stringItem></keyValues></leadSelector><batchSize>abc</batchSize>"
        "</ns1:paramsGetMultipleLeads>"
    )
    resp = call(asgi_server.endpoint(), body)
    assert "Traceback" not in resp.text
    assert_fault(resp, 20017, 20110)


def test_unknown_attribute_in_sync_lead_20105_and_nothing_written(asgi_server, unique_email):
    email = unique_email("pants")
    resp = call(asgi_server.endpoint(), _sync_lead(email, {"FirstName": "Pat", "pants": "blue"}))
    f = assert_fault(resp, 20105)
    assert f.faultstring == "20105 - Unknown lead field"
    assert f.message == "syncLead operation failed: unknown fields for import: pants (20105)"
    assert_fault(call(asgi_server.endpoint(), _get_lead("EMAIL", email)), 20103)


def test_unknown_attribute_in_sync_multiple_leads_20105_and_nothing_written(asgi_server, unique_email):
    e1, e2 = unique_email("ok"), unique_email("bad")
    body = (
        "<ns1:paramsSyncMultipleLeads><leadRecordList>"
        f"<leadRecord><Email>{e1}</Email><leadAttributeList><attribute><attrName>FirstName</attrName><attrValue>A</attrValue></attribute></leadAttributeList></leadRecord>"
        f"<leadRecord><Email>{e2}</Email><leadAttributeList><attribute><attrName>pants</attrName><attrValue>B</attrValue></attribute></leadAttributeList></leadRecord>"
        "</leadRecordList></ns1:paramsSyncMultipleLeads>"
    )
    f = assert_fault(call(asgi_server.endpoint(), body), 20105)
    assert (
        f.message == "syncMultipleLeads operation failed: unknown fields for import: pants (20105)"
    )  # the whole call fails
    for e in (e1, e2):
        assert_fault(call(asgi_server.endpoint(), _get_lead("EMAIL", e)), 20103)


def test_sync_lead_without_any_key_20101(asgi_server):
    body = (
        "<ns1:paramsSyncLead><leadRecord><leadAttributeList><attribute><attrName>FirstName</attrName>"
        "<attrValue>Nokey</attrValue></attribute></leadAttributeList></leadRecord><returnLead>false</returnLead></ns1:paramsSyncLead>"
    )
    assert_fault(call(asgi_server.endpoint(), body), 20101)


def test_sync_lead_without_lead_record_20104(asgi_server):
    assert_fault(
        call(asgi_server.endpoint(), "<ns1:paramsSyncLead><returnLead>false</returnLead></ns1:paramsSyncLead>"),
        20104,
        20017,
    )


def test_sync_lead_unknown_id_20103(asgi_server):
    body = "<ns1:paramsSyncLead><leadRecord><Id>987654320</Id></leadRecord><returnLead>false</returnLead></ns1:paramsSyncLead>"
    assert_fault(call(asgi_server.endpoint(), body), 20103)


def _updated_between(oldest: datetime, latest: datetime | None = None, batch_size: int | None = None) -> str:
    latest_xml = f"<latestUpdatedAt>{_iso(latest)}</latestUpdatedAt>" if latest else ""
    batch_xml = f"<batchSize>{batch_size}</batchSize>" if batch_size else ""
    return (
        '<ns1:paramsGetMultipleLeads><leadSelector xsi:type="ns1:LastUpdateAtSelector">'
        f"{latest_xml}<oldestUpdatedAt>{_iso(oldest)}</oldestUpdatedAt></leadSelector>{batch_xml}"
        "</ns1:paramsGetMultipleLeads>"
    )


def test_get_multiple_leads_window_over_30_days_20022(asgi_server):
    now = datetime.now(UTC)
    f = assert_fault(call(asgi_server.endpoint(), _updated_between(now - timedelta(days=31), now)), 20022)
    assert f.faultstring == "20022 - Time range specified in query filter exceeded limit"


def test_get_multiple_leads_open_window_older_than_30_days_is_not_limited(asgi_server):
    body = _updated_between(datetime.now(UTC) - timedelta(days=45), batch_size=1)
    result = success(call(asgi_server.endpoint(), body), "getMultipleLeads")
    assert int(result.findtext(".//returnCount")) <= 1


def test_get_multiple_leads_window_of_29_days_is_fine(asgi_server):
    now = datetime.now(UTC)
    body = _updated_between(now - timedelta(days=89), now - timedelta(days=60), batch_size=10)
    el = success(call(asgi_server.endpoint(), body), "getMultipleLeads")
    assert el.findtext("result/returnCount") == "0"
    assert el.findtext("result/remainingCount") == "0"


@pytest.mark.parametrize("position", ["garbage", "eyJub3QiOiJ5b3VycyJ9", "%%%", '{"ky":["1"],"os":6}'])
def test_garbage_stream_position_20122(asgi_server, position):
    body = (
        '<ns1:paramsGetMultipleLeads><leadSelector xsi:type="ns1:LeadKeySelector"><keyType>IDNUM</keyType>'
        "<keyValues><stringItem>1</stringItem></keyValues></leadSelector>"
        f"<streamPosition>{position}</streamPosition></ns1:paramsGetMultipleLeads>"
    )
    f = assert_fault(call(asgi_server.endpoint(), body), 20122)
    assert f.faultstring == "20122 - Bad Stream Position"


def test_get_multiple_leads_no_selector(asgi_server):
    assert_fault(
        call(
            asgi_server.endpoint(), "<ns1:paramsGetMultipleLeads><batchSize>5</batchSize></ns1:paramsGetMultipleLeads>"
        ),
        20109,
        20110,
    )


def test_unknown_static_list_20111(asgi_server):
    body = (
        '<ns1:paramsGetMultipleLeads><leadSelector xsi:type="ns1:StaticListSelector">'
        "<staticListName>No Such List Anywhere</staticListName></leadSelector></ns1:paramsGetMultipleLeads>"
    )
    assert_fault(call(asgi_server.endpoint(), body), 20111)


def test_list_operation_unknown_list_20111_and_non_idnum_20102(asgi_server):
    def body(list_name: str, key_type: str) -> str:
        return (
            "<ns1:paramsListOperation><listOperation>ADDTOLIST</listOperation>"
            f"<listKey><keyType>MKTOLISTNAME</keyType><keyValue>{list_name}</keyValue></listKey>"
            f"<listMemberList><leadKey><keyType>{key_type}</keyType><keyValue>1</keyValue></leadKey></listMemberList>"
            "</ns1:paramsListOperation>"
        )

    assert_fault(call(asgi_server.endpoint(), body("No Such List Anywhere", "IDNUM")), 20111)
    assert_fault(call(asgi_server.endpoint(), body("Seed List", "EMAIL")), 20102)


def test_activity_filter_include_and_exclude_together_20110(asgi_server, unique_email):
    email = unique_email()
    success(call(asgi_server.endpoint(), _sync_lead(email, {"FirstName": "F"})), "syncLead")
    body = (
        f"<ns1:paramsGetLeadActivity><leadKey><keyType>EMAIL</keyType><keyValue>{email}</keyValue></leadKey>"
        "<activityFilter><includeTypes><activityType>NewLead</activityType></includeTypes>"
        "<excludeTypes><activityType>ChangeDataValue</activityType></excludeTypes></activityFilter>"
        "</ns1:paramsGetLeadActivity>"
    )
    assert_fault(call(asgi_server.endpoint(), body), 20110)


def test_get_lead_changes_more_than_100_keys_20110(asgi_server):
    keys = "".join(f"<stringItem>{i}</stringItem>" for i in range(1, 102))
    body = (
        f"<ns1:paramsGetLeadChanges><startPosition><oldestCreatedAt>{_iso(datetime.now(UTC))}</oldestCreatedAt></startPosition>"
        f'<leadSelector xsi:type="ns1:LeadKeySelector"><keyType>IDNUM</keyType><keyValues>{keys}</keyValues></leadSelector>'
        "</ns1:paramsGetLeadChanges>"
    )
    assert_fault(call(asgi_server.endpoint(), body), 20110)


def test_describe_unknown_object_20110(asgi_server):
    assert_fault(
        call(
            asgi_server.endpoint(),
            "<ns1:paramsDescribeMObject><objectName>Spaceship</objectName></ns1:paramsDescribeMObject>",
        ),
        20110,
    )


# --------------------------------------------------------------------------- owner keys, foreign ids


def test_unknown_lead_owner_is_20108_not_20103(asgi_server, unique_email):
    """A LEADOWNEREMAIL / SFDCLEADOWNERID key naming no owner is 20108."""
    owner = unique_email("owner")
    email = unique_email("owned")
    success(
        call(asgi_server.endpoint(), _sync_lead(email, {"LeadOwnerEmail": owner, "SFDCLeadOwnerId": "005-" + owner})),
        "syncLead",
    )
    el = success(call(asgi_server.endpoint(), _get_lead("LEADOWNEREMAIL", owner.upper())), "getLead")
    assert [r.findtext("Email") for r in el.iterfind("result/leadRecordList/leadRecord")] == [email]

    ghost = unique_email("ghost-owner")
    f = assert_fault(call(asgi_server.endpoint(), _get_lead("LEADOWNEREMAIL", ghost)), 20108)
    assert f.faultstring == "20108 - Lead Owner Not Found"
    assert f.message == f"No lead owner found with LEADOWNEREMAIL = {ghost} (20108)"
    assert_fault(call(asgi_server.endpoint(), _get_lead("SFDCLEADOWNERID", "005-" + ghost)), 20108)
    body = (
        f"<ns1:paramsGetLeadActivity><leadKey><keyType>LEADOWNEREMAIL</keyType><keyValue>{ghost}</keyValue>"
        "</leadKey></ns1:paramsGetLeadActivity>"
    )
    assert_fault(call(asgi_server.endpoint(), body), 20108)
    # other CRM keys that match nothing stay 20103
    assert_fault(call(asgi_server.endpoint(), _get_lead("SFDCLEADID", "00Q-" + ghost)), 20103)


def test_foreign_sys_person_id_without_type_is_20109_and_nothing_written(asgi_server, unique_email):
    """ForeignSysType must accompany ForeignSysPersonId."""
    email = unique_email("fspi-notype")
    body = (
        f"<ns1:paramsSyncLead><leadRecord><Email>{email}</Email><ForeignSysPersonId>crm-{email}</ForeignSysPersonId>"
        "</leadRecord><returnLead>false</returnLead></ns1:paramsSyncLead>"
    )
    f = assert_fault(call(asgi_server.endpoint(), body), 20109)
    assert "ForeignSysType" in f.message
    assert_fault(call(asgi_server.endpoint(), _get_lead("EMAIL", email)), 20103)
    # the same id given as an attribute needs its type as well
    assert_fault(call(asgi_server.endpoint(), _sync_lead(email, {"ForeignSysPersonId": f"crm-{email}"})), 20109)
    assert_fault(call(asgi_server.endpoint(), _get_lead("EMAIL", email)), 20103)


def test_foreign_sys_type_attribute_must_be_an_enum_value(asgi_server, unique_email):
    """A ForeignSysType outside CUSTOM/SFDC/NETSUITE would be echoed into the typed element."""
    email = unique_email("fst-attr")
    attrs = {"ForeignSysPersonId": f"crm-{email}", "ForeignSysType": "bogus"}
    assert_fault(call(asgi_server.endpoint(), _sync_lead(email, attrs)), 20110)
    assert_fault(call(asgi_server.endpoint(), _get_lead("EMAIL", email)), 20103)
    # a known value in another case is stored in the enum's spelling
    attrs["ForeignSysType"] = "netsuite"
    success(call(asgi_server.endpoint(), _sync_lead(email, attrs)), "syncLead")
    el = success(call(asgi_server.endpoint(), _get_lead("EMAIL", email)), "getLead")  # validated against the schema
    rec = el.find("result/leadRecordList/leadRecord")
    assert rec.findtext("ForeignSysPersonId") == f"crm-{email}" and rec.findtext("ForeignSysType") == "NETSUITE"
