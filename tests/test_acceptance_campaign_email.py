"""End to end: campaigns and imports send personalized email, for real.

A dedicated `mktows serve` (its instance file declares a program with lists, an email and
campaigns) delivers to an aiosmtpd server on 127.0.0.1; every check counts what arrived there.

(a) requestCampaign for 3 leads with a programTokenList override: 3 messages, each with its
    lead's first name and the override; a later run without override shows the program token.
(b) importToList of 1,000 rows with a per-recipient {{my.*}} column, polled to COMPLETE, then
    scheduleCampaign: 1,000 messages, each with its own row's value.
(c) a future campaignRunAt does not run early and does run when due.
(d) SIGKILL in the middle of a 10,000-recipient run, restart: exactly 10,000 messages, nobody twice.
Plus the faults of the five operations, each leaving nothing changed.

(a)-(c) run through zeep and suds clients built from ?WSDL; (d) through zeep.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from support.clients import LeadApi, items, lead_apis, make_zeep_client
from support.inprocess import in_process_server
from support.mailchecks import address, arrived, unconfirmed, wait_for
from support.pg import backends, database_url
from support.server import INSTANCE, Server, running_server
from support.smtp import Received, SmtpSink, smtp_sink
from support.soap import call, success

from mktows.config import Settings
from mktows.store.database import Database
from mktows.store.tables import campaign_runs, jobs, outbox, run_leads

SMTP_CONNECTIONS = Settings().smtp_connections  # a kill loses at most the round in SMTP's hands

PROGRAM = "Issue3 Program"
LIST = "Recipients"
DUE_LIST = "Due List"
CRASH_LIST = "Crash List"
OFFER = "10% off"
CODE = "PROGRAM-CODE"
CLONE_LIMIT = 3
CLIENTS = [("zeep", "3_1"), ("suds", "2_2")]


def instance(smtp_port: int) -> dict:
    return {
        "api_users": INSTANCE["api_users"],
        "lead_fields": INSTANCE["lead_fields"],
        "channels": [{"name": "Webinar", "statuses": ["Invited", "Registered", "Attended"]}],
        "programs": [
            {
                "name": PROGRAM,
                "channel": "Webinar",
                "tokens": {"my.Offer": OFFER, "my.Code": CODE},
                "lists": [LIST, DUE_LIST, CRASH_LIST, "Spare List"],
                "emails": [
                    {
                        "name": "Hello",
                        "from": {"name": "Issue Three", "email": "team@example.com"},
                        "subject": "Hello {{lead.First Name:default=friend}}",
                        "html": "<p>Hi {{lead.First Name:default=friend}}: [{{my.Offer}}] <{{my.Code}}></p>",
                        "text": "Hi {{lead.First Name:default=friend}}: [{{my.Offer}}] <{{my.Code}}>",
                    }
                ],
                "campaigns": [
                    {
                        "name": "Requested",
                        "description": "requested through the API",
                        "trigger": {"campaign_is_requested": ["web_service_api"]},
                        "flow": [{"send_email": "Hello"}],
                    },
                    {
                        "name": "Sales Only",
                        "trigger": {"campaign_is_requested": ["sales_insight"]},
                        "flow": [{"send_email": "Hello"}],
                    },
                    {"name": "Batch Send", "smart_list": [{"member_of_list": LIST}], "flow": [{"send_email": "Hello"}]},
                    {
                        "name": "Due Send",
                        "smart_list": [{"member_of_list": DUE_LIST}],
                        "flow": [{"send_email": "Hello"}],
                    },
                    {
                        "name": "Crash Send",
                        "smart_list": [{"member_of_list": CRASH_LIST}],
                        "flow": [{"send_email": "Hello"}],
                    },
                ],
            },
            {
                "name": "Issue3 Other",
                "lists": ["Other Program List"],
                "campaigns": [
                    {
                        "name": "Other Batch",
                        "smart_list": [{"member_of_list": "Other Program List"}],
                        "flow": [{"send_email": f"{PROGRAM}.Hello"}],
                    }
                ],
            },
        ],
        "smtp_url": f"smtp://127.0.0.1:{smtp_port}",
    }


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as s:
        yield s


@pytest.fixture(scope="module", params=backends())
def campaign_server(request, sink, tmp_path_factory, mktows_session_start) -> Iterator[Server]:
    """A dedicated server with the campaign instance, delivering to the sink."""
    with contextlib.ExitStack() as stack:
        workdir = tmp_path_factory.mktemp(f"issue3-{request.param}")
        db_url = database_url(request.param, workdir, stack, "mktows_i3")
        env = {"MKTOWS_MAX_CLONES_PER_DAY": str(CLONE_LIMIT)}
        with running_server(mktows_session_start, db_url, workdir, instance=instance(sink.port), env=env) as srv:
            yield srv


@pytest.fixture(scope="module")
def apis(campaign_server) -> dict[str, LeadApi]:
    return lead_apis(campaign_server, CLIENTS)


def run_tag() -> str:
    return uuid.uuid4().hex[:8]


# --------------------------------------------------------------------------- helpers


@dataclass
class Mail:
    to: str
    subject: str
    text: str
    html: str


def mail(received: Received) -> Mail:
    msg = received.message
    [to] = received.rcpt_tos
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    return Mail(to.lower(), str(msg["Subject"]), text.get_content() if text else "", html.get_content() if html else "")


def messages_to(sink: SmtpSink, recipients: set[str]) -> list[Mail]:
    return [mail(m) for m in arrived(sink, recipients)]


def wait_messages(sink: SmtpSink, recipients: set[str], count: int, timeout: float = 120) -> list[Mail]:
    wait_for(lambda: len(arrived(sink, recipients)) >= count, timeout, f"{count} messages")
    return messages_to(sink, recipients)


def create_leads(api: LeadApi, tag: str, firsts: list[str]) -> list[tuple[int, str, str]]:
    out = []
    for first in firsts:
        email = f"i3-{tag}-{first.lower()}@issue3.example.com"
        out.append((api.create_lead(email, {"FirstName": first}), email, first))
    return out


def tokens(pairs: dict[str, str]):
    return {"attrib": [{"name": k, "value": v} for k, v in pairs.items()]}


def key_list(keys: list[tuple[str, str]]):
    return {"leadKey": [{"keyType": t, "keyValue": v} for t, v in keys]}


def import_rows(api: LeadApi, list_name: str, header: str, rows: list[str], **kw) -> dict:
    kw.setdefault("importListMode", "UPSERTLEADS")
    kw.setdefault("clearList", False)
    res = api.call(
        "importToList",
        programName=PROGRAM,
        listName=list_name,
        importFileHeader=header,
        importFileRows={"stringItem": rows},
        **kw,
    )
    assert res["importStatus"] in ("PROCESSING", "COMPLETE"), res
    return res


def wait_import(api: LeadApi, list_name: str, timeout: float = 180) -> dict:
    def done():
        st = api.call("getImportToListStatus", programName=PROGRAM, listName=list_name)
        return st if st["status"] == "COMPLETE" else None

    return wait_for(done, timeout, f"the import into {list_name}", interval=0.1)


def activity_count(api: LeadApi, lead_id: int) -> int:
    return len(api.all_activities(lead_id))


# --------------------------------------------------------------------------- (a)


@pytest.mark.parametrize("kind", [k for k, _ in CLIENTS])
def test_a_request_campaign_with_token_override(campaign_server, apis, sink, kind):
    api = apis[kind]
    tag = run_tag()
    leads = create_leads(api, tag, ["Ann", "Bob", "Cid"])
    recipients = {email for _, email, _ in leads}
    override = f"OVERRIDE-{tag}"
    res = api.call(
        "requestCampaign",
        source="MKTOWS",
        leadList=key_list([("EMAIL", leads[0][1]), ("IDNUM", str(leads[1][0])), ("EMAIL", leads[2][1].upper())]),
        programName=PROGRAM,
        campaignName="Requested",
        programTokenList=tokens({"{{my.Offer}}": override}),
    )
    assert res["success"] is True
    wait_messages(sink, recipients, 3)
    time.sleep(0.5)  # a fourth would arrive now
    got = messages_to(sink, recipients)
    assert sorted(m.to for m in got) == sorted(recipients)  # 3 messages, one each
    first_of = {email: first for _, email, first in leads}
    for m in got:
        assert m.subject == f"Hello {first_of[m.to]}"
        assert f"Hi {first_of[m.to]}: [{override}] <{CODE}>" in m.text
        assert f"Hi {first_of[m.to]}: [{override}]" in m.html
        assert OFFER not in m.text

    # the program token is unchanged: a second run (parameter set A, by id) without override
    found = api.call("getCampaignsForSource", source="MKTOWS", name=f"{PROGRAM}.Requested", exactName=True)
    [record] = items(found, "campaignRecordList", "campaignRecord")
    assert record["description"] == "requested through the API"
    res = api.call(
        "requestCampaign",
        source="MKTOWS",
        campaignId=int(record["id"]),
        leadList=key_list([("IDNUM", str(i)) for i, _, _ in leads]),
    )
    assert res["success"] is True
    got = wait_messages(sink, recipients, 6)
    second = [m for m in got if f"[{OFFER}]" in m.text]
    assert sorted(m.to for m in second) == sorted(recipients)
    assert all(override not in m.text for m in second)
    # Request Campaign and Send Email activities carry the campaign
    acts = api.all_activities(leads[0][0])
    names = [a["activityType"] for a in acts]
    assert names.count("Request Campaign") == 2 and names.count("Send Email") == 2, names
    assert all(a["campaign"] == f"{PROGRAM}.Requested" for a in acts if a["activityType"] == "Send Email")


# --------------------------------------------------------------------------- (b)


@pytest.mark.parametrize("kind", [k for k, _ in CLIENTS])
@pytest.mark.slow
def test_b_import_then_schedule_personalizes_each_recipient(campaign_server, apis, sink, kind):
    api = apis[kind]
    tag = run_tag()
    n = 1000
    emails = [f"i3b-{tag}-{i:04d}@issue3.example.com" for i in range(n)]
    rows = [f'{e},Row{i},"code, {tag}-{i:04d}"' for i, e in enumerate(emails)]
    import_rows(api, LIST, "Email Address,First Name,{{my.Code}}", rows, clearList=True, campaignName="Batch Send")
    st = wait_import(api, LIST)
    assert (st["estimatedRows"], st["rowsImported"], st["rowsFailed"], st["rowsIgnored"]) == (n, n, 0, 0)
    assert st["endedTime"] is not None and st["startedTime"] is not None

    started = time.monotonic()
    assert api.call("scheduleCampaign", programName=PROGRAM, campaignName="Batch Send")["success"] is True
    recipients = set(emails)
    wait_for(lambda: arrived(sink, recipients), 120, "the first message", interval=0.02)
    first_at = time.monotonic()
    wait_for(lambda: len(arrived(sink, recipients)) >= n, 300, f"{n} messages", interval=0.02)
    last_at = time.monotonic()
    time.sleep(1)
    got = messages_to(sink, recipients)
    assert len(got) == n and len({m.to for m in got}) == n
    for m in got:
        i = int(m.to.split("-")[-1].split("@")[0])
        assert f"Hi Row{i}: [{OFFER}] <code, {tag}-{i:04d}>" in m.text, m.text
    print(
        f"\n[issue3] {kind}: scheduleCampaign -> {n} messages at the sink in {last_at - started:.1f}s "
        f"({n / (last_at - started):.0f}/s end to end, {(n - 1) / (last_at - first_at):.0f}/s first to last message)"
    )


# --------------------------------------------------------------------------- (c)


@pytest.mark.parametrize("kind", [k for k, _ in CLIENTS])
@pytest.mark.slow
def test_c_future_run_at_waits_until_due(campaign_server, apis, sink, kind):
    api = apis[kind]
    tag = run_tag()
    email = f"i3c-{tag}@issue3.example.com"
    import_rows(api, DUE_LIST, "Email Address,First Name", [f"{email},Due"], clearList=True)
    wait_import(api, DUE_LIST)
    run_at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=4)
    assert api.call("scheduleCampaign", programName=PROGRAM, campaignName="Due Send", campaignRunAt=run_at)["success"]
    time.sleep(max(0.0, run_at.timestamp() - time.time() - 0.5))  # until just before it is due
    assert arrived(sink, {email}) == [], "ran before campaignRunAt"
    wait_for(lambda: arrived(sink, {email}), 60, "the scheduled run", interval=0.05)
    seen_at = time.time()
    assert seen_at >= run_at.timestamp(), f"delivered {run_at.timestamp() - seen_at:.2f}s before campaignRunAt"
    [m] = messages_to(sink, {email})
    assert "Hi Due:" in m.text


# --------------------------------------------------------------------------- (d)


@pytest.mark.parametrize("backend", backends())
@pytest.mark.slow
def test_d_sigkill_mid_run_resumes_without_duplicates(sink, tmp_path, backend, mktows_start):
    total = 10_000
    tag = run_tag()
    emails = [f"i3d-{tag}-{i:05d}@issue3.example.com" for i in range(total)]
    recipients = set(emails)
    with contextlib.ExitStack() as stack:
        db_url = database_url(backend, tmp_path, stack, "mktows_i3")

        def waiting(srv: Server, predicate, timeout: float, what: str, interval: float = 0.2):
            try:
                return wait_for(predicate, timeout, what, interval)
            except AssertionError as exc:
                raise AssertionError(
                    f"{exc}; {len(arrived(sink, recipients))} messages arrived\n{work_state(db_url)}\n"
                    f"--- server output ---\n{srv.output()[-5000:]}"
                ) from None

        with running_server(mktows_start, db_url, tmp_path / "run1", instance=instance(sink.port)) as srv:
            api = LeadApi("zeep", make_zeep_client(srv.endpoint("2_9")), "2_9")
            import_rows(api, CRASH_LIST, "Email Address,First Name", [f"{e},N{i}" for i, e in enumerate(emails)])
            waiting(
                srv,
                lambda: (
                    api.call("getImportToListStatus", programName=PROGRAM, listName=CRASH_LIST)["status"] == "COMPLETE"
                ),
                300,
                "the import",
                0.5,
            )
            t0 = time.monotonic()
            assert api.call("scheduleCampaign", programName=PROGRAM, campaignName="Crash Send")["success"]
            waiting(srv, lambda: len(arrived(sink, recipients)) >= 1500, 300, "the run to be under way", 0.05)
            before_kill = len(arrived(sink, recipients))
            rate = before_kill / (time.monotonic() - t0)
            srv.kill()  # SIGKILL
        assert before_kill < total, "the run finished before the kill; nothing was interrupted"
        with running_server(mktows_start, db_url, tmp_path / "run2", instance=instance(sink.port)) as srv2:
            t1 = time.monotonic()
            # Delivery is at most once: a kill while a round of messages is being handed to
            # SMTP leaves that round marked "delivery unconfirmed", never sent again.
            waiting(
                srv2,
                lambda: len(arrived(sink, recipients)) + len(unconfirmed(db_url)) >= total,
                600,
                f"{total} messages sent or marked unconfirmed",
            )
            after = time.monotonic() - t1
            time.sleep(3)  # anything late would be a duplicate
        got = [address(m) for m in arrived(sink, recipients)]  # (no need to parse 10,000 bodies)
        lost = recipients - set(got)
        assert lost <= unconfirmed(db_url), "somebody was skipped without a word"
        assert len(lost) <= SMTP_CONNECTIONS, f"{len(lost)} messages lost to one kill"
        assert len(got) == len(set(got)), f"{len(got) - len(set(got))} duplicate messages"
        print(
            f"\n[issue3] 10k run: {before_kill} before SIGKILL at {rate:.0f}/s; "
            f"{total - before_kill} after restart in {after:.1f}s ({(total - before_kill) / after:.0f}/s)"
        )


def work_state(db_url: str) -> str:
    """Jobs, runs and outbox rows by status (for a failure message)."""
    db = Database(db_url)
    try:
        with db.read() as conn:
            parts = []
            for table, cols in (
                (jobs, (jobs.c.kind, jobs.c.status)),
                (campaign_runs, (campaign_runs.c.status,)),
                (run_leads, (run_leads.c.status,)),
                (outbox, (outbox.c.status,)),
            ):
                rows = conn.execute(select(*cols, func.count()).group_by(*cols)).all()
                parts.append(f"{table.name}: {[tuple(r) for r in rows]}")
            errors = conn.execute(select(jobs.c.kind, jobs.c.last_error).where(jobs.c.last_error.is_not(None))).all()
            parts.append(f"job errors: {[tuple(r) for r in errors][:5]}")
            return "\n".join(parts)
    finally:
        db.dispose()


# --------------------------------------------------------------------------- faults


def _fault(api: LeadApi, op: str, **kw) -> tuple[int, str]:
    f = api.fault(op, **kw)
    return f.code, f.message


def test_get_campaigns_for_source(campaign_server, apis):
    for api in apis.values():
        names = [
            r["name"]
            for r in items(api.call("getCampaignsForSource", source="MKTOWS"), "campaignRecordList", "campaignRecord")
        ]
        assert f"{PROGRAM}.Requested" in names and names == sorted(names)
        assert not any(n.endswith(("Batch Send", "Sales Only")) for n in names)
        sales = [
            r["name"]
            for r in items(api.call("getCampaignsForSource", source="SALES"), "campaignRecordList", "campaignRecord")
        ]
        assert f"{PROGRAM}.Sales Only" in sales and f"{PROGRAM}.Requested" not in sales
        part = api.call("getCampaignsForSource", source="MKTOWS", name="issue3 program.REQ", exactName=False)
        assert [r["name"] for r in items(part, "campaignRecordList", "campaignRecord")] == [f"{PROGRAM}.Requested"]
        none = api.call("getCampaignsForSource", source="MKTOWS", name="Requested", exactName=True)
        assert none["returnCount"] == 0 and items(none, "campaignRecordList", "campaignRecord") == []
    # the empty list is an empty wrapper, not nil (clients loop over it without a null check)
    body = (
        "<ns1:paramsGetCampaignsForSource><source>MKTOWS</source><name>no such campaign</name>"
        "</ns1:paramsGetCampaignsForSource>"
    )
    el = success(call(campaign_server.endpoint("2_2"), body), "getCampaignsForSource")
    wrapper = el.find("result/campaignRecordList")
    assert (
        wrapper is not None
        and len(wrapper) == 0
        and wrapper.get("{http://www.w3.org/2001/XMLSchema-instance}nil") is None
    )


def test_request_campaign_faults_change_nothing(campaign_server, apis, sink):
    api = apis["zeep"]
    tag = run_tag()
    [(lead_id, email, _)] = create_leads(api, tag, ["Faulty"])
    before = activity_count(api, lead_id)
    campaigns = items(
        api.call("getCampaignsForSource", source="MKTOWS", name=f"{PROGRAM}.Requested", exactName=True),
        "campaignRecordList",
        "campaignRecord",
    )
    cid = int(campaigns[0]["id"])
    keys = key_list([("IDNUM", str(lead_id))])
    t = tokens({"{{my.Offer}}": "x"})
    cases = [
        (dict(campaignId=999999), 20113, "999999"),
        (dict(programName="No Such Program", campaignName="Requested"), 20113, "No Such Program"),
        (dict(programName=PROGRAM, campaignName="No Such Campaign"), 20113, "No Such Campaign"),
        (dict(programName=PROGRAM, campaignName="Batch Send"), 20113, "batch"),
        (dict(programName=PROGRAM, campaignName="Sales Only"), 20113, "Web Service API"),
        (
            dict(campaignId=cid, programName=PROGRAM, campaignName="Requested"),
            20110,
            "campaignId + programName + campaignName",
        ),
        (dict(campaignId=cid, programTokenList=t), 20110, "campaignId + programTokenList"),
        (dict(campaignName="Requested"), 20110, "got campaignName"),
        (dict(programName=PROGRAM), 20110, "got programName"),
        (dict(), 20110, "got none of them"),
    ]
    for kw, code, text in cases:
        got_code, message = _fault(api, "requestCampaign", source="MKTOWS", leadList=keys, **kw)
        assert (got_code, text in message) == (code, True), (kw, got_code, message)
    # SALES may not request a Web Service API campaign
    assert _fault(api, "requestCampaign", source="SALES", campaignId=cid, leadList=keys)[0] == 20113
    # COOKIE keys are refused; unknown leads give 20103
    assert (
        _fault(
            api,
            "requestCampaign",
            source="MKTOWS",
            campaignId=cid,
            leadList=key_list([("IDNUM", str(lead_id)), ("COOKIE", "id:123-ABC-456&token:_mch-x")]),
        )[0]
        == 20102
    )
    code, message = _fault(
        api,
        "requestCampaign",
        source="MKTOWS",
        campaignId=cid,
        leadList=key_list([("EMAIL", f"nobody-{tag}@issue3.example.com")]),
    )
    assert (code, message) == (20103, f"No lead found with EMAIL = nobody-{tag}@issue3.example.com (20103)")
    # only the first 100 keys count: a known lead at position 101 is not reached
    unknown = [("IDNUM", str(900_000_000 + i)) for i in range(100)]
    assert (
        _fault(
            api,
            "requestCampaign",
            source="MKTOWS",
            campaignId=cid,
            leadList=key_list([*unknown, ("IDNUM", str(lead_id))]),
        )[0]
        == 20103
    )
    time.sleep(1)
    assert activity_count(api, lead_id) == before
    assert messages_to(sink, {email}) == []
    # ... while a known lead among the first 100 is queued, unknown ones skipped
    res = api.call(
        "requestCampaign",
        source="MKTOWS",
        campaignId=cid,
        leadList=key_list([*unknown[:50], ("IDNUM", str(lead_id)), *unknown[50:]]),
    )
    assert res["success"] is True
    wait_messages(sink, {email}, 1)


def test_schedule_campaign_faults_and_clones(campaign_server, apis, sink):
    api = apis["zeep"]  # 3_1: declares cloneToProgramName
    cases = [
        (dict(programName="No Such Program", campaignName="Batch Send"), 20113),
        (dict(programName=PROGRAM, campaignName="No Such Campaign"), 20113),
        (dict(programName=PROGRAM, campaignName="Requested"), 20113),  # a trigger campaign
        (dict(programName="Issue3 Other", campaignName="Batch Send"), 20113),  # not in that program
        (dict(programName=PROGRAM, campaignName="Batch Send", cloneToProgramName="Issue3 Other"), 20110),  # taken
    ]
    for kw, code in cases:
        assert _fault(api, "scheduleCampaign", **kw)[0] == code, kw
    tag = run_tag()
    clones = [f"Clone {tag} {i}" for i in range(CLONE_LIMIT + 1)]
    # 1: a 3_1 client puts cloneToProgramName second (schema order)
    assert api.call("scheduleCampaign", programName=PROGRAM, campaignName="Batch Send", cloneToProgramName=clones[0])[
        "success"
    ]
    # 2, 3: the vendor's sample puts it after campaignRunAt; a 2_2 endpoint honours it too
    # (its schema lacks the element, requests are decoded with the union of all versions)
    for version, name in (("2_2", clones[1]), ("3_1", clones[2])):
        body = (
            f"<ns1:paramsScheduleCampaign><programName>{PROGRAM}</programName><campaignName>Due Send</campaignName>"
            f"<campaignRunAt>2030-01-01T00:00:00Z</campaignRunAt><cloneToProgramName>{name}</cloneToProgramName>"
            "</ns1:paramsScheduleCampaign>"
        )
        assert (
            success(call(campaign_server.endpoint(version), body), "scheduleCampaign").findtext("result/success")
            == "true"
        )
    # each clone exists with its lists: importToList into it works
    for name in clones[:CLONE_LIMIT]:
        res = api.call(
            "importToList",
            programName=name,
            listName=LIST,
            importFileHeader="Email Address",
            importFileRows={"stringItem": [f"clone-{tag}@issue3.example.com"]},
            importListMode="UPSERTLEADS",
            clearList=False,
        )
        assert res["importStatus"] in ("PROCESSING", "COMPLETE")
    # a taken name stays 20110; the daily limit (MKTOWS_MAX_CLONES_PER_DAY) counts successful clones only
    assert (
        _fault(api, "scheduleCampaign", programName=PROGRAM, campaignName="Batch Send", cloneToProgramName=clones[0])[0]
        == 20110
    )
    code, message = _fault(
        api, "scheduleCampaign", programName=PROGRAM, campaignName="Batch Send", cloneToProgramName=clones[-1]
    )
    assert code == 20015 and f"{CLONE_LIMIT} calls per day" in message
    # the program named in the refused call was not created
    assert _fault(api, "getImportToListStatus", programName=clones[-1], listName=LIST)[0] == 20111


def test_import_faults_change_nothing(campaign_server, apis):
    api = apis["suds"]
    spare = "Spare List"
    base = dict(
        programName=PROGRAM,
        listName=spare,
        importFileHeader="Email Address",
        importFileRows={"stringItem": ["x@issue3.example.com"]},
        importListMode="UPSERTLEADS",
        clearList=False,
    )
    cases = [
        (dict(programName="No Such Program"), 20113, "No Such Program"),
        (dict(listName="No Such List"), 20111, "No Such List"),
        (dict(campaignName="Other Batch"), 20113, "Other Batch"),  # a campaign of another program
        (dict(importFileHeader="Email Address,{{my.Code}}"), 20109, "{{my.Code}}"),
        (dict(importFileHeader="E-mail,Shoe Size"), 20110, "no Email Address column"),
    ]
    for kw, code, text in cases:
        got_code, message = _fault(api, "importToList", **{**base, **kw})
        assert (got_code, text in message) == (code, True), (kw, got_code, message)
    # nothing was queued for the list
    code, message = _fault(api, "getImportToListStatus", programName=PROGRAM, listName=spare)
    assert (code, message) == (20110, f"No import found for list {PROGRAM}.{spare} (20110)")
    assert _fault(api, "getImportToListStatus", programName=PROGRAM)[0] == 20109
    assert _fault(api, "getImportToListStatus", programName=PROGRAM, listName="No Such List")[0] == 20111
    assert _fault(api, "getImportToListStatus", programName="No Such Program", listName=spare)[0] == 20111


@pytest.mark.in_process
def test_import_while_processing_is_refused_raw_xml(sink, tmp_path):
    """A second import into a list whose import is still PROCESSING: 20110, and the status says
    PROCESSING with a nil endedTime. The app (in process) runs no workers (MKTOWS_WORKERS=0), so
    the first import stays PROCESSING for as long as the test needs."""
    rows = "".join(f"<stringItem>busy-{i}@issue3.example.com,B{i}</stringItem>" for i in range(30))
    body = (
        "<ns1:paramsImportToList><programName>Issue3 Other</programName><importFileHeader>Email Address,First Name"
        f"</importFileHeader><importFileRows>{rows}</importFileRows><importListMode>UPSERTLEADS</importListMode>"
        "<listName>Other Program List</listName></ns1:paramsImportToList>"
    )
    status_body = (
        "<ns1:paramsGetImportToListStatus><programName>issue3 other</programName>"
        "<listName>other program list</listName></ns1:paramsGetImportToListStatus>"
    )
    nil = "{http://www.w3.org/2001/XMLSchema-instance}nil"
    with in_process_server(tmp_path, instance=instance(sink.port), env={"MKTOWS_WORKERS": "0"}) as srv:
        first = success(call(srv.endpoint("2_9"), body), "importToList")
        assert first.findtext("result/importStatus") == "PROCESSING"
        second = call(srv.endpoint("2_9"), body)
        assert second.status_code == 500 and b"<code>20110</code>" in second.content, second.text[:1000]
        assert b"already processing" in second.content
        res = success(call(srv.endpoint("2_9"), status_body), "getImportToListStatus").find("result")
        assert res.findtext("status") == "PROCESSING" and res.findtext("startedTime")
        assert res.find("endedTime").get(nil) == "true" and res.find("estimatedTime").get(nil) == "true"
        assert [res.findtext(n) for n in ("estimatedRows", "rowsImported", "rowsFailed", "rowsIgnored")] == [
            "30",
            "0",
            "0",
            "0",
        ]
        assert res.find("importSummary").get(nil) == "true"
