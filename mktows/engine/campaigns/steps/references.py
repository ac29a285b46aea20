"""References that several steps resolve the same way when a run compiles its flow."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from mktows.engine.campaigns import programs, smartlists
from mktows.engine.campaigns.steps.base import RunPlan
from mktows.engine.leads.fields import Field, FieldRegistry
from mktows.engine.models import CampaignInfo
from mktows.errors import BadParameter, UnknownLeadField


def lead_field(registry: FieldRegistry, name: Any) -> Field:
    """A lead field by API or display name."""
    f = smartlists.field_named(registry, str(name))
    if f is None:
        raise UnknownLeadField(f"unknown lead field {name!r}")
    return f


def campaign_ref(conn: Connection, plan: RunPlan, name: str) -> CampaignInfo:
    """`Program.Campaign`, a campaign outside programs, or one of this campaign's program."""
    found = programs.campaign_or_none(conn, None, name)
    if found is None and plan.campaign.program_name:
        found = programs.campaign_or_none(conn, plan.campaign.program_name, name)
    if found is None:
        raise BadParameter(f"campaign not found: {name}")
    return found
