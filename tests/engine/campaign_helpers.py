"""Helpers for the campaign runtime tests: load an instance, start and run campaigns, read the
outbox and run state (plain functions over the real modules; no fixtures, no mocks)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import func, select

from mktows.engine import Engine
from mktows.engine.campaigns import programs
from mktows.engine.campaigns import runs as campaigns
from mktows.engine.models import CampaignInfo
from mktows.instance import apply_instance, parse_instance
from mktows.store.tables import campaign_runs, jobs, outbox, run_leads


def load(engine: Engine, text: str) -> None:
    apply_instance(engine, parse_instance(yaml.safe_load(text), "test.yaml"))


def campaign(engine: Engine, full_name: str) -> CampaignInfo:
    with engine.db.read() as conn:
        return programs.find_campaign(conn, None, full_name)


def request(
    engine: Engine,
    name: str,
    lead_ids: Sequence[int],
    *,
    source: str = "MKTOWS",
    tokens: Sequence[tuple[str, str]] = (),
) -> int:
    found = campaign(engine, name)
    with engine.db.write() as conn:
        return campaigns.request_campaign(
            conn, found, list(lead_ids), source=source, tokens=list(tokens), now=engine.now()
        )


def schedule(
    engine: Engine, name: str, *, run_at: datetime | None = None, tokens: Sequence[tuple[str, str]] = ()
) -> int:
    found = campaign(engine, name)
    with engine.db.write() as conn:
        now = engine.now()
        return campaigns.schedule_campaign(conn, found, run_at=run_at or now, tokens=list(tokens), now=now)


def run(engine: Engine, run_id: int, **kw: Any) -> str:
    """One pass of the `campaign.run` job on the engine's clock."""
    return campaigns.process_run(engine.db, run_id, clock=engine.now, **kw)


def messages(engine: Engine, run_id: int | None = None) -> list[Any]:
    q = select(outbox).order_by(outbox.c.lead_id, outbox.c.step_index)
    if run_id is not None:
        q = q.where(outbox.c.run_id == run_id)
    with engine.db.read() as conn:
        return list(conn.execute(q).all())


def per_step_counts(engine: Engine) -> dict[tuple[int, int, int], int]:
    """Outbox rows per (run, lead, step): every value must be 1."""
    q = select(outbox.c.run_id, outbox.c.lead_id, outbox.c.step_index, func.count()).group_by(
        outbox.c.run_id, outbox.c.lead_id, outbox.c.step_index
    )
    with engine.db.read() as conn:
        return {(r[0], r[1], r[2]): r[3] for r in conn.execute(q)}


def run_row(engine: Engine, run_id: int) -> Any:
    with engine.db.read() as conn:
        return conn.execute(select(campaign_runs).where(campaign_runs.c.id == run_id)).one()


def runs_of(engine: Engine, name: str) -> list[Any]:
    found = campaign(engine, name)
    with engine.db.read() as conn:
        return list(
            conn.execute(
                select(campaign_runs).where(campaign_runs.c.campaign_id == found.id).order_by(campaign_runs.c.id)
            ).all()
        )


def lead_states(engine: Engine, run_id: int) -> dict[int, tuple[str, int]]:
    """lead id -> (status, next_step) of a run."""
    with engine.db.read() as conn:
        rows = conn.execute(select(run_leads).where(run_leads.c.run_id == run_id))
        return {r.lead_id: (r.status, r.next_step) for r in rows}


def run_jobs(engine: Engine, run_id: int) -> list[Any]:
    with engine.db.read() as conn:
        return [
            r
            for r in conn.execute(select(jobs).where(jobs.c.kind == campaigns.RUN_JOB).order_by(jobs.c.id))
            if f'"run_id":{run_id}' in r.payload.replace(" ", "")
        ]
