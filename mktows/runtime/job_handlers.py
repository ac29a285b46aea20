"""What a job handler sees, whichever job engine runs it.

Handlers register by kind with `@job_handler`; while one runs, `current_job()` tells it which
job it is (its owner id, its attempt, whether its worker is stopping) and `now()` gives the
workers' clock. `run_handler` is the one way an engine runs a handler: it sets that context,
turns `Requeue` into "hand the job back", counts the outcome and logs a failure once.
Handlers are idempotent: an interrupted job runs again, whole.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from mktows.observe.metrics import JOB_EVENTS
from mktows.runtime.clock import utcnow
from mktows.runtime.registry import Registry
from mktows.store.database import Database

log = logging.getLogger("mktows.jobs")

# kind -> handler(database, payload). `mktows.workers` imports every module that defines one.
Handler = Callable[[Database, dict[str, Any]], None]
HANDLERS: Registry[Handler] = Registry("job handler")

MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 600.0


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    return HANDLERS.register(kind)


def backoff(attempts: int) -> float:
    """Seconds before a failed job's next attempt: 5 s, doubling, at most 10 minutes."""
    delay: float = BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return min(delay, BACKOFF_MAX_SECONDS)


class Requeue(Exception):
    """Raised by a handler to hand its job back now (e.g. on shutdown); not counted as an attempt."""


@dataclass
class JobContext:
    id: int
    kind: str
    attempts: int  # this run included
    worker_id: str  # the owner id rows claimed by this run carry (see `live_owners`)
    clock: Callable[[], datetime]
    stopping: threading.Event = field(default_factory=threading.Event)


_CURRENT: contextvars.ContextVar[JobContext | None] = contextvars.ContextVar("mktows_job", default=None)


def current_job() -> JobContext | None:
    """The job the calling thread is running, if any."""
    return _CURRENT.get()


def now() -> datetime:
    """The workers' clock inside a job (tests move it), the wall clock elsewhere."""
    ctx = _CURRENT.get()
    return ctx.clock() if ctx is not None else utcnow()


def run_handler(database: Database, payload: dict[str, Any], ctx: JobContext) -> bool:
    """Run the handler of `ctx.kind`; True when done, False when it handed the job back.
    A failure is raised to the engine, which retries it or gives up."""
    token = _CURRENT.set(ctx)
    try:
        handler = HANDLERS.get(ctx.kind)
        if handler is None:
            raise LookupError(f"no handler for job kind {ctx.kind!r}")
        handler(database, payload)
    except Requeue:
        return False
    finally:
        _CURRENT.reset(token)
    JOB_EVENTS.labels(ctx.kind, "done").inc()
    return True


def log_failure(ctx: JobContext, error: str, *, final: bool, retry_in: float = 0.0) -> None:
    """One line per failed attempt: `failed` when it was the last one, `retried` otherwise.
    Called from the engine's exception handler, so the traceback goes with it."""
    event = "failed" if final else "retried"
    JOB_EVENTS.labels(ctx.kind, event).inc()
    fields: dict[str, Any] = {
        "job_id": ctx.id,
        "kind": ctx.kind,
        "attempt": ctx.attempts,
        "max_attempts": MAX_ATTEMPTS,
        "event": event,
        "error": error[:500],
    }
    if not final:
        fields["retry_in_s"] = round(retry_in, 1)
    log.error(
        "job %s (%s) failed on attempt %d%s",
        ctx.id,
        ctx.kind,
        ctx.attempts,
        ", giving up" if final else "; it runs again later",
        exc_info=True,
        extra={"fields": fields},
    )


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:4000]


class WorkerPool(Protocol):
    """What `serve`, `mktows worker` and the tests do with the workers of either engine."""

    database: Database

    def start(self) -> None: ...
    def stop(self, timeout: float = 10.0) -> None: ...
    def alive(self) -> bool: ...
    def run_until_idle(self, timeout: float = 30.0) -> None: ...


STARTED: weakref.WeakSet[Any] = weakref.WeakSet()  # worker pools started in this process


def workers_alive(database: Database) -> bool | None:
    """Whether every worker pool this process started on `database` still runs; None when
    this process runs no workers on it (the readiness check then has nothing to say)."""
    pools = [w for w in list(STARTED) if w.database.identity == database.identity]
    if not pools:
        return None
    return all(w.alive() for w in pools)
