"""Paging leads and lead changes as a nightly sync does, through zeep and suds: a fresh end
date with every page, open-ended "updated since" windows, and the default page sizes.

The long runs use a server of this module's own (one per backend): an open-ended window pages
through every lead the server holds, which on the session's server is every lead of every
test (tens of thousands by then). The default page sizes run first, so that window still
spans several pages of a thousand.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from support.clients import LeadApi, items, make_suds_client, make_zeep_client, next_second, utcnow
from support.pg import backends, database_url
from support.server import Server, running_server

KINDS_VERSIONS = [("zeep", "2_2"), ("zeep", "3_1"), ("suds", "2_2"), ("suds", "3_1")]


@pytest.fixture(params=KINDS_VERSIONS, ids=[f"{k}-{v}" for k, v in KINDS_VERSIONS])
def api(request, lead_api) -> LeadApi:
    return lead_api(*request.param)


@pytest.fixture(scope="module", params=backends())
def streams_server(request, tmp_path_factory, mktows_session_start) -> Iterator[Server]:
    with contextlib.ExitStack() as stack:
        workdir = tmp_path_factory.mktemp(f"streams-{request.param}")
        db_url = database_url(request.param, workdir, stack, "mktows_ls")
        yield stack.enter_context(running_server(mktows_session_start, db_url, workdir))


@pytest.fixture(scope="module")
def stream_apis(streams_server) -> Callable[[str, str], LeadApi]:
    """`stream_apis(kind, version)` -> a LeadApi on this module's server (built once)."""
    cache: dict[tuple[str, str], LeadApi] = {}

    def get(kind: str, version: str) -> LeadApi:
        if (kind, version) not in cache:
            make = make_zeep_client if kind == "zeep" else make_suds_client
            cache[kind, version] = LeadApi(kind, make(streams_server.endpoint(version)), version)
        return cache[kind, version]

    return get


@pytest.fixture(params=KINDS_VERSIONS, ids=[f"{k}-{v}" for k, v in KINDS_VERSIONS])
def stream_api(request, stream_apis) -> LeadApi:
    return stream_apis(*request.param)


def _settle() -> None:
    """Let the clock pass the second the last write happened in: clients send whole seconds."""
    next_second()


def _page(api: LeadApi, selector, position: str | None = None, batch_size: int | None = None) -> dict:
    return api.call("getMultipleLeads", leadSelector=selector, streamPosition=position or None, batchSize=batch_size)


def _ids(result: dict) -> list[int]:
    return [int(r["Id"]) for r in items(result, "leadRecordList", "leadRecord")]


@pytest.mark.slow
def test_a_fresh_end_date_with_every_page_continues_the_stream(stream_api, unique_email):
    api = stream_api
    _settle()  # nothing another test wrote shares this stream's first second
    start = utcnow()
    created = [api.create_lead(unique_email(f"s{i}")) for i in range(5)]
    _settle()

    first = _page(api, api.update_selector(start, utcnow()), batch_size=2)
    seen = _ids(first)
    assert (seen, first["remainingCount"]) == (created[:2], 3)

    late = api.create_lead(unique_email("late"))  # after the first page's end date
    _settle()
    position = first["newStreamPosition"]
    pages = 1
    while position:
        page = _page(api, api.update_selector(start, utcnow()), position, batch_size=2)
        seen += _ids(page)
        pages += 1
        position = page["newStreamPosition"] if page["remainingCount"] else None
        assert pages < 10
    assert seen == created + [late], "no gap, no repeat, and the moved end date reaches the late lead"


@pytest.mark.parametrize("kind", ["zeep", "suds"])
@pytest.mark.slow
def test_default_page_sizes_are_a_thousand(stream_apis, unique_email, kind):
    api = stream_apis(kind, "2_2")
    _settle()
    start = utcnow()
    tag = unique_email("bulk").split("@")[0]
    emails = [f"{tag}-{i}@mktows-test.example.com" for i in range(1001)]
    for part in range(0, len(emails), 300):
        api.call(
            "syncMultipleLeads",
            leadRecordList={"leadRecord": [api.lead_record(e) for e in emails[part : part + 300]]},
        )
    _settle()
    leads = _page(api, api.update_selector(start, utcnow()))
    assert (int(leads["returnCount"]), int(leads["remainingCount"])) == (1000, 1)
    changes = api.call(
        "getLeadChanges",
        startPosition={"oldestCreatedAt": start},
        activityFilter={"includeTypes": {"activityType": ["NewLead"]}},
    )
    assert (int(changes["returnCount"]), int(changes["remainingCount"])) == (1000, 1)


@pytest.mark.slow
def test_updated_since_needs_no_end_date_and_only_two_ends_are_limited(stream_api, unique_email):
    api = stream_api
    lead = api.create_lead(unique_email("since"))
    since = utcnow() - dt.timedelta(days=45)
    _settle()
    found: list[int] = []
    position = None
    for _ in range(1000):
        page = _page(api, api.update_selector(since), position, batch_size=1000)
        found += _ids(page)
        if not page["remainingCount"]:
            break
        position = page["newStreamPosition"]
    assert lead in found
    now = utcnow()
    fault = api.fault("getMultipleLeads", leadSelector=api.update_selector(now - dt.timedelta(days=31), now))
    assert fault.code == 20022 and "30 days" in fault.message


def test_a_position_is_refused_by_another_kind_of_selector_or_when_forged(api, unique_email, fresh_list):
    start = utcnow() - dt.timedelta(seconds=1)
    [api.create_lead(unique_email(f"f{i}")) for i in range(3)]
    _settle()
    position = _page(api, api.update_selector(start), batch_size=1)["newStreamPosition"]
    assert position
    assert (
        api.fault("getMultipleLeads", leadSelector=api.list_selector(fresh_list), streamPosition=position).code == 20122
    )
    body, signature = position.split(".")
    forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + signature
    fault = api.fault("getMultipleLeads", leadSelector=api.update_selector(start), streamPosition=forged)
    assert (fault.code, fault.faultstring) == (20122, "20122 - Bad Stream Position")
