"""Durable jobs: enqueued in the caller's transaction, run by workers, on one of two engines.

The seam every caller uses: `enqueue`, `pending_job`, `job_handler`, `current_job`, `now`,
`worker_pool`, and the read-outs `state_counts`, `oldest_due_seconds`, `live_owners`. Which
engine runs an instance's jobs is stored once in the database (`choose_engine`), so every
process enqueues and claims alike:

- `builtin` (the default, and the only one on SQLite): the `jobs` table and worker threads in
  `mktows serve`, below.
- `procrastinate` (PostgreSQL): procrastinate's queue in the same database, run by
  `mktows worker` processes (or worker threads of `mktows serve`); see `procrastinate_jobs`.

Built-in claiming: a worker takes the oldest due job (`queued` with `run_at` reached, or
`running` with an expired lease) and stamps `locked_by` / `locked_until` in one write
transaction (SQLite: the single writer; PostgreSQL: `FOR UPDATE SKIP LOCKED`). A heartbeat
renews the lease of running jobs, so the lease can stay short (30 s) and a job whose worker
died is taken again soon. At start, leases held by dead processes of *this host* are ended at
once (a restarted server resumes its work immediately); other hosts' leases simply expire.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.engine import Engine as SAEngine

from mktows.runtime import procrastinate_jobs
from mktows.runtime.clock import utcnow
from mktows.runtime.job_handlers import (
    HANDLERS,
    MAX_ATTEMPTS,
    STARTED,
    JobContext,
    Requeue,
    WorkerPool,
    backoff,
    current_job,
    error_text,
    job_handler,
    log_failure,
    now,
    run_handler,
    workers_alive,
)
from mktows.store.database import Database
from mktows.store.queries import upsert
from mktows.store.tables import jobs, server_meta

__all__ = [
    "HANDLERS",
    "JobContext",
    "Requeue",
    "current_job",
    "job_handler",
    "now",
    "workers_alive",
]

log = logging.getLogger("mktows.jobs")

STATES = ("queued", "running", "done", "failed")
LEASE_SECONDS = 30.0

# --- which engine runs the instance's jobs -------------------------------------------------

ENGINE_KEY = "job_engine"  # server_meta key; absent means builtin
BUILTIN = "builtin"
PROCRASTINATE = procrastinate_jobs.NAME
ENGINE_NAMES = (BUILTIN, PROCRASTINATE)
_CHOSEN: weakref.WeakKeyDictionary[SAEngine, str] = weakref.WeakKeyDictionary()


class JobEngineError(Exception):
    """A job engine that cannot be used here, or a switch that would strand jobs; one line."""


def engine_name(conn: Connection) -> str:
    """The instance's job engine, read once per process and database (a switch needs a restart)."""
    if conn.dialect.name == "sqlite":
        return BUILTIN
    name = _CHOSEN.get(conn.engine)
    if name is None:
        stored = conn.execute(select(server_meta.c.value).where(server_meta.c.key == ENGINE_KEY)).scalar()
        name = _CHOSEN[conn.engine] = stored or BUILTIN
    return name


def refuse_unfit(name: str, *, on_sqlite: bool) -> None:
    """JobEngineError for an engine that does not exist, or cannot run on this database."""
    if name not in ENGINE_NAMES:
        raise JobEngineError(f"unknown job engine {name!r}: expected {' or '.join(ENGINE_NAMES)}")
    if on_sqlite and name != BUILTIN:
        raise JobEngineError(f"the {name} job engine needs PostgreSQL; SQLite runs the built-in workers")


def choose_engine(database: Database, name: str) -> bool:
    """Make `name` the instance's job engine, its tables installed or upgraded as needed (every
    process starting on procrastinate calls this); True when the engine changed. A change is
    refused while the other engine still has unfinished jobs."""
    refuse_unfit(name, on_sqlite=database.is_sqlite)
    if database.is_sqlite:
        return False
    if name == PROCRASTINATE:
        try:
            done = procrastinate_jobs.ensure_schema(database)
        except procrastinate_jobs.SchemaTooNew as exc:
            raise JobEngineError(str(exc)) from None
        if done:
            log.info("procrastinate's tables %s", done)
    with database.write() as conn:
        stored = conn.execute(select(server_meta.c.value).where(server_meta.c.key == ENGINE_KEY)).scalar()
        current = stored or BUILTIN
        if current != name:
            left = _unfinished(conn, current)
            if left:
                raise JobEngineError(
                    f"{left} job(s) are not finished on the {current} job engine; let its workers finish"
                    f" them before switching to {name}"
                )
            stmt = upsert(conn, server_meta).values(key=ENGINE_KEY, value=name)
            conn.execute(stmt.on_conflict_do_update(index_elements=[server_meta.c.key], set_={"value": name}))
    _CHOSEN[database.engine] = name
    if current != name:
        log.info("job engine: %s (was %s)", name, current)
    return current != name


def _unfinished(conn: Connection, engine: str) -> int:
    if engine == PROCRASTINATE:
        return procrastinate_jobs.unfinished(conn) if procrastinate_jobs.installed(conn) else 0
    return int(
        conn.execute(
            select(func.count()).select_from(jobs).where(jobs.c.status.in_(("queued", "running")))
        ).scalar_one()
    )


def worker_pool(database: Database, threads: int = 2) -> WorkerPool:
    """Workers for the instance's engine (not started)."""
    with database.read() as conn:
        name = engine_name(conn)
    if name == PROCRASTINATE:
        return procrastinate_jobs.Workers(database, concurrency=threads)
    return Workers(database, threads=threads)


def enqueue(conn: Connection, kind: str, payload: dict[str, Any], *, run_at: datetime | None = None) -> int:
    """Add a job inside the caller's open write transaction; returns its id."""
    if engine_name(conn) == PROCRASTINATE:
        return procrastinate_jobs.defer(conn, kind, payload, run_at)
    t = now()
    result = conn.execute(
        insert(jobs).values(
            kind=kind,
            payload=json.dumps(payload, separators=(",", ":")),
            run_at=run_at or t,
            status="queued",
            attempts=0,
            created_at=t,
            updated_at=t,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def pending_job(conn: Connection, kind: str, *, fresh_seconds: float = 2.0) -> int | None:
    """A queued, due job of `kind` created in the last `fresh_seconds`, held until commit.

    Lets a caller coalesce work onto a job that no worker can claim before the caller's
    transaction commits (SQLite: the writer lock; PostgreSQL: the row lock, skipped by the
    claim's SKIP LOCKED). Only young jobs qualify, so steady callers cannot starve a job.
    """
    if engine_name(conn) == PROCRASTINATE:
        return procrastinate_jobs.pending_job(conn, kind, fresh_seconds)
    t = now()
    q = (
        select(jobs.c.id)
        .where(
            jobs.c.status == "queued",
            jobs.c.kind == kind,
            jobs.c.run_at <= t,
            jobs.c.created_at >= t - timedelta(seconds=fresh_seconds),
        )
        .order_by(jobs.c.id.desc())
        .limit(1)
    )
    if conn.dialect.name != "sqlite":
        q = q.with_for_update(skip_locked=True)
    found = conn.execute(q).scalar()
    return None if found is None else int(found)


def state_counts(database: Database) -> dict[str, int]:
    """How many jobs are in each state (every state present, 0 when none), for the metrics."""
    with database.read() as conn:
        if engine_name(conn) == PROCRASTINATE:
            found = procrastinate_jobs.state_counts(conn)
        else:
            rows = conn.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status))
            found = {r[0]: int(r[1]) for r in rows}
    return {state: found.get(state, 0) for state in STATES} | found


def oldest_due_seconds(database: Database, at: datetime | None = None) -> float:
    """How long the longest-waiting due job has waited to start (0 when none): a backlog signal."""
    t = at or utcnow()
    with database.read() as conn:
        if engine_name(conn) == PROCRASTINATE:
            due = procrastinate_jobs.oldest_due(conn)
        else:
            due = conn.execute(
                select(func.min(jobs.c.run_at)).where(jobs.c.status == "queued", jobs.c.run_at <= t)
            ).scalar()
    return 0.0 if due is None else max((t - due).total_seconds(), 0.0)


def live_owners(conn: Connection, owners: set[str], at: datetime) -> set[str]:
    """Those of `owners` (the `worker_id` of the jobs that claimed rows) still at work."""
    if not owners:
        return set()
    if engine_name(conn) == PROCRASTINATE:
        return procrastinate_jobs.live_owners(conn, owners)
    rows = conn.execute(
        select(jobs.c.locked_by).where(
            jobs.c.status == "running", jobs.c.locked_until > at, jobs.c.locked_by.in_(sorted(owners))
        )
    )
    return {r[0] for r in rows}


@dataclass
class _Claimed:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int


_NONCE = uuid.uuid4().hex[:8]  # tells this process apart from an earlier one with the same pid
_HOST = socket.gethostname()[:32]


def _process_dead(owner: str) -> bool:
    """True only when `owner` (host:pid:nonce:n) surely was a process on this host that is gone."""
    parts = owner.rsplit(":", 3)
    if len(parts) != 4 or parts[0] != _HOST or not parts[1].isdigit():
        return False
    pid, nonce = int(parts[1]), parts[2]
    if pid == os.getpid():
        return nonce != _NONCE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # an unreaped zombie still answers kill(0)
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


class Workers:
    """In-process worker threads that claim due jobs and run their handlers."""

    def __init__(
        self,
        database: Database,
        *,
        threads: int = 2,
        poll_seconds: float = 0.2,
        lease_seconds: float = LEASE_SECONDS,
        max_attempts: int = MAX_ATTEMPTS,
        backoff: Callable[[int], float] = backoff,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.database = database
        self.threads = threads
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.clock = clock or utcnow
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._active: dict[int, JobContext] = {}
        self._active_lock = threading.Lock()
        self._heartbeat: threading.Thread | None = None
        self._idle_runs = 0

    # --- lifecycle -----------------------------------------------------------------------

    def worker_id(self, n: int | str) -> str:
        return f"{_HOST}:{os.getpid()}:{_NONCE}:{n}"

    def start(self) -> None:
        self.release_dead()
        self._stop.clear()
        self._start_heartbeat()
        for n in range(self.threads):
            t = threading.Thread(target=self._loop, args=(self.worker_id(n),), name=f"mktows-worker-{n}", daemon=True)
            t.start()
            self._threads.append(t)
        STARTED.add(self)

    def alive(self) -> bool:
        """Every worker thread started is still running."""
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask running handlers to stop (ctx.stopping), then wait for the threads."""
        STARTED.discard(self)
        self._stop.set()
        with self._active_lock:
            for ctx in self._active.values():
                ctx.stopping.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(deadline - time.monotonic(), 0.1))
        self._threads.clear()
        if self._heartbeat is not None:
            self._heartbeat.join(1.0)
            self._heartbeat = None

    def run_until_idle(self, timeout: float = 30.0) -> None:
        """Run due jobs in the calling thread until none is due (tests, `mktows load`)."""
        self.release_dead()
        worker = self.worker_id("main")
        deadline = time.monotonic() + timeout
        self._idle_runs += 1
        self._start_heartbeat()
        try:
            while (job := self._claim(worker)) is not None:
                self._execute(job, worker)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"jobs still due after {timeout:.0f}s")
        finally:
            self._idle_runs -= 1

    def release_dead(self) -> int:
        """End the leases held by dead processes of this host, so their jobs run again now."""
        t = self.clock()
        with self.database.read() as conn:
            owners = {
                r[0]
                for r in conn.execute(
                    select(jobs.c.locked_by).where(jobs.c.status == "running", jobs.c.locked_until > t).distinct()
                )
            }
        dead = sorted(o for o in owners if o and _process_dead(o))
        if not dead:
            return 0
        with self.database.write() as conn:
            count = conn.execute(
                update(jobs)
                .where(jobs.c.status == "running", jobs.c.locked_by.in_(dead))
                .values(locked_until=t, updated_at=t)
            ).rowcount
        log.info("released %d job lease(s) of dead workers", count)
        return int(count or 0)

    # --- the loop ------------------------------------------------------------------------

    def _loop(self, worker: str) -> None:
        while not self._stop.is_set():
            try:
                job = self._claim(worker)
            except Exception:  # database briefly unavailable: keep the thread alive
                log.exception("claiming a job failed")
                job = None
            if job is None:
                self._stop.wait(self.poll_seconds)
                continue
            self._execute(job, worker)

    def _due(self, t: datetime) -> Any:
        return and_(
            jobs.c.status.in_(("queued", "running")),
            jobs.c.run_at <= t,
            or_(jobs.c.status == "queued", jobs.c.locked_until < t),
        )

    def _claim(self, worker: str) -> _Claimed | None:
        t = self.clock()
        with self.database.read() as conn:  # cheap check first: idle polling takes no write lock
            if conn.execute(select(jobs.c.id).where(self._due(t)).limit(1)).first() is None:
                return None
        with self.database.write() as conn:
            q = select(jobs.c.id, jobs.c.kind, jobs.c.payload, jobs.c.attempts).where(self._due(t))
            q = q.order_by(jobs.c.run_at, jobs.c.id).limit(1)
            if not self.database.is_sqlite:
                q = q.with_for_update(skip_locked=True)
            row = conn.execute(q).first()
            if row is None:
                return None
            attempts = int(row.attempts) + 1
            conn.execute(
                update(jobs)
                .where(jobs.c.id == row.id)
                .values(
                    status="running",
                    locked_by=worker,
                    attempts=attempts,
                    updated_at=t,
                    locked_until=t + timedelta(seconds=self.lease_seconds),
                )
            )
        return _Claimed(int(row.id), row.kind, json.loads(row.payload or "{}"), attempts)

    def _execute(self, job: _Claimed, worker: str) -> None:
        ctx = JobContext(job.id, job.kind, job.attempts, worker, self.clock)
        if self._stop.is_set() and not self._idle_runs:
            ctx.stopping.set()
        with self._active_lock:
            self._active[job.id] = ctx
        try:
            done = run_handler(self.database, job.payload, ctx)
        except Exception as exc:
            error = error_text(exc)
            final = job.attempts >= self.max_attempts
            delay = 0.0 if final else self.backoff(job.attempts)
            log_failure(ctx, error, final=final, retry_in=delay)
            if final:
                self._finish(job, worker, "failed", error=error)
            else:
                self._finish(job, worker, "queued", error=error, run_at=self.clock() + timedelta(seconds=delay))
        else:
            if done:
                self._finish(job, worker, "done")
            else:
                self._finish(job, worker, "queued", attempts=job.attempts - 1)
        finally:
            with self._active_lock:
                self._active.pop(job.id, None)

    def _finish(
        self,
        job: _Claimed,
        worker: str,
        status: str,
        *,
        error: str | None = None,
        run_at: datetime | None = None,
        attempts: int | None = None,
    ) -> None:
        """Record the outcome, unless the lease was lost (then the job's new owner decides)."""
        t = self.clock()
        values: dict[str, Any] = {"status": status, "locked_by": None, "locked_until": None, "updated_at": t}
        if error is not None:
            values["last_error"] = error
        if run_at is not None:
            values["run_at"] = run_at
        if attempts is not None:
            values["attempts"] = attempts
        with self.database.write() as conn:
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job.id, jobs.c.locked_by == worker, jobs.c.status == "running")
                .values(**values)
            )

    # --- leases --------------------------------------------------------------------------

    def _start_heartbeat(self) -> None:
        if self._heartbeat is None or not self._heartbeat.is_alive():
            self._heartbeat = threading.Thread(target=self._beat, name="mktows-heartbeat", daemon=True)
            self._heartbeat.start()

    def _beat(self) -> None:
        """Renew the leases of running jobs every third of a lease."""
        while True:
            if self._stop.wait(self.lease_seconds / 3):
                return
            if not self._threads and not self._idle_runs:
                return
            with self._active_lock:
                held = [(ctx.id, ctx.worker_id) for ctx in self._active.values()]
            if not held:
                continue
            try:
                t = self.clock()
                with self.database.write() as conn:
                    for job_id, worker in held:
                        conn.execute(
                            update(jobs)
                            .where(jobs.c.id == job_id, jobs.c.locked_by == worker, jobs.c.status == "running")
                            .values(locked_until=t + timedelta(seconds=self.lease_seconds))
                        )
            except Exception:
                log.exception("renewing job leases failed")
