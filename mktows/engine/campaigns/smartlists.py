"""Batch smart lists: a campaign's filters as one SQL condition over `leads` (docs/campaigns.md).

The condition is evaluated by the database when a scheduled run starts (INSERT ... SELECT),
so selecting 100,000 leads never loads them into Python. Text comparisons ignore case, as
Marketo's do; numbers compare as numbers and dates as dates (values are stored normalised,
`YYYY-MM-DD` and ISO date-times in UTC, so their text order is their time order).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    and_,
    cast,
    exists,
    false,
    func,
    not_,
    or_,
    select,
)

from mktows.engine.campaigns import programs
from mktows.engine.leads.fields import Field, FieldRegistry, normalize_value
from mktows.errors import BadParameter, UnknownLeadField
from mktows.store.tables import lead_values, leads, list_members

LIST_FILTERS = ("member_of_list", "not_member_of_list")  # the filters that name a static list
NUMERIC_TYPES = frozenset({"integer", "score", "float", "currency", "percent"})
DATE_TYPES = frozenset({"date", "datetime"})
# The field comparisons a smart-list filter can use (the instance file lists them in this order).
OPERATORS = (
    "is",
    "is_not",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "is_empty",
    "is_not_empty",
    "greater_than",
    "less_than",
    "at_least",
    "at_most",
)
OPS = frozenset(OPERATORS)


def field_named(registry: FieldRegistry, name: str) -> Field | None:
    """A lead field by API name or display name, case-insensitively (smart lists and flow
    steps may use either, like tokens)."""
    found = registry.get(name)
    if found is not None:
        return found
    key = name.strip().lower()
    return next((f for f in registry if f.display_name.lower() == key), None)


def condition(
    conn: Connection,
    registry: FieldRegistry,
    filters: Sequence[dict[str, Any]],
    logic: str = "all",
    program_name: str | None = None,
) -> ColumnElement[bool]:
    """The WHERE clause over `leads` selecting the smart list's members.

    No filters select nobody: a batch campaign never mails the whole database by accident.
    An unknown list raises ListNotFound, an unknown field UnknownLeadField, a malformed
    filter BadParameter.
    """
    parts = [_filter(conn, registry, f, program_name) for f in filters]
    if not parts:
        return false()
    return or_(*parts) if (logic or "all").strip().lower() == "any" else and_(*parts)


def _filter(
    conn: Connection, registry: FieldRegistry, item: dict[str, Any], program_name: str | None
) -> ColumnElement[bool]:
    if not isinstance(item, dict):
        raise BadParameter(f"Smart list filter must be a mapping: {item!r}")
    for kind in LIST_FILTERS:
        if kind in item:
            list_id, _ = programs.list_reference(conn, str(item[kind]), program_name)
            member = exists().where(list_members.c.list_id == list_id, list_members.c.lead_id == leads.c.id)
            return member if kind == LIST_FILTERS[0] else not_(member)
    if "field" not in item:
        raise BadParameter(f"Unknown smart list filter: {item!r}")
    f = field_named(registry, str(item["field"]))
    if f is None:
        raise UnknownLeadField(f"Unknown lead field in smart list: {item['field']}")
    op = str(item.get("op", "is")).strip().lower()
    if op not in OPS:
        raise BadParameter(f"Unknown smart list operator: {op}")
    return _compare(f, op, item.get("value"))


def _stored(f: Field) -> ColumnElement[Any]:
    """The field's stored text for the current lead row (NULL when it has none)."""
    if f.column:
        return leads.c[f.column]
    return (
        select(lead_values.c.value)
        .where(lead_values.c.lead_id == leads.c.id, lead_values.c.name == f.name)
        .scalar_subquery()
    )


def _values(raw: Any) -> list[str]:
    if raw is None:
        return []
    items = raw if isinstance(raw, list | tuple) else [raw]
    return ["" if v is None else str(v) for v in items]


def _norm(f: Field, value: str) -> str:
    try:
        return normalize_value(f, value)
    except ValueError as exc:
        raise BadParameter(f"Smart list value for {f.name}: {exc}") from None


def _number(f: Field, value: str) -> float:
    """Numbers compare as numbers: `50.0` finds an integer field's 50."""
    try:
        number = Decimal(value.strip())
    except ArithmeticError:
        raise BadParameter(f"Smart list value for {f.name} is not a number: {value!r}") from None
    if not number.is_finite():
        raise BadParameter(f"Smart list value for {f.name} is not a number: {value!r}")
    return float(number)


def _compare(f: Field, op: str, raw: Any) -> ColumnElement[bool]:
    stored = _stored(f)
    text = func.coalesce(stored, "")
    if op == "is_empty":
        return text == ""
    if op == "is_not_empty":
        return text != ""
    values = _values(raw)
    if op in ("is", "is_not"):
        cond = _equals(f, stored, text, values)
        return not_(cond) if op == "is_not" else cond
    if not values:
        raise BadParameter(f"Smart list operator {op} on {f.name} needs a value")
    value = values[0]
    if op in ("contains", "not_contains", "starts_with", "ends_with"):
        low, needle = func.lower(text), value.lower()
        if op == "starts_with":
            return low.startswith(needle, autoescape=True)
        if op == "ends_with":
            return low.endswith(needle, autoescape=True)
        found = low.contains(needle, autoescape=True)
        return not_(found) if op == "not_contains" else found
    left: ColumnElement[Any]
    right: Any
    if f.data_type in NUMERIC_TYPES:
        left, right = cast(func.nullif(stored, ""), Float), _number(f, value)
    elif f.data_type in DATE_TYPES:
        left, right = func.nullif(stored, ""), _norm(f, value)
    else:
        left, right = func.lower(func.nullif(stored, "")), value.lower()
    # a NULL comparison is NULL: leads without a value never match an order comparison
    compared = {
        "greater_than": left > right,
        "less_than": left < right,
        "at_least": left >= right,
        "at_most": left <= right,
    }[op]
    return and_(left.is_not(None), compared)


def _equals(f: Field, stored: ColumnElement[Any], text: ColumnElement[Any], values: list[str]) -> ColumnElement[bool]:
    """`is` with any of `values`, never NULL (so `is_not` is its plain negation); an empty
    value matches leads without a value."""
    wants_empty = any(v.strip() == "" for v in values)
    given = [v for v in values if v.strip() != ""]
    parts: list[ColumnElement[bool]] = [text == ""] if wants_empty else []
    if given:
        if f.data_type in NUMERIC_TYPES:
            number = cast(func.nullif(stored, ""), Float)
            parts.append(and_(text != "", number.in_([_number(f, v) for v in given])))
        elif f.data_type == "boolean":
            # a boolean without a value is false
            parts.append(func.coalesce(func.nullif(stored, ""), "false").in_([_norm(f, v) for v in given]))
        elif f.data_type in DATE_TYPES or f.choices:
            parts.append(text.in_([_norm(f, v) for v in given]))
        else:
            parts.append(func.lower(text).in_([v.lower() for v in given]))
    if not parts:
        raise BadParameter(f"Smart list operator is/is_not on {f.name} needs a value")
    return or_(*parts)
