"""Writing activity rows and reading them back as `Activity` values.

Callers pass the connection of their own write transaction, so an activity is logged
atomically with the change that caused it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from mktows.engine.activities.types import ActivityType
from mktows.engine.models import Activity
from mktows.store.queries import bulk_insert
from mktows.store.tables import activities


@dataclass
class ActivityRow:
    lead_id: int
    created_at: datetime
    type: ActivityType
    asset_name: str = ""
    attributes: list[tuple[str, str]] | None = None  # "Lead ID" last, by convention of the caller
    campaign: str | None = None

    def values(self) -> dict[str, Any]:
        return {
            "lead_id": self.lead_id,
            "created_at": self.created_at,
            "type_code": self.type.code,
            "type_name": self.type.name,
            "asset_name": self.asset_name or "",
            "campaign": self.campaign,
            "attributes": json.dumps([list(p) for p in (self.attributes or [])], separators=(",", ":")),
        }


def write_activities(conn: Connection, rows: Sequence[ActivityRow]) -> None:
    """Insert in the given order (ids are monotonic) with one executemany."""
    if rows:
        bulk_insert(conn, activities, [r.values() for r in rows])


def to_activity(row: Any) -> Activity:
    return Activity(
        id=int(row.id),
        created_at=row.created_at,
        type_name=row.type_name,
        asset_name=row.asset_name or "",
        attributes=[(str(n), str(v)) for n, v in json.loads(row.attributes or "[]")],
        campaign=row.campaign,
        lead_id=int(row.lead_id),
    )
