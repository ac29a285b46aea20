"""getMObjects, syncMObjects, deleteMObjects (SPEC 7.14 - 7.16) over the object types.

Each type (Program, Opportunity, OpportunityPersonRole) is an `ObjectType`: it knows its
filters, how to read the objects after an id, and how to apply one sync or one delete.
What every type shares lives here: type names, typed comparisons, signed keyset
positions, the 100-object limit, duplicates inside one call, and the per-object savepoint
that makes a FAILED object change nothing while the rest of the call still applies.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, func, or_
from sqlalchemy.exc import IntegrityError

from mktows.engine import positions
from mktows.engine.models import Criterion, MObject, MObjectPage, MObjectQuery, MObjectStatus, ObjectRef
from mktows.errors import BadParameter

PAGE_SIZE = 100
MAX_OBJECTS = 100
COMPARISONS = ("EQ", "NE", "LT", "LE", "GT", "GE")
SYNC_OPERATIONS = ("INSERT", "UPDATE", "UPSERT")
TYPE_NAMES = {
    "program": "Program",
    "opportunity": "Opportunity",
    "opportunitypersonrole": "OpportunityPersonRole",
    "opportunityleadrole": "OpportunityPersonRole",  # the older schema name
}
KINDS = ("integer", "number", "string", "boolean", "date", "datetime")


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


_TYPES: dict[str, ObjectType] = {}


def register(object_type: ObjectType) -> ObjectType:
    _TYPES[object_type.name] = object_type
    return object_type


def canonical_type(name: str | None) -> str:
    """The canonical spelling of an MObject type name (case-insensitive), or fault 20110."""
    found = TYPE_NAMES.get((name or "").strip().lower())
    if found is None:
        known = ", ".join(sorted({"Program", "Opportunity", "OpportunityPersonRole"}))
        raise BadParameter(f"Unknown MObject type {name!r} (expected one of: {known})")
    return found


def _object_type(name: str | None) -> ObjectType:
    canonical = canonical_type(name)
    if canonical not in _TYPES:  # the type modules register on import
        from mktows.engine import opportunities, program_objects  # noqa: F401

    return _TYPES[canonical]


# --- reading -----------------------------------------------------------------------------


def get_mobjects(conn: Connection, query: MObjectQuery, *, secret: bytes) -> MObjectPage:
    """One page of at most 100 objects after the position's last id (cost independent of depth)."""
    object_type = _object_type(query.type)
    query.type = object_type.name
    if query.id is not None and query.external_key is not None:
        raise BadParameter("getMObjects takes id or externalKey, not both")
    for criterion in query.criteria:  # before any type's own checks, so every type says the same
        comparison_of(criterion)
    digest = positions.query_hash(
        {
            "t": query.type,
            "id": query.id,
            "ek": query.external_key,
            "c": [(c.name.lower(), c.comparison.upper(), c.value) for c in query.criteria],
            "a": [(a.type.lower(), a.id, a.external_key) for a in query.associations],
            "d": query.include_details,
        }
    )
    after_id = 0
    if query.position:
        after_id = int(positions.decode(secret, query.position, digest).get("k", 0))
    found = object_type.page(conn, query, after_id, PAGE_SIZE + 1)
    page = found[:PAGE_SIZE]
    last_id = page[-1].id if page else after_id
    return MObjectPage(
        objects=page,
        has_more=len(found) > PAGE_SIZE,
        position=positions.encode(secret, {"q": digest, "k": last_id}),
    )


def comparison_of(criterion: Criterion) -> str:
    """The criterion's comparison in upper case; one the SPEC does not list is fault 20110."""
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
    clause: ColumnElement[bool] = {
        "EQ": lambda: column == value,
        "NE": lambda: or_(column.is_(None), column != value),
        "LT": lambda: column < value,
        "LE": lambda: column <= value,
        "GT": lambda: column > value,
        "GE": lambda: column >= value,
    }[op]()
    return clause


def typed_value(name: str, raw: str | None, kind: str) -> Any:
    """A criterion or field value as `kind`; a value that is not one is fault 20110."""
    text = (raw or "").strip()
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return Decimal(text)
        if kind == "boolean":
            return parse_boolean(text)
        if kind == "date":
            return parse_datetime(text).date()
        if kind == "datetime":
            return parse_datetime(text)
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


def parse_datetime(text: str) -> datetime:
    """ISO 8601 date or date-time (`Z`, offsets, or a space for the `T`); naive means UTC."""
    text = text.strip()
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
    value = datetime.fromisoformat(text.replace(" ", "T", 1))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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


# --- writing -----------------------------------------------------------------------------


def sync_mobjects(conn: Connection, objects: list[MObject], operation: str, now: datetime) -> list[MObjectStatus]:
    """One status per object, in input order; a failed object changes nothing."""
    check_count(objects, "syncMObjects")
    operation = (operation or "").strip().upper()
    if operation not in SYNC_OPERATIONS:
        raise BadParameter(f"Unknown operation {operation!r} (expected one of: {', '.join(SYNC_OPERATIONS)})")
    return _each(conn, objects, lambda t, obj, memo: t.sync(conn, obj, operation, now, memo))


def delete_mobjects(conn: Connection, objects: list[MObject], now: datetime) -> list[MObjectStatus]:
    check_count(objects, "deleteMObjects")
    return _each(conn, objects, lambda t, obj, memo: t.delete(conn, obj, now, memo))


def check_count(objects: list[Any], operation: str) -> None:
    if not objects:
        raise BadParameter(f"{operation} needs at least one object")
    if len(objects) > MAX_OBJECTS:
        raise BadParameter(f"{operation} takes at most {MAX_OBJECTS} objects per call; got {len(objects)}")


def _each(
    conn: Connection, objects: list[MObject], apply: Callable[[ObjectType, MObject, Memo], MObjectStatus]
) -> list[MObjectStatus]:
    seen: set[tuple[str, Hashable]] = set()
    memo: Memo = {}
    out: list[MObjectStatus] = []
    for obj in objects:
        failed = MObjectStatus("FAILED", id=obj.id, external_key=obj.external_key)
        try:
            object_type = _object_type(obj.type)
        except BadParameter as exc:
            failed.error = exc.detail
            out.append(failed)
            continue
        identity = object_type.identity(obj)
        if identity is not None and (object_type.name, identity) in seen:
            failed.error = f"Duplicate {object_type.name} {_describe(obj)} in this request; only the first was applied"
            out.append(failed)
            continue
        if identity is not None:
            seen.add((object_type.name, identity))
        try:
            with conn.begin_nested():
                out.append(apply(object_type, obj, memo))
        except ObjectFailed as exc:
            failed.error = str(exc)
            out.append(failed)
        except IntegrityError:  # a concurrent call wrote the same object first (PostgreSQL)
            failed.error = f"{object_type.name} {_describe(obj)} was changed by a concurrent call; send it again"
            out.append(failed)
    return out


def _describe(obj: MObject) -> str:
    if obj.id is not None:
        return f"id {obj.id}"
    if obj.external_key is not None:
        return f"externalKey {obj.external_key[0]}={obj.external_key[1]!r}"
    return "object"
