"""Per-tenant call limits, as Marketo's: daily quota (20015), rate (20023), concurrency (20024).

Counters live in this process: with one `mktows serve` process that is the whole tenant.
Calls rejected by authentication never reach here, so they do not count.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from time import monotonic

from mktows import errors
from mktows.runtime.quota_day import QUOTA_DAY_ZONE, quota_day


class CallLimits:
    def __init__(
        self, *, daily_quota: int, rate_calls: int, rate_seconds: float, max_concurrency: int, enabled: bool = True
    ) -> None:
        self.daily_quota = daily_quota
        self.rate_calls = rate_calls
        self.rate_seconds = rate_seconds
        self.max_concurrency = max_concurrency
        self.enabled = enabled
        self._lock = threading.Lock()
        self._recent: deque[float] = deque()
        self._in_flight = 0
        self._day: date | None = None
        self._calls_today = 0

    @contextmanager
    def call(self, now: datetime) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        self._admit(now)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def _admit(self, now: datetime) -> None:
        day = quota_day(now)
        tick = monotonic()
        with self._lock:
            if day != self._day:
                self._day, self._calls_today = day, 0
            while self._recent and tick - self._recent[0] > self.rate_seconds:
                self._recent.popleft()
            # every authenticated call counts, including the ones refused below
            self._calls_today += 1
            self._recent.append(tick)
            if self._calls_today > self.daily_quota:
                raise errors.RequestLimitExceeded(
                    f"Daily quota of {self.daily_quota} calls used up; it resets at midnight {QUOTA_DAY_ZONE.key}"
                )
            if len(self._recent) > self.rate_calls:
                raise errors.RateLimitExceeded(f"More than {self.rate_calls} calls in {self.rate_seconds:g} seconds")
            if self._in_flight >= self.max_concurrency:
                raise errors.ConcurrencyLimitExceeded(f"More than {self.max_concurrency} calls in flight")
            self._in_flight += 1
