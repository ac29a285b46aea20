"""Small helpers shared by the engine tests (plain functions, no fixtures)."""

from __future__ import annotations

from sqlalchemy import func, select

from mktows.engine import Engine
from mktows.engine.models import Activity, Lead, LeadInput, LeadKey, StreamPosition
from mktows.store.tables import activities, lead_values, leads


def attrs(lead: Lead) -> dict[str, str]:
    return {a.name: a.value for a in lead.attributes}


def create(engine: Engine, email: str | None = None, **fields: str) -> int:
    return engine.sync_lead(LeadInput(email=email, attributes=list(fields.items())), return_lead=False).lead_id


def lead(engine: Engine, lead_id: int) -> Lead:
    return engine.get_leads(LeadKey("IDNUM", str(lead_id)))[0]


def counts(engine: Engine) -> tuple[int, int, int]:
    """(leads, values, activities) rows: a failed call must leave all three unchanged."""
    with engine.db.read() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (leads, lead_values, activities)
        )


def all_activities(engine: Engine, lead_id: int) -> list[Activity]:
    """Every activity of a lead, oldest first."""
    page = engine.lead_activity(LeadKey("IDNUM", str(lead_id)), batch_size=100)
    return list(reversed(page.activities))


def changes(engine: Engine, **kw: object) -> list[Activity]:
    page = engine.lead_changes(StreamPosition(oldest_created_at=engine.now().replace(year=2000)), batch_size=1000, **kw)  # type: ignore[arg-type]
    return page.activities
