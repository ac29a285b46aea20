"""The daily quota and the rate limit hold exactly for a tenant served by several `mktows serve`
processes on one database, as behind a load balancer: calls answered by either process count
once, a call refused by either counts toward nothing."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from support.inprocess import in_process_server
from support.pg import backends, database_url
from support.server import TEST_LIMITS, Server, running_server
from support.soap import TEST_KEY, TEST_USER, assert_fault, call, check_fault_shape, success

from mktows.runtime.quota_day import quota_day
from mktows.store.database import Database
from mktows.store.tables import call_counters, programs
from mktows.testing import ServerFactory

LIST_MOBJECTS = "<ns1:paramsListMObjects/>"
INSTANCE = {"api_users": [{"user_id": TEST_USER, "encryption_key": TEST_KEY}]}


CLONED = {
    "api_users": INSTANCE["api_users"],
    "programs": [
        {"name": "Template", "lists": ["L"], "campaigns": [{"name": "Batch", "smart_list": [{"member_of_list": "L"}]}]}
    ],
}


@contextlib.contextmanager
def two_servers(
    start: ServerFactory, backend: str, workdir, instance: dict = INSTANCE, **env: str
) -> Iterator[tuple[Server, Server]]:
    """Two server processes on one fresh database, with the marketo profile and these values
    (the suite's generous test limits overridden)."""
    settings = {
        "MKTOWS_LIMITS_PROFILE": "marketo",
        "MKTOWS_MAX_CONCURRENCY": "",
        "MKTOWS_WORKERS": "0",
        **env,
    }
    with contextlib.ExitStack() as stack:
        db_url = database_url(backend, workdir, stack, "mktows_limits_shared")
        first = stack.enter_context(running_server(start, db_url, workdir / "a", instance=instance, env=settings))
        second = stack.enter_context(running_server(start, db_url, workdir / "b", instance=instance, env=settings))
        yield first, second


def outcome(server: Server) -> int:
    """0 for a served call, else the fault code."""
    resp = call(server.endpoint("2_9"), LIST_MOBJECTS)
    if resp.status_code == 200:
        return 0
    return check_fault_shape(resp).code


def start_of_a_second() -> None:
    """Wait for the start of the next wall-clock second, so that a burst stays in one window."""
    time.sleep(math.ceil(time.time()) - time.time() + 0.02)


@pytest.mark.parametrize("backend", backends())
def test_the_rate_limit_holds_across_processes(backend, tmp_path, mktows_start):
    env = {"MKTOWS_DAILY_QUOTA": "1000", "MKTOWS_RATE_LIMIT_CALLS": "10", "MKTOWS_RATE_LIMIT_SECONDS": "60"}
    with two_servers(mktows_start, backend, tmp_path, **env) as servers:
        start_of_a_second()
        served = [outcome(servers[i % 2]) for i in range(10)]
        assert served == [0] * 10  # five from each process
        for i in range(6):  # the window is full for both, and refusals do not fill it further
            fault = assert_fault(call(servers[i % 2].endpoint("2_9"), LIST_MOBJECTS), 20023)
            assert "More than 10 calls in 60 seconds; retry in" in fault.message


@pytest.mark.parametrize("backend", backends())
def test_the_daily_quota_holds_across_processes_and_refusals_cost_nothing(backend, tmp_path, mktows_start):
    """A client hammering both processes through a short rate window gets exactly its daily
    quota of served calls: its many rate refusals spend none of it."""
    env = {"MKTOWS_DAILY_QUOTA": "20", "MKTOWS_RATE_LIMIT_CALLS": "8", "MKTOWS_RATE_LIMIT_SECONDS": "1"}
    with two_servers(mktows_start, backend, tmp_path, **env) as servers:
        served = refused_by_rate = 0
        deadline = time.monotonic() + 15
        i = 0
        while time.monotonic() < deadline:
            code = outcome(servers[i % 2])
            i += 1
            if code == 20015:
                break
            assert code in (0, 20023), code
            served += code == 0
            refused_by_rate += code == 20023
        assert served == 20
        assert refused_by_rate > 0  # the rate limit did refuse calls on the way
        for server in servers:  # the quota is spent for both processes
            fault = assert_fault(call(server.endpoint("2_9"), LIST_MOBJECTS), 20015)
            assert "Daily quota of 20 calls used up" in fault.message


def clone_call(server: Server, name: str) -> int:
    """0 when scheduleCampaign cloned the template into `name`, else the fault code."""
    body = (
        "<ns1:paramsScheduleCampaign><programName>Template</programName><campaignName>Batch</campaignName>"
        f"<cloneToProgramName>{name}</cloneToProgramName></ns1:paramsScheduleCampaign>"
    )
    resp = call(server.endpoint("3_1"), body)
    return 0 if resp.status_code == 200 else check_fault_shape(resp).code


@pytest.mark.parametrize("backend", backends())
def test_the_clone_limit_holds_for_calls_at_once_on_two_processes(backend, tmp_path, mktows_start):
    env = {"MKTOWS_LIMITS_PROFILE": "self-hosted", "MKTOWS_MAX_CLONES_PER_DAY": "3"}
    with two_servers(mktows_start, backend, tmp_path, CLONED, **env) as servers:
        names = [f"Clone {i}" for i in range(10)]
        with ThreadPoolExecutor(len(names)) as pool:
            codes = list(pool.map(lambda i: clone_call(servers[i % 2], names[i]), range(len(names))))
        assert sorted(codes) == [0] * 3 + [20015] * 7
        made = [name for name, code in zip(names, codes, strict=True) if code == 0]
        db = Database(servers[0].db_url)  # the clones made exist, the refused ones were never created
        try:
            with db.read() as conn:
                cloned = conn.execute(select(programs.c.name).where(programs.c.name.like("Clone %"))).scalars()
                assert sorted(cloned) == sorted(made)
        finally:
            db.dispose()


def counted_rows(srv) -> int:
    with srv.engine.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(call_counters)).scalar_one())


@pytest.mark.in_process
def test_the_self_hosted_default_counts_nothing_in_the_database(tmp_path):
    cleared = {name: "" for name in TEST_LIMITS}
    with in_process_server(tmp_path, env={**cleared, "MKTOWS_WORKERS": "0"}) as srv:
        for _ in range(5):
            success(call(srv.endpoint("2_9"), LIST_MOBJECTS), "listMObjects")  # a slot is free again
        assert srv.app.state.limits.counters is None
        assert counted_rows(srv) == 0


@pytest.mark.in_process
def test_a_quota_alone_is_counted_in_the_database(tmp_path):
    env = {
        "MKTOWS_DAILY_QUOTA": "3",
        "MKTOWS_RATE_LIMIT_CALLS": "",
        "MKTOWS_MAX_CONCURRENCY": "",
        "MKTOWS_WORKERS": "0",
    }
    with in_process_server(tmp_path, env=env) as srv:
        for _ in range(3):
            success(call(srv.endpoint("2_9"), LIST_MOBJECTS), "listMObjects")  # a slot is free again
        assert_fault(call(srv.endpoint("2_9"), LIST_MOBJECTS), 20015)
        assert srv.app.state.limits.counters.used_today(quota_day(datetime.now(UTC))) == 3


@pytest.mark.in_process
def test_a_call_the_counters_could_not_count_gives_its_slot_back(tmp_path):
    env = {"MKTOWS_LIMITS_PROFILE": "marketo", "MKTOWS_MAX_CONCURRENCY": "", "MKTOWS_WORKERS": "0"}
    with in_process_server(tmp_path, env=env) as srv:
        with srv.engine.db.write() as conn:
            call_counters.drop(conn)
        for _ in range(12):  # more than the 10 slots: none may be kept by a failed count
            resp = call(srv.endpoint("2_9"), LIST_MOBJECTS)
            assert resp.status_code == 500
        with srv.engine.db.write() as conn:
            call_counters.create(conn)
        success(call(srv.endpoint("2_9"), LIST_MOBJECTS), "listMObjects")  # a slot is free again
