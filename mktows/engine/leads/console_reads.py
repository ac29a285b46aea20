"""Lead reads of the web console: a search that stays fast on a million leads, and what a lead
belongs to.

The search matches exactly on the indexed keys (id, foreign person id) and by prefix on the
email and on the first and last names (an exact value is its own prefix), each as a range of
its index (`>= prefix` and `< prefix` with its last character moved one on; the range is kept
exact by a LIKE on the rows it holds, whatever the database's collation). The database merges the
email and name matches in the order of the matched text; every list is paged by keyset (newest
first by id, or by matched text then id), so page 5,000 costs what page 1 does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, literal, select, tuple_, union_all
from sqlalchemy import text as text_clause

from mktows.store.tables import (
    NAME_FIELDS,
    NAME_FIELDS_SQL,
    campaign_leads,
    campaigns,
    lead_values,
    leads,
    list_members,
    programs,
    static_lists,
)

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
    list_id: int | None = None  # a list's id (its console page)


def prefix_range(prefix: str) -> tuple[str, str]:
    """The [low, high) range of strings that start with `prefix` (not empty)."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


@dataclass(frozen=True)
class LeadPage:
    rows: list[LeadRow]
    next_before: int | None = None  # without a query: the next page's leads are below this id
    next_after: tuple[str, int] | None = None  # with one: its matches come after this (text, id)


def search(
    conn: Connection,
    query: str,
    *,
    before_id: int | None = None,
    after: tuple[str, int] | None = None,
    limit: int = 50,
) -> LeadPage:
    """With no query: every lead, newest first, below `before_id`. With one: on the first page
    the leads whose id or foreign person id it is, then every lead whose email, first name or
    last name begins with it (case ignored), in the order of the text that matched, after
    `after` (the last match of the page before). A lead matched twice (by email and by name)
    is shown once per page, where its first match sorts."""
    text = query.strip()
    if not text:
        # always bounded, so the first page too is a range of the primary key read backwards
        bound = leads.c.id < before_id if before_id is not None else leads.c.id <= MAX_ID
        found = list(conn.execute(_lead_columns().where(bound).order_by(leads.c.id.desc()).limit(limit + 1)))
        more = len(found) > limit
        return LeadPage(_rows(conn, found[:limit]), next_before=found[limit - 1].id if more else None)
    exact: list[Any] = []
    if after is None:
        if text.isdigit() and len(text) < 10:
            exact += conn.execute(_lead_columns().where(leads.c.id == int(text))).all()
        exact += conn.execute(_lead_columns().where(leads.c.foreign_sys_person_id == text).limit(limit)).all()
    prefix = text.lower()
    matches = _matches(conn, prefix, after, limit + 1)
    window, more = matches[:limit], len(matches) > limit
    ids = list(dict.fromkeys([r.id for r in exact] + [lead_id for _, lead_id in window]))
    by_id = {r.id: r for r in exact}
    by_id |= {r.id: r for r in conn.execute(_lead_columns().where(leads.c.id.in_(ids)))} if window else {}
    return LeadPage(_rows(conn, [by_id[i] for i in ids if i in by_id]), next_after=window[-1] if more else None)


def _matches(conn: Connection, prefix: str, after: tuple[str, int] | None, limit: int) -> list[tuple[str, int]]:
    """(matched lower-case text, lead id) of the first `limit` emails, first names and last
    names that begin with `prefix`, after `after`. The database merges the two index ranges,
    so the order and the keyset compare alike whatever its collation."""
    low, high = prefix_range(prefix)
    parts = []
    for key, lead_id, where in (
        (leads.c.email_lower, leads.c.id, []),
        (func.lower(lead_values.c.value), lead_values.c.lead_id, [text_clause(NAME_FIELDS_SQL)]),
    ):
        q = select(key.label("matched"), lead_id.label("lead_id")).where(
            *where, key >= low, key < high, key.startswith(prefix, autoescape=True)
        )
        if after is not None:
            q = q.where(tuple_(key, lead_id) > tuple_(literal(after[0]), literal(after[1])))
        parts.append(select(q.order_by(key, lead_id).limit(limit).subquery()))
    merged = union_all(*parts).subquery()
    q = select(merged.c.matched, merged.c.lead_id).order_by(merged.c.matched, merged.c.lead_id).limit(limit)
    return [(r.matched, r.lead_id) for r in conn.execute(q)]


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
        select(static_lists.c.name, static_lists.c.program_name, list_members.c.created_at, list_members.c.list_id)
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
    found = [Membership("list", r.name, r.program_name, r.created_at, r.list_id) for r in lists]
    return found + [Membership("campaign", r.name, r.program, r.last_run_at) for r in runs]
