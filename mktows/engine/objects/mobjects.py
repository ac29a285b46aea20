"""getMObjects, syncMObjects, deleteMObjects: dispatch to the object types.

The types are registered in `TYPES` (see `base.py`) by the modules listed below. What a
call shares across its objects lives here: the per-object savepoint that makes a FAILED
object change nothing while the rest of the call still applies, duplicates inside one
call, and the batching of plain creations, which read nothing and can only fail their own
checks: they are checked in Python and written together (see `_each`), so a call of 100
new objects costs a few statements.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from mktows.engine import positions
from mktows.engine.models import MObject, MObjectPage, MObjectQuery, MObjectStatus
from mktows.engine.objects import opportunities, programs
from mktows.engine.objects.base import (
    PAGE_SIZE,
    SYNC_OPERATIONS,
    TYPES,
    Memo,
    ObjectFailed,
    ObjectType,
    canonical_type,
    check_count,
    comparison_of,
)
from mktows.errors import BadParameter

PROVIDERS = (opportunities, programs)  # each registers its types in TYPES on import


def _object_type(name: str | None) -> ObjectType:
    canonical = canonical_type(name)
    return TYPES[canonical]


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
