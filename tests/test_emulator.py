"""The emulator control API (/_mktows/, docs/emulator.md) against a real `mktows serve --emulator`,
driven by zeep clients and raw HTTP, on each backend: reset, state, outbox, the clock (a
scheduled campaign, a Wait step), fault injection (a Marketo fault, an HTTP status, latency, a
dropped connection), snapshots (SQLite; refused on PostgreSQL), and a recording replayed by
`mktows stub`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from collections.abc import Iterator

import httpx
import pytest
import requests
from support.clients import LeadApi, make_zeep_client
from support.mailchecks import wait_for
from support.pg import backends, database_url
from support.server import INSTANCE, Server, running_server
from support.soap import TEST_KEY

from mktows.testing.process import running_mktows

PROGRAM = "Emulated Program"
LIST = "Emulated List"
CLIENT_VERSION = "2_9"

EMULATED_INSTANCE = {
    **INSTANCE,
    "programs": [
        *INSTANCE["programs"],
        {
            "name": PROGRAM,
            "lists": [LIST],
            "emails": [
                {
                    "name": "Hello",
                    "from": {"name": "Emulated", "email": "team@example.com"},
                    "subject": "Hello {{lead.First Name:default=friend}}",
                    "html": "<p>Hello</p>",
                    "text": "Hello",
                },
                {
                    "name": "Later",
                    "from": {"name": "Emulated", "email": "team@example.com"},
                    "subject": "An hour later",
                    "html": "<p>Later</p>",
                    "text": "Later",
                },
            ],
            "campaigns": [
                {"name": "Scheduled Send", "smart_list": [{"member_of_list": LIST}], "flow": [{"send_email": "Hello"}]},
                {
                    "name": "Drip",
                    "trigger": {"campaign_is_requested": ["web_service_api"]},
                    "flow": [{"send_email": "Hello"}, {"wait": {"hours": 1}}, {"send_email": "Later"}],
                },
            ],
        },
    ],
}


@pytest.fixture(scope="module", params=backends())
def emulated(request, tmp_path_factory, mktows_session_start) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp(f"emulated-{request.param}")
    with contextlib.ExitStack() as stack:
        url = database_url(request.param, workdir, stack, "mktows_emu")
        yield stack.enter_context(
            running_server(mktows_session_start, url, workdir, instance=EMULATED_INSTANCE, env={"MKTOWS_EMULATOR": "1"})
        )


@pytest.fixture
def control(emulated) -> Iterator[httpx.Client]:
    """A JSON client of the control API; the instance is reset before each test."""
    with httpx.Client(base_url=emulated.base_url + "/_mktows", timeout=60) as client:
        assert client.post("/reset").json()["reset"] is True
        yield client
        client.delete("/faults")
        client.delete("/record")


@pytest.fixture
def api(emulated, control) -> LeadApi:
    return LeadApi("zeep", make_zeep_client(emulated.endpoint(CLIENT_VERSION)), CLIENT_VERSION)


def key_list(keys: list[tuple[str, str]]) -> dict:
    return {"leadKey": [{"keyType": t, "keyValue": v} for t, v in keys]}


def outbox_subjects(control: httpx.Client) -> list[str]:
    return [m["subject"] for m in control.get("/outbox").json()["items"]]


def test_reset_brings_back_the_instance_file(api, control):
    lead_id = api.create_lead("reset@example.com", {"FirstName": "Rita"})
    leads = control.get("/state", params={"what": "leads"}).json()
    assert [(lead["id"], lead["email"]) for lead in leads["items"]] == [(lead_id, "reset@example.com")]
    assert leads["items"][0]["fields"]["FirstName"] == "Rita"
    assert control.get("/state", params={"what": "activities"}).json()["count"] >= 1
    lists = {row["name"]: row["members"] for row in control.get("/state", params={"what": "lists"}).json()["items"]}
    assert lists[LIST] == 0

    assert control.post("/reset").status_code == 200
    assert control.get("/state", params={"what": "leads"}).json() == {"what": "leads", "count": 0, "items": []}
    assert control.get("/state", params={"what": "activities"}).json()["count"] == 0
    # the instance file's users, lists and campaigns are back: a call works, ids start again
    assert api.create_lead("again@example.com") == 1
    assert LIST in {row["name"] for row in control.get("/state", params={"what": "lists"}).json()["items"]}


def test_state_refuses_unknown_kinds_and_limits(control):
    assert control.get("/state", params={"what": "nope"}).status_code == 400
    assert control.get("/state", params={"what": "leads", "limit": "0"}).status_code == 400
    assert control.get("/state", params={"what": "runs", "limit": "5"}).json()["items"] == []


def test_a_scheduled_campaign_runs_when_the_clock_passes_it(api, control):
    lead_id = api.create_lead("scheduled@example.com", {"FirstName": "Sam"})
    added = api.call(
        "listOperation",
        listOperation="ADDTOLIST",
        listKey={"keyType": "MKTOLISTNAME", "keyValue": LIST},
        listMemberList=key_list([("IDNUM", str(lead_id))]),
    )
    assert added["success"] is True
    run_at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)
    assert api.call("scheduleCampaign", programName=PROGRAM, campaignName="Scheduled Send", campaignRunAt=run_at)[
        "success"
    ]
    time.sleep(1.0)  # workers poll several times: nothing is due yet
    assert outbox_subjects(control) == []
    assert [r["status"] for r in control.get("/state", params={"what": "runs"}).json()["items"]] == ["scheduled"]

    before = dt.datetime.fromisoformat(control.get("/clock").json()["now"])
    moved = control.post("/clock", json={"advance_seconds": 7200}).json()
    assert dt.datetime.fromisoformat(moved["now"]) - before >= dt.timedelta(hours=2)
    assert moved["offset_seconds"] == 7200

    assert wait_for(lambda: outbox_subjects(control), 30, "the scheduled run's email") == ["Hello Sam"]

    def finished_runs() -> list[tuple[str, str]]:  # the run ends just after its last email is queued
        runs = control.get("/state", params={"what": "runs"}).json()["items"]
        return [(r["campaign"], r["status"]) for r in runs if r["status"] != "running"]

    assert wait_for(finished_runs, 30, "the run to end") == [("Scheduled Send", "done")]
    # the emulated time moved on, and signed calls (wall-clock timestamps) still work
    assert api.get_lead("IDNUM", str(lead_id))["count"] == 1

    cleared = control.delete("/outbox").json()
    assert cleared == {"removed": 1}
    assert outbox_subjects(control) == []
    assert control.post("/reset").json()["now"] <= moved["now"]  # reset puts the clock back


def test_a_wait_step_ends_when_the_clock_passes_it(api, control):
    lead_id = api.create_lead("drip@example.com", {"FirstName": "Dora"})
    res = api.call(
        "requestCampaign",
        source="MKTOWS",
        leadList=key_list([("IDNUM", str(lead_id))]),
        programName=PROGRAM,
        campaignName="Drip",
    )
    assert res["success"] is True
    assert wait_for(lambda: outbox_subjects(control), 30, "the first email") == ["Hello Dora"]
    time.sleep(1.0)
    assert outbox_subjects(control) == ["Hello Dora"]  # waiting its hour
    control.post("/clock", json={"set": (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=61)).isoformat()})
    wait_for(lambda: len(outbox_subjects(control)) == 2, 30, "the email after the wait")
    assert outbox_subjects(control) == ["An hour later", "Hello Dora"]  # newest first


def test_the_clock_only_moves_forward(control):
    assert control.post("/clock", json={"advance_seconds": -5}).status_code == 400
    assert control.post("/clock", json={"set": "2001-01-01T00:00:00Z"}).status_code == 400
    assert control.post("/clock", json={}).status_code == 400


def test_an_injected_fault_reaches_a_zeep_client_in_the_vendors_shape(api, control):
    rule = {"operation": "getLead", "fault_code": 20023, "times": 1}
    assert control.post("/faults", json=rule).json()["rules"][0]["operation"] == "getLead"
    lead_id = api.create_lead("fault@example.com")  # syncLead: not matched
    _, fault = api.call_or_fault("getLead", leadKey={"keyType": "IDNUM", "keyValue": str(lead_id)})
    assert fault is not None and fault.code == 20023
    assert control.get("/faults").json()["rules"] == []  # fired its one time
    assert api.get_lead("IDNUM", str(lead_id))["count"] == 1


def test_http_status_latency_and_dropped_connections(emulated, control):
    endpoint = emulated.endpoint(CLIENT_VERSION)
    body = (
        '<?xml version="1.0"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:ns1="http://www.marketo.com/mktows/"><SOAP-ENV:Body><ns1:paramsGetLead><leadKey>'
        "<keyType>IDNUM</keyType><keyValue>1</keyValue></leadKey></ns1:paramsGetLead></SOAP-ENV:Body>"
        "</SOAP-ENV:Envelope>"
    )
    headers = {"Content-Type": "text/xml; charset=UTF-8"}
    control.post("/faults", json={"operation": "*", "http_status": 503, "times": 1})
    assert httpx.post(endpoint, content=body, headers=headers).status_code == 503

    control.post("/faults", json={"operation": "getLead", "latency_ms": 600, "times": 1})
    started = time.monotonic()
    slow = httpx.post(endpoint, content=body, headers=headers)
    assert time.monotonic() - started >= 0.6
    assert slow.status_code == 500  # answered as usual afterwards: unsigned, so 20014
    assert b"20014" in slow.content

    control.post("/faults", json={"operation": "getLead", "drop_connection": True, "times": 1})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.post(endpoint, content=body, headers=headers)
    assert httpx.post(endpoint, content=body, headers=headers).status_code == 500  # the server lives on


def test_a_bad_fault_rule_is_refused(control):
    assert control.post("/faults", json={"operation": "getLead"}).status_code == 400
    assert control.post("/faults", json={"operation": "getLead", "fault_code": 12345}).status_code == 400
    assert (
        control.post("/faults", json={"operation": "getLead", "probability": 2, "fault_code": 20023}).status_code == 400
    )
    assert control.post("/faults", content=b"[1]").status_code == 400


def test_a_snapshot_restores_the_state_it_saved(emulated, api, control, tmp_path):
    kept = api.create_lead("kept@example.com")
    snapshot = tmp_path / "team.snapshot"
    if emulated.backend == "postgresql":  # pg_dump's business, and the answer says so
        refused = control.post("/snapshot", json={"path": str(snapshot)})
        assert refused.status_code == 409 and "pg_dump" in refused.json()["error"], refused.text
        assert not snapshot.exists()
        return
    saved = control.post("/snapshot", json={"path": str(snapshot)}).json()
    assert saved["bytes"] > 0 and snapshot.is_file()
    api.create_lead("later@example.com")
    control.post("/reset")
    assert control.get("/state", params={"what": "leads"}).json()["count"] == 0

    assert control.post("/restore", json={"path": str(snapshot)}).status_code == 200
    leads = control.get("/state", params={"what": "leads"}).json()["items"]
    assert [lead["email"] for lead in leads] == ["kept@example.com"]
    assert api.get_lead("IDNUM", str(kept))["count"] == 1
    assert control.post("/restore", json={"path": str(tmp_path / "missing")}).status_code == 409


def _answers(api: LeadApi, lead_id: int) -> list:
    got = api.get_lead("IDNUM", str(lead_id))
    missing = api.call_or_fault("getLead", leadKey={"keyType": "IDNUM", "keyValue": "999999"})[1]
    tags = api.call("getTags")
    return [got["count"], got["leadRecordList"]["leadRecord"][0]["Email"], missing.code if missing else None, tags]


def test_a_recording_replayed_by_mktows_stub_gives_the_same_answers(api, control, tmp_path):
    lead_id = api.create_lead("recorded@example.com", {"FirstName": "Rex"})
    recording = tmp_path / "calls.jsonl"
    assert control.post("/record", json={"path": str(recording)}).json()["recording"] is True
    live = _answers(api, lead_id)
    stopped = control.delete("/record").json()
    assert stopped["calls"] == 3
    entries = [json.loads(line) for line in recording.read_text().splitlines()]
    assert [e["operation"] for e in entries] == ["getLead", "getLead", "getTags"]
    assert all(TEST_KEY not in e["request"] and "REDACTED" in e["request"] for e in entries)

    with running_mktows(["stub", str(recording), "--port", "0"]) as stub:
        base_url = stub.ready_match
        stub_api = LeadApi("zeep", make_zeep_client(f"{base_url}/soap/mktows/{CLIENT_VERSION}"), CLIENT_VERSION)
        assert _answers(stub_api, lead_id) == live  # signed anew, at another time: matched all the same
        _, unknown = stub_api.call_or_fault("getLead", leadKey={"keyType": "IDNUM", "keyValue": "424242"})
        assert unknown is not None and unknown.code == 20017
        raw = requests.post(f"{base_url}/soap/mktows/{CLIENT_VERSION}", data=b"not xml", timeout=10)
        assert raw.status_code == 500 and b"20017" in raw.content
