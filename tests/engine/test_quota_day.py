"""The quota day ends at midnight America/Chicago, following daylight saving time."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mktows.runtime.quota_day import quota_day


@pytest.mark.parametrize(
    "instant, day",
    [
        (datetime(2026, 1, 15, 5, 59, tzinfo=UTC), date(2026, 1, 14)),  # 23:59 CST
        (datetime(2026, 1, 15, 6, 0, tzinfo=UTC), date(2026, 1, 15)),  # 00:00 CST
        (datetime(2026, 7, 15, 4, 59, tzinfo=UTC), date(2026, 7, 14)),  # 23:59 CDT
        (datetime(2026, 7, 15, 5, 0, tzinfo=UTC), date(2026, 7, 15)),  # 00:00 CDT
    ],
)
def test_the_day_turns_at_central_midnight(instant: datetime, day: date) -> None:
    assert quota_day(instant) == day
