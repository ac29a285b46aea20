"""Plain reads of the instance's state, for tools that look at it without going through the
SOAP API: the test double's `state` handle (mktows.testing) above all.

Each read returns frozen dataclasses of plain values, in the order things happened (lowest id
first), so a test can compare them with `==` and nothing it holds changes under it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from mktows.store.tables import (
    activities,
    campaign_runs,
    campaigns,
    jobs,
    lead_values,
    leads,
    list_members,
    outbox,
    run_leads,
    static_lists,
)


@dataclass(frozen=True)
class LeadState:
    id: int
    email: str | None
    # every stored field value by its API name, `Email` included
    fields: dict[str, str] = field(hash=False)


@dataclass(frozen=True)
class ActivityState:
    id: int
    lead_id: int
    type: str
    asset_name: str
    campaign: str | None
    created_at: datetime
    # the activity's attributes as (name, value) pairs, in the order they were written
    attributes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class MemberState:
    lead_id: int
    email: str | None


@dataclass(frozen=True)
class MessageState:
    id: int
    to: str
    subject: str
    status: str
    campaign: str | None
    email_name: str | None
    lead_id: int | None
    text: str
    html: str


@dataclass(frozen=True)
class JobState:
    id: int
    kind: str
    status: str
    attempts: int
    last_error: str | None
    run_at: datetime  # when it is (or was) due


@dataclass(frozen=True)
class CampaignRunState:
    id: int
    campaign: str
    origin: str
    source: str | None
    status: str
    lead_count: int
    lead_ids: tuple[int, ...]


def lead_states(conn: Connection, email: str | None = None) -> list[LeadState]:
    """Every lead (`email`: those with this address, case ignored) with its field values."""
    query = select(leads.c.id, leads.c.email).order_by(leads.c.id)
    if email is not None:
        query = query.where(leads.c.email_lower == email.lower())
    rows = conn.execute(query).all()
    values = field_values(conn, [r.id for r in rows])
    result = []
    for r in rows:
        fields = values[r.id]
        if r.email is not None:
            fields.setdefault("Email", r.email)
        result.append(LeadState(id=r.id, email=r.email, fields=fields))
    return result


def field_values(conn: Connection, lead_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """The stored field values of each of these leads by API name, in name order."""
    values: dict[int, dict[str, str]] = {lead_id: {} for lead_id in lead_ids}
    if lead_ids:
        found = conn.execute(
            select(lead_values.c.lead_id, lead_values.c.name, lead_values.c.value).where(
                lead_values.c.lead_id.in_(list(lead_ids))
            )
        )
        for lead_id, name, value in found:
            values[lead_id][name] = value
    return {lead_id: dict(sorted(fields.items())) for lead_id, fields in values.items()}


def _attributes(raw: str) -> tuple[tuple[str, str], ...]:
    try:
        decoded: Any = json.loads(raw or "[]")
    except ValueError:
        return ()
    pairs: list[tuple[str, str]] = []
    for item in decoded if isinstance(decoded, list) else []:
        if isinstance(item, (list, tuple)) and len(item) >= 2:
            pairs.append((str(item[0]), "" if item[1] is None else str(item[1])))
        elif isinstance(item, dict) and "name" in item:
            pairs.append((str(item["name"]), "" if item.get("value") is None else str(item.get("value"))))
    return tuple(pairs)


def activity_states(conn: Connection, lead_id: int | None = None, type: str | None = None) -> list[ActivityState]:
    """Activities, oldest first; `lead_id` and `type` (the activity type's name) narrow them."""
    query = select(activities).order_by(activities.c.id)
    if lead_id is not None:
        query = query.where(activities.c.lead_id == lead_id)
    if type is not None:
        query = query.where(activities.c.type_name == type)
    return [
        ActivityState(
            id=r.id,
            lead_id=r.lead_id,
            type=r.type_name,
            asset_name=r.asset_name,
            campaign=r.campaign,
            created_at=r.created_at,
            attributes=_attributes(r.attributes),
        )
        for r in conn.execute(query)
    ]


def member_states(conn: Connection, list_name: str) -> list[MemberState]:
    """The members of the static list named `list_name` (or `PROGRAM.LIST`), by lead id;
    every list of that name when programs share it. None: no list has that name."""
    program, _, name = list_name.rpartition(".")
    query = select(static_lists.c.id).where(static_lists.c.name == (name if program else list_name))
    if program:
        query = query.where(static_lists.c.program_name == program)
    list_ids = list(conn.execute(query).scalars())
    if not list_ids and program:  # a list whose own name holds a dot
        list_ids = list(conn.execute(select(static_lists.c.id).where(static_lists.c.name == list_name)).scalars())
    if not list_ids:
        raise KeyError(f"no static list named {list_name!r}")
    rows = conn.execute(
        select(leads.c.id, leads.c.email)
        .join(list_members, list_members.c.lead_id == leads.c.id)
        .where(list_members.c.list_id.in_(list_ids))
        .distinct()
        .order_by(leads.c.id)
    )
    return [MemberState(lead_id=r.id, email=r.email) for r in rows]


def message_states(conn: Connection) -> list[MessageState]:
    """Every message of the outbox, oldest first, whatever its delivery status."""
    return [
        MessageState(
            id=r.id,
            to=r.to_addr,
            subject=r.subject,
            status=r.status,
            campaign=r.campaign,
            email_name=r.email_name,
            lead_id=r.lead_id,
            text=r.text,
            html=r.html,
        )
        for r in conn.execute(select(outbox).order_by(outbox.c.id))
    ]


def job_states(conn: Connection) -> list[JobState]:
    """Every job of the built-in queue (campaign runs, imports, delivery), oldest first."""
    return [
        JobState(id=r.id, kind=r.kind, status=r.status, attempts=r.attempts, last_error=r.last_error, run_at=r.run_at)
        for r in conn.execute(select(jobs).order_by(jobs.c.id))
    ]


def campaign_run_states(conn: Connection) -> list[CampaignRunState]:
    """Every run of a smart campaign (requested, scheduled or started by a flow), oldest first,
    with the leads it holds."""
    rows = conn.execute(
        select(campaign_runs, campaigns.c.name.label("campaign_name"))
        .join(campaigns, campaigns.c.id == campaign_runs.c.campaign_id)
        .order_by(campaign_runs.c.id)
    ).all()
    members: dict[int, list[int]] = {r.id: [] for r in rows}
    if rows:
        for run_id, lead_id in conn.execute(
            select(run_leads.c.run_id, run_leads.c.lead_id)
            .where(run_leads.c.run_id.in_(list(members)))
            .order_by(run_leads.c.run_id, run_leads.c.lead_id)
        ):
            members[run_id].append(lead_id)
    return [
        CampaignRunState(
            id=r.id,
            campaign=r.campaign_name,
            origin=r.origin,
            source=r.source,
            status=r.status,
            lead_count=r.lead_count,
            lead_ids=tuple(members[r.id]),
        )
        for r in rows
    ]
