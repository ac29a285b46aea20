"""A logged request signed again, to be sent once more: the same bytes, but for the
AuthenticationHeader's `requestTimestamp` (now) and `requestSignature` (HMAC-SHA1 of that
timestamp and the user id under the user's current key, see soap/auth.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from mktows.soap.auth import compute_signature

_TIMESTAMP = re.compile(rb"(<(?:[\w.\-]+:)?requestTimestamp(?:\s[^>]*)?>)[^<]*(<)")
_SIGNATURE = re.compile(rb"(<(?:[\w.\-]+:)?requestSignature(?:\s[^>]*)?>)[^<]*(<)")


class NotResendable(ValueError):
    """The logged request cannot be signed again (cut short, or without its header)."""


def timestamp_now(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def resign(body: bytes, user_id: str, key: str, now: datetime | None = None) -> bytes:
    """`body` with a fresh timestamp and the signature it needs under `key`."""
    stamp = timestamp_now(now)
    signature = compute_signature(stamp, user_id, key)
    body, stamped = _TIMESTAMP.subn(lambda m: m.group(1) + stamp.encode() + m.group(2), body, count=1)
    body, signed = _SIGNATURE.subn(lambda m: m.group(1) + signature.encode() + m.group(2), body, count=1)
    if not (stamped and signed):
        raise NotResendable("the request has no requestTimestamp and requestSignature to sign again")
    return body
