"""Signed, opaque stream positions for getMultipleLeads, getMObjects and getCustomObjects.

A position is URL-safe base64 of compact JSON plus an HMAC over it, keyed by a secret
that lives in the database. It carries the last key returned and a hash of what the caller
binds it to (for leads the selector's kind, list or key type; for objects the whole query),
so a position is refused by any other stream, and keyset paging never skips nor repeats.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from mktows.errors import BadParameter, BadStreamPosition

POSITION_TTL_SECONDS = 24 * 3600
DEFAULT_PAGE_SIZE = 100


def page_size(batch_size: int | None, ceiling: int, default: int = DEFAULT_PAGE_SIZE) -> int:
    """A call's `batchSize`: the call's default when absent (100 unless it says otherwise),
    clamped to its ceiling, fault 20110 below 1."""
    if batch_size is None:
        return min(default, ceiling)
    if batch_size < 1:
        raise BadParameter(f"Invalid batchSize: {batch_size}")
    return min(batch_size, ceiling)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def query_hash(query: Any) -> str:
    """A short stable digest of a normalised query description."""
    body = json.dumps(query, separators=(",", ":"), sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def encode(secret: bytes, payload: dict[str, Any], *, now: float | None = None) -> str:
    data = dict(payload, i=int(now if now is not None else time.time()))
    body = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    sig = hmac.new(secret, body, hashlib.sha256).digest()[:16]
    return f"{_b64(body)}.{_b64(sig)}"


def decode(secret: bytes, token: str, expected_query: str, *, now: float | None = None) -> dict[str, Any]:
    """The payload of a position we issued for this query; anything else is fault 20122."""
    try:
        body_part, sig_part = token.strip().split(".")
        body = _unb64(body_part)
        sig = _unb64(sig_part)
    except (ValueError, TypeError):
        raise BadStreamPosition("Invalid stream position") from None
    if not hmac.compare_digest(sig, hmac.new(secret, body, hashlib.sha256).digest()[:16]):
        raise BadStreamPosition("Invalid stream position")
    try:
        payload = json.loads(body)
    except ValueError:
        raise BadStreamPosition("Invalid stream position") from None
    if not isinstance(payload, dict) or payload.get("q") != expected_query:
        raise BadStreamPosition("Stream position does not belong to this query")
    issued = payload.get("i")
    current = now if now is not None else time.time()
    if not isinstance(issued, int) or current - issued > POSITION_TTL_SECONDS:
        raise BadStreamPosition("Stream position expired")
    return payload
