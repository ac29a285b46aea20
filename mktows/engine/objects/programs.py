"""Program as an MObject: filters, details, cost/tag/channel updates.

Reading: every filter is SQL over `programs` (tags through `program_tags`, the channel as a
tag of type `Channel`), keyset by id, so a page costs the same at any depth. Archived
programs are left out unless `Include Archive` is true or the query names one program by
id or external key. The external key is `Name` (unique) or `CRM Id`.

Writing: only UPDATE, and only period costs and tags (the channel among them); the program's
own attributes are read-only, so an attribList may only repeat their current values. UPDATE
never creates, so a program that the id or external key does not find is SKIPPED (nothing
changes) rather than FAILED; a malformed name (no id or key, another key name) still fails.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, exists, false, insert, literal, or_, select, true, update

from mktows.engine.campaigns import catalog
from mktows.engine.campaigns import programs as prog
from mktows.engine.leads.fields import decimal_text
from mktows.engine.models import Criterion, MObject, MObjectQuery, MObjectStatus, Pair
from mktows.engine.objects import base
from mktows.engine.objects.base import PROGRAM, TYPES, ObjectFailed, criterion_clause, typed_value
from mktows.engine.timestamps import id_is
from mktows.errors import BadParameter
from mktows.store.tables import program_costs, program_tags, programs, workspaces

EVENT_PROGRAM = "Marketing Event"
TREE_ROOT = "/Marketing Activities"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
_MONTH_RE = re.compile(r"^(\d{4}-(0[1-9]|1[0-2]))(-01)?$")

# criterion name (lower case, single spaces) -> (column, kind); the tag and archive criteria
# are not plain columns
_COLUMNS: dict[str, tuple[Any, str]] = {
    "id": (programs.c.id, "integer"),
    "name": (programs.c.name, "string"),
    "crm id": (programs.c.crm_id, "string"),
    "created at": (programs.c.created_at, "datetime"),
    "updated at": (programs.c.updated_at, "datetime"),
    "workspace id": (programs.c.workspace_id, "integer"),
    "workspace name": (workspaces.c.name, "string"),
}
TAG_TYPE, TAG_VALUE, INCLUDE_ARCHIVE = "tag type", "tag value", "include archive"
CRITERIA = (
    "Id",
    "Name",
    "CRM Id",
    "Created At",
    "Updated At",
    "Tag Type",
    "Tag Value",
    "Workspace Id",
    "Workspace Name",
    "Include Archive",
)
# external key name (lower case, no spaces or underscores) -> column
_EXTERNAL_KEYS = {"name": programs.c.name_lower, "crmid": programs.c.crm_id}


def _criterion_key(name: str) -> str:
    return " ".join(name.split()).lower()


def _external_key_clause(key: Pair) -> ColumnElement[bool] | None:
    """The condition an external key (Name or CRM Id) names; None for another key name."""
    name, value = key
    column = _EXTERNAL_KEYS.get(re.sub(r"[\s_]", "", name).lower())
    if column is None:
        return None
    return column == (value.strip().lower() if column is programs.c.name_lower else value.strip())


class ProgramObjects:
    name = PROGRAM

    # --- reading ---------------------------------------------------------------------------

    def page(self, conn: Connection, query: MObjectQuery, after_id: int, limit: int) -> list[MObject]:
        base.associations_of(query)
        conditions = self._conditions(conn, query)
        rows = conn.execute(
            select(programs, workspaces.c.name.label("workspace_name"))
            .join(workspaces, workspaces.c.id == programs.c.workspace_id)
            .where(programs.c.id > after_id, *conditions)
            .order_by(programs.c.id)
            .limit(limit)
        ).all()
        return self._objects(conn, rows, query.include_details)

    def _conditions(self, conn: Connection, query: MObjectQuery) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if query.id is not None:
            conditions.append(id_is(programs.c.id, query.id))
        if query.external_key is not None:
            clause = _external_key_clause(query.external_key)
            if clause is None:
                raise BadParameter(f"Unknown Program externalKey {query.external_key[0]!r} (expected Name or CRM Id)")
            conditions.append(clause)
        by_key: dict[str, list[Criterion]] = {}
        for criterion in query.criteria:
            key = _criterion_key(criterion.name)
            if key not in _COLUMNS and key not in (TAG_TYPE, TAG_VALUE, INCLUDE_ARCHIVE):
                raise BadParameter(
                    f"Unknown criterion {criterion.name!r} for Program (expected one of: {', '.join(CRITERIA)})"
                )
            by_key.setdefault(key, []).append(criterion)
        for key, (column, kind) in _COLUMNS.items():
            conditions += [criterion_clause(c, column, kind) for c in by_key.get(key, ())]
        tag = self._tag_condition(conn, by_key.get(TAG_TYPE, []), by_key.get(TAG_VALUE, []))
        if tag is not None:
            conditions.append(tag)
        names_one = query.id is not None or query.external_key is not None
        if not self._include_archived(by_key.get(INCLUDE_ARCHIVE, [])) and not names_one:
            conditions.append(programs.c.archived.is_(False))
        return conditions

    @staticmethod
    def _include_archived(criteria: list[Criterion]) -> bool:
        """`Include Archive EQ true` (or `NE false`); at most one such criterion."""
        if not criteria:
            return False
        if len(criteria) > 1:
            raise BadParameter("Only one Include Archive criterion is allowed")
        [criterion] = criteria
        op = criterion.comparison.upper()
        if op not in ("EQ", "NE"):
            raise BadParameter(f"Include Archive takes EQ or NE, not {criterion.comparison!r}")
        value = bool(typed_value(criterion.name, criterion.value, "boolean"))
        return value if op == "EQ" else not value

    @staticmethod
    def _tag_condition(conn: Connection, types: list[Criterion], values: list[Criterion]) -> ColumnElement[bool] | None:
        """Programs with one tag (the channel counts, as type `Channel`) that meets the Tag
        Type criterion and every Tag Value criterion."""
        if len(types) > 1:
            raise BadParameter("Only one Tag Type criterion is allowed")
        if not types and not values:
            return None

        def type_clause(column: Any) -> ColumnElement[bool]:
            if not types:
                return true()
            [criterion] = types
            if criterion.comparison.upper() != "EQ":
                return criterion_clause(criterion, column, "string")
            # EQ: the catalogue's spelling, so the (tag_type, tag_value) index serves the lookup
            wanted = criterion.value.strip()
            if wanted.lower() == catalog.CHANNEL_TAG_TYPE.lower():
                spelled: str | None = catalog.CHANNEL_TAG_TYPE
            else:
                found = catalog.tag_type_or_none(conn, wanted)
                spelled = found.name if found is not None else None
            return column == spelled if spelled is not None else false()

        def value_clauses(column: Any) -> list[ColumnElement[bool]]:
            return [criterion_clause(c, column, "string") for c in values]

        tagged = exists().where(
            program_tags.c.program_id == programs.c.id,
            type_clause(program_tags.c.tag_type),
            *value_clauses(program_tags.c.tag_value),
        )
        by_channel = and_(
            programs.c.channel.is_not(None),
            type_clause(literal(catalog.CHANNEL_TAG_TYPE)),
            *value_clauses(programs.c.channel),
        )
        return or_(tagged, by_channel)

    def _objects(self, conn: Connection, rows: Sequence[Row[Any]], details: bool) -> list[MObject]:
        ids = [row.id for row in rows]
        tags = prog.tags_of(conn, ids)
        costs: dict[int, list[Row[Any]]] = {}
        if details and ids:
            query = (
                select(program_costs)
                .where(program_costs.c.program_id.in_(ids))
                .order_by(program_costs.c.program_id, program_costs.c.month, program_costs.c.id)
            )
            for cost in conn.execute(query):
                costs.setdefault(cost.program_id, []).append(cost)
        out = []
        for row in rows:
            typed: list[tuple[str, list[Pair]]] = []
            if row.channel:
                typed.append(("Tag", [("Type", catalog.CHANNEL_TAG_TYPE), ("Value", row.channel)]))
            typed += [("Tag", [("Type", t), ("Value", v)]) for t, v in tags.get(row.id, [])]
            if details:
                typed += [("Cost", _cost_pairs(cost)) for cost in costs.get(row.id, [])]
                typed += [("Token", [("Name", n), ("Value", v)]) for n, v in json.loads(row.tokens)]
            out.append(
                MObject(
                    type=PROGRAM,
                    id=row.id,
                    created_at=row.created_at,
                    updated_at=row.updated_at,
                    attributes=_attributes(row),
                    type_attributes=typed,
                )
            )
        return out

    # --- writing ---------------------------------------------------------------------------

    def identity(self, obj: MObject) -> Hashable | None:
        if obj.id is not None:
            return ("id", obj.id)
        if obj.external_key is not None:
            name, value = obj.external_key
            return (re.sub(r"[\s_]", "", name).lower(), value.strip().lower())
        return None

    def sync(self, conn: Connection, obj: MObject, operation: str, now: datetime, memo: base.Memo) -> MObjectStatus:
        if operation != "UPDATE":
            raise ObjectFailed("Program supports operation UPDATE only")
        row = self._program(conn, obj)
        if row is None:
            return MObjectStatus("SKIPPED", id=obj.id, external_key=obj.external_key)
        _check_attributes(row, obj.attributes)
        changed = False
        for kind, pairs in obj.type_attributes:
            entry = kind.strip().lower()
            if entry == "cost":
                changed = _put_cost(conn, row, pairs) or changed
            elif entry == "tag":
                changed = _put_tag(conn, row, pairs) or changed
            else:
                raise ObjectFailed(
                    f"A Program's {kind or '(no attrType)'} entries cannot be changed (only Cost and Tag)"
                )
        if changed:
            conn.execute(update(programs).where(programs.c.id == row.id).values(updated_at=now))
        return MObjectStatus("UPDATED" if changed else "UNCHANGED", id=row.id, external_key=obj.external_key)

    def delete(self, conn: Connection, obj: MObject, now: datetime, memo: base.Memo) -> MObjectStatus:
        raise ObjectFailed("Program cannot be deleted through the API")

    def _program(self, conn: Connection, obj: MObject) -> Row[Any] | None:
        """The program `obj` names by id or external key (Name or CRM Id), None if there is none."""
        query = select(programs, workspaces.c.name.label("workspace_name")).join(
            workspaces, workspaces.c.id == programs.c.workspace_id
        )
        if obj.id is not None:
            return conn.execute(query.where(id_is(programs.c.id, obj.id))).first()
        if obj.external_key is not None:
            clause = _external_key_clause(obj.external_key)
            if clause is None:
                raise ObjectFailed(f"Unknown Program externalKey {obj.external_key[0]!r} (expected Name or CRM Id)")
            return conn.execute(query.where(clause).order_by(programs.c.id.desc())).first()
        raise ObjectFailed("A Program to update needs an id or an externalKey (Name or CRM Id)")


def _tree_path(row: Row[Any]) -> str:
    parts = [row.workspace_name, *(p for p in (row.folder or "").split("/") if p), row.name]
    return "/".join([TREE_ROOT, *parts])


def _attributes(row: Row[Any]) -> list[Pair]:
    out: list[Pair] = [
        ("Name", row.name),
        ("Type", row.type),
        ("Workspace Id", str(row.workspace_id)),
        ("Workspace Name", row.workspace_name),
        ("Tree Path", _tree_path(row)),
        ("Is Archived", "true" if row.archived else "false"),
    ]
    if row.type == EVENT_PROGRAM:
        out += [
            (label, moment.strftime(DATE_FORMAT))
            for label, moment in (("Start Date", row.starts_at), ("End Date", row.ends_at))
            if moment is not None
        ]
    return out


def _cost_pairs(cost: Row[Any]) -> list[Pair]:
    pairs: list[Pair] = [("Id", str(cost.id)), ("Month", cost.month), ("Amount", cost.amount)]
    return pairs + [("Note", cost.note)] if cost.note else pairs


def _check_attributes(row: Row[Any], given: list[Pair]) -> None:
    """An attribList may only repeat current values (a read-modify-write round trip)."""
    current = {name.lower(): value for name, value in _attributes(row)}
    for name, value in given:
        if current.get(name.strip().lower()) != value.strip():
            raise ObjectFailed(
                f"Program attribute {name!r} cannot be changed through the API (only Cost and Tag entries can)"
            )


def _fields(kind: str, pairs: list[Pair], allowed: tuple[str, ...], required: tuple[str, ...]) -> dict[str, str]:
    """The entry's attribs by lower-case name; unknown, repeated or missing ones fail the object."""
    found: dict[str, str] = {}
    for name, value in pairs:
        key = name.strip().lower()
        if key not in allowed:
            raise ObjectFailed(f"Unknown {kind} attribute {name!r} (expected: {', '.join(a.title() for a in allowed)})")
        if key in found:
            raise ObjectFailed(f"{kind} attribute {name!r} given twice")
        found[key] = value.strip()
    for key in required:
        if not found.get(key):
            raise ObjectFailed(f"A {kind} entry needs {key.title()}")
    return found


def _put_cost(conn: Connection, program: Row[Any], pairs: list[Pair]) -> bool:
    """Replace the cost named by Id (one of this program's), or add a new one; True if changed."""
    given = _fields("Cost", pairs, ("id", "month", "amount", "note"), ("month", "amount"))
    month = _MONTH_RE.match(given["month"])
    if month is None:
        raise ObjectFailed(f"Cost Month must be YYYY-MM, got {given['month']!r}")
    try:
        amount = decimal_text(given["amount"])
    except ValueError:
        raise ObjectFailed(f"Cost Amount must be a number, got {given['amount']!r}") from None
    values = {"month": f"{month.group(1)}-01", "amount": amount, "note": given.get("note") or None}
    if not given.get("id"):
        conn.execute(insert(program_costs).values(program_id=program.id, **values))
        return True
    try:
        cost_id = int(given["id"])
    except ValueError:
        raise ObjectFailed(f"Cost Id must be a whole number, got {given['id']!r}") from None
    mine = and_(id_is(program_costs.c.id, cost_id), program_costs.c.program_id == program.id)
    stored = conn.execute(select(program_costs).where(mine)).first()
    if stored is None:
        raise ObjectFailed(f"Cost {cost_id} is not a cost of program {program.name!r}")
    if (stored.month, stored.amount, stored.note) == (values["month"], values["amount"], values["note"]):
        return False
    conn.execute(update(program_costs).where(mine).values(**values))
    return True


def _put_tag(conn: Connection, program: Row[Any], pairs: list[Pair]) -> bool:
    """Set one tag (type `Channel`: the channel); both must be declared. True if changed."""
    given = _fields("Tag", pairs, ("type", "value"), ("type", "value"))
    if given["type"].lower() == catalog.CHANNEL_TAG_TYPE.lower():
        channel = catalog.channel_or_none(conn, given["value"])
        if channel is None:
            known = ", ".join(c.name for c in catalog.get_channels(conn, None))
            raise ObjectFailed(f"Unknown channel {given['value']!r} (channels: {known})")
        mine = programs.c.id == program.id
        if conn.execute(select(programs.c.channel).where(mine)).scalar() == channel.name:
            return False
        conn.execute(update(programs).where(mine).values(channel=channel.name))
        return True
    tag_type = catalog.tag_type_or_none(conn, given["type"])
    if tag_type is None:
        known = ", ".join([catalog.CHANNEL_TAG_TYPE, *(t.name for t in catalog.get_tags(conn, None))])
        raise ObjectFailed(f"Unknown tag type {given['type']!r} (tag types: {known})")
    value = catalog.declared_value(tag_type, given["value"])
    if value is None:
        raise ObjectFailed(
            f"{given['value']!r} is not a value of tag type {tag_type.name!r} (values: {', '.join(tag_type.values)})"
        )
    return prog.set_tag(conn, program.id, tag_type.name, value)


PROGRAM_TYPE = TYPES.add(PROGRAM, ProgramObjects())
