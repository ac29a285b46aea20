"""Lead reads of the web console: a search that stays fast on a million leads, and what a lead
belongs to.

The search matches exactly on the indexed keys (id, email, foreign person id) and by prefix on
the email, as a range on the email index (`>= prefix` and `< prefix` with its last character
moved one on); pages are keyset pages by id, newest first, so page 5,000 costs what page 1 does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, or_, select

from mktows.store.tables import (
    campaign_leads,
    campaigns,
    lead_values,
    leads,
    list_members,
    programs,
    static_lists,
)

NAME_FIELDS = ("FirstName", "LastName")


@dataclass(frozen=True)
class LeadRow:
    id: int
    email: str | None
    first_name: str | None
    last_name: str | None
    updated_at: datetime


@dataclass(frozen=True)
class Membership:
    kind: str  # list | campaign
    name: str
    program: str | None
    since: datetime  # added to the list; the campaign's last run for this lead


def prefix_range(prefix: str) -> tuple[str, str]:
    """The [low, high) range of strings that start with `prefix` (not empty)."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def search(conn: Connection, query: str, *, before_id: int | None, limit: int) -> list[LeadRow]:
    """Leads matching `query` (all when empty), newest first, those with an id below `before_id`."""
    q = select(leads.c.id, leads.c.email, leads.c.updated_at)
    text = query.strip()
    if text:
        low, high = prefix_range(text.lower())
        matches = [leads.c.email_lower == text.lower(), leads.c.foreign_sys_person_id == text]
        matches.append((leads.c.email_lower >= low) & (leads.c.email_lower < high))
        if text.isdigit() and len(text) < 10:
            matches.append(leads.c.id == int(text))
        q = q.where(or_(*matches))
    if before_id is not None:
        q = q.where(leads.c.id < before_id)
    rows = conn.execute(q.order_by(leads.c.id.desc()).limit(limit)).all()
    names = _names(conn, [r.id for r in rows])
    return [
        LeadRow(r.id, r.email, names.get((r.id, "FirstName")), names.get((r.id, "LastName")), r.updated_at)
        for r in rows
    ]


def _names(conn: Connection, ids: list[int]) -> dict[tuple[int, str], str]:
    if not ids:
        return {}
    rows = conn.execute(
        select(lead_values.c.lead_id, lead_values.c.name, lead_values.c.value).where(
            lead_values.c.lead_id.in_(ids), lead_values.c.name.in_(NAME_FIELDS)
        )
    )
    return {(r.lead_id, r.name): r.value for r in rows}


def memberships(conn: Connection, lead_id: int) -> list[Membership]:
    """The lead's static lists and the campaigns it ran through."""
    lists = conn.execute(
        select(static_lists.c.name, static_lists.c.program_name, list_members.c.created_at)
        .join(static_lists, static_lists.c.id == list_members.c.list_id)
        .where(list_members.c.lead_id == lead_id)
        .order_by(static_lists.c.name)
    )
    runs = conn.execute(
        select(campaigns.c.name, programs.c.name.label("program"), campaign_leads.c.last_run_at)
        .join(campaigns, campaigns.c.id == campaign_leads.c.campaign_id)
        .outerjoin(programs, programs.c.id == campaigns.c.program_id)
        .where(campaign_leads.c.lead_id == lead_id)
        .order_by(campaigns.c.name)
    )
    found = [Membership("list", r.name, r.program_name, r.created_at) for r in lists]
    return found + [Membership("campaign", r.name, r.program, r.last_run_at) for r in runs]
