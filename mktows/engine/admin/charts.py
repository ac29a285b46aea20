"""What the console's charts count: calls and faults per hour (the shared per-minute
aggregate), leads created and emails delivered per day. A day's count is one indexed range
count, so a chart costs the same on a million leads as on a hundred days' worth of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from mktows.runtime import call_stats
from mktows.store.tables import leads, outbox


@dataclass
class Series:
    """Bars over `labels` (hours or days), each bar split by key (an operation, a fault code)."""

    title: str
    labels: list[str]
    values: dict[str, list[int]] = field(default_factory=dict)

    def total(self) -> int:
        return sum(sum(v) for v in self.values.values())


def per_hour(conn: Connection, now: datetime, hours: int, *, by: str, title: str) -> Series:
    start = (now - timedelta(hours=hours - 1)).replace(minute=0, second=0, microsecond=0)
    first_hour = int(start.timestamp() // 3600)
    labels = [(start + timedelta(hours=i)).strftime("%m-%d %H:00") for i in range(hours)]
    series = Series(title, labels)
    for hour, key, count in call_stats.per_hour(conn, start, by=by):
        slot = hour - first_hour
        if 0 <= slot < hours:
            series.values.setdefault(key, [0] * hours)[slot] += count
    return series


def per_day(conn: Connection, now: datetime, days: int, *, what: str, title: str) -> Series:
    """Leads created (`leads`) or emails delivered (`emails`) on each of the last `days` days (UTC)."""
    column = leads.c.created_at if what == "leads" else outbox.c.sent_at
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [today - timedelta(days=days - 1 - i) for i in range(days)]
    counts = []
    for start in starts:
        q = select(func.count()).select_from(column.table).where(column >= start, column < start + timedelta(days=1))
        if what == "emails":
            q = q.where(outbox.c.status == "sent")
        counts.append(int(conn.execute(q).scalar_one()))
    return Series(title, [s.strftime("%m-%d") for s in starts], {what: counts})
