"""Durable jobs in the same database: enqueued in the caller's transaction, run by workers.

The narrow seam through which an existing job engine could later take over:
`enqueue`, `job_handler`, `Workers` (plus `current_job` / `now` for handlers that care).
A handler must be idempotent: a job interrupted by a crash runs again after its lease ends.

Claiming: a worker takes the oldest due job (`queued` with `run_at` reached, or `running`
with an expired lease) and stamps `locked_by` / `locked_until` in one write transaction
(SQLite: the single writer; PostgreSQL: `FOR UPDATE SKIP LOCKED`). A heartbeat renews the
lease of running jobs, so the lease can stay short (30 s) and a job whose worker died is
taken again soon. At start, leases held by dead processes of *this host* are ended at once
(a restarted server resumes its work immediately); other hosts' leases simply expire.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from mktows.observe.metrics import JOB_EVENTS
from mktows.runtime.clock import utcnow
from mktows.runtime.registry import Registry
from mktows.store.database import Database
from mktows.store.tables import jobs

log = logging.getLogger("mktows.jobs")

# kind -> handler(database, payload). Handlers register with `@job_handler`; `mktows.workers`
# imports every module that defines one.
Handler = Callable[[Database, dict[str, Any]], None]
HANDLERS: Registry[Handler] = Registry("job handler")

STATES = ("queued", "running", "done", "failed")
LEASE_SECONDS = 30.0
MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 600.0


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    return HANDLERS.register(kind)


class Requeue(Exception):
    """Raised by a handler to hand its job back now (e.g. on shutdown); not counted as an attempt."""


@dataclass
class JobContext:
    id: int
    kind: str
    attempts: int  # this run included
    worker_id: str
    clock: Callable[[], datetime]
    stopping: threading.Event = field(default_factory=threading.Event)


_CURRENT: contextvars.ContextVar[JobContext | None] = contextvars.ContextVar("mktows_job", default=None)


def current_job() -> JobContext | None:
    """The job the calling thread is running (its lease owner is `worker_id`), if any."""
    return _CURRENT.get()


def now() -> datetime:
    """The workers' clock inside a job (tests move it), the wall clock elsewhere."""
    ctx = _CURRENT.get()
    return ctx.clock() if ctx is not None else utcnow()


def enqueue(conn: Connection, kind: str, payload: dict[str, Any], *, run_at: datetime | None = None) -> int:
    """Add a job inside the caller's open write transaction; returns its id."""
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
        rows = conn.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status))
        found = {r[0]: int(r[1]) for r in rows}
    return {state: found.get(state, 0) for state in STATES} | found


def oldest_due_seconds(database: Database, at: datetime | None = None) -> float:
    """How long the longest-waiting due job has waited to start (0 when none): a backlog signal."""
    t = at or utcnow()
    with database.read() as conn:
        due: datetime | None = conn.execute(
            select(func.min(jobs.c.run_at)).where(jobs.c.status == "queued", jobs.c.run_at <= t)
        ).scalar()
    return 0.0 if due is None else max((t - due).total_seconds(), 0.0)


_STARTED: weakref.WeakSet[Workers] = weakref.WeakSet()  # worker pools started in this process


def workers_alive(database: Database) -> bool | None:
    """Whether every worker thread this process started on `database` still runs; None when
    this process runs no workers on it (the readiness check then has nothing to say)."""
    pools = [w for w in list(_STARTED) if w.database.url == database.url]
    if not pools:
        return None
    return all(w.alive() for w in pools)


def live_owners(conn: Connection, owners: set[str], at: datetime) -> set[str]:
    """Those of `owners` (worker ids) that hold a running job's unexpired lease."""
    if not owners:
        return set()
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


def _backoff(attempts: int) -> float:
    delay: float = BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return min(delay, BACKOFF_MAX_SECONDS)


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
        backoff: Callable[[int], float] = _backoff,
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
        _STARTED.add(self)

    def alive(self) -> bool:
        """Every worker thread started is still running."""
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask running handlers to stop (ctx.stopping), then wait for the threads."""
        _STARTED.discard(self)
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
        token = _CURRENT.set(ctx)
        try:
            handler = HANDLERS.get(job.kind)
            if handler is None:
                raise LookupError(f"no handler for job kind {job.kind!r}")
            handler(self.database, job.payload)
        except Requeue:
            self._finish(job, worker, "queued", attempts=job.attempts - 1)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:4000]
            final = job.attempts >= self.max_attempts
            delay = 0.0 if final else self.backoff(job.attempts)
            self._log_failure(job, error, final, delay)
            if final:
                self._finish(job, worker, "failed", error=error)
            else:
                self._finish(job, worker, "queued", error=error, run_at=self.clock() + timedelta(seconds=delay))
        else:
            JOB_EVENTS.labels(job.kind, "done").inc()
            self._finish(job, worker, "done")
        finally:
            _CURRENT.reset(token)
            with self._active_lock:
                self._active.pop(job.id, None)

    def _log_failure(self, job: _Claimed, error: str, final: bool, delay: float) -> None:
        """One line per failed attempt: `failed` when it was the last one, `retried` otherwise."""
        event = "failed" if final else "retried"
        JOB_EVENTS.labels(job.kind, event).inc()
        fields: dict[str, Any] = {
            "job_id": job.id,
            "kind": job.kind,
            "attempt": job.attempts,
            "max_attempts": self.max_attempts,
            "event": event,
            "error": error[:500],
        }
        if not final:
            fields["retry_in_s"] = round(delay, 1)
        log.error(
            "job %s (%s) failed on attempt %d%s",
            job.id,
            job.kind,
            job.attempts,
            ", giving up" if final else "; it runs again later",
            exc_info=True,
            extra={"fields": fields},
        )

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
