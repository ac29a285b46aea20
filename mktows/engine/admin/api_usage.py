"""How much the API is used today, for the console's API users page.

The quota day's count and the rate window come from the shared counters
(`runtime/call_counters.py`), which hold counts only while a daily quota or a rate is on; each
API user's calls and limit refusals since the quota day began come from the per-minute
aggregate every process adds to (`runtime/call_stats.py`), a few seconds behind.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection

from mktows.errors import ConcurrencyLimitExceeded, RateLimitExceeded, RequestLimitExceeded
from mktows.runtime import call_counters, call_stats
from mktows.runtime.quota_day import quota_day, quota_day_start

# the faults of the call limits: the daily quota, the rate, the concurrency ceiling and caps
LIMIT_FAULTS = (RequestLimitExceeded.code, RateLimitExceeded.code, ConcurrencyLimitExceeded.code)


@dataclass(frozen=True)
class UserCalls:
    """One API user's calls since the quota day began (every outcome), and how many of them a
    limit refused, by fault code. `user_id` '' holds the calls that failed authentication or
    were refused before it."""

    user_id: str
    calls: int
    refused: tuple[tuple[int, int], ...]  # (fault code, calls), for each code of LIMIT_FAULTS

    def refusals(self, code: int) -> int:
        return dict(self.refused).get(code, 0)


@dataclass(frozen=True)
class ApiUsage:
    day: date  # the quota day
    day_started_at: datetime  # when it began, UTC
    counted_today: int  # calls counted toward the daily quota on it, by every process
    in_rate_window: int  # calls counted in the rate window that ends now
    users: tuple[UserCalls, ...]  # by user id ('' first)

    @property
    def calls(self) -> int:
        return sum(u.calls for u in self.users)

    def refusals(self, code: int) -> int:
        return sum(u.refusals(code) for u in self.users)

    def of(self, user_id: str) -> UserCalls:
        found = next((u for u in self.users if u.user_id == user_id), None)
        return found or UserCalls(user_id, 0, tuple((code, 0) for code in LIMIT_FAULTS))


def usage(conn: Connection, now: datetime, rate_seconds: int) -> ApiUsage:
    day = quota_day(now)
    started = quota_day_start(day)
    calls: dict[str, int] = defaultdict(int)
    refused: dict[str, dict[int, int]] = defaultdict(dict)
    for user_id, code, count in call_stats.per_user(conn, started):
        calls[user_id] += count
        if code in LIMIT_FAULTS:
            refused[user_id][code] = count
    users = tuple(
        UserCalls(user_id, calls[user_id], tuple((code, refused[user_id].get(code, 0)) for code in LIMIT_FAULTS))
        for user_id in sorted(calls)
    )
    return ApiUsage(
        day=day,
        day_started_at=started,
        counted_today=call_counters.counted_on(conn, day),
        in_rate_window=call_counters.counted_in_window(conn, int(now.timestamp()), rate_seconds),
        users=users,
    )
