"""Marketo token syntax: {{lead.X}}, {{my.X}}, {{company.X}}, {{program.X}}, {{campaign.X}},
{{system.X}}, each with an optional `:default=...`.

INTERFACE (issue 3) — implemented by the definitions work; callers rely on these names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class TokenContext:
    """Values visible to one rendering. Lookups are case-insensitive on the name."""

    lead: Mapping[str, str] = field(default_factory=dict)  # API names AND display names -> value
    my: Mapping[str, str] = field(default_factory=dict)  # token name without "my." -> value, precedence resolved
    company: Mapping[str, str] = field(default_factory=dict)
    program: Mapping[str, str] = field(default_factory=dict)  # Name, Id, Description, ...
    campaign: Mapping[str, str] = field(default_factory=dict)  # Name, Id, Description, ...
    system: Mapping[str, str] = field(default_factory=dict)  # date, time, dateTime, ...


def token_name(raw: str) -> str:
    """`{{my.Offer}}`, `my.Offer` or `Offer` -> `Offer` (the stored name of a My Token)."""
    raise NotImplementedError


def render(template: str, context: TokenContext, *, html: bool) -> str:
    """Replace every token; lead values are HTML-escaped when `html`. Unknown tokens without a
    default render as an empty string."""
    raise NotImplementedError
