"""The AuthenticationHeader check of SPEC 3: HMAC-SHA1 over the timestamp as received."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime

from lxml import etree

from mktows import errors
from mktows.engine.models import ApiUser
from mktows.soap.envelope import child_text
from mktows.soap.schema import parse_datetime


def compute_signature(timestamp: str, user_id: str, key: str) -> str:
    message = (timestamp + user_id).encode("utf-8")
    return hmac.new(key.encode("utf-8"), message, hashlib.sha1).hexdigest()


def authenticate(
    header: etree._Element | None,
    find_user: Callable[[str], ApiUser | None],
    now: datetime,
    window_seconds: int,
) -> ApiUser:
    if header is None:
        raise errors.AuthenticationFailed("Authentication failed: the AuthenticationHeader is missing")
    user_id = (child_text(header, "mktowsUserId") or "").strip()
    signature = (child_text(header, "requestSignature") or "").strip().lower()
    timestamp = child_text(header, "requestTimestamp") or ""
    user = find_user(user_id) if user_id else None
    expected = compute_signature(timestamp, user_id, user.encryption_key) if user else ""
    if user is None or not hmac.compare_digest(signature.encode(), expected.encode()):
        raise errors.AuthenticationFailed("Authentication failed")
    if not user.enabled:
        raise errors.AccessDenied(f"API access is disabled for user {user_id}")
    try:
        signed_at = parse_datetime(timestamp)
    except ValueError:
        raise errors.RequestExpired(f"Invalid request timestamp: {timestamp}") from None
    skew = (now - signed_at).total_seconds()
    if abs(skew) > window_seconds:
        raise errors.RequestExpired(
            f"Request expired: timestamp {timestamp} is {int(skew)} s away from server time "
            f"{now.isoformat(timespec='seconds')} (allowed {window_seconds} s)"
        )
    return user
