"""Campaign runs: starting them (requestCampaign, scheduleCampaign, flow requests) and running
them as durable `campaign.run` jobs (docs/campaigns.md, "Runs, jobs and delivery").

A run is a `campaign_runs` row plus one `run_leads` row per lead. Starting one writes those
rows and enqueues its job in the caller's transaction. The job takes the leads through the
flow in chunks, one write transaction per chunk (`engine.flow`), and is idempotent: a pass
interrupted anywhere resumes where the last committed chunk left off.

Qualification: a campaign that runs each lead `once` never takes a lead that entered it
before (`campaign_leads`, updated whenever a lead enters a run of the campaign).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, exists, func, insert, literal, or_, select, update

from mktows.engine.activities.log import ActivityRow, write_activities
from mktows.engine.campaigns import flow, programs, smartlists
from mktows.engine.campaigns.tokens import token_name
from mktows.engine.leads.fields import FieldRegistry
from mktows.engine.leads.registry import field_registry
from mktows.engine.models import CampaignInfo
from mktows.errors import CampaignNotFound, MarketoError
from mktows.runtime import jobs
from mktows.store.database import Database
from mktows.store.queries import in_values, upsert
from mktows.store.tables import UTCDateTime, campaign_leads, campaign_runs, lead_tokens, leads, run_leads

log = logging.getLogger("mktows.campaigns")

RUN_JOB = "campaign.run"
CHUNK_LEADS = 200  # leads per write transaction of a run
SOURCE_NAMES = {"MKTOWS": "Web Service API", "SALES": "Sales Insight"}  # Request Campaign `Source`
# How an instance file names a source: the code or the display name, in snake case
# (`web_service_api`, `mktows`, `sales_insight`, `sales`).
SOURCE_SPELLINGS = {
    spelling: code
    for code, label in SOURCE_NAMES.items()
    for spelling in (label.lower().replace(" ", "_"), code.lower())
}


# --- starting runs --------------------------------------------------------------------------


def request_campaign(
    conn: Connection,
    campaign: CampaignInfo,
    lead_ids: list[int],
    *,
    source: str,
    tokens: list[tuple[str, str]],
    now: datetime,
) -> int:
    """requestCampaign: queue existing leads into an active trigger campaign whose Campaign is
    Requested trigger allows `source` (MKTOWS, SALES), else CampaignNotFound (20113).

    Logs `Request Campaign` for every requested lead; only qualifying leads enter the run.
    `tokens` (the call's My Token overrides) live in the run. Returns the run id.
    """
    src = (source or "").strip().upper()
    label = SOURCE_NAMES.get(src, src)
    why = None
    if campaign.kind != "trigger":
        why = "it is a batch campaign (requestCampaign runs trigger campaigns)"
    elif not campaign.active:
        why = "it is not active"
    elif src not in campaign.sources:
        allowed = ", ".join(SOURCE_NAMES.get(s, s) for s in campaign.sources) or "no API source"
        why = f"its Campaign is Requested trigger allows {allowed}, not {label}"
    if why is not None:
        raise CampaignNotFound(f"Campaign {campaign.full_name} cannot be requested: {why}")
    ids = list(dict.fromkeys(lead_ids))
    write_activities(conn, [request_activity(campaign, i, label, now) for i in ids])
    return create_run(conn, campaign, ids, origin="request", source=src, tokens=tokens, now=now)


def schedule_campaign(
    conn: Connection, campaign: CampaignInfo, *, run_at: datetime, tokens: list[tuple[str, str]], now: datetime
) -> int:
    """scheduleCampaign: run an active batch campaign at `run_at`, else CampaignNotFound (20113).

    The smart list is evaluated when the run starts, not now, so leads imported in between
    are included. Returns the run id.
    """
    if campaign.kind != "batch":
        raise CampaignNotFound(
            f"Campaign {campaign.full_name} is a trigger campaign; scheduleCampaign runs batch campaigns"
        )
    if not campaign.active:
        raise CampaignNotFound(f"Campaign {campaign.full_name} is not active")
    return create_run(conn, campaign, None, origin="schedule", source=None, tokens=tokens, now=now, run_at=run_at)


def request_activity(campaign: CampaignInfo, lead_id: int, source_label: str, now: datetime) -> ActivityRow:
    """`Request Campaign`: Source, Campaign ID, Lead ID; campaign = its full name."""
    return ActivityRow(
        lead_id=lead_id,
        created_at=now,
        type=flow.REQUEST_CAMPAIGN,
        asset_name=campaign.full_name,
        attributes=[("Source", source_label), ("Campaign ID", str(campaign.id)), ("Lead ID", str(lead_id))],
        campaign=campaign.full_name,
    )


def create_run(
    conn: Connection,
    campaign: CampaignInfo,
    lead_ids: list[int] | None,
    *,
    origin: str,
    source: str | None,
    tokens: list[tuple[str, str]],
    now: datetime,
    run_at: datetime | None = None,
) -> int:
    """A run row, its leads (unless `lead_ids` is None: a smart list picks them at start) and
    its job, in the caller's transaction."""
    stored = json.dumps([[token_name(n), v] for n, v in tokens], separators=(",", ":"))
    run_id = int(
        conn.execute(
            insert(campaign_runs)
            .values(
                campaign_id=campaign.id,
                origin=origin,
                source=source,
                tokens=stored,
                run_at=run_at or now,
                status="scheduled",
                lead_count=0,
                created_at=now,
            )
            .returning(campaign_runs.c.id)
        ).scalar_one()
    )
    if lead_ids is not None:
        ids = list(dict.fromkeys(lead_ids))
        if campaign.qualification == "once":
            ids = [i for i in ids if i not in _past_leads(conn, campaign.id, ids)]
        if ids:
            conn.execute(
                insert(run_leads), [{"run_id": run_id, "lead_id": i, "next_step": 0, "status": "pending"} for i in ids]
            )
        _entered(conn, run_id, campaign, now)
    jobs.enqueue(conn, RUN_JOB, {"run_id": run_id}, run_at=run_at or now)
    return run_id


def _past_leads(conn: Connection, campaign_id: int, ids: list[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        found.update(
            conn.execute(
                select(campaign_leads.c.lead_id).where(
                    campaign_leads.c.campaign_id == campaign_id, in_values(campaign_leads.c.lead_id, part)
                )
            ).scalars()
        )
    return found


def _select_leads(
    conn: Connection, run_id: int, campaign: CampaignInfo, registry: FieldRegistry, now: datetime
) -> None:
    """A scheduled run's leads from the smart list, chosen by the database (INSERT ... SELECT).
    Raises ListNotFound / UnknownLeadField / BadParameter before writing anything."""
    cond = smartlists.condition(conn, registry, campaign.smart_list, campaign.filter_logic, campaign.program_name)
    chosen = select(literal(run_id), leads.c.id, literal(0), literal("pending")).where(
        cond, leads.c.anonymous.is_(False)
    )
    if campaign.qualification == "once":
        chosen = chosen.where(
            ~exists().where(campaign_leads.c.campaign_id == campaign.id, campaign_leads.c.lead_id == leads.c.id)
        )
    if campaign.smart_list:
        stmt = upsert(conn, run_leads).from_select(["run_id", "lead_id", "next_step", "status"], chosen)
        conn.execute(stmt.on_conflict_do_nothing())
    _entered(conn, run_id, campaign, now)


def _entered(conn: Connection, run_id: int, campaign: CampaignInfo, now: datetime) -> None:
    """Book keeping once a run's leads are in: qualification history, per-recipient tokens
    (importToList's values for this campaign, consumed by this run) and the lead count."""
    entered = select(literal(campaign.id), run_leads.c.lead_id, literal(1), literal(now, UTCDateTime())).where(
        run_leads.c.run_id == run_id
    )
    stmt = upsert(conn, campaign_leads).from_select(["campaign_id", "lead_id", "runs", "last_run_at"], entered)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[campaign_leads.c.campaign_id, campaign_leads.c.lead_id],
            set_={"runs": campaign_leads.c.runs + 1, "last_run_at": now},
        )
    )
    bound = select(lead_tokens.c.lead_id).where(lead_tokens.c.campaign_id == campaign.id)
    conn.execute(
        update(run_leads)
        .where(run_leads.c.run_id == run_id, run_leads.c.lead_id.in_(bound))
        .values(
            tokens=select(lead_tokens.c.tokens)
            .where(lead_tokens.c.campaign_id == campaign.id, lead_tokens.c.lead_id == run_leads.c.lead_id)
            .scalar_subquery()
        )
    )
    in_run = select(run_leads.c.lead_id).where(run_leads.c.run_id == run_id)
    conn.execute(delete(lead_tokens).where(lead_tokens.c.campaign_id == campaign.id, lead_tokens.c.lead_id.in_(in_run)))
    count = conn.execute(select(func.count()).select_from(run_leads).where(run_leads.c.run_id == run_id)).scalar_one()
    conn.execute(update(campaign_runs).where(campaign_runs.c.id == run_id).values(lead_count=count))


# --- running them ---------------------------------------------------------------------------


@jobs.job_handler(RUN_JOB)
def run_campaign(database: Database, payload: dict[str, Any]) -> None:
    """The `campaign.run` job: start the run if due, then take its due leads through the flow.

    Idempotent and resumable; a shutdown hands the job back between chunks (Requeue)."""
    run_id = int(payload["run_id"])
    if process_run(database, run_id) == "scheduled":
        # woken before its time (a job engine whose clock runs ahead of this host's): again then
        with database.write() as conn:
            run_at = conn.execute(select(campaign_runs.c.run_at).where(campaign_runs.c.id == run_id)).scalar()
            jobs.enqueue(conn, RUN_JOB, {"run_id": run_id}, run_at=run_at)


def process_run(
    database: Database,
    run_id: int,
    *,
    clock: Callable[[], datetime] = jobs.now,
    chunk_leads: int = CHUNK_LEADS,
    max_chunks: int | None = None,
) -> str:
    """One pass over a run; returns its status afterwards (`scheduled` when not yet due,
    `running` while leads wait or when `max_chunks` stopped the pass early)."""
    with database.write() as conn:
        status = _start(conn, run_id, clock())
    if status != "running":
        return status
    plan: flow.RunPlan | None = None
    registry: FieldRegistry | None = None
    done_chunks = 0
    while max_chunks is None or done_chunks < max_chunks:
        job = jobs.current_job()
        if job is not None and job.stopping.is_set():
            raise jobs.Requeue()
        with database.write() as conn:
            now = clock()
            rows = _due_leads(conn, run_id, now, chunk_leads)
            if not rows:
                return _finish(conn, run_id, now)
            if plan is None or registry is None:
                registry = field_registry(conn)
                plan = _plan(conn, registry, run_id)
            result = flow.execute_chunk(conn, registry, plan, rows, now)
            for target, ids in result.requested.values():
                create_run(conn, target, ids, origin="flow", source=None, tokens=[], now=now)
            for wake_at in sorted(result.wake_times):
                jobs.enqueue(conn, RUN_JOB, {"run_id": run_id}, run_at=wake_at)
        done_chunks += 1
    return "running"


def _start(conn: Connection, run_id: int, now: datetime) -> str:
    """`scheduled` -> `running` once due; a scheduled run picks its leads here."""
    q = select(campaign_runs).where(campaign_runs.c.id == run_id)
    if conn.dialect.name != "sqlite":
        q = q.with_for_update()
    run = conn.execute(q).first()
    if run is None:
        return "missing"
    if run.status != "scheduled":
        return str(run.status)
    if run.run_at > now:
        return "scheduled"  # the job due at run_at starts it
    campaign = programs.campaign_by_id(conn, run.campaign_id)
    if run.origin == "schedule":
        try:
            _select_leads(conn, run_id, campaign, field_registry(conn), now)
        except MarketoError as exc:
            log.error("campaign %s run %s failed to select its leads: %s", campaign.full_name, run_id, exc.detail)
            conn.execute(
                update(campaign_runs)
                .where(campaign_runs.c.id == run_id)
                .values(status="failed", started_at=now, finished_at=now)
            )
            return "failed"
    conn.execute(update(campaign_runs).where(campaign_runs.c.id == run_id).values(status="running", started_at=now))
    log.info("campaign %s run %s started", campaign.full_name, run_id)
    return "running"


def _plan(conn: Connection, registry: FieldRegistry, run_id: int) -> flow.RunPlan:
    run = conn.execute(
        select(campaign_runs.c.campaign_id, campaign_runs.c.tokens).where(campaign_runs.c.id == run_id)
    ).one()
    campaign = programs.campaign_by_id(conn, run.campaign_id)
    return flow.compile_plan(conn, registry, run_id, campaign, flow.pairs(run.tokens))


def _due_leads(conn: Connection, run_id: int, now: datetime, limit: int) -> list[Any]:
    """The next chunk: pending leads and waiting ones whose wait is over, by lead id; on
    PostgreSQL locked, skipping rows another worker holds."""
    q = (
        select(run_leads)
        .where(
            run_leads.c.run_id == run_id,
            or_(run_leads.c.status == "pending", (run_leads.c.status == "waiting") & (run_leads.c.wake_at <= now)),
        )
        .order_by(run_leads.c.lead_id)
        .limit(limit)
    )
    if conn.dialect.name != "sqlite":
        q = q.with_for_update(skip_locked=True)
    return list(conn.execute(q).all())


def _finish(conn: Connection, run_id: int, now: datetime) -> str:
    """`done` when no lead is pending or waiting any more; otherwise a later job wakes it."""
    left = conn.execute(
        select(run_leads.c.lead_id).where(run_leads.c.run_id == run_id, run_leads.c.status.in_(flow.ACTIVE)).limit(1)
    ).first()
    if left is not None:
        return "running"
    conn.execute(
        update(campaign_runs)
        .where(campaign_runs.c.id == run_id, campaign_runs.c.status == "running")
        .values(status="done", finished_at=now)
    )
    return "done"
