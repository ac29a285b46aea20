"""Durable jobs in the same database: enqueued in the caller's transaction, run by workers.

INTERFACE (issue 3) — the narrow seam the scale-out issue will put on an existing engine.
A handler must be idempotent: a job interrupted by a crash runs again after its lease ends.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from mktows.store.database import Database

# kind -> handler(database, payload). Modules register their handlers at import time.
Handler = Callable[[Database, dict[str, Any]], None]
HANDLERS: dict[str, Handler] = {}


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        return handler

    return register


def enqueue(conn: Connection, kind: str, payload: dict[str, Any], *, run_at: datetime | None = None) -> int:
    """Add a job inside the caller's open write transaction; returns its id."""
    raise NotImplementedError


class Workers:
    """In-process worker threads that claim due jobs and run their handlers."""

    def __init__(self, database: Database, *, threads: int = 2, poll_seconds: float = 0.2) -> None:
        raise NotImplementedError

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def run_until_idle(self, timeout: float = 30.0) -> None:
        """Run due jobs in the calling thread until none is due (tests, `mktows load`)."""
