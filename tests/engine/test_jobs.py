"""Durable jobs: enqueue in the caller's transaction, claim with a lease, retry, resume after a crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from mktows import workers
from mktows.engine.campaigns.outbox import DELIVER
from mktows.engine.campaigns.runs import RUN_JOB
from mktows.engine.lists.imports import JOB_KIND
from mktows.runtime import jobs
from mktows.store.database import Database
from mktows.store.tables import jobs as jobs_table

REPO = Path(__file__).resolve().parents[2]


class FakeClock:
    def __init__(self) -> None:
        self.current = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


@pytest.fixture
def calls() -> list[tuple[str, dict[str, Any]]]:
    """Registers test handlers for the test's duration; records what they ran."""
    record: list[tuple[str, dict[str, Any]]] = []
    failures: dict[str, int] = {}

    def ok(database: Database, payload: dict[str, Any]) -> None:
        record.append(("test.ok", payload))

    def flaky(database: Database, payload: dict[str, Any]) -> None:
        record.append(("test.flaky", payload))
        left = failures.setdefault(str(payload), payload.get("fail", 0))
        if left > 0:
            failures[str(payload)] = left - 1
            raise RuntimeError(f"boom {left}")

    jobs.HANDLERS.update({"test.ok": ok, "test.flaky": flaky})
    yield record
    del jobs.HANDLERS["test.ok"], jobs.HANDLERS["test.flaky"]


def job_rows(database: Database) -> list[Any]:
    with database.read() as conn:
        return conn.execute(select(jobs_table).order_by(jobs_table.c.id)).all()


def test_enqueue_is_part_of_the_callers_transaction(database: Database, calls) -> None:
    with pytest.raises(RuntimeError):
        with database.write() as conn:
            jobs.enqueue(conn, "test.ok", {"n": 1})
            raise RuntimeError("roll back")
    assert job_rows(database) == []
    with database.write() as conn:
        job_id = jobs.enqueue(conn, "test.ok", {"n": 2})
    jobs.Workers(database).run_until_idle()
    assert calls == [("test.ok", {"n": 2})]
    (row,) = job_rows(database)
    assert (row.id, row.status, row.attempts, row.locked_by) == (job_id, "done", 1, None)


def test_future_job_waits_until_due(database: Database, calls) -> None:
    clock = FakeClock()
    with database.write() as conn:
        jobs.enqueue(conn, "test.ok", {"later": True}, run_at=clock() + timedelta(minutes=5))
    workers = jobs.Workers(database, clock=clock)
    workers.run_until_idle()
    assert calls == []
    clock.advance(301)
    workers.run_until_idle()
    assert calls == [("test.ok", {"later": True})]


def test_failure_retries_with_backoff_then_succeeds(database: Database, calls) -> None:
    with database.write() as conn:
        jobs.enqueue(conn, "test.flaky", {"fail": 2})
    clock = FakeClock()
    workers = jobs.Workers(database, clock=clock, backoff=lambda n: 10 * 2 ** (n - 1))
    workers.run_until_idle()
    (row,) = job_rows(database)
    assert (row.status, row.attempts) == ("queued", 1)
    assert "boom 2" in row.last_error
    assert row.run_at == clock() + timedelta(seconds=10)
    workers.run_until_idle()  # not due yet
    assert len(calls) == 1
    clock.advance(10)
    workers.run_until_idle()
    (row,) = job_rows(database)
    assert (row.status, row.attempts, row.run_at) == ("queued", 2, clock() + timedelta(seconds=20))
    clock.advance(20)
    workers.run_until_idle()
    (row,) = job_rows(database)
    assert (row.status, row.attempts) == ("done", 3)
    assert len(calls) == 3


def test_gives_up_after_max_attempts(database: Database, calls) -> None:
    with database.write() as conn:
        jobs.enqueue(conn, "test.flaky", {"fail": 99})
        jobs.enqueue(conn, "no.such.kind", {})
    jobs.Workers(database, max_attempts=3, backoff=lambda n: 0).run_until_idle()
    flaky, unknown = job_rows(database)
    assert (flaky.status, flaky.attempts) == ("failed", 3)
    assert flaky.last_error == "RuntimeError: boom 97"
    assert (unknown.status, unknown.attempts) == ("failed", 3)
    assert "no handler for job kind 'no.such.kind'" in unknown.last_error


def test_requeue_hands_the_job_back_without_counting(database: Database) -> None:
    seen: list[int] = []

    def once(database: Database, payload: dict[str, Any]) -> None:
        ctx = jobs.current_job()
        assert ctx is not None
        seen.append(ctx.attempts)
        if len(seen) == 1:
            raise jobs.Requeue

    jobs.HANDLERS["test.requeue"] = once
    try:
        with database.write() as conn:
            jobs.enqueue(conn, "test.requeue", {})
        jobs.Workers(database).run_until_idle()
    finally:
        del jobs.HANDLERS["test.requeue"]
    assert seen == [1, 1]
    assert [(r.status, r.attempts) for r in job_rows(database)] == [("done", 1)]


def test_expired_lease_of_another_host_is_taken_again(database: Database, calls) -> None:
    clock = FakeClock()
    with database.write() as conn:
        job_id = jobs.enqueue(conn, "test.ok", {"n": 1})
        conn.execute(
            update(jobs_table)
            .where(jobs_table.c.id == job_id)
            .values(
                status="running",
                attempts=1,
                locked_by="elsewhere:123:abcd:0.0",
                locked_until=clock() + timedelta(seconds=30),
            )
        )
    workers = jobs.Workers(database, clock=clock)
    workers.run_until_idle()
    assert calls == []  # the lease still holds: that worker may be alive
    clock.advance(31)
    workers.run_until_idle()
    assert calls == [("test.ok", {"n": 1})]
    (row,) = job_rows(database)
    assert (row.status, row.attempts) == ("done", 2)


def test_lease_of_a_dead_local_process_ends_at_start(database: Database, calls) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    owner = f"{jobs._HOST}:{dead.pid}:deadbeef:0.0"
    with database.write() as conn:
        job_id = jobs.enqueue(conn, "test.ok", {"n": 1})
        conn.execute(
            update(jobs_table)
            .where(jobs_table.c.id == job_id)
            .values(
                status="running", attempts=1, locked_by=owner, locked_until=datetime.now(UTC) + timedelta(seconds=30)
            )
        )
    jobs.Workers(database).run_until_idle()
    assert calls == [("test.ok", {"n": 1})]


@pytest.mark.slow
def test_heartbeat_keeps_a_long_job_to_its_worker(database: Database) -> None:
    runs: list[float] = []

    def slow(database: Database, payload: dict[str, Any]) -> None:
        runs.append(time.monotonic())
        time.sleep(1.5)

    jobs.HANDLERS["test.slow"] = slow
    first = jobs.Workers(database, threads=1, lease_seconds=0.6, poll_seconds=0.05)
    second = jobs.Workers(database, threads=1, lease_seconds=0.6, poll_seconds=0.05)
    try:
        with database.write() as conn:
            jobs.enqueue(conn, "test.slow", {})
        first.start()
        while not runs:
            time.sleep(0.02)
        second.start()  # polls the whole time the first one runs; the renewed lease keeps it off
        deadline = time.monotonic() + 10
        while job_rows(database)[0].status != "done" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        first.stop()
        second.stop()
        del jobs.HANDLERS["test.slow"]
    assert len(runs) == 1
    assert job_rows(database)[0].status == "done"


def test_worker_threads_run_jobs_enqueued_while_running(database: Database, calls) -> None:
    workers = jobs.Workers(database, threads=2, poll_seconds=0.05)
    workers.start()
    try:
        for n in range(10):
            with database.write() as conn:
                jobs.enqueue(conn, "test.ok", {"n": n})
        deadline = time.monotonic() + 10
        while len(calls) < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        workers.stop()
    assert sorted(p["n"] for _, p in calls) == list(range(10))
    assert {r.status for r in job_rows(database)} == {"done"}


CRASHER = """
import sys, time
from pathlib import Path
from mktows.runtime import jobs
from mktows.store.database import Database

@jobs.job_handler("test.block")
def block(database, payload):
    Path(sys.argv[2]).write_text("started")
    time.sleep(600)

jobs.Workers(Database(sys.argv[1]), threads=1, poll_seconds=0.05).start()
time.sleep(600)
"""


def test_job_of_a_killed_process_runs_again_on_restart(database: Database, tmp_path: Path) -> None:
    """SIGKILL a process in the middle of a job: the next workers on this host take it at once."""
    with database.write() as conn:
        job_id = jobs.enqueue(conn, "test.block", {"n": 7})
    marker = tmp_path / "started"
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHER, database.url, str(marker)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "worker did not start the job"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    (row,) = job_rows(database)
    assert (row.status, row.attempts) == ("running", 1)
    ran: list[dict[str, Any]] = []
    jobs.HANDLERS["test.block"] = lambda db, payload: ran.append(payload)
    try:
        jobs.Workers(database).run_until_idle()
    finally:
        del jobs.HANDLERS["test.block"]
    assert ran == [{"n": 7}]
    (row,) = job_rows(database)
    assert (row.id, row.status, row.attempts) == (job_id, "done", 2)


def test_workers_know_every_kind_of_job_the_server_enqueues() -> None:
    assert {RUN_JOB, JOB_KIND, DELIVER} <= set(workers.HANDLERS)


def test_a_second_handler_for_one_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="two job handlers are registered as 'email.deliver'"):
        jobs.job_handler("email.deliver")(lambda db, payload: None)


def test_payload_round_trips_as_json(database: Database, calls) -> None:
    payload = {"ids": [1, 2], "name": "Ünïcode", "nested": {"a": None}}
    with database.write() as conn:
        jobs.enqueue(conn, "test.ok", payload)
    jobs.Workers(database).run_until_idle()
    assert calls == [("test.ok", payload)]
    assert json.loads(job_rows(database)[0].payload) == payload


def test_idle_workers_stop_promptly(database: Database) -> None:
    others = set(threading.enumerate())  # a session-wide server of the test run may have workers of its own
    workers = jobs.Workers(database, threads=2, poll_seconds=0.05)
    workers.start()
    started = time.monotonic()
    workers.stop()
    assert time.monotonic() - started < 2
    assert not [t for t in set(threading.enumerate()) - others if t.name.startswith("mktows-worker")]
