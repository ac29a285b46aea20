"""The vendor's quota day, shared by every daily limit (the call quota, the clone limit).

It ends at midnight US Central ("12:00AM CST" in the docs), read as America/Chicago so that
it follows daylight saving time.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

QUOTA_DAY_ZONE = ZoneInfo("America/Chicago")


def quota_day(moment: datetime) -> date:
    """The quota day an aware instant falls in."""
    return moment.astimezone(QUOTA_DAY_ZONE).date()
