"""What the emulator control API (docs/emulator.md) reads and resets: plain rows as dicts.

`reset_data` empties every table but `server_meta` (the instance's secret, its job engine, its
schema bookkeeping) in one transaction; the caller applies the instance file again after it.
The readers return the newest rows first, each as a dict of JSON-ready values.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, func, select, text, update

from mktows.engine.admin.state import field_values
from mktows.engine.leads.registry import FIELDS_VERSION
from mktows.store.tables import (
    activities,
    campaign_runs,
    campaigns,
    leads,
    list_members,
    metadata,
    outbox,
    server_meta,
    static_lists,
)

STATE_KINDS = ("leads", "activities", "lists", "outbox", "runs")
_KEPT = {server_meta.name}


def reset_data(conn: Connection) -> int:
    """Delete the rows of every data table (ids start again at 1); returns the tables emptied."""
    tables = [t for t in reversed(metadata.sorted_tables) if t.name not in _KEPT]
    if conn.dialect.name == "postgresql":
        names = ", ".join(conn.dialect.identifier_preparer.quote(t.name) for t in tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            conn.execute(delete(table))
        has_sequences = conn.execute(
            text("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'")
        ).scalar()
        if has_sequences:
            conn.execute(text("DELETE FROM sqlite_sequence"))
    # the lead fields changed: every process reloads its field list
    conn.execute(update(server_meta).where(server_meta.c.key == FIELDS_VERSION).values(value=uuid.uuid4().hex))
    return len(tables)


def clear_outbox(conn: Connection) -> int:
    return int(conn.execute(delete(outbox)).rowcount or 0)


def state(conn: Connection, what: str, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` rows of one kind of state (`STATE_KINDS`)."""
    if what == "leads":
        return _leads(conn, limit)
    if what == "activities":
        rows = _rows(conn, activities, limit)
        for row in rows:
            row["attributes"] = json.loads(row["attributes"] or "[]")
        return rows
    if what == "lists":
        return _lists(conn, limit)
    if what == "outbox":
        return _rows(conn, outbox, limit)
    if what == "runs":
        q = (
            select(campaign_runs, campaigns.c.name.label("campaign"))
            .join(campaigns, campaigns.c.id == campaign_runs.c.campaign_id)
            .order_by(campaign_runs.c.id.desc())
            .limit(limit)
        )
        return [_plain(dict(r._mapping)) for r in conn.execute(q)]
    raise ValueError(f"unknown state {what!r}: expected one of {', '.join(STATE_KINDS)}")


def _rows(conn: Connection, table: Table, limit: int) -> list[dict[str, Any]]:
    q = select(table).order_by(table.c.id.desc()).limit(limit)
    return [_plain(dict(r._mapping)) for r in conn.execute(q)]


def _leads(conn: Connection, limit: int) -> list[dict[str, Any]]:
    rows = _rows(conn, leads, limit)
    values = field_values(conn, [row["id"] for row in rows])
    for row in rows:
        row["fields"] = values[row["id"]]
    return rows


def _lists(conn: Connection, limit: int) -> list[dict[str, Any]]:
    count = func.count(list_members.c.lead_id)
    q = (
        select(static_lists, count.label("members"))
        .outerjoin(list_members, list_members.c.list_id == static_lists.c.id)
        .group_by(*static_lists.c)
        .order_by(static_lists.c.id.desc())
        .limit(limit)
    )
    return [_plain(dict(r._mapping)) for r in conn.execute(q)]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
