"""Reading the date-times that clients and instance files write, and the ranges the database
holds: a date-time or id from a request is checked here before it reaches SQL, so a value no
row can have is "not found" or a bad parameter instead of a database error."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, false


class DateOutOfRange(ValueError):
    """A well-formed date-time that names no instant the server can hold (its UTC value falls
    before year 1 or after year 9999)."""


def parse_datetime(text: str) -> datetime:
    """ISO 8601 date or date-time with `Z`, `+hh:mm`, `+hhmm` or no offset (read as UTC), an
    optional fraction, and a space for the `T` or before the offset (as Ruby writes times).
    The offset given is kept; ValueError when the text is not a date-time, DateOutOfRange
    when it is one whose instant lies outside years 1 to 9999 in UTC."""
    value = re.sub(r"\s+(?=[+-]\d{2}:?\d{2}$)", "", text.strip())
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    value = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", value)
    parsed = datetime.fromisoformat(value.replace(" ", "T", 1))
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    try:
        parsed.astimezone(UTC)
    except OverflowError:
        raise DateOutOfRange(f"{text.strip()} lies outside the years 1 to 9999 in UTC") from None
    return parsed


def parse_utc(text: str) -> datetime:
    """`parse_datetime`, moved to UTC (how the engine stores and compares instants)."""
    return parse_datetime(text).astimezone(UTC)


# The id and number columns are 32-bit integers on PostgreSQL (and ids are given out from 1
# on both backends); SQLite would refuse anything past 64 bits.
INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
# Activity ids are 64-bit on PostgreSQL (see `store.tables.BigId`).
BIGINT_MAX = 2**63 - 1


def fits_int(value: int) -> bool:
    """Whether an integer column can hold `value` (on every backend)."""
    return INT_MIN <= value <= INT_MAX


def fits_bigint(value: int) -> bool:
    return -BIGINT_MAX - 1 <= value <= BIGINT_MAX


def storable_ids(values: Iterable[int]) -> list[int]:
    """The values an id column could hold; the others match no row."""
    return [value for value in values if fits_int(value)]


def id_is(column: ColumnElement[Any], value: int) -> ColumnElement[bool]:
    """`column == value`, or a condition no row meets when no integer column can hold `value`."""
    return column == value if fits_int(value) else false()
