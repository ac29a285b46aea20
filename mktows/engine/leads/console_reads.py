"""Lead reads of the web console: a search that stays fast on a million leads, and what a lead
belongs to.

The search matches exactly on the indexed keys (id, foreign person id) and by prefix on the
email (an exact email is its own prefix), as a range on the email index (`>= prefix` and
`< prefix` with its last character moved one on). Every list is paged by keyset (newest first
by id, or by email then id), so page 5,000 costs what page 1 does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, literal, select, tuple_

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
MAX_ID = 2**31 - 1  # the largest id an INTEGER column holds


@dataclass(frozen=True)
class LeadRow:
    id: int
    email: str | None
    email_lower: str | None
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


def search(
    conn: Connection,
    query: str,
    *,
    before_id: int | None = None,
    after: tuple[str, int] | None = None,
    limit: int = 50,
) -> list[LeadRow]:
    """With no query: every lead, newest first, below `before_id`. With one: on the first page
    the leads whose id or foreign person id it is, then every lead whose email begins with it
    (case ignored), in email order, after `after` (the last row's lower-case email and id)."""
    text = query.strip()
    if not text:
        # always bounded, so the first page too is a range of the primary key read backwards
        bound = leads.c.id < before_id if before_id is not None else leads.c.id <= MAX_ID
        q = _lead_columns().where(bound).order_by(leads.c.id.desc()).limit(limit)
        return _rows(conn, list(conn.execute(q).all()))
    found: list[Any] = []
    if after is None:
        if text.isdigit() and len(text) < 10:
            found += conn.execute(_lead_columns().where(leads.c.id == int(text))).all()
        found += conn.execute(_lead_columns().where(leads.c.foreign_sys_person_id == text).limit(limit)).all()
    low, high = prefix_range(text.lower())
    q = _lead_columns().where(leads.c.email_lower >= low, leads.c.email_lower < high)
    if after is not None:
        q = q.where(tuple_(leads.c.email_lower, leads.c.id) > tuple_(literal(after[0]), literal(after[1])))
    found += conn.execute(q.order_by(leads.c.email_lower, leads.c.id).limit(limit)).all()
    unique = list({r.id: r for r in found}.values())[:limit]
    return _rows(conn, unique)


def _lead_columns() -> Select[Any]:
    return select(leads.c.id, leads.c.email, leads.c.email_lower, leads.c.updated_at)


def _rows(conn: Connection, rows: list[Any]) -> list[LeadRow]:
    names = _names(conn, [r.id for r in rows])
    return [
        LeadRow(
            r.id, r.email, r.email_lower, names.get((r.id, "FirstName")), names.get((r.id, "LastName")), r.updated_at
        )
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
