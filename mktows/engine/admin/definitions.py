"""What marketers built in the UI (workspaces, channels, tags, lists, programs, emails,
campaigns), applied to the database from the instance file.

`instance.parse_instance` checks the shape of every item and builds these values; this module
applies them in the caller's single write transaction and resolves every reference
(channel, workspace, tag, list, email, campaign, lead field, progression status) against
the database as it stands after the file's own objects were written, so a file may refer
to what an earlier file loaded. A reference that does not resolve raises DefinitionError,
and the caller's transaction rolls back: a broken file applies nothing.

Idempotent: objects match by case-insensitive name and are updated in place, never
duplicated; nothing is deleted because the file no longer names it. Inside a program,
tokens merge by name, tags by type, costs by month.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from mktows.engine.admin import users
from mktows.engine.campaigns import catalog
from mktows.engine.campaigns import programs as prog
from mktows.engine.campaigns.steps import STEPS
from mktows.engine.leads.fields import Field, FieldRegistry, normalize_value
from mktows.engine.leads.registry import field_registry, put_field
from mktows.engine.leads.workspaces import DEFAULT_WORKSPACE
from mktows.engine.models import ApiUser, FieldInfo, ProgramInfo
from mktows.engine.objects import custom as co
from mktows.engine.objects import opportunities as opp
from mktows.engine.objects.opportunity_schema import MObjectField
from mktows.errors import MarketoError
from mktows.store.tables import (
    campaigns,
    channels,
    custom_object_types,
    emails,
    mobject_fields,
    program_costs,
    program_tags,
    programs,
    static_lists,
    tag_types,
    workspaces,
)

NUMERIC_TYPES = frozenset({"integer", "score", "float", "currency", "percent"})
DATE_TYPES = frozenset({"date", "datetime"})
ORDER_OPS = frozenset({"greater_than", "less_than", "at_least", "at_most"})


class DefinitionError(ValueError):
    """A reference in the instance file does not resolve; `path` locates it in the file."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class WorkspaceDef:
    name: str
    description: str | None = None
    path: str = ""


@dataclass(frozen=True)
class StatusDef:
    name: str
    step: int
    success: bool = False
    check_in: str | None = None  # event channels: Attended / None
    webinar: str | None = None  # webinar channels: Attended, Attended On-demand, No Show, Registered

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "step": self.step, "success": self.success}
        if self.check_in is not None:
            out["check_in"] = self.check_in
        if self.webinar is not None:
            out["webinar"] = self.webinar
        return out


@dataclass(frozen=True)
class ChannelDef:
    name: str
    kind: str  # program | event | webinar
    statuses: list[StatusDef]
    path: str = ""


@dataclass(frozen=True)
class TagTypeDef:
    name: str
    values: list[str]
    path: str = ""


@dataclass(frozen=True)
class ListDef:
    name: str
    program: str | None = None
    path: str = ""


@dataclass(frozen=True)
class CostDef:
    month: str  # YYYY-MM
    amount: str  # exact decimal text
    note: str | None = None


@dataclass(frozen=True)
class EmailDef:
    name: str
    from_email: str
    from_name: str | None = None
    reply_to: str | None = None
    subject: str = ""
    html: str = ""
    text: str = ""
    path: str = ""


@dataclass(frozen=True)
class CampaignDef:
    """Shapes already checked; `smart_list` and `flow` hold the normalised declared steps."""

    name: str
    kind: str  # trigger | batch
    sources: list[str] = field(default_factory=list)  # MKTOWS, SALES
    smart_list: list[dict[str, Any]] = field(default_factory=list)
    filter_logic: str = "all"
    flow: list[dict[str, Any]] = field(default_factory=list)
    qualification: str = "every_time"
    active: bool = True
    description: str = ""
    path: str = ""


@dataclass(frozen=True)
class ProgramDef:
    """`None` scalars keep the stored value (or the default for a new program)."""

    name: str
    type: str | None = None
    channel: str | None = None
    workspace: str | None = None
    folder: str | None = None
    description: str | None = None
    archived: bool | None = None
    crm_id: str | None = None
    starts_at: datetime | None = None  # event programs
    ends_at: datetime | None = None
    tags: list[tuple[str, str]] = field(default_factory=list)
    costs: list[CostDef] = field(default_factory=list)
    tokens: list[tuple[str, str]] = field(default_factory=list)  # name without my.
    lists: list[str] = field(default_factory=list)
    emails: list[EmailDef] = field(default_factory=list)
    campaigns: list[CampaignDef] = field(default_factory=list)
    path: str = ""


@dataclass(frozen=True)
class CustomFieldDef:
    name: str
    type: str  # a lead field type
    display_name: str | None = None
    dedupe: bool = False
    link: str | None = None  # the lead field the value names, e.g. Id


@dataclass(frozen=True)
class CustomObjectDef:
    name: str
    fields: list[CustomFieldDef]
    display_name: str | None = None
    description: str | None = None
    path: str = ""


@dataclass(frozen=True)
class MObjectFieldDef:
    """A custom field of Opportunity or OpportunityPersonRole (shape already checked)."""

    object_name: str  # Opportunity | OpportunityPersonRole
    name: str
    data_type: str  # a lead field type (fields.FIELD_TYPES)
    display_name: str | None = None
    size: int | None = None
    external_key: bool = False
    description: str | None = None
    path: str = ""


@dataclass
class Definitions:
    api_users: list[ApiUser] = field(default_factory=list)
    lead_fields: list[FieldInfo] = field(default_factory=list)
    workspaces: list[WorkspaceDef] = field(default_factory=list)
    channels: list[ChannelDef] = field(default_factory=list)
    tag_types: list[TagTypeDef] = field(default_factory=list)
    lists: list[ListDef] = field(default_factory=list)
    programs: list[ProgramDef] = field(default_factory=list)
    campaigns: list[CampaignDef] = field(default_factory=list)  # outside programs
    custom_objects: list[CustomObjectDef] = field(default_factory=list)
    mobject_fields: list[MObjectFieldDef] = field(default_factory=list)


def apply_definitions(conn: Connection, defs: Definitions, now: datetime) -> None:
    """Write everything in the caller's transaction; DefinitionError on a dangling reference."""
    for user in defs.api_users:
        users.put_user(conn, user.user_id, user.encryption_key, now, user.enabled)
    for info in defs.lead_fields:
        put_field(conn, info, now)
    if defs.custom_objects:
        lead_fields = field_registry(conn)
        for codef in defs.custom_objects:
            _put_custom_object(conn, codef, lead_fields, now)
    for fdef in defs.mobject_fields:
        _put_mobject_field(conn, fdef, now)
    ensure_workspace(conn, DEFAULT_WORKSPACE, now)
    for ws in defs.workspaces:
        ensure_workspace(conn, ws.name, now, ws.description)
    for channel in defs.channels:
        _put_channel(conn, channel, now)
    for tag_type in defs.tag_types:
        _put_tag_type(conn, tag_type, now)
    owned: list[tuple[CampaignDef, ProgramInfo | None]] = []
    for pdef in defs.programs:
        program = _put_program(conn, pdef, now)
        for name in pdef.lists:
            _put_list(conn, name, program.name, now)
        for edef in pdef.emails:
            _put_email(conn, program.id, edef, now)
        owned += [(c, program) for c in pdef.campaigns]
    for ldef in defs.lists:
        owner = _program_ref(conn, ldef.program, f"{ldef.path}.program").name if ldef.program else None
        _put_list(conn, ldef.name, owner, now)
    owned += [(c, None) for c in defs.campaigns]
    ids = [_put_campaign_row(conn, cdef, program, now) for cdef, program in owned]
    registry = field_registry(conn)
    for campaign_id, (cdef, home_program) in zip(ids, owned, strict=True):
        resolver = _Resolver(conn, registry, home_program, cdef.path)
        smart_list = [resolver.filter(f, i) for i, f in enumerate(cdef.smart_list)]
        flow = [resolver.step(s, i) for i, s in enumerate(cdef.flow)]
        conn.execute(
            update(campaigns)
            .where(campaigns.c.id == campaign_id)
            .values(smart_list=json.dumps(smart_list), flow=json.dumps(flow))
        )


# --- custom fields of opportunities and person roles ------------------------------------


def _put_mobject_field(conn: Connection, fdef: MObjectFieldDef, now: datetime) -> None:
    """Create or update one custom field. Values already stored are re-stored for a new type
    or size (DefinitionError when one does not fit); a field declared `external_key` becomes
    its object's only one."""
    table = mobject_fields
    values = {
        "name": fdef.name,
        "display_name": fdef.display_name or fdef.name,
        "data_type": fdef.data_type,
        "size": fdef.size,
        "external_key": fdef.external_key,
        "description": fdef.description,
    }
    same_object = table.c.object_name == fdef.object_name
    existing = conn.execute(select(table).where(same_object, table.c.name_lower == fdef.name.lower())).first()
    if existing is None:
        row = {**values, "object_name": fdef.object_name, "name_lower": fdef.name.lower(), "created_at": now}
        field_id = int(conn.execute(insert(table).values(**row).returning(table.c.id)).scalar_one())
    else:
        field_id = int(existing.id)
        conn.execute(update(table).where(table.c.id == field_id).values(**values))
        if (existing.data_type, existing.size) != (fdef.data_type, fdef.size):
            declared = MObjectField(fdef.name, fdef.data_type, fdef.size, field_id=field_id)
            try:
                opp.restore_values(conn, fdef.object_name, declared)
            except ValueError as exc:
                raise DefinitionError(f"{fdef.path}.type", str(exc)) from None
    if fdef.external_key:
        conn.execute(update(table).where(same_object, table.c.id != field_id).values(external_key=False))


# --- workspaces, channels, tags --------------------------------------------------------


def ensure_workspace(conn: Connection, name: str, now: datetime, description: str | None = None) -> int:
    """The workspace's id, created when missing; a given description replaces the stored one."""
    row = conn.execute(select(workspaces.c.id).where(workspaces.c.name_lower == name.lower())).first()
    if row is None:
        return int(
            conn.execute(
                insert(workspaces)
                .values(name=name, name_lower=name.lower(), description=description, created_at=now)
                .returning(workspaces.c.id)
            ).scalar_one()
        )
    values: dict[str, Any] = {"name": name}
    if description is not None:
        values["description"] = description
    conn.execute(update(workspaces).where(workspaces.c.id == row.id).values(**values))
    return int(row.id)


def _put_channel(conn: Connection, channel: ChannelDef, now: datetime) -> None:
    values = {
        "name": channel.name,
        "kind": channel.kind,
        "statuses": json.dumps([s.as_json() for s in channel.statuses]),
    }
    _upsert_named(conn, channels, channel.name, values, {"created_at": now})


def _put_tag_type(conn: Connection, tag_type: TagTypeDef, now: datetime) -> None:
    """Values are merged: a value a program may still carry is never dropped."""
    stored = conn.execute(
        select(tag_types.c.tag_values).where(tag_types.c.name_lower == tag_type.name.lower())
    ).scalar()
    merged = json.loads(stored) if stored else []
    known = {v.lower() for v in merged}
    merged += [v for v in tag_type.values if v.lower() not in known]
    _upsert_named(
        conn, tag_types, tag_type.name, {"name": tag_type.name, "tag_values": json.dumps(merged)}, {"created_at": now}
    )
    # programs' tags follow a new spelling of the type's name
    conn.execute(
        update(program_tags)
        .where(func.lower(program_tags.c.tag_type) == tag_type.name.lower())
        .values(tag_type=tag_type.name)
    )


def _upsert_named(conn: Connection, table: Any, name: str, values: dict[str, Any], on_insert: dict[str, Any]) -> int:
    found = conn.execute(select(table.c.id).where(table.c.name_lower == name.lower())).scalar()
    if found is None:
        row = {**values, **on_insert, "name_lower": name.lower()}
        return int(conn.execute(insert(table).values(**row).returning(table.c.id)).scalar_one())
    conn.execute(update(table).where(table.c.id == found).values(**values))
    return int(found)


# --- programs --------------------------------------------------------------------------


def _put_program(conn: Connection, pdef: ProgramDef, now: datetime) -> ProgramInfo:
    existing = conn.execute(select(programs).where(programs.c.name_lower == pdef.name.lower())).first()
    values: dict[str, Any] = {"name": pdef.name, "updated_at": now}
    if pdef.type is not None:
        values["type"] = pdef.type
    if pdef.channel is not None:
        values["channel"] = _channel_name(conn, pdef.channel, f"{pdef.path}.channel")
    if pdef.workspace is not None:
        ws = conn.execute(select(workspaces.c.id).where(workspaces.c.name_lower == pdef.workspace.lower())).scalar()
        if ws is None:
            raise DefinitionError(f"{pdef.path}.workspace", f"unknown workspace {pdef.workspace!r}")
        values["workspace_id"] = ws
    if pdef.folder is not None:
        values["folder"] = pdef.folder
    for key in ("description", "archived", "crm_id", "starts_at", "ends_at"):
        if getattr(pdef, key) is not None:
            values[key] = getattr(pdef, key)
    tags = [_tag(conn, t, v, f"{pdef.path}.tags.{t}") for t, v in pdef.tags]
    if existing is None:
        values.setdefault("workspace_id", ensure_workspace(conn, DEFAULT_WORKSPACE, now))
        values.update(name_lower=pdef.name.lower(), created_at=now, tokens=json.dumps(pdef.tokens))
        program_id = int(conn.execute(insert(programs).values(**values).returning(programs.c.id)).scalar_one())
    else:
        program_id = int(existing.id)
        values["tokens"] = json.dumps(_merge_pairs(json.loads(existing.tokens), pdef.tokens))
        conn.execute(update(programs).where(programs.c.id == program_id).values(**values))
        if existing.name != pdef.name:  # lists refer to their program by name
            conn.execute(
                update(static_lists)
                .where(func.lower(static_lists.c.program_name) == pdef.name.lower())
                .values(program_name=pdef.name)
            )
    for tag_type, value in tags:  # merged by type: the file's value replaces that type's value only
        prog.set_tag(conn, program_id, tag_type, value)
    for cost in pdef.costs:
        _put_cost(conn, program_id, cost)
    return prog.program_by_id(conn, program_id)


def _merge_pairs(stored: list[list[str]], given: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Stored (key, value) pairs updated by the given ones (key case-insensitive), order kept."""
    merged = {k.lower(): (k, v) for k, v in stored}
    for k, v in given:
        merged[k.lower()] = (k, v)
    return list(merged.values())


def _channel_name(conn: Connection, name: str, path: str) -> str:
    found = catalog.channel_or_none(conn, name)
    if found is None:
        raise DefinitionError(path, f"unknown channel {name!r} (declare it under channels)")
    return found.name


def _tag(conn: Connection, type_name: str, value: str, path: str) -> tuple[str, str]:
    tag_type = catalog.tag_type_or_none(conn, type_name)
    if tag_type is None:
        raise DefinitionError(path, f"unknown tag type {type_name!r} (declare it under tag_types)")
    declared = catalog.declared_value(tag_type, value)
    if declared is None:
        raise DefinitionError(
            path, f"{value!r} is not a value of tag type {tag_type.name!r} (values: {', '.join(tag_type.values)})"
        )
    return tag_type.name, declared


def _put_cost(conn: Connection, program_id: int, cost: CostDef) -> None:
    month = f"{cost.month}-01"
    values = {"amount": cost.amount, "note": cost.note}
    found = conn.execute(
        select(program_costs.c.id).where(program_costs.c.program_id == program_id, program_costs.c.month == month)
    ).scalar()
    if found is None:
        conn.execute(insert(program_costs).values(program_id=program_id, month=month, **values))
    else:
        conn.execute(update(program_costs).where(program_costs.c.id == found).values(**values))


def _program_ref(conn: Connection, name: str, path: str) -> ProgramInfo:
    found = prog.program_or_none(conn, name)
    if found is None:
        raise DefinitionError(path, f"unknown program {name!r}")
    return found


def _put_list(conn: Connection, name: str, program: str | None, now: datetime) -> int:
    owner = (
        static_lists.c.program_name.is_(None)
        if program is None
        else func.lower(static_lists.c.program_name) == program.lower()
    )
    found = conn.execute(
        select(static_lists.c.id)
        .where(func.lower(static_lists.c.name) == name.lower(), owner)
        .order_by(static_lists.c.id)
    ).scalar()
    if found is None:
        return int(
            conn.execute(
                insert(static_lists)
                .values(name=name, program_name=program, created_at=now)
                .returning(static_lists.c.id)
            ).scalar_one()
        )
    conn.execute(update(static_lists).where(static_lists.c.id == found).values(name=name, program_name=program))
    return int(found)


def _put_email(conn: Connection, program_id: int, edef: EmailDef, now: datetime) -> None:
    values = {
        "name": edef.name,
        "from_name": edef.from_name,
        "from_email": edef.from_email,
        "reply_to": edef.reply_to,
        "subject": edef.subject,
        "html": edef.html,
        "text": edef.text,
        "updated_at": now,
    }
    found = conn.execute(
        select(emails.c.id).where(emails.c.program_id == program_id, emails.c.name_lower == edef.name.lower())
    ).scalar()
    if found is None:
        conn.execute(
            insert(emails).values(program_id=program_id, name_lower=edef.name.lower(), created_at=now, **values)
        )
    else:
        conn.execute(update(emails).where(emails.c.id == found).values(**values))


def _put_campaign_row(conn: Connection, cdef: CampaignDef, program: ProgramInfo | None, now: datetime) -> int:
    """The campaign row without its smart list and flow (written once references resolve)."""
    values = {
        "name": cdef.name,
        "description": cdef.description,
        "kind": cdef.kind,
        "sources": json.dumps(cdef.sources),
        "filter_logic": cdef.filter_logic,
        "qualification": cdef.qualification,
        "active": cdef.active,
        "updated_at": now,
    }
    program_id = program.id if program is not None else None
    owner = campaigns.c.program_id.is_(None) if program_id is None else campaigns.c.program_id == program_id
    found = conn.execute(select(campaigns.c.id).where(owner, campaigns.c.name_lower == cdef.name.lower())).scalar()
    if found is None:
        row = {**values, "program_id": program_id, "name_lower": cdef.name.lower(), "created_at": now}
        return int(conn.execute(insert(campaigns).values(**row).returning(campaigns.c.id)).scalar_one())
    conn.execute(update(campaigns).where(campaigns.c.id == found).values(**values))
    return int(found)


# --- references inside smart lists and flows ---------------------------------------------


class _Resolver:
    """Resolves one campaign's references and returns the steps in canonical form:
    lead fields by API name, lists as `lists.resolve_list` understands them, emails,
    campaigns and programs by their stored names."""

    def __init__(self, conn: Connection, registry: FieldRegistry, program: ProgramInfo | None, path: str) -> None:
        self.conn = conn
        self.registry = registry
        self.by_display = {f.display_name.lower(): f for f in registry}
        self.program = program
        self.path = path

    def field(self, name: str, path: str) -> Field:
        found = self.registry.get(name) or self.by_display.get(name.strip().lower())
        if found is None:
            raise DefinitionError(path, f"unknown lead field {name!r}")
        return found

    def list_ref(self, name: str, path: str) -> str:
        try:
            return prog.list_reference(self.conn, name, self.program.name if self.program else None)[1]
        except MarketoError as exc:
            raise DefinitionError(path, f"unknown or ambiguous list {name!r}: {exc.detail}") from None

    def filter(self, item: dict[str, Any], i: int) -> dict[str, Any]:
        path = f"{self.path}.smart_list[{i}]"
        if "field" not in item:
            ((kind, name),) = item.items()
            return {kind: self.list_ref(name, f"{path}.{kind}")}
        f = self.field(item["field"], f"{path}.field")
        values = item.get("value")
        for v in values if isinstance(values, list) else [values] if values is not None else []:
            _check_value(f, v, item["op"], f"{path}.value")
        return {**item, "field": f.name}

    def program_ref(self, name: str, path: str) -> ProgramInfo:
        return _program_ref(self.conn, name, path)

    def campaign(self, name: str, path: str) -> str:
        """A campaign's full name; a bare name looks in the campaign's own program first."""
        found = None
        if self.program is not None:
            found = prog.campaign_or_none(self.conn, self.program.name, name)
        found = found or prog.campaign_or_none(self.conn, None, name)
        if found is None:
            raise DefinitionError(path, f"unknown campaign {name!r} (use Program.Campaign)")
        return found.full_name

    def fail(self, path: str, problem: str) -> DefinitionError:
        return DefinitionError(path, problem)

    def step(self, step: dict[str, Any], i: int) -> dict[str, Any]:
        """Each step resolves its own references (`campaigns/steps/`)."""
        ((kind, arg),) = step.items()
        path = f"{self.path}.flow[{i}].{kind}"
        flow_step = STEPS.get(kind)
        return {kind: flow_step.resolve(self, arg, path) if flow_step is not None else arg}


def _check_value(f: Field, value: str, op: str, path: str) -> None:
    """Comparison values must make sense for the field's type (numbers, dates)."""
    if op not in ORDER_OPS and op not in ("is", "is_not"):
        return
    if f.data_type in NUMERIC_TYPES:
        try:
            Decimal(value)
        except ArithmeticError:
            raise DefinitionError(path, f"{f.name} is a {f.data_type} field: {value!r} is not a number") from None
    elif f.data_type in DATE_TYPES:
        try:
            normalize_value(f, value)
        except ValueError as exc:
            raise DefinitionError(path, str(exc)) from None


# --- custom objects ------------------------------------------------------------------------


def _put_custom_object(conn: Connection, codef: CustomObjectDef, lead_fields: FieldRegistry, now: datetime) -> None:
    """Create or update a type in place. Its fields are replaced by the declared ones; a
    change that stored records would not fit (key, link, a field's type or spelling) is
    refused while the type has records."""
    fields = tuple(_custom_field(f, lead_fields, f"{codef.path}.fields[{i}]") for i, f in enumerate(codef.fields))
    row = conn.execute(
        select(custom_object_types).where(custom_object_types.c.name_lower == codef.name.lower())
    ).first()
    problem = None if row is None else co.incompatible_change(co.fields_from_json(row.fields), fields)
    if row is not None and problem is not None:
        count = co.record_count(conn, row.id)
        if count:
            raise DefinitionError(
                codef.path,
                f"{problem}, but custom object {row.name} has {count} record(s): "
                "delete them (deleteCustomObjects) or declare a new object",
            )
    values = {
        "name": codef.name,
        "display_name": codef.display_name,
        "description": codef.description,
        "fields": json.dumps([f.as_json() for f in fields]),
        "updated_at": now,
    }
    _upsert_named(conn, custom_object_types, codef.name, values, {"created_at": now})


def _custom_field(fdef: CustomFieldDef, lead_fields: FieldRegistry, path: str) -> co.CustomField:
    link = None
    if fdef.link is not None:
        if fdef.link.strip().lower() == co.LEAD_ID_FIELD.lower():
            link = co.LEAD_ID_FIELD
        else:
            target = lead_fields.get(fdef.link)
            if target is None:
                raise DefinitionError(f"{path}.link", f"unknown lead field {fdef.link!r} (Id or a lead field API name)")
            link = target.name
    return co.CustomField(fdef.name, fdef.type, fdef.display_name or fdef.name, fdef.dedupe, link)
