"""Opportunities and their person roles as MObjects, kept by mktows itself (no CRM needed).

The fields and their values are in `opportunity_fields`.

Reads filter and page in SQL (keyset on id). A sync or delete handles one object inside the
savepoint `mobjects._each` opens, and writes the activities it causes (Add to / Remove from /
Update Opportunity) on the same connection, so both apply or neither does. An opportunity
created without id or externalKey is checked first (`prepare_create`) and inserted with the
other such objects of its call (`create_all`).

Matching a sync (docs/objects.md): by `id`, else externalKey, else (roles) the
(OpportunityId, PersonId) pair. UPDATE only touches objects that exist, so whatever names
nothing (an unknown id, key or pair) is SKIPPED and left alone; INSERT and UPSERT create from
a key or pair, but an unknown id fails them, since mktows assigns ids. An externalKey names the
most recently created match; attribute values use the API's layouts (`YYYY-MM-DD`,
`YYYY-MM-DD hh:mm:ss` in UTC, `true`/`false`, plain decimals); `CRM Id` is the value of the
object's external-key field.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Numeric,
    Row,
    Select,
    Table,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    null,
    select,
    update,
)

from mktows.engine.activities import types as activity_types
from mktows.engine.activities.log import ActivityRow, write_activities
from mktows.engine.leads.reads import KEY_TYPES, key_condition
from mktows.engine.leads.registry import field_registry
from mktows.engine.models import Criterion, MObject, MObjectQuery, MObjectStatus, ObjectRef, Pair
from mktows.engine.objects import base
from mktows.engine.objects.base import TYPES, Memo, ObjectFailed, associations_of, criterion_clause
from mktows.engine.objects.opportunity_schema import (
    EXACT_LIMIT,
    ID_FIELD,
    OPPORTUNITY,
    ROLE,
    MObjectField,
    Schema,
    column_value,
    load_schema,
    parse_value,
    render,
    squash,
    stored_text,
)
from mktows.engine.timestamps import id_is
from mktows.errors import BadParameter
from mktows.store.queries import bulk_insert, insert_returning_ids
from mktows.store.tables import (
    lead_values,
    leads,
    opportunities,
    opportunity_role_values,
    opportunity_roles,
    opportunity_values,
)

ADD_TO_OPPORTUNITY = activity_types.by_code("AssocWithOpprtntyInSales")
REMOVE_FROM_OPPORTUNITY = activity_types.by_code("DissocFromOpprtntyInSales")
UPDATE_OPPORTUNITY = activity_types.by_code("UpdateOpprtntyInSales")


# --- the two object types ------------------------------------------------------------------


@dataclass
class _Given:
    """What one syncMObjects object asks for, parsed and checked against the schema."""

    fields: dict[MObjectField, Any]
    company: tuple[int | None, str | None, str | None] | None = None  # Opportunity only; None: not given
    key: tuple[MObjectField, Any] | None = None  # the externalKey's field and typed value


@dataclass
class _Create:
    """A plain creation checked in Python, waiting to be inserted with the rest of its call."""

    values: dict[MObjectField, Any]
    extra: dict[str, Any]  # the Company columns, when given


class _ObjectKind:
    """What Opportunity and OpportunityPersonRole share: schema, matching, values, paging."""

    name: str
    table: Table
    values: Table
    owner: str  # the column of `values` that names the object

    # --- reading ---------------------------------------------------------------------------

    def _schema(self, conn: Connection, memo: Memo) -> Schema:
        """The fields, loaded once per call."""
        key = f"schema:{self.name}"
        if key not in memo:
            memo[key] = load_schema(conn, self.name)
        schema: Schema = memo[key]
        return schema

    def page(self, conn: Connection, query: MObjectQuery, after_id: int, limit: int) -> list[MObject]:
        schema = load_schema(conn, self.name)
        conditions = [self.table.c.id > after_id]
        if query.id is not None:
            conditions.append(id_is(self.table.c.id, query.id))
        if query.external_key is not None:
            key_field = self._key_field(schema, query.external_key, BadParameter)
            conditions.append(
                self.table.c.id == self._newest(self._key_clause(key_field, query.external_key[1])).scalar_subquery()
            )
        conditions += [self._criterion(schema, c) for c in query.criteria]
        conditions += [self._association(conn, ref) for ref in associations_of(query, *self.association_types)]
        rows = conn.execute(select(self.table).where(and_(*conditions)).order_by(self.table.c.id).limit(limit)).all()
        custom = self._custom_values(conn, [r.id for r in rows])
        return [self._mobject(schema, row, custom.get(row.id, {})) for row in rows]

    association_types: tuple[str, ...] = ()

    def _association(self, conn: Connection, ref: ObjectRef) -> ColumnElement[bool]:
        raise NotImplementedError

    def _mobject(self, schema: Schema, row: Row[Any], custom: dict[int, str]) -> MObject:
        current = self._current(schema, row, custom)
        attributes = [(f.name, render(f, v) or "") for f, v in current.items() if v is not None and f is not ID_FIELD]
        key_field = schema.external_key
        key_value = render(key_field, current.get(key_field)) if key_field is not None else None
        return MObject(
            type=self.name,
            id=row.id,
            external_key=(key_field.name, key_value) if key_field is not None and key_value is not None else None,
            created_at=row.created_at,
            updated_at=row.updated_at,
            attributes=attributes,
            associations=self._associations_out(row),
        )

    def _associations_out(self, row: Row[Any]) -> list[ObjectRef]:
        raise NotImplementedError

    def _current(self, schema: Schema, row: Row[Any], custom: dict[int, str]) -> dict[MObjectField, Any]:
        """Every field's typed value (None when empty) as stored."""
        out: dict[MObjectField, Any] = {}
        for f in schema.fields:
            if f.column is not None:
                out[f] = row._mapping[f.column]
            else:
                out[f] = parse_value(f, custom.get(f.field_id))  # type: ignore[arg-type]
        return out

    def _custom_values(self, conn: Connection, ids: list[int]) -> dict[int, dict[int, str]]:
        out: dict[int, dict[int, str]] = {}
        if ids:
            owner = self.values.c[self.owner]
            for r in conn.execute(select(owner, self.values.c.field_id, self.values.c.value).where(owner.in_(ids))):
                out.setdefault(r[0], {})[r.field_id] = r.value
        return out

    def _field_clause(self, f: MObjectField, criterion: Criterion) -> ColumnElement[bool]:
        """`field <comparison> value`, typed as the field is (base.criterion_clause)."""
        if f.kind == "number":
            number = base.typed_value(criterion.name, criterion.value, "number")
            if not abs(number) < EXACT_LIMIT:
                raise BadParameter(f"Value {criterion.value!r} of {criterion.name!r} is out of range")
        if f.column is not None:
            return criterion_clause(criterion, self.table.c[f.column], f.kind)
        return self._custom_clause(f, criterion)

    def _custom_clause(self, f: MObjectField, criterion: Criterion) -> ColumnElement[bool]:
        """The objects whose value row for custom field `f` compares true (an indexed lookup by
        field); NE is "no row equals", so objects without a value match it as for columns."""
        kind = f.kind
        if kind in ("boolean", "date", "datetime"):  # stored as text that sorts as the values do
            try:
                typed = parse_value(f, criterion.value)
            except ValueError:
                raise BadParameter(
                    f"Value {criterion.value!r} of {criterion.name!r} is not a valid {f.data_type}"
                ) from None
            criterion, kind = replace(criterion, value="" if typed is None else stored_text(f, typed)), "string"
        value: ColumnElement[Any] = self.values.c.value
        if kind in ("integer", "number"):  # CAST only this field's rows: other fields hold any text
            value = case((self.values.c.field_id == f.field_id, cast(value, Numeric)))
        negate = criterion.comparison.strip().upper() == "NE"
        if negate:
            criterion = replace(criterion, comparison="EQ")
        owners = select(self.values.c[self.owner]).where(
            self.values.c.field_id == f.field_id, criterion_clause(criterion, value, kind)
        )
        return self.table.c.id.not_in(owners) if negate else self.table.c.id.in_(owners)

    def _criterion(self, schema: Schema, criterion: Criterion) -> ColumnElement[bool]:
        name = squash(criterion.name)
        if name in ("createdat", "updatedat"):
            column = self.table.c.created_at if name == "createdat" else self.table.c.updated_at
            return criterion_clause(criterion, column, "datetime")
        if name == "crmid" and self.name == OPPORTUNITY:
            key_field = schema.external_key
            if key_field is None:  # no external system id is kept: every opportunity has none
                return criterion_clause(criterion, null(), "string")
            return self._field_clause(key_field, criterion)
        f = schema.get(criterion.name)
        if f is None:
            raise BadParameter(
                f"Unknown {self.name} attribute {criterion.name!r} in mObjCriteria "
                f"(expected one of: {', '.join(self._criterion_names(schema))})"
            )
        return self._field_clause(f, criterion)

    def _criterion_names(self, schema: Schema) -> list[str]:
        extra = ["CRM Id"] if self.name == OPPORTUNITY else []
        return [*(f.name for f in schema.fields), *extra, "Created At", "Updated At"]

    # --- matching --------------------------------------------------------------------------

    def _key_field(self, schema: Schema, key: Pair, error: type[Exception]) -> MObjectField:
        found = schema.get(key[0])
        if found is None:
            raise error(f"Unknown {self.name} field {key[0]!r} in externalKey")
        return found

    def _key_clause(self, f: MObjectField, value: str) -> ColumnElement[bool]:
        """The objects whose field `f` holds `value` (typed, case-insensitive for text)."""
        return self._field_clause(f, Criterion(f.name, "EQ", value))

    def _newest(self, clause: ColumnElement[bool]) -> Select[Any]:
        """The id of the most recently created match: externalKeys are not unique."""
        return (
            select(self.table.c.id)
            .where(clause)
            .order_by(self.table.c.created_at.desc(), self.table.c.id.desc())
            .limit(1)
        )

    def _by_key(self, conn: Connection, schema: Schema, key: Pair) -> Row[Any] | None:
        key_field = self._key_field(schema, key, ObjectFailed)
        try:
            found = conn.execute(self._newest(self._key_clause(key_field, key[1]))).scalar()
        except BadParameter as exc:
            raise ObjectFailed(f"externalKey: {exc.detail}") from None
        return self._row(conn, found) if found is not None else None

    def _row(self, conn: Connection, object_id: int) -> Row[Any] | None:
        return conn.execute(select(self.table).where(id_is(self.table.c.id, object_id))).first()

    def _match(self, conn: Connection, schema: Schema, obj: MObject) -> Row[Any] | None:
        """The stored object `obj` names: by id when it gives one, else by externalKey."""
        if obj.id is not None:
            return self._row(conn, obj.id)
        if obj.external_key is not None:
            return self._by_key(conn, schema, obj.external_key)
        return None

    def _unknown_id(self, obj: MObject, operation: str) -> MObjectStatus:
        """A sync naming an id that matches nothing. UPDATE skips it, as it skips every object
        that does not exist yet; INSERT and UPSERT fail, since mktows assigns ids and a given
        one cannot create an object."""
        if operation == "UPDATE":
            return self._status("SKIPPED", obj, obj.id)
        raise ObjectFailed(f"No {self.name} with id {obj.id} (leave the id out to create one)")

    def identity(self, obj: MObject) -> Hashable | None:
        if obj.id is not None:
            return ("id", obj.id)
        if obj.external_key is not None:
            return ("key", squash(obj.external_key[0]), obj.external_key[1].strip().lower())
        return None

    # --- writing ---------------------------------------------------------------------------

    def _given(self, conn: Connection, schema: Schema, obj: MObject) -> _Given:
        if obj.type_attributes:
            raise ObjectFailed(f"{self.name} takes no typeAttribList (it is for Program only)")
        values: dict[MObjectField, Any] = {}
        for name, raw in obj.attributes:
            f = schema.get(name)
            if f is None:
                raise ObjectFailed(f"Unknown {self.name} field {name!r}")
            if f.read_only:
                raise ObjectFailed(f"{f.name} is read-only (give it as the mObject's id)")
            if f in values:
                raise ObjectFailed(f"Field {f.name!r} given twice")
            values[f] = _parsed(f, raw)
        given = _Given(values)
        if obj.external_key is not None:
            key_field = self._key_field(schema, obj.external_key, ObjectFailed)
            given.key = (key_field, _parsed(key_field, obj.external_key[1]))
        return given

    def _write_values(self, conn: Connection, object_id: int, values: Mapping[MObjectField, Any]) -> None:
        """Store custom values (an empty one deletes the row); standard ones are the caller's."""
        owner = self.values.c[self.owner]
        for f, value in values.items():
            if not f.custom:
                continue
            where = and_(owner == object_id, self.values.c.field_id == f.field_id)
            conn.execute(delete(self.values).where(where))
            if value is not None:
                conn.execute(
                    insert(self.values).values(
                        {self.owner: object_id, "field_id": f.field_id, "value": stored_text(f, value)}
                    )
                )

    def _insert(
        self, conn: Connection, values: Mapping[MObjectField, Any], extra: dict[str, Any], now: datetime
    ) -> int:
        row = {f.column: column_value(f, v) for f, v in values.items() if f.column is not None}
        row.update(extra, created_at=now, updated_at=now)
        object_id = int(conn.execute(insert(self.table).values(row).returning(self.table.c.id)).scalar_one())
        self._write_values(conn, object_id, values)
        return object_id

    def _apply(
        self, conn: Connection, object_id: int, values: Mapping[MObjectField, Any], extra: dict[str, Any], now: datetime
    ) -> None:
        row = {f.column: column_value(f, v) for f, v in values.items() if f.column is not None}
        row.update(extra, updated_at=now)
        conn.execute(update(self.table).where(self.table.c.id == object_id).values(row))
        self._write_values(conn, object_id, values)

    def _changed(
        self, schema: Schema, row: Row[Any], custom: dict[int, str], wanted: Mapping[MObjectField, Any]
    ) -> list[tuple[MObjectField, str | None, str | None]]:
        """(field, old text, new text) for each wanted value that differs from the stored one."""
        current = self._current(schema, row, custom)
        out = []
        for f, value in wanted.items():
            old, new = render(f, current[f]), render(f, value)
            if old != new:
                out.append((f, old, new))
        return out

    def _status(self, status: str, obj: MObject, object_id: int | None) -> MObjectStatus:
        return MObjectStatus(status, id=object_id, external_key=obj.external_key)


def _parsed(f: MObjectField, raw: str | None) -> Any:
    try:
        return parse_value(f, raw)
    except ValueError as exc:
        raise ObjectFailed(f"Bad value for {f.name} ({f.data_type}): {exc}") from None


def _update_activity(
    lead_id: int,
    opportunity: Row[Any],
    now: datetime,
    attribute: str,
    old: str | None,
    new: str | None,
    role_id: int | None = None,
) -> ActivityRow:
    attributes = [("Opportunity ID", str(opportunity.id))]
    if role_id is not None:
        attributes.append(("Role ID", str(role_id)))
    attributes += [
        ("Attribute Name", attribute),
        ("Old Value", old or ""),
        ("New Value", new or ""),
        ("Lead ID", str(lead_id)),
    ]
    return ActivityRow(lead_id, now, UPDATE_OPPORTUNITY, opportunity.name, attributes)


def _membership_activity(
    kind: activity_types.ActivityType, role: Row[Any], opportunity: Row[Any], now: datetime
) -> ActivityRow:
    """Add to / Remove from Opportunity on the role's lead (asset name: the opportunity's Name)."""
    primary = "" if role.is_primary is None else ("true" if role.is_primary else "false")
    attributes = [
        ("Opportunity ID", str(opportunity.id)),
        ("Role", role.role or ""),
        ("Is Primary", primary),
        ("Lead ID", str(role.lead_id)),
    ]
    return ActivityRow(role.lead_id, now, kind, opportunity.name, attributes)


# --- leads named by an association -----------------------------------------------------------


def lead_query(conn: Connection, ref: ObjectRef, error: type[Exception]) -> Select[Any]:
    """The lead an association names: by id, or by an externalKey whose name is a lead key
    type or lead field (`Email`, `IDNUM`, `SFDCLeadId`, a custom field...), the most recently
    updated lead on ties (as single-lead calls choose)."""
    newest = (leads.c.updated_at.desc(), leads.c.id.desc())
    if ref.id is not None:
        return select(leads.c.id).where(id_is(leads.c.id, ref.id))
    assert ref.external_key is not None
    name, value = ref.external_key
    key_type = "IDNUM" if squash(name) in ("id", "idnum", "personid", "leadid") else name.strip().upper()
    if key_type in KEY_TYPES:
        return select(leads.c.id).where(key_condition(key_type, [value], strict_ids=False)).order_by(*newest).limit(1)
    lead_field = field_registry(conn).get(name)
    if lead_field is None:
        raise error(f"Unknown lead field {name!r} in the Lead association's externalKey")
    wanted = value.strip().lower()
    if lead_field.column is not None:  # a field kept in a column of `leads`
        return select(leads.c.id).where(func.lower(leads.c[lead_field.column]) == wanted).order_by(*newest).limit(1)
    match = select(lead_values.c.lead_id).where(
        lead_values.c.name == lead_field.name, func.lower(lead_values.c.value) == wanted
    )
    return select(leads.c.id).where(leads.c.id.in_(match)).order_by(*newest).limit(1)


def _describe_ref(ref: ObjectRef) -> str:
    if ref.id is not None:
        return f"id {ref.id}"
    assert ref.external_key is not None
    return f"{ref.external_key[0]}={ref.external_key[1]!r}"


class OpportunityType(_ObjectKind):
    name = OPPORTUNITY
    table = opportunities
    values = opportunity_values
    owner = "opportunity_id"
    association_types = ("Lead", "Company")

    def _association(self, conn: Connection, ref: ObjectRef) -> ColumnElement[bool]:
        if ref.type == "Lead":
            lead = lead_query(conn, ref, BadParameter).scalar_subquery()
            return self.table.c.id.in_(
                select(opportunity_roles.c.opportunity_id).where(opportunity_roles.c.lead_id == lead)
            )
        if ref.id is not None:
            return self.table.c.company_id == ref.id
        assert ref.external_key is not None
        return and_(
            func.lower(self.table.c.company_key_name) == ref.external_key[0].strip().lower(),
            func.lower(self.table.c.company_key_value) == ref.external_key[1].strip().lower(),
        )

    def _associations_out(self, row: Row[Any]) -> list[ObjectRef]:
        company = _company(row)
        if company == (None, None, None):
            return []
        key = (company[1], company[2] or "") if company[1] is not None else None
        return [ObjectRef("Company", company[0], key)]

    def _given(self, conn: Connection, schema: Schema, obj: MObject) -> _Given:
        given = super()._given(conn, schema, obj)
        for ref in obj.associations:
            if ref.type != "Company":
                raise ObjectFailed(
                    f"An Opportunity can be associated with a Company only, not {ref.type or '(no type)'!r} "
                    "(link leads with OpportunityPersonRole)"
                )
            if given.company is not None:
                raise ObjectFailed("An Opportunity has one Company association")
            if ref.id is None and ref.external_key is None:
                raise ObjectFailed("The Company association needs an id or an externalKey")
            key = ref.external_key
            if key is not None and max(len(key[0]), len(key[1])) > 255:
                raise ObjectFailed("The Company association's externalKey is longer than 255 characters")
            given.company = (ref.id, key[0] if key else None, key[1] if key else None)
        name = schema.get("Name")
        if name in given.fields and given.fields[name] is None:
            raise ObjectFailed("Name cannot be empty")
        return given

    def sync(self, conn: Connection, obj: MObject, operation: str, now: datetime, memo: Memo) -> MObjectStatus:
        schema = self._schema(conn, memo)
        given = self._given(conn, schema, obj)
        row = self._match(conn, schema, obj)
        if row is None and obj.id is not None:
            return self._unknown_id(obj, operation)
        if row is not None:
            if operation == "INSERT":
                return self._status("SKIPPED", obj, row.id)
            return self._update(conn, schema, obj, row, given, now)
        if operation == "UPDATE":
            if obj.external_key is None:
                raise ObjectFailed("UPDATE needs the Opportunity's id or externalKey")
            return self._status("SKIPPED", obj, None)
        values = dict(given.fields)
        if given.key is not None:
            values.setdefault(*given.key)
        if values.get(schema.get("Name")) is None:  # type: ignore[arg-type]
            raise ObjectFailed("Name is required to create an Opportunity")
        extra = _company_columns(given.company) if given.company is not None else {}
        return self._status("CREATED", obj, self._insert(conn, values, extra, now))

    def prepare_create(self, conn: Connection, obj: MObject, operation: str, memo: Memo) -> _Create | None:
        """An INSERT or UPSERT without id or externalKey matches nothing, so it creates (or
        fails its checks) whatever the database holds: `sync`'s path for it, without writing."""
        if obj.id is not None or obj.external_key is not None or operation == "UPDATE":
            return None
        schema = self._schema(conn, memo)
        given = self._given(conn, schema, obj)
        if given.fields.get(schema.get("Name")) is None:  # type: ignore[arg-type]
            raise ObjectFailed("Name is required to create an Opportunity")
        extra = _company_columns(given.company) if given.company is not None else {}
        return _Create(given.fields, extra)

    def create_all(self, conn: Connection, prepared: list[_Create], now: datetime, memo: Memo) -> list[MObjectStatus]:
        """Insert prepared opportunities with one executemany (ids in input order), then their
        custom values with another; creating an opportunity logs no activity."""
        rows = []
        for item in prepared:
            row = {f.column: column_value(f, v) for f, v in item.values.items() if f.column is not None}
            row.update(item.extra, created_at=now, updated_at=now)
            rows.append(row)
        columns = list(dict.fromkeys(c for row in rows for c in row))  # a column left out is NULL
        ids = insert_returning_ids(conn, self.table, [{c: row.get(c) for c in columns} for row in rows])
        bulk_insert(
            conn,
            self.values,
            [
                {self.owner: object_id, "field_id": f.field_id, "value": stored_text(f, v)}
                for object_id, item in zip(ids, prepared, strict=True)
                for f, v in item.values.items()
                if f.custom and v is not None
            ],
        )
        return [MObjectStatus("CREATED", id=object_id) for object_id in ids]

    def _update(
        self, conn: Connection, schema: Schema, obj: MObject, row: Row[Any], given: _Given, now: datetime
    ) -> MObjectStatus:
        custom = self._custom_values(conn, [row.id]).get(row.id, {})
        changes = [(f.label, old, new) for f, old, new in self._changed(schema, row, custom, given.fields)]
        extra: dict[str, Any] = {}
        if given.company is not None and given.company != _company(row):
            extra = _company_columns(given.company)
            changes.append(("Company", _company_text(_company(row)), _company_text(given.company)))
        if not changes:
            return self._status("UNCHANGED", obj, row.id)
        self._apply(conn, row.id, given.fields, extra, now)
        updated = self._row(conn, row.id)
        assert updated is not None  # written just above
        lead_ids = conn.execute(
            select(opportunity_roles.c.lead_id)
            .where(opportunity_roles.c.opportunity_id == row.id)
            .order_by(opportunity_roles.c.id)
        ).scalars()
        write_activities(
            conn,
            [
                _update_activity(lead_id, updated, now, label, old, new)
                for lead_id in lead_ids
                for label, old, new in changes
            ],
        )
        return self._status("UPDATED", obj, row.id)

    def delete(self, conn: Connection, obj: MObject, now: datetime, memo: Memo) -> MObjectStatus:
        """Deleting an opportunity deletes its roles, each logging Remove from Opportunity."""
        schema = self._schema(conn, memo)
        if obj.id is None and obj.external_key is None:
            raise ObjectFailed("deleteMObjects needs the Opportunity's id or externalKey")
        row = self._match(conn, schema, obj)
        if row is None:
            return self._status("UNCHANGED", obj, obj.id)
        roles = conn.execute(
            select(opportunity_roles)
            .where(opportunity_roles.c.opportunity_id == row.id)
            .order_by(opportunity_roles.c.id)
        ).all()
        write_activities(conn, [_membership_activity(REMOVE_FROM_OPPORTUNITY, role, row, now) for role in roles])
        conn.execute(delete(opportunity_roles).where(opportunity_roles.c.opportunity_id == row.id))
        conn.execute(delete(self.table).where(self.table.c.id == row.id))
        return self._status("DELETED", obj, row.id)


def _company(row: Row[Any]) -> tuple[int | None, str | None, str | None]:
    return (row.company_id, row.company_key_name, row.company_key_value)


def _company_columns(company: tuple[int | None, str | None, str | None]) -> dict[str, Any]:
    company_id, key_name, key_value = company
    return {"company_id": company_id, "company_key_name": key_name, "company_key_value": key_value}


def _company_text(company: tuple[int | None, str | None, str | None]) -> str:
    company_id, key_name, key_value = company
    parts = [str(company_id)] if company_id is not None else []
    if key_name is not None:
        parts.append(f"{key_name}={key_value or ''}")
    return " ".join(parts)


class RoleType(_ObjectKind):
    """OpportunityPersonRole: a lead (PersonId) in an opportunity (OpportunityId); one per pair."""

    name = ROLE
    table = opportunity_roles
    values = opportunity_role_values
    owner = "role_id"
    association_types = ("Lead", "Opportunity")

    def _association(self, conn: Connection, ref: ObjectRef) -> ColumnElement[bool]:
        if ref.type == "Lead":
            return self.table.c.lead_id == lead_query(conn, ref, BadParameter).scalar_subquery()
        return self.table.c.opportunity_id == _opportunity_query(conn, ref, BadParameter).scalar_subquery()

    def _associations_out(self, row: Row[Any]) -> list[ObjectRef]:
        return [ObjectRef("Lead", row.lead_id), ObjectRef("Opportunity", row.opportunity_id)]

    def identity(self, obj: MObject) -> Hashable | None:
        found = super().identity(obj)
        if found is not None:
            return found
        links = {squash(n): v.strip() for n, v in obj.attributes if squash(n) in ("opportunityid", "personid")}
        if len(links) == 2 and all(v.isdigit() for v in links.values()):
            return ("pair", int(links["opportunityid"]), int(links["personid"]))
        return None

    def _given(self, conn: Connection, schema: Schema, obj: MObject) -> _Given:
        given = super()._given(conn, schema, obj)
        for ref in obj.associations:
            if ref.type == "Opportunity":
                found = _opportunity_query(conn, ref, ObjectFailed).scalar_subquery()
                self._link(conn, given, schema.get("OpportunityId"), found, ref)
            elif ref.type == "Lead":
                self._link(
                    conn, given, schema.get("PersonId"), lead_query(conn, ref, ObjectFailed).scalar_subquery(), ref
                )
            else:
                raise ObjectFailed(
                    f"An OpportunityPersonRole can be associated with a Lead and an Opportunity, "
                    f"not {ref.type or '(no type)'!r}"
                )
        return given

    def _link(self, conn: Connection, given: _Given, f: MObjectField | None, query: Any, ref: ObjectRef) -> None:
        """Set a link field from an association; it must agree with the attribute if both are given."""
        assert f is not None
        if ref.id is None and ref.external_key is None:
            raise ObjectFailed(f"The {ref.type} association needs an id or an externalKey")
        target = ref.id if ref.id is not None else conn.execute(select(query)).scalar()
        if target is None:
            raise ObjectFailed(f"No {ref.type} with {_describe_ref(ref)}")
        if given.fields.get(f, target) != target:
            raise ObjectFailed(f"{f.name} {given.fields[f]} and the {ref.type} association ({target}) disagree")
        given.fields[f] = target

    def _links(self, schema: Schema, given: _Given) -> tuple[int | None, int | None]:
        return given.fields.get(schema.get("OpportunityId")), given.fields.get(schema.get("PersonId"))  # type: ignore[arg-type]

    def _match_role(self, conn: Connection, schema: Schema, obj: MObject, given: _Given) -> Row[Any] | None:
        """By id, else externalKey, else the (OpportunityId, PersonId) pair."""
        row = self._match(conn, schema, obj)
        opportunity_id, lead_id = self._links(schema, given)
        if row is None and obj.id is None and opportunity_id is not None and lead_id is not None:
            row = conn.execute(
                select(self.table).where(self.table.c.opportunity_id == opportunity_id, self.table.c.lead_id == lead_id)
            ).first()
        return row

    def sync(self, conn: Connection, obj: MObject, operation: str, now: datetime, memo: Memo) -> MObjectStatus:
        schema = self._schema(conn, memo)
        given = self._given(conn, schema, obj)
        row = self._match_role(conn, schema, obj, given)
        if row is None and obj.id is not None:
            return self._unknown_id(obj, operation)
        if row is not None:
            if operation == "INSERT":
                return self._status("SKIPPED", obj, row.id)
            return self._update(conn, schema, obj, row, given, now)
        opportunity_id, lead_id = self._links(schema, given)
        if operation == "UPDATE":
            if obj.external_key is None and (opportunity_id is None or lead_id is None):
                raise ObjectFailed("UPDATE needs the role's id, externalKey, or OpportunityId and PersonId")
            return self._status("SKIPPED", obj, None)
        return self._status("CREATED", obj, self._create(conn, schema, given, now))

    def _create(self, conn: Connection, schema: Schema, given: _Given, now: datetime) -> int:
        opportunity_id, lead_id = self._links(schema, given)
        if opportunity_id is None or lead_id is None:
            raise ObjectFailed("OpportunityId and PersonId (or Opportunity and Lead associations) are required")
        opportunity = conn.execute(select(opportunities).where(opportunities.c.id == opportunity_id)).first()
        if opportunity is None:
            raise ObjectFailed(f"No Opportunity with id {opportunity_id}")
        if conn.execute(select(leads.c.id).where(leads.c.id == lead_id)).first() is None:
            raise ObjectFailed(f"No lead with id {lead_id} (PersonId)")
        values = dict(given.fields)
        if given.key is not None:
            values.setdefault(*given.key)
        role_id = self._insert(conn, values, {}, now)
        role = self._row(conn, role_id)
        assert role is not None  # inserted just above
        write_activities(conn, [_membership_activity(ADD_TO_OPPORTUNITY, role, opportunity, now)])
        return role_id

    def _update(
        self, conn: Connection, schema: Schema, obj: MObject, row: Row[Any], given: _Given, now: datetime
    ) -> MObjectStatus:
        for f in (schema.get("OpportunityId"), schema.get("PersonId")):
            assert f is not None
            if f in given.fields and given.fields[f] != row._mapping[f.column]:  # type: ignore[index]
                raise ObjectFailed(
                    f"A role's {f.name} cannot change ({row._mapping[f.column]} -> {given.fields[f]}); "  # type: ignore[index]
                    "delete the role and create another"
                )
        custom = self._custom_values(conn, [row.id]).get(row.id, {})
        changes = self._changed(schema, row, custom, given.fields)
        if not changes:
            return self._status("UNCHANGED", obj, row.id)
        self._apply(conn, row.id, given.fields, {}, now)
        opportunity = conn.execute(select(opportunities).where(opportunities.c.id == row.opportunity_id)).one()
        write_activities(
            conn,
            [
                _update_activity(row.lead_id, opportunity, now, f.label, old, new, role_id=row.id)
                for f, old, new in changes
            ],
        )
        return self._status("UPDATED", obj, row.id)

    def delete(self, conn: Connection, obj: MObject, now: datetime, memo: Memo) -> MObjectStatus:
        schema = self._schema(conn, memo)
        given = self._given(conn, schema, obj)
        opportunity_id, lead_id = self._links(schema, given)
        if obj.id is None and obj.external_key is None and (opportunity_id is None or lead_id is None):
            raise ObjectFailed("deleteMObjects needs the role's id, externalKey, or OpportunityId and PersonId")
        row = self._match_role(conn, schema, obj, given)
        if row is None:
            return self._status("UNCHANGED", obj, obj.id)
        opportunity = conn.execute(select(opportunities).where(opportunities.c.id == row.opportunity_id)).one()
        write_activities(conn, [_membership_activity(REMOVE_FROM_OPPORTUNITY, row, opportunity, now)])
        conn.execute(delete(self.table).where(self.table.c.id == row.id))
        return self._status("DELETED", obj, row.id)


OPPORTUNITY_TYPE = OpportunityType()
ROLE_TYPE = RoleType()
OBJECT_TYPES: dict[str, _ObjectKind] = {OPPORTUNITY: OPPORTUNITY_TYPE, ROLE: ROLE_TYPE}


def restore_values(conn: Connection, object_name: str, f: MObjectField) -> None:
    """Re-store a custom field's values after its type or size changed (instance file);
    ValueError names the first stored value the new definition does not accept."""
    kind = OBJECT_TYPES[object_name]
    owner = kind.values.c[kind.owner]
    rows = conn.execute(select(owner, kind.values.c.value).where(kind.values.c.field_id == f.field_id)).all()
    for object_id, text in rows:
        try:
            restored = stored_text(f, parse_value(f, text))
        except ValueError as exc:
            raise ValueError(
                f"{object_name} {object_id} holds {text!r}, which {f.data_type} does not accept: {exc}"
            ) from None
        if restored != text:
            conn.execute(
                update(kind.values)
                .where(owner == object_id, kind.values.c.field_id == f.field_id)
                .values(value=restored)
            )


def _opportunity_query(conn: Connection, ref: ObjectRef, error: type[Exception]) -> Select[Any]:
    """The opportunity an association names: by id, or the newest match of its externalKey."""
    if ref.id is not None:
        return select(opportunities.c.id).where(id_is(opportunities.c.id, ref.id))
    assert ref.external_key is not None
    schema = load_schema(conn, OPPORTUNITY)
    key_field = OPPORTUNITY_TYPE._key_field(schema, ref.external_key, error)
    try:
        return OPPORTUNITY_TYPE._newest(OPPORTUNITY_TYPE._key_clause(key_field, ref.external_key[1]))
    except BadParameter as exc:
        raise error(exc.detail) from None


TYPES.add(OPPORTUNITY_TYPE.name, OPPORTUNITY_TYPE)
TYPES.add(ROLE_TYPE.name, ROLE_TYPE)
