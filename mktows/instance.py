"""The instance file (YAML) that seeds a tenant: what its users built in the UI.

`load_instance` validates the whole file up front and names the file, the path inside it
and what is wrong, so a typo never half-applies; `apply_instance` is idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mktows.delivery.smtp import SmtpConfig
from mktows.engine.admin.definitions import (
    CampaignDef,
    ChannelDef,
    CostDef,
    CustomFieldDef,
    CustomObjectDef,
    DefinitionError,
    Definitions,
    EmailDef,
    ListDef,
    MObjectFieldDef,
    ProgramDef,
    StatusDef,
    TagTypeDef,
    WorkspaceDef,
)
from mktows.engine.admin.shapes import Checker, ShapeError, choice, scalar
from mktows.engine.campaigns import smartlists
from mktows.engine.campaigns.delivery_settings import is_capture
from mktows.engine.campaigns.runs import SOURCE_SPELLINGS
from mktows.engine.campaigns.steps import ORDER, STEPS
from mktows.engine.campaigns.tokens import token_name
from mktows.engine.leads.fields import FIELD_TYPES, STANDARD_BY_LOWER, decimal_text
from mktows.engine.models import ApiUser, FieldInfo
from mktows.engine.objects.opportunity_schema import OPPORTUNITY, ROLE
from mktows.engine.objects.opportunity_schema import STANDARD_FIELDS as STANDARD_MOBJECT_FIELDS
from mktows.engine.timestamps import parse_utc

if TYPE_CHECKING:
    from mktows.engine import Engine


class InstanceError(ShapeError):
    """The instance file is invalid; the message names the file, the path and the problem."""


@dataclass(frozen=True)
class InstanceUser:
    user_id: str
    encryption_key: str
    enabled: bool = True
    strict: bool = False  # refuse (fault 20110) the request parts otherwise ignored and logged


@dataclass(frozen=True)
class InstanceList:
    name: str
    program: str | None = None
    path: str = ""


@dataclass(frozen=True)
class Instance:
    api_users: list[InstanceUser] = field(default_factory=list)
    lead_fields: list[FieldInfo] = field(default_factory=list)
    lists: list[InstanceList] = field(default_factory=list)
    source: str = ""
    workspaces: list[WorkspaceDef] = field(default_factory=list)
    channels: list[ChannelDef] = field(default_factory=list)
    tag_types: list[TagTypeDef] = field(default_factory=list)
    programs: list[ProgramDef] = field(default_factory=list)
    campaigns: list[CampaignDef] = field(default_factory=list)  # outside programs
    smtp_url: str | None = None  # validated by SmtpConfig.parse
    custom_objects: list[CustomObjectDef] = field(default_factory=list)
    mobject_fields: list[MObjectFieldDef] = field(default_factory=list)  # opportunity and role fields


KNOWN_KEYS = {
    "api_users",
    "lead_fields",
    "lists",
    "workspaces",
    "channels",
    "tag_types",
    "programs",
    "campaigns",
    "smtp_url",
    "custom_objects",
    "opportunity_fields",
    "opportunity_role_fields",
}
FUTURE_KEYS: set[str] = set()


def parse_instance(data: Any, source: str = "<instance>") -> Instance:
    """Validate already-parsed YAML data."""
    c = Checker(source, InstanceError)
    if data is None:
        return Instance(source=source)
    if not isinstance(data, dict):
        raise c.fail("(top level)", f"expected a mapping, got {type(data).__name__}")
    for key in data:
        if key not in KNOWN_KEYS and key not in FUTURE_KEYS:
            raise c.fail(str(key), f"unknown top-level key (expected: {', '.join(sorted(KNOWN_KEYS))})")
    users: list[InstanceUser] = []
    seen: set[str] = set()
    for i, item in enumerate(c.items(data.get("api_users"), "api_users")):
        path = f"api_users[{i}]"
        m = c.mapping(item, path, {"user_id", "encryption_key"}, {"enabled", "strict"})
        uid = c.text(m["user_id"], f"{path}.user_id")
        if uid in seen:
            raise c.fail(f"{path}.user_id", f"duplicate user id {uid!r}")
        seen.add(uid)
        enabled = m.get("enabled", True)
        if not isinstance(enabled, bool):
            raise c.fail(f"{path}.enabled", "expected true or false")
        strict = m.get("strict", False)
        if not isinstance(strict, bool):
            raise c.fail(f"{path}.strict", "expected true or false")
        users.append(InstanceUser(uid, c.text(m["encryption_key"], f"{path}.encryption_key"), enabled, strict))
    lead_fields: list[FieldInfo] = []
    names: set[str] = set()
    for i, item in enumerate(c.items(data.get("lead_fields"), "lead_fields")):
        path = f"lead_fields[{i}]"
        m = c.mapping(item, path, {"name", "type"}, {"display_name", "size", "read_only", "description"})
        name, dtype, size, display = _custom_field(c, m, path, names, STANDARD_BY_LOWER, "")
        read_only = m.get("read_only", False)
        if not isinstance(read_only, bool):
            raise c.fail(f"{path}.read_only", "expected true or false")
        lead_fields.append(
            FieldInfo(name=name, display_name=display, data_type=dtype, size=size, read_only=read_only, custom=True)
        )
    lists: list[InstanceList] = []
    for i, item in enumerate(c.items(data.get("lists"), "lists")):
        path = f"lists[{i}]"
        if isinstance(item, dict):
            m = c.mapping(item, path, {"name"}, {"program"})
            program = c.text(m["program"], f"{path}.program") if m.get("program") is not None else None
            lists.append(InstanceList(c.text(m["name"], f"{path}.name"), program, path))
        else:
            lists.append(InstanceList(c.text(item, path), None, path))
    smtp_url = data.get("smtp_url")
    if smtp_url is not None and not is_capture(c.text(smtp_url, "smtp_url")):  # `none`: capture only
        try:
            SmtpConfig.parse(c.text(smtp_url, "smtp_url"))
        except ValueError as exc:
            raise c.fail("smtp_url", str(exc)) from None
    return Instance(
        api_users=users,
        lead_fields=lead_fields,
        lists=lists,
        source=source,
        workspaces=_workspaces(c, data.get("workspaces")),
        channels=_channels(c, data.get("channels")),
        tag_types=_tag_types(c, data.get("tag_types")),
        programs=_programs(c, data.get("programs")),
        campaigns=_campaign_list(c, data.get("campaigns"), "campaigns"),
        smtp_url=None if smtp_url is None else str(smtp_url),
        custom_objects=_custom_objects(c, data.get("custom_objects")),
        mobject_fields=[
            *_mobject_fields(c, data.get("opportunity_fields"), "opportunity_fields", OPPORTUNITY),
            *_mobject_fields(c, data.get("opportunity_role_fields"), "opportunity_role_fields", ROLE),
        ],
    )


def _custom_field(
    c: Checker, m: dict[str, Any], path: str, seen: set[str], standard: Collection[str], owner: str
) -> tuple[str, str, int | None, str]:
    """(name, type, size, display name) of a custom field declaration (lead, Opportunity, role)."""
    name = c.text(m["name"], f"{path}.name").strip()
    if any(ch.isspace() for ch in name):
        raise c.fail(f"{path}.name", f"field API names cannot contain spaces: {name!r}")
    if name.lower() in standard:
        raise c.fail(f"{path}.name", f"{name!r} is a standard {owner}field")
    if name.lower() in seen:
        raise c.fail(f"{path}.name", f"duplicate field {name!r}")
    seen.add(name.lower())
    dtype = c.text(m["type"], f"{path}.type").strip().lower()
    if dtype not in FIELD_TYPES:
        raise c.fail(f"{path}.type", f"unknown type {m['type']!r} (expected one of: {', '.join(sorted(FIELD_TYPES))})")
    size = m.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise c.fail(f"{path}.size", "expected a positive integer")
    display = c.text(m["display_name"], f"{path}.display_name") if "display_name" in m else name
    return name, dtype, size, display


# Names a custom MObject field cannot take: the standard fields and the criterion-only names.
RESERVED_MOBJECT_NAMES = {
    object_name: {f.name.lower() for f in fields} | {"createdat", "updatedat", "crmid"}
    for object_name, fields in STANDARD_MOBJECT_FIELDS.items()
}


def _mobject_fields(c: Checker, value: Any, key: str, object_name: str) -> list[MObjectFieldDef]:
    """`opportunity_fields` / `opportunity_role_fields`: at most one `external_key: true` each."""
    out: list[MObjectFieldDef] = []
    seen: set[str] = set()
    for i, item in enumerate(c.items(value, key)):
        path = f"{key}[{i}]"
        m = c.mapping(item, path, {"name", "type"}, {"display_name", "size", "external_key", "description"})
        name, dtype, size, display = _custom_field(
            c, m, path, seen, RESERVED_MOBJECT_NAMES[object_name], f"{object_name} "
        )
        external_key = _flag(c, m, "external_key", path, False)
        taken = next((f.name for f in out if f.external_key), None)
        if external_key and taken is not None:
            raise c.fail(f"{path}.external_key", f"{taken!r} is already the external key (at most one per object)")
        description = scalar(c, m["description"], f"{path}.description") if m.get("description") is not None else None
        out.append(MObjectFieldDef(object_name, name, dtype, display, size, external_key, description, path))
    return out


def load_instance(path: str | Path) -> Instance:
    """Read and validate an instance file; InstanceError names the file and the problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InstanceError(f"{p}: cannot read: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InstanceError(f"{p}: invalid YAML: {exc}") from None
    return parse_instance(data, str(p))


def apply_instance(engine: Engine, instance: Instance) -> None:
    """Create or update everything the file declares, in one transaction; running it again
    changes nothing. A reference that does not resolve (channel, tag, list, email, field,
    campaign, status) raises InstanceError and nothing is applied."""
    defs = Definitions(
        api_users=[ApiUser(u.user_id, u.encryption_key, u.enabled, u.strict) for u in instance.api_users],
        lead_fields=instance.lead_fields,
        workspaces=instance.workspaces,
        channels=instance.channels,
        tag_types=instance.tag_types,
        lists=[ListDef(lst.name, lst.program, lst.path) for lst in instance.lists],
        programs=instance.programs,
        campaigns=instance.campaigns,
        custom_objects=instance.custom_objects,
        mobject_fields=instance.mobject_fields,
    )
    try:
        engine.apply_definitions(defs)
    except DefinitionError as exc:
        raise InstanceError(f"{instance.source}: {exc}") from None


# --- marketing definitions: shapes only; references resolve in apply_instance --------------

PROGRAM_TYPES = {t.lower(): t for t in ("Marketing Program", "Marketing Event", "Email Program", "Nurture Program")}
CHANNEL_KINDS = ("program", "event", "webinar")
NO_VALUE_OPS = frozenset({"is_empty", "is_not_empty"})
LIST_OPS = frozenset({"is", "is_not"})
LIST_FILTERS = smartlists.LIST_FILTERS
_EMAIL_RE = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+$")
_FROM_RE = re.compile(r"^\s*(?P<name>[^<]*?)\s*<(?P<email>[^>]+)>\s*$")
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _flag(c: Checker, m: dict[str, Any], key: str, path: str, default: bool) -> bool:
    value = m.get(key, default)
    if not isinstance(value, bool):
        raise c.fail(f"{path}.{key}", "expected true or false")
    return value


def _unique(c: Checker, seen: set[str], name: str, path: str, what: str) -> None:
    if name.lower() in seen:
        raise c.fail(path, f"duplicate {what} {name!r}")
    seen.add(name.lower())


def _name_of(c: Checker, item: Any, path: str, optional: set[str]) -> tuple[str, dict[str, Any]]:
    """A bare name, or a mapping with `name` and the optional keys."""
    if isinstance(item, dict):
        m = c.mapping(item, path, {"name"}, optional)
        return c.text(m["name"], f"{path}.name").strip(), m
    return c.text(item, path).strip(), {}


def _workspaces(c: Checker, value: Any) -> list[WorkspaceDef]:
    out: list[WorkspaceDef] = []
    seen: set[str] = set()
    for i, item in enumerate(c.items(value, "workspaces")):
        path = f"workspaces[{i}]"
        name, m = _name_of(c, item, path, {"description"})
        _unique(c, seen, name, path, "workspace")
        description = scalar(c, m["description"], f"{path}.description") if m.get("description") is not None else None
        out.append(WorkspaceDef(name, description, path))
    return out


def _channels(c: Checker, value: Any) -> list[ChannelDef]:
    out: list[ChannelDef] = []
    seen: set[str] = set()
    for i, item in enumerate(c.items(value, "channels")):
        path = f"channels[{i}]"
        m = c.mapping(item, path, {"name", "statuses"}, {"type"})
        name = c.text(m["name"], f"{path}.name").strip()
        _unique(c, seen, name, f"{path}.name", "channel")
        kind = choice(c, m["type"], f"{path}.type", CHANNEL_KINDS) if "type" in m else "program"
        statuses = _statuses(c, m["statuses"], f"{path}.statuses")
        out.append(ChannelDef(name, kind, statuses, path))
    return out


def _statuses(c: Checker, value: Any, path: str) -> list[StatusDef]:
    items = c.items(value, path)
    if not items:
        raise c.fail(path, "a channel needs at least one progression status")
    out: list[StatusDef] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        p = f"{path}[{i}]"
        name, m = _name_of(c, item, p, {"step", "success", "check_in", "webinar"})
        _unique(c, seen, name, p, "status")
        step = m.get("step", (i + 1) * 10)
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise c.fail(f"{p}.step", "expected a whole number, 0 or more")
        check_in = c.text(m["check_in"], f"{p}.check_in") if "check_in" in m else None
        webinar = c.text(m["webinar"], f"{p}.webinar") if "webinar" in m else None
        out.append(StatusDef(name, step, _flag(c, m, "success", p, False), check_in, webinar))
    return out


def _tag_types(c: Checker, value: Any) -> list[TagTypeDef]:
    out: list[TagTypeDef] = []
    seen: set[str] = set()
    for i, item in enumerate(c.items(value, "tag_types")):
        path = f"tag_types[{i}]"
        m = c.mapping(item, path, {"name", "values"})
        name = c.text(m["name"], f"{path}.name").strip()
        if name.lower() == "channel":
            raise c.fail(f"{path}.name", "Channel is reserved: declare channels under channels")
        _unique(c, seen, name, f"{path}.name", "tag type")
        values: list[str] = []
        taken: set[str] = set()
        for j, v in enumerate(c.items(m["values"], f"{path}.values")):
            text = c.text(v, f"{path}.values[{j}]").strip()
            _unique(c, taken, text, f"{path}.values[{j}]", "tag value")
            values.append(text)
        if not values:
            raise c.fail(f"{path}.values", "a tag type needs at least one value")
        out.append(TagTypeDef(name, values, path))
    return out


PROGRAM_KEYS = {
    "type",
    "channel",
    "workspace",
    "folder",
    "description",
    "tags",
    "costs",
    "tokens",
    "lists",
    "emails",
    "campaigns",
    "archived",
    "crm_id",
    "start_date",
    "end_date",
}
EVENT_PROGRAM = "Marketing Event"


def _programs(c: Checker, value: Any) -> list[ProgramDef]:
    out: list[ProgramDef] = []
    seen: set[str] = set()
    for i, item in enumerate(c.items(value, "programs")):
        path = f"programs[{i}]"
        m = c.mapping(item, path, {"name"}, PROGRAM_KEYS)
        name = c.text(m["name"], f"{path}.name").strip()
        _unique(c, seen, name, f"{path}.name", "program")
        program_type = choice(c, m["type"], f"{path}.type", PROGRAM_TYPES) if "type" in m else None
        starts_at, ends_at = _event_dates(c, m, path, program_type)
        out.append(
            ProgramDef(
                name=name,
                type=program_type,
                channel=_optional_text(c, m, "channel", path),
                workspace=_optional_text(c, m, "workspace", path),
                folder=_folder(c, m["folder"], f"{path}.folder") if "folder" in m else None,
                description=scalar(c, m["description"], f"{path}.description") if "description" in m else None,
                archived=_flag(c, m, "archived", path, False) if "archived" in m else None,
                crm_id=_optional_text(c, m, "crm_id", path),
                starts_at=starts_at,
                ends_at=ends_at,
                tags=_tags(c, m.get("tags"), f"{path}.tags"),
                costs=_costs(c, m.get("costs"), f"{path}.costs"),
                tokens=_tokens(c, m.get("tokens"), f"{path}.tokens"),
                lists=_program_lists(c, m.get("lists"), f"{path}.lists"),
                emails=_emails(c, m.get("emails"), f"{path}.emails"),
                campaigns=_campaign_list(c, m.get("campaigns"), f"{path}.campaigns"),
                path=path,
            )
        )
    return out


def _event_dates(
    c: Checker, m: dict[str, Any], path: str, program_type: str | None
) -> tuple[datetime | None, datetime | None]:
    """`start_date` / `end_date` of an event program: a date or `YYYY-MM-DD hh:mm[:ss]` (UTC)."""
    dates: list[datetime | None] = []
    for key in ("start_date", "end_date"):
        if m.get(key) is None:
            dates.append(None)
            continue
        if program_type != EVENT_PROGRAM:
            raise c.fail(f"{path}.{key}", f"only event programs have dates (give type: {EVENT_PROGRAM})")
        try:
            dates.append(parse_utc(scalar(c, m[key], f"{path}.{key}")))
        except ValueError:
            raise c.fail(f"{path}.{key}", f"expected YYYY-MM-DD or YYYY-MM-DD hh:mm:ss, got {m[key]!r}") from None
    starts_at, ends_at = dates
    if starts_at is not None and ends_at is not None and ends_at < starts_at:
        raise c.fail(f"{path}.end_date", "is before start_date")
    return starts_at, ends_at


def _optional_text(c: Checker, m: dict[str, Any], key: str, path: str) -> str | None:
    return c.text(m[key], f"{path}.{key}").strip() if m.get(key) is not None else None


def _folder(c: Checker, value: Any, path: str) -> str:
    parts = [p.strip() for p in c.text(value, path).strip().strip("/").split("/")]
    if any(p == "" for p in parts):
        raise c.fail(path, f"empty folder name in {value!r}")
    return "/".join(parts)


def _tags(c: Checker, value: Any, path: str) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise c.fail(path, "expected a mapping of tag type to value, e.g. {Region: North}")
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for key, v in value.items():
        name = c.text(key, path).strip()
        _unique(c, seen, name, f"{path}.{name}", "tag type")
        out.append((name, c.text(v, f"{path}.{name}").strip()))
    return out


def _costs(c: Checker, value: Any, path: str) -> list[CostDef]:
    out: list[CostDef] = []
    seen: set[str] = set()
    for i, item in enumerate(c.items(value, path)):
        p = f"{path}[{i}]"
        m = c.mapping(item, p, {"month", "amount"}, {"note"})
        month = scalar(c, m["month"], f"{p}.month")[:7] if hasattr(m["month"], "isoformat") else str(m["month"])
        if not _MONTH_RE.match(month):
            raise c.fail(f"{p}.month", f"expected YYYY-MM, got {m['month']!r}")
        _unique(c, seen, month, f"{p}.month", "cost month")
        amount = m["amount"]
        try:
            if isinstance(amount, bool):
                raise ValueError(amount)
            exact = decimal_text(str(amount))
        except ValueError:
            raise c.fail(f"{p}.amount", f"expected a number, got {amount!r}") from None
        note = scalar(c, m["note"], f"{p}.note") if m.get("note") is not None else None
        out.append(CostDef(month, exact, note))
    return out


def _tokens(c: Checker, value: Any, path: str) -> list[tuple[str, str]]:
    """`my.X`, `{{my.X}}` or `X` -> X; values are text (may hold HTML)."""
    if value is None:
        return []
    if not isinstance(value, dict):
        raise c.fail(path, "expected a mapping of token name to value, e.g. {my.Offer: 10% off}")
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for key, v in value.items():
        raw = c.text(key, path)
        name = token_name(raw)
        if not name or "{" in name or "}" in name:
            raise c.fail(f"{path}.{raw}", "invalid token name (expected my.Name, {{my.Name}} or Name)")
        _unique(c, seen, name, f"{path}.{raw}", "token")
        out.append((name, scalar(c, v, f"{path}.{raw}")))
    return out


def _program_lists(c: Checker, value: Any, path: str) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for i, item in enumerate(c.items(value, path)):
        name, _ = _name_of(c, item, f"{path}[{i}]", set())
        _unique(c, seen, name, f"{path}[{i}]", "list")
        out.append(name)
    return out


def _address(c: Checker, value: Any, path: str) -> str:
    text = c.text(value, path).strip()
    if not _EMAIL_RE.match(text):
        raise c.fail(path, f"not an email address: {text!r}")
    return text


def _emails(c: Checker, value: Any, path: str) -> list[EmailDef]:
    out: list[EmailDef] = []
    seen: set[str] = set()
    for i, item in enumerate(c.items(value, path)):
        p = f"{path}[{i}]"
        m = c.mapping(item, p, {"name", "from", "subject"}, {"reply_to", "html", "text"})
        name = c.text(m["name"], f"{p}.name").strip()
        _unique(c, seen, name, f"{p}.name", "email")
        from_name, from_email = _sender(c, m["from"], f"{p}.from")
        html = _template(c, m, "html", p)
        text = _template(c, m, "text", p)
        if not html and not text:
            raise c.fail(p, "an email needs an html or a text body")
        reply_to = _address(c, m["reply_to"], f"{p}.reply_to") if m.get("reply_to") is not None else None
        subject = c.text(m["subject"], f"{p}.subject")
        out.append(EmailDef(name, from_email, from_name, reply_to, subject, html, text, p))
    return out


def _sender(c: Checker, value: Any, path: str) -> tuple[str | None, str]:
    """`{name, email}`, `Name <address>` or a bare address."""
    if isinstance(value, dict):
        m = c.mapping(value, path, {"email"}, {"name"})
        name = c.text(m["name"], f"{path}.name").strip() if m.get("name") is not None else None
        return name, _address(c, m["email"], f"{path}.email")
    match = _FROM_RE.match(c.text(value, path))
    if match:
        return match.group("name") or None, _address(c, match.group("email"), path)
    return None, _address(c, value, path)


def _template(c: Checker, m: dict[str, Any], key: str, path: str) -> str:
    value = m.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise c.fail(f"{path}.{key}", "expected text")
    return value


CAMPAIGN_KEYS = {"description", "trigger", "smart_list", "filter_logic", "qualification", "active", "flow"}


def _campaign_list(c: Checker, value: Any, path: str) -> list[CampaignDef]:
    out: list[CampaignDef] = []
    seen: set[str] = set()
    for i, item in enumerate(c.items(value, path)):
        p = f"{path}[{i}]"
        m = c.mapping(item, p, {"name"}, CAMPAIGN_KEYS)
        name = c.text(m["name"], f"{p}.name").strip()
        _unique(c, seen, name, f"{p}.name", "campaign")
        sources = _trigger(c, m["trigger"], f"{p}.trigger") if m.get("trigger") is not None else []
        smart_list = [
            _filter(c, f, f"{p}.smart_list[{j}]") for j, f in enumerate(c.items(m.get("smart_list"), f"{p}.smart_list"))
        ]
        if not sources and not smart_list:
            raise c.fail(p, "a campaign needs a trigger (trigger campaign) or a smart_list (batch campaign)")
        out.append(
            CampaignDef(
                name=name,
                kind="trigger" if sources else "batch",
                sources=sources,
                smart_list=smart_list,
                filter_logic=choice(c, m["filter_logic"], f"{p}.filter_logic", ("all", "any"))
                if "filter_logic" in m
                else "all",
                flow=[_step(c, s, f"{p}.flow[{j}]") for j, s in enumerate(c.items(m.get("flow"), f"{p}.flow"))],
                qualification=choice(c, m["qualification"], f"{p}.qualification", ("every_time", "once"))
                if "qualification" in m
                else "every_time",
                active=_flag(c, m, "active", p, True),
                description=scalar(c, m.get("description"), f"{p}.description"),
                path=p,
            )
        )
    return out


def _trigger(c: Checker, value: Any, path: str) -> list[str]:
    m = c.mapping(value, path, {"campaign_is_requested"})
    raw = m["campaign_is_requested"]
    items = raw if isinstance(raw, list) else [raw]
    sources: list[str] = []
    for j, item in enumerate(items):
        where = f"{path}.campaign_is_requested[{j}]" if isinstance(raw, list) else f"{path}.campaign_is_requested"
        source = choice(c, item, where, SOURCE_SPELLINGS, ("web_service_api", "sales_insight"))
        if source not in sources:
            sources.append(source)
    if not sources:
        raise c.fail(f"{path}.campaign_is_requested", "expected web_service_api and/or sales_insight")
    return sources


def _filter(c: Checker, value: Any, path: str) -> dict[str, Any]:
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in LIST_FILTERS:
        ((kind, name),) = value.items()
        return {kind: c.text(name, f"{path}.{kind}").strip()}
    if not isinstance(value, dict) or "field" not in value:
        raise c.fail(
            path, "expected {member_of_list: NAME}, {not_member_of_list: NAME} or {field: F, op: OP, value: V}"
        )
    m = c.mapping(value, path, {"field", "op"}, {"value"})
    op = choice(c, m["op"], f"{path}.op", smartlists.OPERATORS)
    out: dict[str, Any] = {"field": c.text(m["field"], f"{path}.field").strip(), "op": op}
    raw = m.get("value")
    if op in NO_VALUE_OPS:
        if raw is not None:
            raise c.fail(f"{path}.value", f"{op} takes no value")
    elif raw is None:
        raise c.fail(f"{path}.value", f"is required for {op}")
    elif isinstance(raw, list):
        if op not in LIST_OPS or not raw:
            raise c.fail(f"{path}.value", f"a list of values is allowed with is / is_not only (non-empty), not {op}")
        out["value"] = [scalar(c, v, f"{path}.value[{k}]") for k, v in enumerate(raw)]
    else:
        out["value"] = scalar(c, raw, f"{path}.value")
    return out


def _step(c: Checker, value: Any, path: str) -> dict[str, Any]:
    """Each step checks its own argument (`engine/campaigns/steps/`)."""
    if not isinstance(value, dict) or len(value) != 1:
        raise c.fail(path, "expected one step, e.g. {send_email: Welcome}")
    ((kind, arg),) = value.items()
    if kind not in STEPS:
        raise c.fail(f"{path}.{kind}", f"unknown flow step (expected one of: {', '.join(ORDER)})")
    return {kind: STEPS[kind].shape(c, arg, f"{path}.{kind}")}


# --- custom objects: shapes only; link targets resolve in apply_instance --------------------

MAX_CUSTOM_FIELDS = 50  # Marketo's limit of fields per custom object type


def _api_name(c: Checker, value: Any, path: str) -> str:
    name = c.text(value, path).strip()
    if any(ch.isspace() for ch in name):
        raise c.fail(path, f"custom object API names cannot contain spaces: {name!r}")
    return name


def _custom_objects(c: Checker, value: Any) -> list[CustomObjectDef]:
    out: list[CustomObjectDef] = []
    seen: set[str] = set()
    for i, item in enumerate(c.items(value, "custom_objects")):
        path = f"custom_objects[{i}]"
        m = c.mapping(item, path, {"name", "fields"}, {"display_name", "description"})
        name = _api_name(c, m["name"], f"{path}.name")
        _unique(c, seen, name, f"{path}.name", "custom object")
        description = scalar(c, m["description"], f"{path}.description") if m.get("description") is not None else None
        out.append(
            CustomObjectDef(
                name=name,
                fields=_custom_fields(c, m["fields"], f"{path}.fields"),
                display_name=_optional_text(c, m, "display_name", path),
                description=description,
                path=path,
            )
        )
    return out


def _custom_fields(c: Checker, value: Any, path: str) -> list[CustomFieldDef]:
    """At most 50 fields; at least one dedupe field (the key); at most one link to a lead."""
    items = c.items(value, path)
    if not items:
        raise c.fail(path, "a custom object needs at least one field")
    if len(items) > MAX_CUSTOM_FIELDS:
        raise c.fail(path, f"a custom object has at most {MAX_CUSTOM_FIELDS} fields, got {len(items)}")
    out: list[CustomFieldDef] = []
    seen: set[str] = set()
    link_at: str | None = None
    for j, item in enumerate(items):
        p = f"{path}[{j}]"
        m = c.mapping(item, p, {"name", "type"}, {"display_name", "dedupe", "link"})
        name, dtype, _, display = _custom_field(c, m, p, seen, (), "")
        link = _optional_text(c, m, "link", p)
        if link is not None and link_at is not None:
            raise c.fail(f"{p}.link", f"only one field may link to a lead ({link_at} already does)")
        if link is not None:
            link_at = name
        out.append(CustomFieldDef(name, dtype, display, _flag(c, m, "dedupe", p, False), link))
    if not any(f.dedupe for f in out):
        raise c.fail(path, "at least one field needs dedupe: true (the dedupe fields form the record's key)")
    return out
