"""Marketo token syntax: {{lead.X}}, {{my.X}}, {{company.X}}, {{program.X}}, {{campaign.X}},
{{system.X}}, each with an optional `:default=...`.

Names match case-insensitively and may contain spaces. Only values that come from records
(lead, company) are HTML-escaped in HTML bodies: My Tokens and program values are written
by marketers who put markup in them on purpose. A token of an unknown namespace (`{{foo.x}}`)
is left as it is, so braces in a template that are not tokens survive.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from mktows.engine.leads.fields import FieldRegistry
from mktows.engine.models import CampaignInfo, Lead, ProgramInfo


@dataclass
class TokenContext:
    """Values visible to one rendering. Lookups are case-insensitive on the name."""

    lead: Mapping[str, str] = field(default_factory=dict)  # API names AND display names -> value
    my: Mapping[str, str] = field(default_factory=dict)  # token name without "my." -> value, precedence resolved
    company: Mapping[str, str] = field(default_factory=dict)
    program: Mapping[str, str] = field(default_factory=dict)  # Name, Id, Description, ...
    campaign: Mapping[str, str] = field(default_factory=dict)  # Name, Id, Description, ...
    system: Mapping[str, str] = field(default_factory=dict)  # date, time, dateTime, ...
    # lower-cased views, built on first use: a context renders several templates
    views: dict[str, dict[str, str]] = field(default_factory=dict, repr=False, compare=False)


NAMESPACES = ("lead", "my", "company", "program", "campaign", "system")
ESCAPED = frozenset({"lead", "company"})

# {{ ns.Name With Spaces :default=any text but "}}" }}
TOKEN_RE = re.compile(
    r"\{\{\s*(?P<ns>[A-Za-z]+)\.(?P<name>[^{}]+?)(?::default=(?P<default>(?:(?!\}\}).)*?))?\s*\}\}",
    re.DOTALL,
)
_WRAPPED_RE = re.compile(r"^\{\{\s*(.*?)\s*\}\}$", re.DOTALL)


def token_name(raw: str) -> str:
    """`{{my.Offer}}`, `my.Offer` or `Offer` -> `Offer` (the stored name of a My Token)."""
    name = str(raw).strip()
    wrapped = _WRAPPED_RE.match(name)
    if wrapped:
        name = wrapped.group(1)
    if name[:3].lower() == "my.":
        name = name[3:]
    return name.strip()


def _lowered(mapping: Mapping[str, str]) -> dict[str, str]:
    return {str(k).strip().lower(): v for k, v in mapping.items()}


def render(template: str, context: TokenContext, *, html: bool) -> str:
    """Replace every token; lead values are HTML-escaped when `html`. Unknown tokens without a
    default render as an empty string; an empty value also falls back to the default."""
    if "{{" not in template:
        return template
    views = context.views

    def replace(match: re.Match[str]) -> str:
        ns = match.group("ns").lower()
        if ns not in NAMESPACES:
            return match.group(0)
        if ns not in views:
            views[ns] = _lowered(getattr(context, ns))
        value = views[ns].get(match.group("name").strip().lower())
        if value is None or value == "":
            default = match.group("default")
            return default if default is not None else ""
        value = str(value)
        return html_lib.escape(value, quote=True) if html and ns in ESCAPED else value

    return TOKEN_RE.sub(replace, template)


def tokens_in(template: str) -> list[tuple[str, str]]:
    """(namespace, name) of every token of a known namespace, in order (for checks and previews)."""
    return [
        (m.group("ns").lower(), m.group("name").strip())
        for m in TOKEN_RE.finditer(template)
        if m.group("ns").lower() in NAMESPACES
    ]


Pairs = Mapping[str, str] | Iterable[tuple[str, str]] | None


def _pairs(values: Pairs) -> Iterable[tuple[str, str]]:
    if values is None:
        return ()
    if isinstance(values, Mapping):
        return values.items()
    return values


def merge_tokens(program_tokens: Pairs, call_overrides: Pairs = None, per_recipient: Pairs = None) -> dict[str, str]:
    """My Token values for one recipient: per-recipient > call override > program token.

    Names may arrive as `{{my.X}}`, `my.X` or `X` and match case-insensitively; the result
    keeps the first spelling seen (the program's) and maps it to the strongest value.
    """
    names: dict[str, str] = {}  # lower -> spelling
    values: dict[str, str] = {}
    for layer in (program_tokens, call_overrides, per_recipient):
        for raw, value in _pairs(layer):
            name = token_name(raw)
            if not name:
                continue
            spelling = names.setdefault(name.lower(), name)
            values[spelling] = "" if value is None else str(value)
    return values


def lead_token_values(lead: Lead, registry: FieldRegistry) -> dict[str, str]:
    """The lead's values under both API and display names ({{lead.First Name}}, {{lead.FirstName}})."""
    raw: dict[str, str] = {"Id": str(lead.id)}
    if lead.email:
        raw["Email"] = lead.email
    if lead.foreign_sys_person_id:
        raw["ForeignSysPersonId"] = lead.foreign_sys_person_id
    if lead.foreign_sys_type:
        raw["ForeignSysType"] = lead.foreign_sys_type
    for attr in lead.attributes:
        raw[attr.name] = attr.value
    out: dict[str, str] = {}
    for name, value in raw.items():
        out[name] = value
        f = registry.get(name)
        if f is not None:
            out.setdefault(f.display_name, value)
    return out


def program_token_values(program: ProgramInfo) -> dict[str, str]:
    """{{program.Name}}, Id, Description, Channel, Type, Workspace."""
    return {
        "Name": program.name,
        "Id": str(program.id),
        "Description": program.description or "",
        "Channel": program.channel or "",
        "Type": program.type,
        "Workspace": program.workspace,
    }


def campaign_token_values(campaign: CampaignInfo) -> dict[str, str]:
    """{{campaign.Name}} (the campaign's own name), Id, Description, Full Name, Program."""
    return {
        "Name": campaign.name,
        "Id": str(campaign.id),
        "Description": campaign.description,
        "Full Name": campaign.full_name,
        "Program": campaign.program_name or "",
    }


def system_token_values(now: datetime) -> dict[str, str]:
    """{{system.date}} `YYYY-MM-DD`, time `HH:MM`, dateTime `YYYY-MM-DD HH:MM:SS`, year, month, day."""
    return {
        "date": now.strftime("%Y-%m-%d"),
        "time": now.strftime("%H:%M"),
        "dateTime": now.strftime("%Y-%m-%d %H:%M:%S"),
        "year": now.strftime("%Y"),
        "month": now.strftime("%m"),
        "day": now.strftime("%d"),
    }
