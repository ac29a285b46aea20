"""Reading the date-times that clients and instance files write."""

from __future__ import annotations

import re
from datetime import UTC, datetime


def parse_datetime(text: str) -> datetime:
    """ISO 8601 date or date-time with `Z`, `+hh:mm`, `+hhmm` or no offset (read as UTC), an
    optional fraction, and a space for the `T` or before the offset (as Ruby writes times).
    The offset given is kept; ValueError when the text is not a date-time."""
    value = re.sub(r"\s+(?=[+-]\d{2}:?\d{2}$)", "", text.strip())
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    value = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", value)
    parsed = datetime.fromisoformat(value.replace(" ", "T", 1))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_utc(text: str) -> datetime:
    """`parse_datetime`, moved to UTC (how the engine stores and compares instants)."""
    return parse_datetime(text).astimezone(UTC)
