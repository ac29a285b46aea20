"""Jobs on the procrastinate engine (PostgreSQL): chosen once per instance, deferred in the
caller's transaction, run by procrastinate workers with mktows' retry policy, handed back on
stop, and the owner ids of running jobs known to be alive."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from query_plans import capture, explain
from sqlalchemy import insert, select, text, update
from support.pg import migrated_database, temporary_database

from mktows.runtime import jobs, procrastinate_jobs
from mktows.store.database import Database
from mktows.store.tables import server_meta


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with migrated_database("mktows_pcjobs") as url:
        database = Database(url)
        jobs.choose_engine(database, jobs.PROCRASTINATE)
        database.dispose()
        yield url


@pytest.fixture
def database(pg_url: str) -> Iterator[Database]:
    db = Database(pg_url)
    with db.write() as conn:
        conn.execute(text("TRUNCATE procrastinate_jobs, procrastinate_workers RESTART IDENTITY CASCADE"))
    try:
        yield db
    finally:
        db.dispose()


class Ran(list[tuple[str, dict[str, Any]]]):
    """What the test handlers ran; `release` lets the patient one finish."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()


@pytest.fixture
def record() -> Iterator[Ran]:
    """Test handlers for the test's duration; what they ran."""
    ran = Ran()
    release = ran.release

    def ok(database: Database, payload: dict[str, Any]) -> None:
        ran.append(("test.ok", payload))

    def failing(database: Database, payload: dict[str, Any]) -> None:
        ran.append(("test.failing", payload))
        raise RuntimeError("boom")

    def patient(database: Database, payload: dict[str, Any]) -> None:
        """Holds its job until told, or hands it back when its worker stops."""
        ctx = jobs.current_job()
        assert ctx is not None
        ran.append(("test.patient", {**payload, "owner": ctx.worker_id}))
        while not release.is_set():
            if ctx.stopping.wait(0.05):
                raise jobs.Requeue

    jobs.HANDLERS.update({"test.ok": ok, "test.failing": failing, "test.patient": patient})
    yield ran
    for kind in ("test.ok", "test.failing", "test.patient"):
        del jobs.HANDLERS[kind]


def job_rows(database: Database) -> list[Any]:
    with database.read() as conn:
        return list(
            conn.execute(text("SELECT id, task_name, status::text, attempts, args FROM procrastinate_jobs ORDER BY id"))
        )


def wait_until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_engine_is_the_instances_and_every_process_follows_it(database: Database, tmp_path: Path) -> None:
    with database.read() as conn:
        assert jobs.engine_name(conn) == "procrastinate"
    assert jobs.choose_engine(database, "procrastinate") is False  # already so
    assert isinstance(jobs.worker_pool(database), procrastinate_jobs.Workers)
    sqlite = Database(f"sqlite:///{tmp_path / 'x.db'}")
    sqlite.migrate()
    with pytest.raises(jobs.JobEngineError, match="needs PostgreSQL"):
        jobs.choose_engine(sqlite, "procrastinate")
    with pytest.raises(jobs.JobEngineError, match="unknown job engine 'celery'"):
        jobs.choose_engine(database, "celery")
    sqlite.dispose()


def test_a_switch_waits_for_the_old_engines_jobs(database: Database, record) -> None:
    with database.write() as conn:
        jobs.enqueue(conn, "test.ok", {"n": 1})
    with pytest.raises(jobs.JobEngineError, match="1 job\\(s\\) are not finished on the procrastinate job engine"):
        jobs.choose_engine(database, "builtin")
    procrastinate_jobs.Workers(database).run_until_idle()
    assert record == [("test.ok", {"n": 1})]
    assert jobs.choose_engine(database, "builtin") is True
    assert jobs.choose_engine(database, "procrastinate") is True


def test_a_job_is_deferred_in_the_callers_transaction(database: Database, record) -> None:
    with pytest.raises(RuntimeError), database.write() as conn:
        jobs.enqueue(conn, "test.ok", {"n": 1})
        raise RuntimeError("roll back")
    assert job_rows(database) == []
    with database.write() as conn:
        job_id = jobs.enqueue(conn, "test.ok", {"n": 2})
    assert [(r.id, r.task_name, r.status) for r in job_rows(database)] == [(job_id, "test.ok", "todo")]
    assert jobs.state_counts(database)["queued"] == 1
    procrastinate_jobs.Workers(database).run_until_idle()
    assert record == [("test.ok", {"n": 2})]
    assert job_rows(database) == []  # a succeeded job is deleted: the table holds what is left to do


def test_a_failed_job_is_retried_later_with_the_backoff(database: Database, record) -> None:
    with database.write() as conn:
        jobs.enqueue(conn, "test.failing", {})
    procrastinate_jobs.Workers(database).run_until_idle()
    assert record == [("test.failing", {})]
    with database.read() as conn:
        status, attempts, wait = conn.execute(
            text("SELECT status::text, attempts, extract(epoch FROM scheduled_at - now()) FROM procrastinate_jobs")
        ).one()
    assert (status, attempts) == ("todo", 1)
    assert 3 < float(wait) <= 5  # the first retry waits 5 seconds
    assert jobs.oldest_due_seconds(database) == 0.0  # not due yet


def test_a_stopping_worker_hands_its_job_back_and_the_owner_was_alive_meanwhile(database: Database, record) -> None:
    with database.write() as conn:
        job_id = jobs.enqueue(conn, "test.patient", {"n": 1})
    pool = procrastinate_jobs.Workers(database)
    pool.start()
    try:
        wait_until(lambda: len(record) == 1)
        owner = record[0][1]["owner"]
        assert owner == f"procrastinate:{job_id}:1"
        with database.read() as conn:
            assert jobs.live_owners(conn, {owner, "procrastinate:999:1", "somewhere:1:x:0"}, jobs.now()) == {owner}
        assert jobs.workers_alive(database) is True
    finally:
        pool.stop(timeout=5)
    rows = job_rows(database)
    assert [(r.task_name, r.status, r.args) for r in rows] == [("test.patient", "todo", {"n": 1})]
    assert rows[0].id != job_id  # a fresh job; the stopped one finished
    with database.read() as conn:
        assert jobs.live_owners(conn, {owner}, jobs.now()) == set()
    record.release.set()
    procrastinate_jobs.Workers(database).run_until_idle()
    assert [r[1]["n"] for r in record] == [1, 1]
    assert job_rows(database) == []


def test_a_young_pending_job_covers_new_work_until_the_caller_commits(database: Database, record) -> None:
    with database.write() as conn:
        assert jobs.pending_job(conn, "test.ok") is None
        first = jobs.enqueue(conn, "test.ok", {})
        assert jobs.pending_job(conn, "test.ok") == first
    with database.write() as conn:
        held = jobs.pending_job(conn, "test.ok")
        assert held == first
        with database.write() as other:  # another caller skips the row this one holds
            assert jobs.pending_job(other, "test.ok") is None


def test_the_tables_of_an_older_procrastinate_are_brought_up_to_date(record, pg_url: str) -> None:
    """An instance installed by an older procrastinate (built here from its own migration files
    up to the version before the installed one) is upgraded when a process starts on it."""
    migrations = procrastinate_jobs._migrations()
    versions = sorted({version for version, _ in migrations})
    previous, head = versions[-2], versions[-1]
    with temporary_database("mktows_pcup") as url:
        database = Database(url)
        database.migrate()
        with database.engine.connect() as conn:
            for version, path in migrations:
                if version <= previous:
                    conn.exec_driver_sql(path.read_text(encoding="utf-8").replace("%", "%%"))
                    conn.commit()
            conn.execute(insert(server_meta).values(key=procrastinate_jobs.VERSION_KEY, value=previous))
            conn.commit()
        assert jobs.choose_engine(database, "procrastinate") is True
        with database.read() as conn:
            assert stored_version(conn) == head
            upgraded = functions(conn)
        fresh = Database(pg_url)  # installed from this procrastinate's schema at once
        with fresh.read() as conn:
            assert upgraded == functions(conn)
        fresh.dispose()
        with database.write() as conn:
            jobs.enqueue(conn, "test.ok", {"n": 1})
        procrastinate_jobs.Workers(database).run_until_idle()
        assert record == [("test.ok", {"n": 1})]
        with database.write() as conn:
            conn.execute(
                update(server_meta).where(server_meta.c.key == procrastinate_jobs.VERSION_KEY).values(value="99.00.00")
            )
        with pytest.raises(jobs.JobEngineError, match="newer than the installed procrastinate"):
            jobs.choose_engine(database, "procrastinate")
        database.dispose()


def functions(conn) -> set[str]:
    return set(conn.execute(text("SELECT proname FROM pg_proc WHERE proname LIKE 'procrastinate%'")).scalars())


def stored_version(conn) -> str | None:
    return conn.execute(select(server_meta.c.value).where(server_meta.c.key == procrastinate_jobs.VERSION_KEY)).scalar()


def test_the_queue_queries_use_indexes_on_a_queue_that_kept_many_failed_jobs(database: Database) -> None:
    """Succeeded jobs are deleted, failed ones stay: the queries run per campaign chunk, per
    delivery drain and per scrape must not read them all."""
    with database.write() as conn:
        conn.execute(
            text(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, status, args, attempts)"
                " SELECT 'default', 'email.deliver', 'failed', '{}', 5 FROM generate_series(1, 100000)"
            )
        )
        conn.execute(
            text("INSERT INTO procrastinate_events (job_id, type) SELECT id, 'deferred' FROM procrastinate_jobs")
        )
        for _ in range(3):
            jobs.enqueue(conn, "email.deliver", {})
        conn.execute(text("ANALYZE procrastinate_jobs"))
        conn.execute(text("ANALYZE procrastinate_events"))
    with capture(database) as sent:
        with database.write() as conn:
            jobs.pending_job(conn, "email.deliver")
            jobs.live_owners(conn, {"procrastinate:5:1", "procrastinate:100002:1"}, jobs.now())
        jobs.oldest_due_seconds(database)
    queue_queries = [s for s in sent if "procrastinate_" in s.sql]
    assert len(queue_queries) == 3
    for statement in queue_queries:
        plan = explain(database, statement, seq_scans=False)
        assert not [line for line in plan if "Seq Scan on procrastinate" in line], "\n".join([statement.sql, *plan])
