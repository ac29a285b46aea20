"""Call limits and the memory budget of request bodies (docs/limits.md).

Two profiles give the defaults: `self-hosted` guards the server (a concurrency ceiling sized to
it, past which a call waits a bounded time for a slot), `marketo` rations calls as the vendor's
shared service did (a daily quota, a rolling rate, 10 in flight). Per-API-user caps can be added
on top in the first. The faults are the vendor's: 20015, 20023, 20024.

The daily quota and the rate window, when on, are counted in the database through the
`CallCounters` app.py passes in, so that they hold across every `mktows serve` on it; without them
(the self-hosted default) nothing here touches the database. The concurrency ceiling and the
per-user caps are counted in this process. Calls refused by
authentication never reach here, and a call refused by a limit counts toward no limit: it did no
work, and counting it would let a client's retry loop spend the day's quota on refusals.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from time import monotonic
from typing import Any

from mktows import errors
from mktows.observe.metrics import BODY_BYTES_IN_FLIGHT, LIMIT_HITS
from mktows.runtime.call_counters import CallCounters, Refused
from mktows.runtime.quota_day import QUOTA_DAY_ZONE, quota_day

log = logging.getLogger("mktows.limits")

SELF_HOSTED = "self-hosted"
MARKETO = "marketo"
PROFILES = (SELF_HOSTED, MARKETO)
# One log line per limit, action and user at most this often; the hits in between are counted in it.
LOG_EVERY_SECONDS = 10.0


@dataclass(frozen=True)
class LimitPolicy:
    """The limits in force; 0 switches one off."""

    daily_quota: int = 0
    rate_calls: int = 0
    rate_seconds: int = 20
    max_concurrency: int = 0
    wait_seconds: float = 0
    user_max_concurrency: int = 0
    user_rate_calls: int = 0
    user_rate_seconds: int = 20


# The vendor's published limits, per instance.
MARKETO_LIMITS = LimitPolicy(daily_quota=10_000, rate_calls=100, rate_seconds=20, max_concurrency=10)
SELF_HOSTED_WAIT_SECONDS = 30


def cpu_count() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def server_concurrency(cpus: int, *, sqlite: bool) -> int:
    """The self-hosted ceiling: 2 calls per CPU on SQLite (one writer at a time, readers share the
    interpreter), 4 per CPU on PostgreSQL (calls overlap while the database server works), never
    below 4, never above 30 (PostgreSQL's connection pool, and below the 40 worker threads so that
    waiting calls leave threads for the others)."""
    return max(4, min(30, (2 if sqlite else 4) * cpus))


def policy_for(
    profile: str,
    *,
    enabled: bool = True,
    sqlite: bool = True,
    daily_quota: int | None = None,
    rate_calls: int | None = None,
    rate_seconds: int = 20,
    max_concurrency: int | None = None,
    wait_seconds: float | None = None,
    user_max_concurrency: int = 0,
    user_rate_calls: int = 0,
    user_rate_seconds: int = 20,
    cpus: int | None = None,
) -> LimitPolicy:
    """The limits of a profile, with every value given explicitly (not None) winning over it."""
    if profile not in PROFILES:
        raise ValueError(f"unknown limits profile {profile!r}; expected one of {', '.join(PROFILES)}")
    if not enabled:
        return LimitPolicy()
    if profile == MARKETO:
        base = MARKETO_LIMITS
        user_max_concurrency = user_rate_calls = 0  # the vendor had no per-user caps
    else:
        ceiling = server_concurrency(cpu_count() if cpus is None else cpus, sqlite=sqlite)
        base = LimitPolicy(max_concurrency=ceiling, wait_seconds=SELF_HOSTED_WAIT_SECONDS)
    return LimitPolicy(
        daily_quota=base.daily_quota if daily_quota is None else daily_quota,
        rate_calls=base.rate_calls if rate_calls is None else rate_calls,
        rate_seconds=rate_seconds,
        max_concurrency=base.max_concurrency if max_concurrency is None else max_concurrency,
        wait_seconds=base.wait_seconds if wait_seconds is None else wait_seconds,
        user_max_concurrency=user_max_concurrency,
        user_rate_calls=user_rate_calls,
        user_rate_seconds=user_rate_seconds,
    )


class _HitLog:
    """Counts every limit hit in the metrics and logs them, at most one line per limit, action and
    user every LOG_EVERY_SECONDS (a retry loop would otherwise write thousands)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str, str], tuple[float, int]] = {}

    def hit(self, limit: str, action: str, user_id: str | None, message: str, **values: Any) -> None:
        LIMIT_HITS.labels(limit=limit, action=action).inc()
        key, tick = (limit, action, user_id or ""), self._clock()
        with self._lock:
            last, unlogged = self._last.get(key, (float("-inf"), 0))
            if tick - last < LOG_EVERY_SECONDS:
                self._last[key] = (last, unlogged + 1)
                return
            self._last[key] = (tick, 0)
        fields = {"user_id": user_id, "limit": limit, "action": action, **values, "unlogged_hits": unlogged}
        log.log(logging.WARNING if action == "refused" else logging.INFO, message, extra={"fields": fields})


@dataclass
class _UserCounters:
    recent: deque[float] = field(default_factory=deque)
    in_flight: int = 0


@dataclass
class _Refusal:
    limit: str
    error: errors.MarketoError
    values: dict[str, Any]


# Set while a call answered on the event loop holds the concurrency slot `inline_slot` took for it.
_LOOP_SLOT: ContextVar[CallLimits | None] = ContextVar("mktows_loop_slot", default=None)


class CallLimits:
    """Admits calls (`with limits.call(now, user_id):`) or refuses them with the vendor's fault.

    Only the global concurrency ceiling ever waits, and only in a worker thread: the per-user
    caps refuse at once, so that a user over their cap holds no thread the others need.
    """

    def __init__(
        self, policy: LimitPolicy, *, clock: Callable[[], float] = monotonic, counters: CallCounters | None = None
    ) -> None:
        self.policy = policy
        self.counters = counters  # the quota and rate, shared with other processes; else counted here
        self._clock = clock
        self._hits = _HitLog(clock)
        self._cond = threading.Condition()
        self._recent: deque[float] = deque()
        self._in_flight = 0
        self._users: dict[str, _UserCounters] = {}
        self._day: date | None = None
        self._calls_today = 0

    @property
    def active(self) -> bool:
        p = self.policy
        return any((p.daily_quota, p.rate_calls, p.max_concurrency, p.user_rate_calls, p.user_max_concurrency))

    @contextmanager
    def call(self, now: datetime, user_id: str) -> Iterator[None]:
        """Hold a place for one authenticated call, or raise the fault of the limit it hits."""
        if not self.active:
            yield
            return
        held = _LOOP_SLOT.get() is self
        self._admit(now, user_id, holds_slot=held)
        try:
            yield
        finally:
            self._leave(user_id, holds_slot=held)

    @contextmanager
    def inline_slot(self) -> Iterator[bool]:
        """For a call the app would answer on its event loop, where nothing may wait: take a
        concurrency slot now if one is free (True: answer it inline, its admission uses this
        slot), else False (answer it in a worker thread, where it may wait for one). With shared
        counters always False: admitting a call then takes the database's write lock, which may
        be held for a while."""
        p = self.policy
        if self.counters is not None:  # counting a call writes to the database: not on the loop
            yield False
            return
        if not p.max_concurrency or p.wait_seconds <= 0:  # no waiting anywhere
            yield True
            return
        with self._cond:
            free = self._in_flight < p.max_concurrency
            if free:
                self._in_flight += 1
        if not free:
            yield False
            return
        token = _LOOP_SLOT.set(self)
        try:
            yield True
        finally:
            _LOOP_SLOT.reset(token)
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()

    def _admit(self, now: datetime, user_id: str, *, holds_slot: bool) -> None:
        p = self.policy
        day = quota_day(now) if p.daily_quota else None
        start = self._clock()
        waited = False
        with self._cond:
            while True:
                tick = self._clock()
                refusal = self._refusal(day, tick, user_id)
                if refusal is not None or holds_slot or not p.max_concurrency or self._in_flight < p.max_concurrency:
                    break
                remaining = start + p.wait_seconds - tick
                if remaining <= 0:
                    refusal = self._concurrency_refusal(waited)
                    break
                waited = True
                self._cond.wait(remaining)
            if refusal is None:
                self._count_in(tick, user_id, holds_slot)
        if refusal is None and self.counters is not None:
            refusal = self._shared_refusal(now, tick, user_id, holds_slot)
        if refusal is not None:
            self._hits.hit(refusal.limit, "refused", user_id, refusal.error.detail, **refusal.values)
            raise refusal.error
        if waited:
            seconds = round(self._clock() - start, 3)
            self._hits.hit(
                "concurrency",
                "waited",
                user_id,
                f"A call waited {seconds:g} s for one of {p.max_concurrency} slots",
                max_concurrency=p.max_concurrency,
                waited_seconds=seconds,
            )

    def _shared_refusal(self, now: datetime, tick: float, user_id: str, holds_slot: bool) -> _Refusal | None:
        """Count the call in the shared quota and rate window, after it passed the limits of this
        process; when they refuse it, give back what it took here, so it counts toward nothing."""
        assert self.counters is not None
        try:
            refused = self.counters.take(quota_day(now))
        except BaseException:  # the database failed: the call is not served, its slot goes back
            self._give_back(tick, user_id, holds_slot)
            raise
        if refused is None:
            return None
        self._give_back(tick, user_id, holds_slot)
        return self._quota_refusal() if refused.limit == "daily_quota" else self._rate_refusal(refused)

    def _give_back(self, tick: float, user_id: str, holds_slot: bool) -> None:
        with self._cond:
            user = self._users.get(user_id)
            if user is not None and tick in user.recent:  # unless it expired meanwhile
                user.recent.remove(tick)
        self._leave(user_id, holds_slot=holds_slot)

    def _quota_refusal(self) -> _Refusal:
        p = self.policy
        text = f"Daily quota of {p.daily_quota} calls used up; it resets at midnight {QUOTA_DAY_ZONE.key}"
        return _Refusal("daily_quota", errors.RequestLimitExceeded(text), {"daily_quota": p.daily_quota})

    def _rate_refusal(self, refused: Refused | None = None, tick: float = 0.0) -> _Refusal:
        p = self.policy
        text = f"More than {p.rate_calls} calls in {p.rate_seconds:g} seconds"
        if refused is not None:
            text += f"; retry in {refused.retry_in} seconds"
        else:
            text += _retry_in(self._recent, tick, p.rate_seconds)
        values = {"rate_calls": p.rate_calls, "rate_seconds": p.rate_seconds}
        return _Refusal("rate", errors.RateLimitExceeded(text), values)

    def _refusal(self, day: date | None, tick: float, user_id: str) -> _Refusal | None:
        """The first limit this call hits (checked under the lock), or None. The quota and the
        rate are checked here only when no shared counters count them."""
        p = self.policy
        local = self.counters is None
        if day != self._day:
            self._day, self._calls_today = day, 0
        _expire(self._recent, tick, p.rate_seconds)
        user = self._users.get(user_id)
        if user is not None:
            _expire(user.recent, tick, p.user_rate_seconds)
        if local and p.daily_quota and self._calls_today >= p.daily_quota:
            return self._quota_refusal()
        if local and p.rate_calls and len(self._recent) >= p.rate_calls:
            return self._rate_refusal(None, tick)
        if p.user_rate_calls and user is not None and len(user.recent) >= p.user_rate_calls:
            text = f"More than {p.user_rate_calls} calls in {p.user_rate_seconds:g} seconds for API user {user_id}"
            text += _retry_in(user.recent, tick, p.user_rate_seconds)
            values = {"user_rate_calls": p.user_rate_calls, "user_rate_seconds": p.user_rate_seconds}
            return _Refusal("user_rate", errors.RateLimitExceeded(text), values)
        if p.user_max_concurrency and user is not None and user.in_flight >= p.user_max_concurrency:
            text = f"More than {p.user_max_concurrency} calls in flight for API user {user_id}"
            values = {"user_max_concurrency": p.user_max_concurrency}
            return _Refusal("user_concurrency", errors.ConcurrencyLimitExceeded(text), values)
        if p.max_concurrency and p.wait_seconds <= 0 and self._in_flight >= p.max_concurrency:
            return self._concurrency_refusal(False)
        return None

    def _concurrency_refusal(self, waited: bool) -> _Refusal:
        p = self.policy
        text = f"More than {p.max_concurrency} calls in flight"
        if waited:
            text += f"; none finished within {p.wait_seconds:g} seconds"
        values = {"max_concurrency": p.max_concurrency, "wait_seconds": p.wait_seconds}
        return _Refusal("concurrency", errors.ConcurrencyLimitExceeded(text), values)

    def _count_in(self, tick: float, user_id: str, holds_slot: bool) -> None:
        p = self.policy
        self._calls_today += 1
        if p.rate_calls and self.counters is None:
            self._recent.append(tick)
        if not holds_slot:
            self._in_flight += 1
        if p.user_rate_calls or p.user_max_concurrency:
            user = self._users.setdefault(user_id, _UserCounters())
            user.in_flight += 1
            if p.user_rate_calls:
                user.recent.append(tick)

    def _leave(self, user_id: str, *, holds_slot: bool) -> None:
        with self._cond:
            if not holds_slot:
                self._in_flight -= 1
            user = self._users.get(user_id)
            if user is not None:
                user.in_flight -= 1
                if not user.in_flight and not user.recent:
                    del self._users[user_id]
            self._cond.notify_all()  # all: the first waiter to look may be refused by another limit


def _retry_in(recent: deque[float], tick: float, seconds: float) -> str:
    """When the window will have room again, for the fault message (clients' logs show it)."""
    return f"; retry in {max(1, math.ceil(recent[0] + seconds - tick))} seconds" if recent else ""


def _expire(recent: deque[float], tick: float, seconds: float) -> None:
    while recent and tick - recent[0] >= seconds:
        recent.popleft()


def body_budget_bytes(explicit: int | None, max_body_bytes: int) -> int:
    """The body budget: as set, else room for several bodies of the largest size accepted and at
    least 64 MiB (thousands of ordinary calls, which are a few kilobytes each)."""
    return explicit if explicit is not None else max(64 * 1024 * 1024, 4 * max_body_bytes)


class BodyBudget:
    """Bytes of request bodies the process holds at once, authenticated or not: a body is counted
    from its first byte (or its declared length) until its call has been answered.

    A request that would take the total past the capacity is refused, except when no other body
    is held, so that one body of the largest size accepted always fits.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.held = 0
        self._lock = threading.Lock()
        self._hits = _HitLog(monotonic)

    def reserve(self, size: int) -> None:
        """Take `size` bytes, or raise 20024 (the server is busy; clients retry on it)."""
        with self._lock:
            fits = self.held == 0 or self.held + size <= self.capacity
            if fits:
                self.held += size
            held = self.held
        if fits:
            BODY_BYTES_IN_FLIGHT.inc(size)
            return
        error = errors.ConcurrencyLimitExceeded(
            f"The server is busy: request bodies in memory have reached its limit of {self.capacity} bytes;"
            " retry shortly"
        )
        self._hits.hit("body_memory", "refused", None, error.detail, capacity=self.capacity, held=held, asked=size)
        raise error

    def release(self, size: int) -> None:
        if size:
            with self._lock:
                self.held -= size
            BODY_BYTES_IN_FLIGHT.dec(size)


class BodyHold:
    """What one request holds of the budget; `release()` when its call has been answered."""

    def __init__(self, budget: BodyBudget) -> None:
        self.budget = budget
        self.size = 0

    def reserve(self, size: int) -> None:
        self.budget.reserve(size)
        self.size += size

    def release(self) -> None:
        self.budget.release(self.size)
        self.size = 0
