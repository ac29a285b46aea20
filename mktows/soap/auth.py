"""The AuthenticationHeader check: HMAC-SHA1 over the timestamp as received, then freshness.

A stale or future timestamp is nearly always a client clock that is off, so the 20016 message
says which way and by how much in units a person reads at a glance.

The client only ever sees the vendor's fault; the precise reason (`REASONS`) rides on the
error for the server's log and the `mktows_auth_failures` metric. A source address that keeps
failing is slowed down (`FailureThrottle`); a correctly signed call never is.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from time import monotonic

from lxml import etree

from mktows import errors
from mktows.engine.models import ApiUser
from mktows.engine.timestamps import parse_datetime
from mktows.observe.metrics import AUTH_FAILURES
from mktows.soap.envelope import child_text

# Why a call failed authentication, as logged and counted (never sent to the client):
REASONS = {
    "missing_header": "no AuthenticationHeader, or one without mktowsUserId (20014)",
    "unknown_user": "mktowsUserId names no API user (20014)",
    "missing_signature": "the header has no requestSignature (20014)",
    "missing_timestamp": "the header has no requestTimestamp, so the signature cannot match (20014)",
    "bad_signature": "requestSignature matches neither the user's key nor a previous key still accepted (20014)",
    "retired_key": "signed with the user's previous key after its overlap ended (20014)",
    "bad_timestamp": "correctly signed, but requestTimestamp cannot be read as a date (20016)",
    "expired": "correctly signed, but requestTimestamp is outside the freshness window (20016)",
    "disabled": "correctly signed by a disabled user (20013)",
}


def _refused(error: errors.MarketoError, reason: str) -> errors.MarketoError:
    error.reason = reason
    AUTH_FAILURES.labels(reason).inc()
    return error


def _failed(reason: str, message: str = "Authentication failed") -> errors.MarketoError:
    """A 20014: the client learns nothing of the reason (which users exist, which key was close)."""
    return _refused(errors.AuthenticationFailed(message), reason)


def claimed_user_id(header: etree._Element | None) -> str | None:
    """The mktowsUserId a request names (for the log), signed or not."""
    if header is None:
        return None
    return (child_text(header, "mktowsUserId") or "").strip()[:255] or None


def compute_signature(timestamp: str, user_id: str, key: str) -> str:
    message = (timestamp + user_id).encode("utf-8")
    return hmac.new(key.encode("utf-8"), message, hashlib.sha1).hexdigest()


def authenticate(
    header: etree._Element | None,
    find_user: Callable[..., ApiUser | None],
    now: datetime,
    window_seconds: int,
) -> ApiUser:
    if header is None:
        raise _failed("missing_header", "Authentication failed: the AuthenticationHeader is missing")
    user_id = (child_text(header, "mktowsUserId") or "").strip()
    if not user_id:
        raise _failed("missing_header")
    signature = (child_text(header, "requestSignature") or "").strip().lower()
    timestamp = child_text(header, "requestTimestamp") or ""

    def signed_by(key: str | None) -> bool:
        expected = compute_signature(timestamp, user_id, key) if key else ""
        return bool(expected) and hmac.compare_digest(signature.encode(), expected.encode())

    def verdict(user: ApiUser | None) -> str:
        if user is None:
            return "unknown_user"
        if not signature or not timestamp:
            return "missing_signature" if not signature else "missing_timestamp"
        if signed_by(user.encryption_key):
            return "ok"
        if user.previous_key and signed_by(user.previous_key):
            overlap_ends = user.previous_key_expires_at
            return "ok" if overlap_ends is not None and overlap_ends > now else "retired_key"
        return "bad_signature"

    user = find_user(user_id)
    found = verdict(user)
    if found != "ok":
        # the remembered key may be older than the database's (a rotation in another process)
        user = find_user(user_id, fresh=True)
        found = verdict(user)
        if found != "ok":
            raise _failed(found)
    assert user is not None
    if not user.enabled:
        raise _refused(errors.AccessDenied(f"API access is disabled for user {user_id}"), "disabled")
    try:
        signed_at = parse_datetime(timestamp)
    except ValueError:
        raise _refused(errors.RequestExpired(f"Invalid request timestamp: {timestamp}"), "bad_timestamp") from None
    skew = (signed_at - now).total_seconds()  # > 0: the client's clock is ahead of ours
    if abs(skew) > window_seconds:
        direction = "ahead of" if skew > 0 else "behind"
        error = errors.RequestExpired(
            f"Request expired: requestTimestamp {timestamp} is {skew_text(abs(skew), window_seconds)} {direction} "
            f"server time {now.isoformat(timespec='seconds')}; requests are accepted up to "
            f"{duration_text(window_seconds)} either side (check the client's clock)"
        )
        raise _refused(error, "expired")
    return user


def duration_text(seconds: int) -> str:
    """Whole seconds as people say them: `45 s`, `20 min`, `1 h 5 min`, `1 min 30 s`."""
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n} {unit}" for n, unit in ((hours, "h"), (minutes, "min"), (secs, "s")) if n]
    return " ".join(parts) or "0 s"


def skew_text(skew: float, window_seconds: int) -> str:
    """How far past the window a clock is: to the minute from a minute up (seconds are noise
    there), to the second below; never rounded down to a figure that looks allowed (900.4 s
    against a 900 s window reads `15 min 1 s`, not `15 min`)."""
    minutes = round(skew / 60)
    if skew >= 60 and minutes * 60 > window_seconds:
        return duration_text(minutes * 60)
    return duration_text(max(round(skew), window_seconds + 1))


class FailureThrottle:
    """Slows down a source address that keeps failing authentication (key guessing).

    After `after` failed authentications (fault 20014) in a row from one address, each further
    failure's answer is held back: `base_delay` seconds, doubling each time, capped at
    `max_delay`. A failure more than `window_seconds` after the previous one starts the count
    again, and so does a correctly signed call from that address, which itself is never
    delayed: a guesser behind the same address as a real client cannot lock that client out.
    At most `max_sources` addresses are remembered (the least recently failing are forgotten),
    so a flood from many addresses cannot grow the table without bound.
    """

    def __init__(
        self,
        *,
        after: int,
        max_delay: float,
        base_delay: float = 0.1,
        window_seconds: float = 300.0,
        max_sources: int = 10_000,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        self.after = after
        self.max_delay = max_delay
        self.base_delay = base_delay
        self.window_seconds = window_seconds
        self.max_sources = max_sources
        self._clock = clock
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()  # address -> (count, last)
        self._lock = threading.Lock()

    def failed(self, source: str) -> float:
        """Record a failure from `source`; the seconds its answer should wait (0: none)."""
        if self.after <= 0:
            return 0.0
        t = self._clock()
        with self._lock:
            count, last = self._failures.pop(source, (0, t))
            count = count + 1 if t - last <= self.window_seconds else 1
            self._failures[source] = (count, t)
            while len(self._failures) > self.max_sources:
                self._failures.popitem(last=False)
        beyond = count - self.after
        return 0.0 if beyond <= 0 else min(self.base_delay * 2 ** min(beyond - 1, 30), self.max_delay)

    def succeeded(self, source: str) -> None:
        """A correctly signed call from `source`: its count starts again."""
        if self._failures:
            with self._lock:
                self._failures.pop(source, None)

    def __len__(self) -> int:
        return len(self._failures)
