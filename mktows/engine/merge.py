"""mergeLeads (SPEC 7.5, DECISIONS #15, #30) and the absorb step cookies also use.

The winner keeps its id and its non-empty values; blanks are filled from the losers in
the order given; memberships, activities and cookies move to the winner; losers go.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, delete, insert, select, update

from mktows.engine import custom_objects
from mktows.engine.activity_log import ActivityRow, write_activities
from mktows.engine.activity_types import MERGE_LEADS
from mktows.engine.leads import LEAD_COLUMNS, key_condition
from mktows.engine.models import MergeOutcome
from mktows.errors import BadParameter, MarketoError, ParameterRequired
from mktows.store.queries import in_values
from mktows.store.tables import activities, cookies, lead_values, leads, list_members

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


def absorb(conn: Connection, winner_id: int, loser_ids: list[int]) -> None:
    """Move list memberships, activities, cookies and custom-object records of losers to the
    winner, then delete them."""
    if not loser_ids:
        return
    held = set(conn.execute(select(list_members.c.list_id).where(list_members.c.lead_id == winner_id)).scalars())
    moves: dict[int, object] = {}
    for list_id, created in conn.execute(
        select(list_members.c.list_id, list_members.c.created_at).where(in_values(list_members.c.lead_id, loser_ids))
    ):
        if list_id not in held and list_id not in moves:
            moves[list_id] = created
    if moves:
        conn.execute(
            insert(list_members),
            [{"list_id": lid, "lead_id": winner_id, "created_at": ts} for lid, ts in moves.items()],
        )
    conn.execute(update(activities).where(in_values(activities.c.lead_id, loser_ids)).values(lead_id=winner_id))
    conn.execute(update(cookies).where(in_values(cookies.c.lead_id, loser_ids)).values(lead_id=winner_id))
    custom_objects.move_records(conn, winner_id, loser_ids)
    conn.execute(delete(list_members).where(in_values(list_members.c.lead_id, loser_ids)))
    conn.execute(delete(lead_values).where(in_values(lead_values.c.lead_id, loser_ids)))
    conn.execute(delete(leads).where(in_values(leads.c.id, loser_ids)))


def merge_leads(
    conn: Connection, winner: list[tuple[str, str]], losers: list[list[tuple[str, str]]], now: datetime
) -> MergeOutcome:
    if not winner:
        raise ParameterRequired("winningLeadKeyList is required")
    if not losers:
        raise ParameterRequired("losingLeadKeyLists is required")
    if len(losers) > MAX_LOSERS:
        raise BadParameter(f"Too many losing leads (max {MAX_LOSERS})")
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
            if getattr(win_row, col) in (None, "") and col not in col_fill and getattr(rows[lid], col) not in (None, ""):
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
    updated = bool(col_fill or value_fill)
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
