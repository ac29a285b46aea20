"""Calls and faults per minute, API user and operation, kept in the database for the
console's charts and its API users page.

Every process counts its calls in memory and adds them to the shared rows every
`FLUSH_SECONDS` (one upsert per minute, user, operation and fault code seen), so the charts
show the whole instance whatever process answered, at the cost of one small write every few
seconds instead of one per call. A call counts under the API user it authenticated as, and
under '' when it failed authentication or was refused before it (so a flood of made-up user
ids adds no rows). A process killed outright loses at most its last
`FLUSH_SECONDS` of counts; Prometheus' counters stay the exact, per-process figures.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import datetime

from sqlalchemy import Connection, String, cast, func, select

from mktows.store.database import Database
from mktows.store.queries import upsert
from mktows.store.tables import call_minutes

FLUSH_SECONDS = 5.0
log = logging.getLogger("mktows.stats")

Key = tuple[int, str, str, int]  # (minute since the epoch, API user or '', operation, fault code or 0)


class CallStats:
    def __init__(self, database: Database, *, flush_seconds: float = FLUSH_SECONDS) -> None:
        self.database = database
        self.flush_seconds = flush_seconds
        self._pending: Counter[Key] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def count(self, operation: str, fault_code: int = 0, at: float | None = None, *, user_id: str = "") -> None:
        minute = int((time.time() if at is None else at) // 60)
        with self._lock:
            self._pending[(minute, user_id, operation, fault_code)] += 1

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, Counter()
        if not pending:
            return
        try:
            with self.database.write() as conn:
                add(conn, pending)
        except Exception:  # the database briefly away: keep the counts for the next flush
            log.warning("call statistics not saved yet; retrying", exc_info=True)
            with self._lock:
                self._pending.update(pending)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mktows-call-stats", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.flush_seconds + 5)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()


def add(conn: Connection, counts: Counter[Key]) -> None:
    key = [call_minutes.c.minute, call_minutes.c.user_id, call_minutes.c.operation, call_minutes.c.fault_code]
    for (minute, user_id, operation, code), n in sorted(counts.items()):
        stmt = upsert(conn, call_minutes).values(
            minute=minute, user_id=user_id, operation=operation, fault_code=code, count=n
        )
        conn.execute(stmt.on_conflict_do_update(index_elements=key, set_={"count": call_minutes.c.count + n}))


def per_hour(conn: Connection, since: datetime, *, by: str) -> list[tuple[int, str, int]]:
    """(hour since the epoch, label, calls) from `since` on, every API user's together: by
    operation (every call) when `by` is `operation`, by fault code (faults only) when it is
    `fault`."""
    hour = (call_minutes.c.minute // 60).label("hour")
    if by == "operation":
        label = call_minutes.c.operation.label("label")
    else:
        label = cast(call_minutes.c.fault_code, String).label("label")
    q = select(hour, label, func.sum(call_minutes.c.count)).where(call_minutes.c.minute >= int(since.timestamp() // 60))
    if by != "operation":
        q = q.where(call_minutes.c.fault_code != 0)
    rows = conn.execute(q.group_by(hour, label).order_by(hour, label))
    return [(int(r[0]), str(r[1]), int(r[2])) for r in rows]


def per_user(conn: Connection, since: datetime) -> list[tuple[str, int, int]]:
    """(API user or '', fault code or 0, calls) from `since` on, summed over operations."""
    user, code = call_minutes.c.user_id, call_minutes.c.fault_code
    q = (
        select(user, code, func.sum(call_minutes.c.count))
        .where(call_minutes.c.minute >= int(since.timestamp() // 60))
        .group_by(user, code)
        .order_by(user, code)
    )
    return [(str(r[0]), int(r[1]), int(r[2])) for r in conn.execute(q)]
