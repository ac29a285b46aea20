"""getMObjects, syncMObjects, deleteMObjects over the object types.

Each type (Program, Opportunity, OpportunityPersonRole) is an `ObjectType`: it knows its
filters, how to read the objects after an id, and how to apply one sync or one delete.
What every type shares lives here: type names, typed comparisons, signed keyset
positions, the 100-object limit, duplicates inside one call, and the per-object savepoint
that makes a FAILED object change nothing while the rest of the call still applies. Plain
creations, which read nothing and can only fail their own checks, are checked in Python
and written together (see `_each`), so a call of 100 new objects costs a few statements.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, func, or_
from sqlalchemy.exc import DBAPIError, IntegrityError

from mktows.engine import positions
from mktows.engine.models import Criterion, MObject, MObjectPage, MObjectQuery, MObjectStatus, ObjectRef
from mktows.engine.opportunity_fields import OPPORTUNITY, ROLE
from mktows.engine.timestamps import parse_utc
from mktows.errors import BadParameter

PAGE_SIZE = 100
MAX_OBJECTS = 100
COMPARISONS = ("EQ", "NE", "LT", "LE", "GT", "GE")
SYNC_OPERATIONS = ("UPSERT", "INSERT", "UPDATE")
PROGRAM = "Program"
# Every MObject type by its name in lower case, and the older schema's name of the role type.
TYPE_NAMES = {name.lower(): name for name in (PROGRAM, OPPORTUNITY, ROLE)} | {"opportunityleadrole": ROLE}


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


_TYPES: dict[str, ObjectType] = {}


def register(object_type: ObjectType) -> ObjectType:
    _TYPES[object_type.name] = object_type
    return object_type


def canonical_type(name: str | None) -> str:
    """The canonical spelling of an MObject type name (case-insensitive), or fault 20110."""
    found = TYPE_NAMES.get((name or "").strip().lower())
    if found is None:
        known = ", ".join(sorted(set(TYPE_NAMES.values())))
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
            return int(text)
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


# --- writing -----------------------------------------------------------------------------


def sync_mobjects(conn: Connection, objects: list[MObject], operation: str, now: datetime) -> list[MObjectStatus]:
    """One status per object, in input order; a failed object changes nothing."""
    check_count(objects, "syncMObjects")
    operation = (operation or "").strip().upper()
    if operation not in SYNC_OPERATIONS:
        raise BadParameter(f"Unknown operation {operation!r} (expected one of: {', '.join(SYNC_OPERATIONS)})")
    return _each(
        conn,
        objects,
        lambda t, obj, memo: t.sync(conn, obj, operation, now, memo),
        prepare=lambda t, obj, memo: _prepared_create(t, conn, obj, operation, memo),
        create=lambda t, prepared, memo: t.create_all(conn, prepared, now, memo),  # type: ignore[attr-defined]
    )


def _prepared_create(object_type: ObjectType, conn: Connection, obj: MObject, operation: str, memo: Memo) -> Any:
    """What `obj` needs to be created, when the type can tell without reading the database
    that it is a plain creation (see `BatchCreates`); else None."""
    prepare = getattr(object_type, "prepare_create", None)
    return prepare(conn, obj, operation, memo) if prepare is not None else None


def delete_mobjects(conn: Connection, objects: list[MObject], now: datetime) -> list[MObjectStatus]:
    check_count(objects, "deleteMObjects")
    return _each(conn, objects, lambda t, obj, memo: t.delete(conn, obj, now, memo))


def check_count(objects: list[Any], operation: str) -> None:
    if not objects:
        raise BadParameter(f"{operation} needs at least one object")
    if len(objects) > MAX_OBJECTS:
        raise BadParameter(f"{operation} takes at most {MAX_OBJECTS} objects per call; got {len(objects)}")


_Apply = Callable[[ObjectType, MObject, Memo], MObjectStatus]


def _each(
    conn: Connection,
    objects: list[MObject],
    apply: _Apply,
    *,
    prepare: Callable[[ObjectType, MObject, Memo], Any] | None = None,
    create: Callable[[ObjectType, list[Any], Memo], list[MObjectStatus]] | None = None,
) -> list[MObjectStatus]:
    """Each object in input order, as if each ran alone in its own savepoint.

    Plain creations (`BatchCreates`) are held back and written together, in one savepoint,
    just before the next object that reads or writes on its own and at the end, so every
    object still sees what the objects before it did. Should the batch fail in the database
    (a concurrent write), it is undone and its objects run one by one as before.
    """
    seen: set[tuple[str, Hashable]] = set()
    memo: Memo = {}
    out: list[MObjectStatus] = []
    held: list[tuple[int, ObjectType, MObject, Any]] = []  # (place in `out`, type, object, prepared)
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
        if prepare is not None:
            try:
                prepared = prepare(object_type, obj, memo)
            except ObjectFailed as exc:
                failed.error = str(exc)
                out.append(failed)
                continue
            if prepared is not None:
                held.append((len(out), object_type, obj, prepared))
                out.append(failed)  # replaced when the batch is written
                continue
        _write_held(conn, held, out, apply, create, memo)
        out.append(_one(conn, object_type, obj, apply, memo))
    _write_held(conn, held, out, apply, create, memo)
    return out


def _one(conn: Connection, object_type: ObjectType, obj: MObject, apply: _Apply, memo: Memo) -> MObjectStatus:
    """Apply one object in its own savepoint: a failure leaves nothing of it behind."""
    try:
        with conn.begin_nested():
            return apply(object_type, obj, memo)
    except ObjectFailed as exc:
        return MObjectStatus("FAILED", id=obj.id, external_key=obj.external_key, error=str(exc))
    except IntegrityError:  # a concurrent call wrote the same object first (PostgreSQL)
        error = f"{object_type.name} {_describe(obj)} was changed by a concurrent call; send it again"
        return MObjectStatus("FAILED", id=obj.id, external_key=obj.external_key, error=error)


def _write_held(
    conn: Connection,
    held: list[tuple[int, ObjectType, MObject, Any]],
    out: list[MObjectStatus],
    apply: _Apply,
    create: Callable[[ObjectType, list[Any], Memo], list[MObjectStatus]] | None,
    memo: Memo,
) -> None:
    """Write the held creations (consecutive runs of one type together) and put their
    statuses in place; empties `held`."""
    if not held:
        return
    batch = list(held)
    held.clear()
    assert create is not None
    try:
        with conn.begin_nested():
            statuses: list[MObjectStatus] = []
            start = 0
            while start < len(batch):
                end = start
                while end < len(batch) and batch[end][1] is batch[start][1]:
                    end += 1
                statuses += create(batch[start][1], [b[3] for b in batch[start:end]], memo)
                start = end
    except DBAPIError:  # undone as a whole; one by one, each object fails or applies alone
        statuses = [_one(conn, object_type, obj, apply, memo) for _, object_type, obj, _ in batch]
    for (place, *_), status in zip(batch, statuses, strict=True):
        out[place] = status


def _describe(obj: MObject) -> str:
    if obj.id is not None:
        return f"id {obj.id}"
    if obj.external_key is not None:
        return f"externalKey {obj.external_key[0]}={obj.external_key[1]!r}"
    return "object"
