"""mergeLeads, and the same merge when a cookie joins a known lead.

The winner keeps its id and its non-empty values; blanks are filled from the losers in
the order given; memberships (lists, programs, campaigns, opportunity roles), activities,
cookies and custom-object records move to the winner; losers go.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Table, and_, delete, insert, select, update

from mktows.engine.activities.log import ActivityRow, write_activities
from mktows.engine.activities.types import MERGE_LEADS
from mktows.engine.leads.reads import LEAD_COLUMNS, key_condition
from mktows.engine.models import MergeOutcome
from mktows.engine.objects import custom as custom_objects
from mktows.errors import BadParameter, MarketoError, ParameterRequired
from mktows.store.queries import in_values, serialize_lead_writes
from mktows.store.tables import (
    activities,
    campaign_leads,
    cookies,
    lead_tokens,
    lead_values,
    leads,
    list_members,
    opportunity_roles,
    program_members,
)

MAX_LOSERS = 100
FILLABLE = tuple(c for c in LEAD_COLUMNS if c not in ("anonymous", "workspace", "partition"))


class _Unresolved(Exception):
    pass


def resolve_key_list(conn: Connection, keys: list[tuple[str, str]], label: str) -> int:
    """The one lead that matches all the (key type, value) conditions of a key list."""
    if not keys:
        raise _Unresolved(f"{label}: no lead key given")
    conds = []
    for key_type, value in keys:
        if (key_type or "").strip().upper() == "COOKIE":
            raise _Unresolved(f"{label}: COOKIE is not a valid merge key")
        try:
            conds.append(key_condition(key_type, [str(value)], strict_ids=True))
        except MarketoError as exc:
            raise _Unresolved(f"{label}: {exc.detail}") from None
    ids = conn.execute(select(leads.c.id).where(and_(*conds)).limit(2)).scalars().all()
    text = ", ".join(f"{k.strip().upper()} = {v}" for k, v in keys)
    if not ids:
        raise _Unresolved(f"{label}: no lead found with {text}")
    if len(ids) > 1:
        raise _Unresolved(f"{label}: more than one lead matches {text}")
    return int(ids[0])


# What a lead holds at most once per parent: (table, parent column). When leads merge, a
# loser's row moves to the winner unless the winner already holds that parent (its own row
# stands: its list membership, program status, campaign history, tokens, opportunity role).
MEMBERSHIPS: tuple[tuple[Table, str], ...] = (
    (list_members, "list_id"),
    (program_members, "program_id"),
    (campaign_leads, "campaign_id"),
    (lead_tokens, "campaign_id"),
    (opportunity_roles, "opportunity_id"),
)


def absorb(conn: Connection, winner_id: int, loser_ids: list[int]) -> None:
    """Move memberships, activities, cookies and custom-object records of losers to the
    winner, then delete them."""
    if not loser_ids:
        return
    for table, parent in MEMBERSHIPS:
        _move_memberships(conn, table, parent, winner_id, loser_ids)
    conn.execute(update(activities).where(in_values(activities.c.lead_id, loser_ids)).values(lead_id=winner_id))
    conn.execute(update(cookies).where(in_values(cookies.c.lead_id, loser_ids)).values(lead_id=winner_id))
    custom_objects.move_records(conn, winner_id, loser_ids)
    conn.execute(delete(lead_values).where(in_values(lead_values.c.lead_id, loser_ids)))
    conn.execute(delete(leads).where(in_values(leads.c.id, loser_ids)))


def _move_memberships(conn: Connection, table: Table, parent: str, winner_id: int, loser_ids: list[int]) -> None:
    lead, parent_col = table.c.lead_id, table.c[parent]
    held = set(conn.execute(select(parent_col).where(lead == winner_id)).scalars())
    for loser in loser_ids:  # in the order given: the first loser's row wins among losers
        movable = [p for p in conn.execute(select(parent_col).where(lead == loser)).scalars() if p not in held]
        if movable:
            conn.execute(update(table).where(lead == loser, in_values(parent_col, movable)).values(lead_id=winner_id))
            held.update(movable)
    conn.execute(delete(table).where(in_values(lead, loser_ids)))


def merge_into(conn: Connection, winner_id: int, loser_ids: list[int], now: datetime) -> bool:
    """Fill the winner's blank fields from the losers (in the order given), then absorb them;
    True when the winner's fields changed."""
    rows = {r.id: r for r in conn.execute(select(leads).where(in_values(leads.c.id, [winner_id, *loser_ids])))}
    values: dict[int, dict[str, str]] = {i: {} for i in rows}
    for lead_id, name, value in conn.execute(
        select(lead_values.c.lead_id, lead_values.c.name, lead_values.c.value).where(
            in_values(lead_values.c.lead_id, list(rows))
        )
    ):
        values[lead_id][name] = value
    win_row = rows[winner_id]
    col_fill: dict[str, object] = {}
    value_fill: dict[str, str] = {}
    for lid in loser_ids:
        for col in FILLABLE:
            if (
                getattr(win_row, col) in (None, "")
                and col not in col_fill
                and getattr(rows[lid], col) not in (None, "")
            ):
                col_fill[col] = getattr(rows[lid], col)
        for name, value in values[lid].items():
            if name not in values[winner_id] and name not in value_fill and value != "":
                value_fill[name] = value
    changes: dict[str, object] = dict(col_fill, updated_at=now)
    if "email" in col_fill:
        changes["email_lower"] = str(col_fill["email"]).lower()
    conn.execute(update(leads).where(leads.c.id == winner_id).values(**changes))
    if value_fill:
        conn.execute(
            insert(lead_values), [{"lead_id": winner_id, "name": n, "value": v} for n, v in value_fill.items()]
        )
    absorb(conn, winner_id, loser_ids)  # after the fill: moved records link to the winner's final values
    return bool(col_fill or value_fill)


def merge_leads(
    conn: Connection, winner: list[tuple[str, str]], losers: list[list[tuple[str, str]]], now: datetime
) -> MergeOutcome:
    if not winner:
        raise ParameterRequired("winningLeadKeyList is required")
    if not losers:
        raise ParameterRequired("losingLeadKeyLists is required")
    if len(losers) > MAX_LOSERS:
        raise BadParameter(f"Too many losing leads (max {MAX_LOSERS})")
    serialize_lead_writes(conn)
    winner_id: int | None = None
    loser_ids: list[int] = []
    try:
        winner_id = resolve_key_list(conn, winner, "Winning lead")
        for n, keys in enumerate(losers, 1):
            lid = resolve_key_list(conn, keys, f"Losing lead {n}")
            if lid == winner_id:
                raise _Unresolved(f"Losing lead {n} is the winning lead {winner_id}")
            if lid in loser_ids:
                raise _Unresolved(f"Losing lead {n} ({lid}) is listed twice")
            loser_ids.append(lid)
    except _Unresolved as exc:
        return MergeOutcome(winner_id=winner_id, loser_ids=loser_ids, merged=False, error=str(exc))

    updated = merge_into(conn, winner_id, loser_ids, now)
    write_activities(
        conn,
        [
            ActivityRow(
                winner_id,
                now,
                MERGE_LEADS,
                "",
                [
                    ("Merge IDs", ",".join(str(i) for i in loser_ids)),
                    ("Master Updated", "true" if updated else "false"),
                    ("Lead ID", str(winner_id)),
                ],
            )
        ],
    )
    return MergeOutcome(winner_id=winner_id, loser_ids=loser_ids, merged=True)
