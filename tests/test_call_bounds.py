"""What one call may cost: values no longer than their field, a ceiling on leads per
syncMultipleLeads, pages that end early rather than grow without bound, and other calls
served while the largest allowed sync runs. Through zeep and suds: the page budget on a
server of its own (MKTOWS_MAX_PAGE_BYTES), the rest on the session's servers."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.clients import LeadApi, attr_map, items, lead_apis, next_second, utcnow
from support.pg import backends, database_url
from support.server import Server, running_server

PAGE_BYTES = 200_000
CLIENTS = [("zeep", "3_1"), ("suds", "2_2")]


@pytest.fixture(scope="module", params=backends())
def budget_server(request, tmp_path_factory, mktows_session_start) -> Iterator[Server]:
    """A server whose pages hold at most PAGE_BYTES of lead values."""
    with contextlib.ExitStack() as stack:
        workdir: Path = tmp_path_factory.mktemp(f"bounds-{request.param}")
        db_url = database_url(request.param, workdir, stack, "mktows_cb")
        env = {"MKTOWS_MAX_PAGE_BYTES": str(PAGE_BYTES)}
        yield stack.enter_context(running_server(mktows_session_start, db_url, workdir, env=env))


@pytest.fixture(scope="module")
def budget_apis(budget_server) -> dict[str, LeadApi]:
    return lead_apis(budget_server, CLIENTS)


@pytest.fixture(params=[k for k, _ in CLIENTS])
def budget_api(request, budget_apis) -> LeadApi:
    return budget_apis[request.param]


@pytest.fixture
def apis(lead_api) -> dict[str, LeadApi]:
    return {kind: lead_api(kind, version) for kind, version in CLIENTS}


@pytest.fixture(params=[k for k, _ in CLIENTS])
def api(request, apis) -> LeadApi:
    return apis[request.param]


def _email(tag: str = "") -> str:
    return f"b-{tag}-{uuid.uuid4().hex[:10]}@mktows-test.example.com"


def test_a_value_longer_than_its_field_is_refused_naming_the_field(api):
    email = _email("long")
    fault = api.fault("syncLead", leadRecord=api.lead_record(email, {"FirstName": "x" * 256}), returnLead=False)
    assert fault.code == 20110 and "FirstName" in fault.message and "255" in fault.message
    assert api.fault("getLead", leadKey={"keyType": "EMAIL", "keyValue": email}).code == 20103, "nothing created"

    address = "a" * 65535  # a text area holds 65,535 characters
    lead = api.create_lead(email, {"Address": address})
    assert attr_map(api.lead_records(api.get_lead("IDNUM", str(lead)))[0])["Address"] == address
    res = api.call(
        "syncMultipleLeads",
        leadRecordList={
            "leadRecord": [
                api.lead_record(email, {"Address": address + "a"}),
                api.lead_record(_email("ok"), {"FirstName": "Fine"}),
            ]
        },
    )
    first, second = items(res, "syncStatusList", "syncStatus")
    assert first["status"] == "FAILED" and "Address" in first["error"] and "65535" in first["error"]
    assert second["status"] == "CREATED"


def test_sync_multiple_leads_above_the_ceiling_is_refused_whole(api):
    tag = uuid.uuid4().hex[:8]
    records = [api.lead_record(f"ceiling-{tag}-{i}@mktows-test.example.com") for i in range(1001)]
    fault = api.fault("syncMultipleLeads", leadRecordList={"leadRecord": records})
    assert fault.code == 20110 and "at most 1000" in fault.message
    assert (
        api.fault("getLead", leadKey={"keyType": "EMAIL", "keyValue": f"ceiling-{tag}-0@mktows-test.example.com"}).code
        == 20103
    )


@pytest.mark.slow
def test_a_page_of_large_leads_ends_early_and_the_stream_loses_nothing(budget_api):
    api = budget_api
    next_second()  # a stream of this test's leads only
    start = utcnow()
    big = "v" * 60_000
    created = []
    for _ in range(3):
        res = api.call(
            "syncMultipleLeads",
            leadRecordList={"leadRecord": [api.lead_record(_email("big"), {"Address": big}) for _ in range(5)]},
        )
        created += [int(s["leadId"]) for s in items(res, "syncStatusList", "syncStatus")]
    next_second()
    seen: list[int] = []
    position = None
    for _ in range(50):
        page = api.call(
            "getMultipleLeads",
            leadSelector=api.update_selector(start, utcnow()),
            streamPosition=position,
            batchSize=1000,
        )
        records = items(page, "leadRecordList", "leadRecord")
        assert 1 <= len(records) <= PAGE_BYTES // 60_000 + 1
        seen += [int(r["Id"]) for r in records]
        if not page["remainingCount"]:
            break
        position = page["newStreamPosition"]
    assert seen == created


def test_other_calls_are_served_while_the_largest_sync_runs(apis):
    api = apis["zeep"]
    known = api.create_lead(_email("bystander"))
    errors: list[BaseException] = []
    done = threading.Event()

    def big_syncs() -> None:
        try:
            for _ in range(3):
                api.call(
                    "syncMultipleLeads",
                    leadRecordList={
                        "leadRecord": [
                            api.lead_record(_email("max"), {"FirstName": "Bulk", "City": "Lyon"}) for _ in range(1000)
                        ]
                    },
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=big_syncs)
    writer.start()
    other = apis["suds"]
    finished = 0
    while not done.is_set() and finished < 20:
        assert other.get_lead("IDNUM", str(known))["count"] == 1
        other.sync_lead(_email("meanwhile"), {"FirstName": "Meanwhile"})
        finished += 1
    writer.join(300)
    assert not errors and not writer.is_alive()
    assert finished >= 1


@pytest.mark.slow
def test_the_window_of_a_stream_is_not_the_page_budget(budget_api):
    """A narrow window still pages by batchSize when the values are small."""
    api = budget_api
    next_second()
    start = utcnow()
    res = api.call(
        "syncMultipleLeads",
        leadRecordList={"leadRecord": [api.lead_record(_email("small"), {"FirstName": "S"}) for _ in range(30)]},
    )
    assert len(items(res, "syncStatusList", "syncStatus")) == 30
    next_second()
    page = api.call(
        "getMultipleLeads", leadSelector=api.update_selector(start, start + dt.timedelta(minutes=5)), batchSize=1000
    )
    assert int(page["returnCount"]) == 30
