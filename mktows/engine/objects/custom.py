"""Custom object types from the instance file and their records.

A type has fields; its *dedupe* fields, in declared order, form the key that names a record,
and at most one field links the record to a lead through a lead field (`MKTOID` -> `Id`).
A record stores its key (JSON, unique per type), the lead the link resolved to, and its
other values (JSON). Each dedupe and link value also gets a row in `custom_object_keys`, so
a partial-key filter is an indexed lookup and pages are keyset pages on the record id.

Writes follow the MObject rules (a FAILED record changes nothing, 100 per call, duplicates
inside a call fail) with the schema's status enum only (generated clients reject any other
value), and log `Change Custom Object` on the linked lead in the same transaction. A sync
checks every record in Python against the rows loaded up front, then writes all of them in
one savepoint with a few executemany statements; only if that fails in the database is each
written in its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from mktows.engine import positions
from mktows.engine.activities import types as activity_types
from mktows.engine.activities.log import ActivityRow, write_activities
from mktows.engine.leads.fields import STANDARD_BY_LOWER, TEXT_TYPE_MAX_LENGTH, Field, FieldRegistry, normalize_value
from mktows.engine.models import CustomObjectPage, CustomObjectStatus, CustomRecord, Pair
from mktows.engine.objects.base import SYNC_OPERATIONS, ObjectFailed, check_count
from mktows.engine.timestamps import id_is, storable_ids
from mktows.errors import BadParameter, BadStreamPosition
from mktows.store.queries import bulk_insert, in_values, insert_returning_ids
from mktows.store.tables import custom_object_keys, custom_object_records, custom_object_types, lead_values, leads

PAGE_SIZE = 100
MAX_KEY_VALUE = 255  # characters per dedupe or link value (they are indexed)
LEAD_ID_FIELD = "Id"  # the lead's id: not in the field registry, but a valid link target
CHANGE_CUSTOM_OBJECT = next(t for t in activity_types.ACTIVITY_TYPES if t.name == "Change Custom Object")
R = custom_object_records.c
K = custom_object_keys.c


# --- types -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomField:
    name: str
    type: str  # a lead field type (fields.FIELD_TYPES)
    display_name: str
    dedupe: bool = False
    link: str | None = None  # canonical API name of the lead field the value names

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "display_name": self.display_name,
            "dedupe": self.dedupe,
            "link": self.link,
        }

    def normalize(self, raw: str) -> str:
        """The stored form of a value (ValueError with a readable message when invalid);
        emails in lower case, so keys and filters match them case-insensitively."""
        # any text up to a text area's length; key fields are held to 255 by the caller
        value = normalize_value(Field(self.name, self.display_name, self.type, TEXT_TYPE_MAX_LENGTH["text"]), raw)
        return value.lower() if self.type == "email" else value


@dataclass(frozen=True)
class CustomType:
    id: int
    name: str
    display_name: str | None
    fields: tuple[CustomField, ...]

    @property
    def label(self) -> str:
        """What activities show as the asset name."""
        return self.display_name or self.name

    @property
    def key_fields(self) -> list[CustomField]:
        return [f for f in self.fields if f.dedupe]

    @property
    def link_field(self) -> CustomField | None:
        return next((f for f in self.fields if f.link), None)

    @property
    def indexed_fields(self) -> list[CustomField]:
        """The fields a get may filter on: the key fields, and the link field."""
        return [f for f in self.fields if f.dedupe or f.link]

    def field(self, name: str) -> CustomField | None:
        wanted = name.strip().lower()
        return next((f for f in self.fields if f.name.lower() == wanted), None)

    def key_description(self, values: Sequence[str]) -> str:
        return ", ".join(f"{f.name}={v}" for f, v in zip(self.key_fields, values, strict=True))


def fields_from_json(text: str) -> tuple[CustomField, ...]:
    return tuple(CustomField(**item) for item in json.loads(text or "[]"))


def incompatible_change(old: Sequence[CustomField], new: Sequence[CustomField]) -> str | None:
    """Why records stored under the `old` fields would not fit the `new` ones, or None.

    Adding or dropping a non-key field and relabelling are fine (values of a dropped field
    stay stored, hidden, and come back if the field is declared again)."""

    def key(fields: Sequence[CustomField]) -> list[tuple[str, str]]:
        return [(f.name, f.type) for f in fields if f.dedupe]

    def link(fields: Sequence[CustomField]) -> tuple[str, str | None, bool] | None:
        return next(((f.name, f.link, f.dedupe) for f in fields if f.link), None)

    if key(old) != key(new):
        before, after = (", ".join(f"{n} ({t})" for n, t in key(fs)) for fs in (old, new))
        return f"the key fields would change from {before} to {after}"
    if link(old) != link(new):
        return "the link field would change"
    by_lower = {f.name.lower(): f for f in old}
    for f in new:
        was = by_lower.get(f.name.lower())
        if was is not None and was.name != f.name:
            return f"field {was.name} would be renamed {f.name}"
        if was is not None and was.type != f.type:
            return f"field {f.name} would change type from {was.type} to {f.type}"
    return None


def _type_of(row: Any) -> CustomType:
    return CustomType(int(row.id), row.name, row.display_name, fields_from_json(row.fields))


def find_type(conn: Connection, name: str | None) -> CustomType:
    """A type by case-insensitive name, or fault 20110 naming the known ones."""
    row = conn.execute(
        select(custom_object_types).where(custom_object_types.c.name_lower == (name or "").strip().lower())
    ).first()
    if row is None:
        known = conn.execute(select(custom_object_types.c.name).order_by(custom_object_types.c.name)).scalars().all()
        listed = f" (known: {', '.join(known)})" if known else " (the instance file declares none)"
        raise BadParameter(f"Unknown custom object type {name!r}{listed}")
    return _type_of(row)


def all_types(conn: Connection) -> list[CustomType]:
    """Every declared type, in declaration order."""
    return [_type_of(row) for row in conn.execute(select(custom_object_types).order_by(custom_object_types.c.id))]


def record_count(conn: Connection, type_id: int) -> int:
    count = select(func.count()).select_from(custom_object_records).where(R.type_id == type_id)
    return int(conn.execute(count).scalar_one())


# --- reading -----------------------------------------------------------------------------


def get_records(
    conn: Connection,
    type_name: str,
    *,
    keys: list[Pair],
    include: list[str],
    batch_size: int | None,
    position: str | None,
    secret: bytes,
    now: datetime,
) -> CustomObjectPage:
    """One keyset page of records matching a partial key, with the exact remaining count."""
    ctype = find_type(conn, type_name)
    filters = _filters(ctype, keys)
    wanted = _projection(ctype, include)
    size = positions.page_size(batch_size, PAGE_SIZE)  # default and ceiling 100 (docs/objects.md, Custom objects)
    digest = positions.query_hash({"t": ctype.id, "k": sorted(filters)})
    after = _after_id(secret, position, digest, now) if position else 0
    cond = R.type_id == ctype.id
    for name, value in filters:
        cond &= R.id.in_(select(K.record_id).where(K.type_id == ctype.id, K.field == name, K.value == value))
    rows = conn.execute(select(custom_object_records).where(cond, R.id > after).order_by(R.id).limit(size)).all()
    remaining = 0
    new_position = ""
    if rows:
        last = int(rows[-1].id)
        rest = select(func.count()).select_from(custom_object_records).where(cond, R.id > last)
        remaining = int(conn.execute(rest).scalar_one())
        if remaining:
            new_position = positions.encode(secret, {"q": digest, "k": last}, now=now.timestamp())
    return CustomObjectPage(ctype.name, [_record(ctype, r, wanted) for r in rows], remaining, new_position)


def _filters(ctype: CustomType, keys: list[Pair]) -> list[tuple[str, str]]:
    """(field, stored value) equality filters; only key (or link) fields may filter (20110)."""
    unknown = [n for n, _ in keys if ctype.field(n) is None]
    if unknown:
        raise BadParameter(f"Unknown fields of custom object {ctype.name}: {', '.join(unknown)}")
    out: list[tuple[str, str]] = []
    for name, raw in keys:
        f = ctype.field(name)
        assert f is not None
        if not (f.dedupe or f.link):
            keyed = ", ".join(k.name for k in ctype.indexed_fields)
            raise BadParameter(f"{f.name} is not a key field of custom object {ctype.name} (key fields: {keyed})")
        try:
            out.append((f.name, f.normalize(raw)))
        except ValueError as exc:
            raise BadParameter(str(exc)) from None
    return out


def _projection(ctype: CustomType, include: list[str]) -> set[str] | None:
    """Canonical names of the fields to return; None means all (empty includeAttributes)."""
    unknown = [n for n in include if ctype.field(n) is None]
    if unknown:
        raise BadParameter(f"Unknown fields of custom object {ctype.name} in includeAttributes: {', '.join(unknown)}")
    return {f.name for f in (ctype.field(n) for n in include) if f is not None} or None


def _after_id(secret: bytes, position: str, digest: str, now: datetime) -> int:
    payload = positions.decode(secret, position, digest, now=now.timestamp())
    last = payload.get("k")
    if isinstance(last, bool) or not isinstance(last, int):
        raise BadStreamPosition("Invalid stream position")
    return last


def _record(ctype: CustomType, row: Any, wanted: set[str] | None) -> CustomRecord:
    values = json.loads(row.field_values)
    keys = [(f.name, v) for f, v in zip(ctype.key_fields, json.loads(row.key_text), strict=True)]
    attributes = [
        (f.name, values[f.name])
        for f in ctype.fields
        if not f.dedupe and f.name in values and (wanted is None or f.name in wanted)
    ]
    return CustomRecord(keys, attributes)


# --- writing -----------------------------------------------------------------------------


@dataclass
class _Input:
    """One record as given, validated: key values in declared order, other values by name
    ("" clears a value)."""

    key: list[str]
    values: dict[str, str]

    @property
    def key_text(self) -> str:
        return json.dumps(self.key, separators=(",", ":"), ensure_ascii=False)


def sync_records(
    conn: Connection,
    registry: FieldRegistry,
    type_name: str,
    records: list[CustomRecord],
    operation: str | None,
    now: datetime,
) -> list[CustomObjectStatus]:
    """One status per record, in input order; a FAILED record changes nothing."""
    ctype = find_type(conn, type_name)
    check_count(records, "syncCustomObjects")
    op = (operation or "UPSERT").strip().upper()  # absent or nil: UPSERT (the schema makes it optional)
    if op not in SYNC_OPERATIONS:
        raise BadParameter(f"Unknown operation {operation!r} (expected one of: {', '.join(SYNC_OPERATIONS)})")
    _check_names(ctype, (name for r in records for name, _ in (*r.keys, *r.attributes)))
    parsed = [_parse_or_error(ctype, r) for r in records]
    writer = _Writer(conn, registry, ctype, now, [p for p in parsed if isinstance(p, _Input)])
    seen: set[str] = set()
    out: list[CustomObjectStatus] = []
    planned: list[tuple[int, _Plan]] = []  # (place in `out`, what the record writes)
    for record, given in zip(records, parsed, strict=True):
        echo = _canonical(ctype, record.keys)
        try:
            if isinstance(given, ObjectFailed):
                raise given
            if given.key_text in seen:
                raise ObjectFailed(
                    f"Duplicate key {ctype.key_description(given.key)} in this request; "
                    "only the first record with a key is processed"
                )
            seen.add(given.key_text)
            plan = writer.plan(given, op)
        except ObjectFailed as exc:
            out.append(CustomObjectStatus(ctype.name, echo, "FAILED", str(exc)))
        else:
            planned.append((len(out), plan))
            out.append(CustomObjectStatus(ctype.name, echo, plan.status))
    # Every check is done and every record's outcome known: records of one call have distinct
    # keys, so none depends on another's write. What remains can only fail in the database
    # (a concurrent call creating the same key): then the batch is undone and each record is
    # written in its own savepoint, so only the records that clash fail.
    writing = [plan for _, plan in planned if plan.writes]
    try:
        if writing:
            with conn.begin_nested():
                writer.write(writing)
    except DBAPIError:
        for place, plan in planned:
            if not plan.writes:
                continue
            try:
                with conn.begin_nested():
                    writer.write([plan])
            except IntegrityError:  # the same key created by a concurrent call
                plan.activity = None
                out[place] = CustomObjectStatus(
                    ctype.name,
                    out[place].keys,
                    "FAILED",
                    "The record was written by another request at the same time; retry",
                )
    for _, plan in planned:
        writer.log(plan.activity)
    writer.flush()
    return out


def delete_records(
    conn: Connection, type_name: str, key_lists: list[list[Pair]], now: datetime
) -> list[CustomObjectStatus]:
    """DELETED, or FAILED with the reason (not found, incomplete key), per key list."""
    ctype = find_type(conn, type_name)
    check_count(key_lists, "deleteCustomObjects")
    _check_names(ctype, (name for keys in key_lists for name, _ in keys))
    parsed = [_parse_or_error(ctype, CustomRecord(keys)) for keys in key_lists]
    writer = _Writer(conn, None, ctype, now, [p for p in parsed if isinstance(p, _Input)])
    out: list[CustomObjectStatus] = []
    for keys, given in zip(key_lists, parsed, strict=True):
        echo = _canonical(ctype, keys)
        try:
            if isinstance(given, ObjectFailed):
                raise given
            with conn.begin_nested():
                activity = writer.delete(given)
        except ObjectFailed as exc:
            out.append(CustomObjectStatus(ctype.name, echo, "FAILED", str(exc)))
        else:
            writer.log(activity)
            out.append(CustomObjectStatus(ctype.name, echo, "DELETED"))
    writer.flush()
    return out


def _check_names(ctype: CustomType, names: Iterable[str]) -> None:
    """An unknown field anywhere fails the whole call before anything is written
    (as syncMultipleLeads does)."""
    unknown = list(dict.fromkeys(n for n in names if ctype.field(n) is None))
    if unknown:
        listed = ", ".join(repr(n) for n in unknown)
        raise BadParameter(
            f"Unknown fields of custom object {ctype.name}: {listed} "
            f"(fields: {', '.join(f.name for f in ctype.fields)})"
        )


def _canonical(ctype: CustomType, pairs: list[Pair]) -> list[Pair]:
    """The pairs as sent, with field names in their declared spelling (echoed in statuses)."""
    out: list[Pair] = []
    for name, value in pairs:
        f = ctype.field(name)
        out.append((f.name if f else name, value))
    return out


def _parse_or_error(ctype: CustomType, record: CustomRecord) -> _Input | ObjectFailed:
    try:
        return _parse(ctype, record)
    except ObjectFailed as exc:
        return exc


def _parse(ctype: CustomType, record: CustomRecord) -> _Input:
    """Validate one record's lists; ObjectFailed says what is wrong with it."""
    key: dict[str, str] = {}
    for name, raw in record.keys:
        f = _field(ctype, name)
        if not f.dedupe:
            keyed = ", ".join(k.name for k in ctype.key_fields)
            raise ObjectFailed(
                f"{f.name} is not a dedupe field of {ctype.name}: only {keyed} form the key "
                "(other fields go in customObjAttributeList)"
            )
        _put(key, f, raw)
    values: dict[str, str] = {}
    for name, raw in record.attributes:
        f = _field(ctype, name)
        if f.dedupe:
            raise ObjectFailed(f"{f.name} is a dedupe field of {ctype.name}: give it in customObjKeyList")
        _put(values, f, raw)
    missing = [f.name for f in ctype.key_fields if not key.get(f.name)]
    if missing:
        raise ObjectFailed(f"Missing key field(s) of {ctype.name}: {', '.join(missing)}")
    link = ctype.link_field
    if link is not None and not link.dedupe and len(values.get(link.name, "")) > MAX_KEY_VALUE:
        raise ObjectFailed(f"Value of {link.name} is longer than {MAX_KEY_VALUE} characters")
    return _Input([key[f.name] for f in ctype.key_fields], values)


def _field(ctype: CustomType, name: str) -> CustomField:
    f = ctype.field(name)
    assert f is not None, "names are checked before any record is parsed"
    return f


def _put(target: dict[str, str], f: CustomField, raw: str) -> None:
    if f.name in target:
        raise ObjectFailed(f"{f.name} is given twice")
    try:
        value = "" if raw.strip() == "" else f.normalize(raw)
    except ValueError as exc:
        raise ObjectFailed(str(exc)) from None
    if f.dedupe and len(value) > MAX_KEY_VALUE:
        raise ObjectFailed(f"Value of key field {f.name} is longer than {MAX_KEY_VALUE} characters")
    target[f.name] = value


@dataclass
class _Plan:
    """One record's sync decided in Python: its status, activity, and the rows it writes."""

    status: str
    activity: ActivityRow | None
    create: dict[str, Any] | None = None  # the new custom_object_records row (without id)
    indexed: dict[str, str] | None = None  # its key (and link) rows: field -> value
    update: dict[str, Any] | None = None  # record, new_values, new_lead, now
    relink: dict[str, Any] | None = None  # record, name, new_value: the link's key row

    @property
    def writes(self) -> bool:
        return self.create is not None or self.update is not None


class _Writer:
    """Applies validated records of one type inside the caller's transaction.

    The records the call names and the leads their links name are loaded up front (one query
    each); activities are written together at the end, for the records that applied."""

    def __init__(
        self, conn: Connection, registry: FieldRegistry | None, ctype: CustomType, now: datetime, inputs: list[_Input]
    ) -> None:
        self.conn = conn
        self.registry = registry
        self.ctype = ctype
        self.now = now
        self.rows: dict[str, Any] = {}
        keys = list(dict.fromkeys(i.key_text for i in inputs))
        if keys:
            found = select(custom_object_records).where(R.type_id == ctype.id, in_values(R.key_text, keys))
            self.rows = {row.key_text: row for row in conn.execute(found)}
        self.leads: dict[str, int | None] = self._lead_ids(inputs) if registry is not None else {}
        self.activities: list[ActivityRow] = []

    def _lead_ids(self, inputs: list[_Input]) -> dict[str, int | None]:
        """Lead ids for the `Id` link values of the call (other link targets are looked up
        one value at a time)."""
        link = self.ctype.link_field
        if link is None or link.link != LEAD_ID_FIELD:
            return {}
        wanted: dict[str, int | None] = {}
        for value in filter(None, (self._link(i) for i in inputs)):
            wanted[value] = int(value) if value.lstrip("-").isdigit() else None
        ids = storable_ids(i for i in wanted.values() if i is not None)
        found = set(self.conn.execute(select(leads.c.id).where(in_values(leads.c.id, ids))).scalars()) if ids else set()
        return {value: (i if i in found else None) for value, i in wanted.items()}

    def plan(self, given: _Input, op: str) -> _Plan:
        """What syncing `given` writes, decided without writing (reads only: the rows loaded
        up front and link lookups); ObjectFailed says why it cannot apply."""
        row = self.rows.get(given.key_text)
        described = f"{self.ctype.name} record {self.ctype.key_description(given.key)}"
        if row is not None and op == "INSERT":
            raise ObjectFailed(f"{described} already exists (INSERT creates new records only)")
        if row is None and op == "UPDATE":
            raise ObjectFailed(f"{described} not found (UPDATE changes existing records only)")
        return self._create(given) if row is None else self._update(row, given)

    def _link(self, given: _Input) -> str | None:
        """The link value the record names, if it names one."""
        link = self.ctype.link_field
        if link is None:
            return None
        if link.dedupe:
            return given.key[self.ctype.key_fields.index(link)]
        return given.values.get(link.name) or None

    def _lead_for(self, value: str) -> int:
        link = self.ctype.link_field
        assert link is not None and link.link is not None and self.registry is not None
        if value not in self.leads:
            self.leads[value] = find_lead(self.conn, self.registry, link.link, value)
        lead_id = self.leads[value]
        if lead_id is None:
            raise ObjectFailed(f"Lead not found: no lead with {link.link} = {value} (link field {link.name})")
        return lead_id

    def _create(self, given: _Input) -> _Plan:
        link_value = self._link(given)
        link = self.ctype.link_field
        if link is not None and link_value is None:
            raise ObjectFailed(f"{link.name} (the link to a lead) is required to create a {self.ctype.name} record")
        lead_id = self._lead_for(link_value) if link_value is not None else None
        values = {k: v for k, v in given.values.items() if v != ""}
        indexed = dict(zip((f.name for f in self.ctype.key_fields), given.key, strict=True))
        if link is not None and link_value is not None:
            indexed[link.name] = link_value
        changed = [(f.name, values[f.name]) for f in self.ctype.fields if f.name in values]
        record = {
            "type_id": self.ctype.id,
            "lead_id": lead_id,
            "key_text": given.key_text,
            "field_values": _dump(values),
            "created_at": self.now,
            "updated_at": self.now,
        }
        return _Plan("CREATED", self._activity(lead_id, "Created", given.key, changed), create=record, indexed=indexed)

    def _update(self, row: Any, given: _Input) -> _Plan:
        """UPDATED, also when nothing changed (the schema's status enum has no UNCHANGED)."""
        old = json.loads(row.field_values)
        new = dict(old)
        for name, value in given.values.items():
            if value == "":
                new.pop(name, None)
            else:
                new[name] = value
        changed = [(f.name, new.get(f.name, "")) for f in self.ctype.fields if old.get(f.name) != new.get(f.name)]
        if not changed:
            return _Plan("UPDATED", None)
        lead_id = row.lead_id
        link = self.ctype.link_field
        relink = None
        if link is not None and not link.dedupe and link.name in given.values:
            link_value = new.get(link.name)
            if link_value is None:
                raise ObjectFailed(f"{link.name} (the link to a lead) cannot be cleared")
            if link_value != old.get(link.name):
                lead_id = self._lead_for(link_value)
                relink = {"record": row.id, "name": link.name, "new_value": link_value}
        change = {"record": row.id, "new_values": _dump(new), "new_lead": lead_id, "now": self.now}
        return _Plan("UPDATED", self._activity(lead_id, "Updated", given.key, changed), update=change, relink=relink)

    def write(self, plans: list[_Plan]) -> None:
        """Write planned records: new records with one executemany (ids in input order) and
        their key rows with another, changed records and moved links with one each."""
        creates = [p for p in plans if p.create is not None]
        if creates:
            ids = insert_returning_ids(self.conn, custom_object_records, [p.create for p in creates])  # type: ignore[misc]
            bulk_insert(
                self.conn,
                custom_object_keys,
                [
                    {"record_id": record_id, "type_id": self.ctype.id, "field": name, "value": value}
                    for record_id, p in zip(ids, creates, strict=True)
                    for name, value in (p.indexed or {}).items()
                ],
            )
        relinks = [p.relink for p in plans if p.relink is not None]
        if relinks:
            self.conn.execute(
                update(custom_object_keys)
                .where(K.record_id == bindparam("record"), K.field == bindparam("name"))
                .values(value=bindparam("new_value")),
                relinks,
            )
        updates = [p.update for p in plans if p.update is not None]
        if updates:
            self.conn.execute(
                update(custom_object_records)
                .where(R.id == bindparam("record"))
                .values(
                    field_values=bindparam("new_values"), lead_id=bindparam("new_lead"), updated_at=bindparam("now")
                ),
                updates,
            )

    def delete(self, given: _Input) -> ActivityRow | None:
        row = self.rows.pop(given.key_text, None)
        if row is None:
            raise ObjectFailed(f"{self.ctype.name} record {self.ctype.key_description(given.key)} not found")
        self.conn.execute(delete(custom_object_records).where(R.id == row.id))  # its key rows cascade
        return self._activity(row.lead_id, "Deleted", given.key, [])

    def _activity(self, lead_id: int | None, action: str, key: list[str], changed: list[Pair]) -> ActivityRow | None:
        """`Change Custom Object` on the linked lead: Object Name, Action, the key, what
        changed (new values, "" when cleared), Lead ID last."""
        if lead_id is None:
            return None
        attributes = [
            ("Object Name", self.ctype.name),
            ("Action", action),
            *zip((f.name for f in self.ctype.key_fields), key, strict=True),
            *changed,
            ("Lead ID", str(lead_id)),
        ]
        return ActivityRow(lead_id, self.now, CHANGE_CUSTOM_OBJECT, self.ctype.label, attributes)

    def log(self, activity: ActivityRow | None) -> None:
        if activity is not None:
            self.activities.append(activity)

    def flush(self) -> None:
        write_activities(self.conn, self.activities)
        self.activities = []


def _dump(values: dict[str, str]) -> str:
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


# --- leads ---------------------------------------------------------------------------------


def find_lead(conn: Connection, registry: FieldRegistry, lead_field: str, value: str) -> int | None:
    """The lead whose `lead_field` holds `value`; the most recently updated one on ties."""
    if lead_field == LEAD_ID_FIELD:
        try:
            cond = id_is(leads.c.id, int(value))
        except ValueError:
            return None
    else:
        f = registry.get(lead_field)
        if f is None:
            return None
        if f.column == "email":
            cond = leads.c.email_lower == value.lower()
        elif f.column:
            cond = leads.c[f.column] == value
        else:
            cond = leads.c.id.in_(
                select(lead_values.c.lead_id).where(lead_values.c.name == f.name, lead_values.c.value == value)
            )
    found = conn.execute(select(leads.c.id).where(cond).order_by(leads.c.updated_at.desc(), leads.c.id.desc()).limit(1))
    lead_id = found.scalar()
    return None if lead_id is None else int(lead_id)


def _lead_value(conn: Connection, lead_id: int, lead_field: str) -> str | None:
    """A lead's value of a link target field, as stored."""
    if lead_field == LEAD_ID_FIELD:
        return str(lead_id)
    f = STANDARD_BY_LOWER.get(lead_field.lower())
    if f is not None and f.column:
        value = conn.execute(select(leads.c[f.column]).where(leads.c.id == lead_id)).scalar()
    else:
        value = conn.execute(
            select(lead_values.c.value).where(lead_values.c.lead_id == lead_id, lead_values.c.name == lead_field)
        ).scalar()
    return None if value in (None, "") else str(value)


def move_records(conn: Connection, winner_id: int, loser_ids: list[int]) -> None:
    """Records of merged-away leads follow the winner (mergeLeads, cookie merges).

    The link value becomes the winner's value of the linked lead field (the winner's id for
    `Id` links; kept when the winner has no value). When that makes a key the winner
    already has, the winner's record is kept and the loser's dropped; among losers the
    first in merge order wins.
    """
    if not loser_ids:
        return
    rank = {lead_id: n for n, lead_id in enumerate(loser_ids)}
    rows = list(conn.execute(select(custom_object_records).where(in_values(R.lead_id, loser_ids))))
    rows.sort(key=lambda r: (rank[r.lead_id], r.id))
    types: dict[int, CustomType] = {}
    for row in rows:
        if row.type_id not in types:
            types[row.type_id] = _type_of(
                conn.execute(select(custom_object_types).where(custom_object_types.c.id == row.type_id)).one()
            )
        _move(conn, types[row.type_id], row, winner_id)


def _move(conn: Connection, ctype: CustomType, row: Any, winner_id: int) -> None:
    link = ctype.link_field
    assert link is not None and link.link is not None, "only linked records have a lead"
    raw = _lead_value(conn, winner_id, link.link)
    try:
        value = link.normalize(raw) if raw is not None else None
    except ValueError:
        value = None
    key = json.loads(row.key_text)
    values = json.loads(row.field_values)
    if value is not None:
        if link.dedupe:
            key[ctype.key_fields.index(link)] = value
        else:
            values[link.name] = value
    key_text = json.dumps(key, separators=(",", ":"), ensure_ascii=False)
    clash = conn.execute(select(R.id).where(R.type_id == ctype.id, R.key_text == key_text, R.id != row.id)).scalar()
    if clash is not None:
        conn.execute(delete(custom_object_records).where(R.id == row.id))
        return
    conn.execute(
        update(custom_object_records)
        .where(R.id == row.id)
        .values(lead_id=winner_id, key_text=key_text, field_values=_dump(values))
    )
    if value is not None:
        conn.execute(update(custom_object_keys).where(K.record_id == row.id, K.field == link.name).values(value=value))
