"""Jobs on procrastinate: the job engine of the scaled-out form (PostgreSQL only).

procrastinate keeps its queue in tables of the same PostgreSQL database, so a job is deferred
in the caller's own transaction (its `connection=` option): a campaign request's run and the
job that runs it commit together, or neither does. Workers (`mktows worker`, or threads of
`mktows serve`) claim jobs with `FOR UPDATE SKIP LOCKED`, hear of new ones by LISTEN/NOTIFY,
and send a heartbeat every few seconds.

What this module adds to procrastinate, and why:
- one task per job kind of `job_handlers.HANDLERS`, run through `run_handler`, with mktows'
  retry policy (5 attempts, backoff from 5 s to 10 minutes);
- a worker killed outright leaves its jobs `doing`: every worker, every few seconds, hands
  the jobs of workers whose heartbeat stopped back to the queue (procrastinate's documented
  stalled-jobs recipe), so a killed worker's work resumes on another;
- a handler that hands its job back (`Requeue`, on shutdown) is deferred again at once;
- the owner id a run stamps on rows it claims is `procrastinate:<job>:<attempt>`, alive while
  that attempt is `doing` on a worker with a fresh heartbeat (`live_owners`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, text
from sqlalchemy.engine import make_url

from mktows.runtime.clock import utcnow
from mktows.runtime.job_handlers import (
    HANDLERS,
    MAX_ATTEMPTS,
    STARTED,
    JobContext,
    backoff,
    error_text,
    log_failure,
    run_handler,
)
from mktows.store.database import Database
from mktows.store.queries import upsert
from mktows.store.tables import server_meta

if TYPE_CHECKING:
    import procrastinate
    from procrastinate.job_context import JobContext as ProcrastinateContext

# procrastinate itself is imported where it is used: only an instance on this engine pays
# for its import (half a second), not every `mktows` command on SQLite.

NAME = "procrastinate"
VERSION_KEY = "procrastinate_schema"  # server_meta: the version procrastinate's tables are at
SCHEMA_LOCK = 0x6D6B746F  # the advisory lock held while they are installed or upgraded
HEARTBEAT_SECONDS = 2.0
STALLED_AFTER_SECONDS = 10.0  # a worker silent this long is taken for dead; its jobs run again
STALLED_CHECK_SECONDS = 3.0
OWNER_PREFIX = NAME + ":"
# procrastinate's job states, in the words the metrics use for the built-in engine's
STATES = {"todo": "queued", "doing": "running", "succeeded": "done", "failed": "failed"}

log = logging.getLogger("mktows.jobs")


@cache
def _deferrer() -> procrastinate.App:
    """Defers on the caller's connection only: never opened, so it holds no pool of its own."""
    import procrastinate

    return procrastinate.App(connector=procrastinate.SyncPsycopgConnector())


# --- the schema ---------------------------------------------------------------------------


def installed(conn: Connection) -> bool:
    return conn.execute(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")).scalar() is True


class SchemaTooNew(Exception):
    """procrastinate's tables were brought further than the installed procrastinate knows."""


def _migrations() -> list[tuple[str, Path]]:
    """procrastinate's migration files by the version that brought them ("03.04.00"), in order."""
    from procrastinate.schema import SchemaManager

    folder = Path(SchemaManager.get_migrations_path())
    return sorted((path.name[:8], path) for path in folder.glob("*.sql"))


def ensure_schema(database: Database) -> str | None:
    """Install procrastinate's tables, or bring them to the installed procrastinate's version by
    its own migration files, one transaction each (a migration may add an enum value the next
    one uses); says what it did (None: nothing). The version reached is kept in `server_meta`
    after each step, and an advisory lock keeps two starting processes apart."""
    from procrastinate.schema import SchemaManager

    head = _migrations()[-1][0]
    with database.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK})
        try:
            recorded = conn.execute(select(server_meta.c.value).where(server_meta.c.key == VERSION_KEY)).scalar()
            if not installed(conn):
                conn.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))
                _record(conn, head)
                return f"installed at version {head}"
            if recorded is None:  # installed before mktows kept the version: taken as this one's
                _record(conn, head)
                return None
            if recorded > head:
                raise SchemaTooNew(
                    f"procrastinate's tables are at version {recorded}, newer than the installed procrastinate"
                    f" ({head}): run this instance with the mktows release that upgraded them"
                )
            if recorded == head:
                return None
            for version, path in _migrations():
                if version > recorded:
                    conn.exec_driver_sql(path.read_text(encoding="utf-8").replace("%", "%%"))
                    _record(conn, version)
            return f"upgraded from version {recorded} to {head}"
        finally:
            conn.rollback()
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK})
            conn.commit()


def _record(conn: Connection, version: str) -> None:
    """Keep the version reached, and commit it with the step that reached it."""
    stmt = upsert(conn, server_meta).values(key=VERSION_KEY, value=version)
    conn.execute(stmt.on_conflict_do_update(index_elements=[server_meta.c.key], set_={"value": version}))
    conn.commit()


# --- deferring (the caller's transaction) -------------------------------------------------


def defer(conn: Connection, kind: str, payload: dict[str, Any], run_at: datetime | None) -> int:
    """Add a job inside the caller's open transaction; returns its id."""
    raw = conn.connection.driver_connection
    options: dict[str, Any] = {"connection": raw}
    if run_at is not None and run_at > utcnow():
        options["schedule_at"] = run_at
    return int(_deferrer().configure_task(kind, **options).defer(**payload))


def pending_job(conn: Connection, kind: str, fresh_seconds: float) -> int | None:
    """A due `todo` job of `kind` deferred in the last `fresh_seconds`, locked until the
    caller commits (a worker's fetch skips locked rows), so it will see the caller's rows."""
    found = conn.execute(
        text(
            "SELECT j.id FROM procrastinate_jobs j"
            " WHERE j.task_name = :kind AND j.status = 'todo'"
            " AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())"
            " AND EXISTS (SELECT 1 FROM procrastinate_events e WHERE e.job_id = j.id"
            "   AND e.type = 'deferred' AND e.at >= now() - make_interval(secs => :fresh))"
            " ORDER BY j.id DESC LIMIT 1 FOR UPDATE OF j SKIP LOCKED"
        ),
        {"kind": kind, "fresh": fresh_seconds},
    ).scalar()
    return None if found is None else int(found)


# --- what the metrics, readiness and delivery ask -----------------------------------------


def state_counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(text("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status"))
    return {STATES.get(str(r[0]), str(r[0])): int(r[1]) for r in rows}


def unfinished(conn: Connection) -> int:
    return int(
        conn.execute(text("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')")).scalar_one()
    )


def oldest_due(conn: Connection) -> datetime | None:
    """When the longest-waiting due job became due (deferred, or its scheduled time)."""
    due: datetime | None = conn.execute(
        text(
            "SELECT min(coalesce(j.scheduled_at, e.at)) FROM procrastinate_jobs j"
            " JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred'"
            " WHERE j.status = 'todo' AND coalesce(j.scheduled_at, e.at) <= now()"
        )
    ).scalar()
    return due


def owner_id(job_id: int, attempt: int) -> str:
    return f"{OWNER_PREFIX}{job_id}:{attempt}"


def live_owners(conn: Connection, owners: set[str]) -> set[str]:
    """Those of `owners` whose job attempt is still `doing` on a worker with a fresh heartbeat."""
    wanted: dict[int, set[str]] = {}
    for owner in owners:
        parts = owner.split(":")
        if len(parts) == 3 and parts[0] + ":" == OWNER_PREFIX and parts[1].isdigit():
            wanted.setdefault(int(parts[1]), set()).add(owner)
    if not wanted:
        return set()
    rows = conn.execute(
        text(
            "SELECT j.id, j.attempts FROM procrastinate_jobs j"
            " JOIN procrastinate_workers w ON w.id = j.worker_id"
            " WHERE j.id = ANY(:ids) AND j.status = 'doing'"
            " AND w.last_heartbeat >= now() - make_interval(secs => :stalled)"
        ),
        {"ids": sorted(wanted), "stalled": STALLED_AFTER_SECONDS},
    )
    live = {owner_id(int(r[0]), int(r[1]) + 1) for r in rows}
    return {o for ids in wanted.values() for o in ids if o in live}


# --- running jobs ---------------------------------------------------------------------------


def _retry_policy() -> Any:
    """mktows' retry policy for every kind: `MAX_ATTEMPTS` runs, `backoff` between them."""
    from procrastinate.jobs import Job
    from procrastinate.retry import BaseRetryStrategy, RetryDecision

    class RetryPolicy(BaseRetryStrategy):
        def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
            attempt = job.attempts + 1
            if attempt >= MAX_ATTEMPTS:
                return None
            return RetryDecision(retry_in={"seconds": int(backoff(attempt))})

    return RetryPolicy()


def conninfo(database: Database) -> str:
    """The libpq form of the database's URL (procrastinate connects with psycopg directly)."""
    return make_url(database.url).set(drivername="postgresql").render_as_string(hide_password=False)


class Workers:
    """A procrastinate worker on its own event loop thread, running `concurrency` jobs at once
    (each in a thread of the loop's executor). The same methods as the built-in `Workers`."""

    def __init__(self, database: Database, *, concurrency: int = 2, name: str | None = None) -> None:
        self.database = database
        self.concurrency = max(concurrency, 1)
        self.name = name or f"{socket.gethostname()[:32]}:{os.getpid()}"
        self._active: dict[int, JobContext] = {}
        self._active_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        self._started = threading.Event()
        self._failure: BaseException | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        self._started.clear()
        self._thread = threading.Thread(target=self._serve, name="mktows-procrastinate", daemon=True)
        self._thread.start()
        self._started.wait(30)
        if self._failure is not None:
            raise RuntimeError(f"the procrastinate worker did not start: {self._failure}") from self._failure
        STARTED.add(self)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask running handlers to stop at their next safe point, then stop the worker: its
        running jobs finish or hand themselves back; none is left `doing`."""
        STARTED.discard(self)
        self._stopping.set()
        with self._active_lock:
            for ctx in self._active.values():
                ctx.stopping.set()
        loop, main = self._loop, self._main
        if loop is not None and main is not None and not loop.is_closed():
            loop.call_soon_threadsafe(main.cancel)
        if self._thread is not None:
            self._thread.join(timeout + 5)
            self._thread = None

    def run_until_idle(self, timeout: float = 30.0) -> None:
        """Run due jobs in the calling thread until none is due (tests, one-off commands)."""
        asyncio.run(asyncio.wait_for(self._run(wait=False), timeout))

    # --- the worker -----------------------------------------------------------------------

    def _serve(self) -> None:
        try:
            asyncio.run(self._main_task())
        except BaseException as exc:  # the readiness check reports the dead thread
            if not self._started.is_set():
                self._failure = exc
            else:
                log.exception("the procrastinate worker stopped")
        finally:
            self._started.set()

    async def _main_task(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._main = asyncio.current_task()
        try:
            await self._run(wait=True)
        except asyncio.CancelledError:
            pass

    async def _run(self, *, wait: bool) -> None:
        app = self._app()
        async with app.open_async():
            self._started.set()
            stalled = asyncio.create_task(self._retry_stalled(app))
            try:
                await app.run_worker_async(
                    name=self.name,
                    concurrency=self.concurrency,
                    wait=wait,
                    install_signal_handlers=False,
                    update_heartbeat_interval=HEARTBEAT_SECONDS,
                    stalled_worker_timeout=STALLED_AFTER_SECONDS,
                    delete_jobs="successful",
                )
            finally:
                stalled.cancel()

    def _app(self) -> procrastinate.App:
        import procrastinate

        size = self.concurrency + 3  # jobs, heartbeat, listener, fetches
        connector = procrastinate.PsycopgConnector(conninfo=conninfo(self.database), min_size=1, max_size=size)
        app = procrastinate.App(connector=connector)
        for kind in HANDLERS:
            app.task(name=kind, pass_context=True, retry=_retry_policy())(self._task(kind))
        return app

    async def _retry_stalled(self, app: procrastinate.App) -> None:
        """Hand the jobs of silent workers back to the queue, now and every few seconds."""
        from procrastinate.exceptions import ProcrastinateException

        while True:
            try:
                for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_SECONDS):
                    try:
                        await app.job_manager.retry_job(job)
                    except ProcrastinateException:  # another worker took it back first
                        continue
                    log.warning(
                        "job %s (%s) of a stalled worker runs again",
                        job.id,
                        job.task_name,
                        extra={"fields": {"job_id": job.id, "kind": job.task_name, "event": "resumed"}},
                    )
            except Exception:  # the database briefly unavailable: try again later
                log.exception("looking for stalled jobs failed")
            await asyncio.sleep(STALLED_CHECK_SECONDS)

    def _task(self, kind: str) -> Any:
        def run(context: ProcrastinateContext, **payload: Any) -> None:
            job = context.job
            assert job.id is not None
            attempt = job.attempts + 1
            ctx = JobContext(job.id, kind, attempt, owner_id(job.id, attempt), utcnow)
            with self._running(ctx):
                try:
                    done = run_handler(self.database, payload, ctx)
                except Exception as exc:
                    final = attempt >= MAX_ATTEMPTS
                    log_failure(ctx, error_text(exc), final=final, retry_in=0.0 if final else backoff(attempt))
                    raise
            if not done:
                with self.database.write() as conn:
                    defer(conn, kind, payload, None)

        run.__name__ = kind.replace(".", "_")
        return run

    @contextmanager
    def _running(self, ctx: JobContext) -> Iterator[None]:
        if self._stopping.is_set():
            ctx.stopping.set()
        with self._active_lock:
            self._active[ctx.id] = ctx
        try:
            yield
        finally:
            with self._active_lock:
                self._active.pop(ctx.id, None)
