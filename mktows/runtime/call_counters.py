"""The daily quota and the rolling rate window, counted in the database (docs/limits.md).

Every `mktows serve` on one database shares these counts, so a tenant behind a load balancer
gets the vendor's limits once, not once per process. Each admitted call costs one short write
transaction: it bumps the row of its quota day first (on PostgreSQL that row's lock queues the
other callers, on SQLite `BEGIN IMMEDIATE` does), then reads the rate window's per-second
buckets, bumps its own second and drops the expired rows. A refusal rolls everything back, so
a refused call counts toward nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.engine import Connection

from mktows.store.database import Database
from mktows.store.queries import upsert
from mktows.store.tables import call_counters

DAY = "day"
SECOND = "second"


@dataclass(frozen=True)
class Refused:
    """Why the shared counters refused a call: `limit` is "daily_quota" or "rate"; for the rate,
    `retry_in` is how many seconds until the window next has room."""

    limit: str
    retry_in: int = 0


class _Refusal(Exception):
    def __init__(self, refused: Refused) -> None:
        self.refused = refused


class CallCounters:
    """Admits one call against the shared quota and rate window, or says which one it hits.

    The rate window is made of whole wall-clock seconds: a call at second S counts in the
    windows of seconds S to S + rate_seconds - 1. Processes on different machines should keep
    their clocks in step (NTP) for the window to line up.
    """

    def __init__(
        self,
        db: Database,
        *,
        daily_quota: int,
        rate_calls: int,
        rate_seconds: int,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.daily_quota = daily_quota
        self.rate_calls = rate_calls
        self.rate_seconds = max(1, rate_seconds)
        self._wall = wall

    def take(self, day: date) -> Refused | None:
        """Count one call of `day` (its quota day) and of this second, or count nothing and
        return why not."""
        second = math.floor(self._wall())
        try:
            with self.db.write() as conn:
                if not self.db.is_sqlite:
                    # a crash may forget the last few counts (a client gets a few calls back):
                    # worth not waiting for a disk flush on every call
                    conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
                self._take(conn, day.toordinal(), second)
        except _Refusal as refusal:
            return refusal.refused
        return None

    def _take(self, conn: Connection, day: int, second: int) -> None:
        used = self._bump(conn, DAY, day)  # first: its row lock queues the other callers
        if self.daily_quota and used > self.daily_quota:
            raise _Refusal(Refused("daily_quota"))
        oldest_kept = second - self.rate_seconds + 1
        first_of_second = False
        if self.rate_calls:
            window = and_(call_counters.c.kind == SECOND, call_counters.c.slot >= oldest_kept)
            total, first = conn.execute(
                select(func.coalesce(func.sum(call_counters.c.count), 0), func.min(call_counters.c.slot)).where(window)
            ).one()
            if total >= self.rate_calls:
                raise _Refusal(Refused("rate", max(1, int(first) + self.rate_seconds - second)))
            first_of_second = self._bump(conn, SECOND, second) == 1
        if used == 1 or first_of_second:  # rows expire only when a new one starts
            expired = or_(
                and_(call_counters.c.kind == SECOND, call_counters.c.slot < oldest_kept),
                and_(call_counters.c.kind == DAY, call_counters.c.slot < day),
            )
            conn.execute(delete(call_counters).where(expired))

    def _bump(self, conn: Connection, kind: str, slot: int) -> int:
        """Add one to a counter row (creating it) and return its new count."""
        stmt = upsert(conn, call_counters).values(kind=kind, slot=slot, count=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=[call_counters.c.kind, call_counters.c.slot],
            set_={"count": call_counters.c.count + 1},
        ).returning(call_counters.c.count)
        return int(conn.execute(stmt).scalar_one())

    def used_today(self, day: date) -> int:
        """Calls counted on `day` by every process (for operators and tests)."""
        with self.db.read() as conn:
            return counted_on(conn, day)


def counted_on(conn: Connection, day: date) -> int:
    """Calls counted toward the daily quota on `day` (its quota day), by every process."""
    value = conn.execute(
        select(call_counters.c.count).where(call_counters.c.kind == DAY, call_counters.c.slot == day.toordinal())
    ).scalar()
    return int(value or 0)


def counted_in_window(conn: Connection, second: int, seconds: int) -> int:
    """Calls counted in the rate window of `seconds` whole seconds that ends with `second`
    (seconds since the epoch), as `CallCounters.take` sums it."""
    window = and_(call_counters.c.kind == SECOND, call_counters.c.slot >= second - max(1, seconds) + 1)
    return int(conn.execute(select(func.coalesce(func.sum(call_counters.c.count), 0)).where(window)).scalar_one())
