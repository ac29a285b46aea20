"""The vendor's quota day, shared by every daily limit (the call quota, the clone limit).

It ends at midnight US Central ("12:00AM CST" in the docs), read as America/Chicago so that
it follows daylight saving time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

QUOTA_DAY_ZONE = ZoneInfo("America/Chicago")


def quota_day(moment: datetime) -> date:
    """The quota day an aware instant falls in."""
    return moment.astimezone(QUOTA_DAY_ZONE).date()


def quota_day_start(day: date) -> datetime:
    """The instant a quota day begins (midnight in its zone), as an aware UTC datetime."""
    return datetime.combine(day, time(0), tzinfo=QUOTA_DAY_ZONE).astimezone(UTC)
