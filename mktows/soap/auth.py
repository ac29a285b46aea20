"""The AuthenticationHeader check: HMAC-SHA1 over the timestamp as received, then freshness.

A stale or future timestamp is nearly always a client clock that is off, so the 20016 message
says which way and by how much in units a person reads at a glance.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime

from lxml import etree

from mktows import errors
from mktows.engine.models import ApiUser
from mktows.engine.timestamps import parse_datetime
from mktows.soap.envelope import child_text


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
        raise errors.AuthenticationFailed("Authentication failed: the AuthenticationHeader is missing")
    user_id = (child_text(header, "mktowsUserId") or "").strip()
    signature = (child_text(header, "requestSignature") or "").strip().lower()
    timestamp = child_text(header, "requestTimestamp") or ""

    def signed_by(user: ApiUser | None) -> bool:
        expected = compute_signature(timestamp, user_id, user.encryption_key) if user else ""
        return user is not None and hmac.compare_digest(signature.encode(), expected.encode())

    user = find_user(user_id) if user_id else None
    if not signed_by(user):
        # the remembered key may be older than the database's (a rotation in another process)
        user = find_user(user_id, fresh=True) if user_id else None
        if not signed_by(user):
            raise errors.AuthenticationFailed("Authentication failed")
    assert user is not None
    if not user.enabled:
        raise errors.AccessDenied(f"API access is disabled for user {user_id}")
    try:
        signed_at = parse_datetime(timestamp)
    except ValueError:
        raise errors.RequestExpired(f"Invalid request timestamp: {timestamp}") from None
    skew = (signed_at - now).total_seconds()  # > 0: the client's clock is ahead of ours
    if abs(skew) > window_seconds:
        direction = "ahead of" if skew > 0 else "behind"
        raise errors.RequestExpired(
            f"Request expired: requestTimestamp {timestamp} is {skew_text(abs(skew), window_seconds)} {direction} "
            f"server time {now.isoformat(timespec='seconds')}; requests are accepted up to "
            f"{duration_text(window_seconds)} either side (check the client's clock)"
        )
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
