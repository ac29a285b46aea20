"""What every MObject type shares: names, typed comparisons, limits, the type registry.

Each type (Program, Opportunity, OpportunityPersonRole) is an `ObjectType`: it knows its
filters, how to read the objects after an id, and how to apply one sync or one delete.
It registers itself in `TYPES`; `mobjects.py` lists the modules that define types and
dispatches the calls to them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, func, or_

from mktows.engine.models import Criterion, MObject, MObjectQuery, MObjectStatus, ObjectRef
from mktows.engine.objects.opportunity_schema import OPPORTUNITY, ROLE
from mktows.engine.timestamps import fits_int, parse_utc
from mktows.errors import BadParameter
from mktows.runtime.registry import Registry

PAGE_SIZE = 100
MAX_OBJECTS = 100
COMPARISONS = ("EQ", "NE", "LT", "LE", "GT", "GE")
SYNC_OPERATIONS = ("UPSERT", "INSERT", "UPDATE")
PROGRAM = "Program"
# Every MObject type by its name in lower case, and the older schema's name of the role type.
# The WSDL's MObjectTypeEnum names the role type by its older name; both names are accepted.
ROLE_WSDL_NAME = "OpportunityLeadRole"
WSDL_TYPE_NAMES = (OPPORTUNITY, ROLE_WSDL_NAME, PROGRAM)
TYPE_NAMES = {name.lower(): name for name in (PROGRAM, OPPORTUNITY, ROLE)} | {ROLE_WSDL_NAME.lower(): ROLE}


Memo = dict[str, Any]  # what one call loads once and its objects share (e.g. field schemas)


class ObjectFailed(Exception):
    """One object of a sync or delete cannot be applied; the message becomes its `error`."""


class ObjectType(Protocol):
    name: str

    def page(self, conn: Connection, query: MObjectQuery, after_id: int, limit: int) -> list[MObject]:
        """Up to `limit` matching objects with id > after_id, by id ascending, fully filled."""

    def identity(self, obj: MObject) -> Hashable | None:
        """What names the object inside one call (id or external key), to spot repeats."""

    def sync(self, conn: Connection, obj: MObject, operation: str, now: datetime, memo: Memo) -> MObjectStatus:
        """Apply one object; raise ObjectFailed for a per-object failure."""

    def delete(self, conn: Connection, obj: MObject, now: datetime, memo: Memo) -> MObjectStatus:
        """Delete one object; raise ObjectFailed for a per-object failure."""


class BatchCreates(Protocol):
    """A type whose plain creations (nothing to match, nothing to read) can be written together.

    `prepare_create` checks one object in Python only and returns what creating it needs, or
    None when the object must go through `sync` (it names an id or key, or must read first);
    it raises ObjectFailed exactly where `sync` would. `create_all` writes prepared objects
    in one go and returns their statuses in order, as `sync` one by one would have.
    """

    def prepare_create(self, conn: Connection, obj: MObject, operation: str, memo: Memo) -> Any | None: ...

    def create_all(self, conn: Connection, prepared: list[Any], now: datetime, memo: Memo) -> list[MObjectStatus]: ...


TYPES: Registry[ObjectType] = Registry("MObject type")


def canonical_type(name: str | None) -> str:
    """The canonical spelling of an MObject type name (case-insensitive), or fault 20110."""
    found = TYPE_NAMES.get((name or "").strip().lower())
    if found is None:
        known = ", ".join(sorted(set(TYPE_NAMES.values())))
        raise BadParameter(f"Unknown MObject type {name!r} (expected one of: {known})")
    return found


# --- what every type uses -------------------------------------------------------------


def comparison_of(criterion: Criterion) -> str:
    """The criterion's comparison in upper case; any other than EQ NE LT LE GT GE is fault 20110."""
    op = criterion.comparison.upper()
    if op not in COMPARISONS:
        raise BadParameter(f"Unknown comparison {criterion.comparison!r} (expected one of: {', '.join(COMPARISONS)})")
    return op


def criterion_clause(criterion: Criterion, column: ColumnElement[Any], kind: str) -> ColumnElement[bool]:
    """`column <comparison> value`, comparing numbers as numbers, dates as dates and strings
    case-insensitively for EQ/NE; NE also keeps objects that have no value at all."""
    op = comparison_of(criterion)
    value: Any = typed_value(criterion.name, criterion.value, kind)
    if kind == "string" and op in ("EQ", "NE"):
        column, value = func.lower(column), str(value).lower()
    if op == "NE":
        return or_(column.is_(None), column != value)
    compare: Callable[[Any, Any], ColumnElement[bool]] = {
        "EQ": operator.eq,
        "LT": operator.lt,
        "LE": operator.le,
        "GT": operator.gt,
        "GE": operator.ge,
    }[op]
    return compare(column, value)


def typed_value(name: str, raw: str | None, kind: str) -> Any:
    """A criterion or field value as `kind`; a value that is not one is fault 20110."""
    text = (raw or "").strip()
    try:
        if kind == "integer":
            number = int(text)
            if not fits_int(number):
                raise BadParameter(f"Value {raw!r} of {name!r} is out of range")
            return number
        if kind == "number":
            return Decimal(text)
        if kind == "boolean":
            return parse_boolean(text)
        if kind == "date":
            return parse_utc(text).date()
        if kind == "datetime":
            return parse_utc(text)
    except (ValueError, InvalidOperation):
        raise BadParameter(f"Value {raw!r} of {name!r} is not a valid {kind}") from None
    return raw or ""


def parse_boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError(text)


def associations_of(query: MObjectQuery, *allowed: str) -> list[ObjectRef]:
    """The query's associations, each a type this object can be filtered by, else 20110."""
    for ref in query.associations:
        if not allowed:
            raise BadParameter(f"{query.type} cannot be filtered by associations (got {ref.type or '(no type)'})")
        if ref.type not in allowed:
            raise BadParameter(
                f"{query.type} cannot be filtered by an associated {ref.type or '(no type)'} "
                f"(expected: {', '.join(allowed)})"
            )
        if ref.id is None and ref.external_key is None:
            raise BadParameter(f"The {ref.type} association needs an id or an externalKey")
    return query.associations


def check_count(objects: list[Any], operation: str) -> None:
    if not objects:
        raise BadParameter(f"{operation} needs at least one object")
    if len(objects) > MAX_OBJECTS:
        raise BadParameter(f"{operation} takes at most {MAX_OBJECTS} objects per call; got {len(objects)}")
