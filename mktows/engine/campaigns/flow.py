"""The flow runtime: what a campaign run does to each of its leads (docs/campaigns.md, "Flow steps").

Each step's own compiling and running lives in its module under `steps/`; this module drives
them. A run's flow is compiled once per pass (`compile_plan`: emails, lists, fields, statuses and
campaigns resolved), then `execute_chunk` takes a chunk of `run_leads` rows through their
remaining steps inside the caller's write transaction. Every effect of a step (lead values,
list membership, program status, the outbox row) and the move of the lead's `next_step`
commit together, so a crash repeats nothing and skips nobody. `send_email` renders each
lead's message at its step; the chunk stores its messages with one insert (executemany) and
enqueues one delivery job.

Activities go through the chunk's `SyncBatch`, which writes them in step order together
with the Change Data Value rows of the same leads. Every activity a campaign causes carries
the campaign's full name.

A step that cannot apply is skipped (no effect, no activity), as Marketo skips it:
a reference that no longer resolves (the whole run skips it, logged once as a warning),
or a lead it does not fit (no email address, unsubscribed, a value invalid for the field).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, update

from mktows.engine.activities.log import ActivityRow
from mktows.engine.campaigns import programs
from mktows.engine.campaigns import tokens as tk
from mktows.engine.campaigns.outbox import Message, queue_emails
from mktows.engine.campaigns.steps import STEPS
from mktows.engine.campaigns.steps.base import ACTIVE as ACTIVE
from mktows.engine.campaigns.steps.base import ChunkResult as ChunkResult
from mktows.engine.campaigns.steps.base import RunPlan as RunPlan
from mktows.engine.campaigns.steps.base import Step as Step
from mktows.engine.campaigns.steps.request_campaign import REQUEST_CAMPAIGN as REQUEST_CAMPAIGN
from mktows.engine.leads.fields import TOP_LEVEL, Field, FieldRegistry
from mktows.engine.leads.sync import ChangeCause, LeadState, SyncBatch
from mktows.engine.models import CampaignInfo, Lead, LeadAttribute
from mktows.errors import MarketoError
from mktows.store.tables import run_leads

log = logging.getLogger("mktows.flow")

# company fields of the lead record, for {{company.*}} (API and display names come along)
COMPANY_FIELDS = ("Company", "Industry", "AnnualRevenue", "NumberOfEmployees", "Website")
ASSET_MAX = 255


# --- compiling ------------------------------------------------------------------------------


def compile_plan(
    conn: Connection, registry: FieldRegistry, run_id: int, campaign: CampaignInfo, run_tokens: list[tuple[str, str]]
) -> RunPlan:
    program = programs.program_by_id(conn, campaign.program_id) if campaign.program_id is not None else None
    plan = RunPlan(run_id, campaign, program, run_tokens, [])
    for index, raw in enumerate(campaign.flow):
        step = _compile(conn, registry, plan, index, raw)
        if step.error:
            log.warning(
                "campaign %s run %s: step %s (%s) is skipped: %s",
                campaign.full_name,
                run_id,
                step.step_id,
                step.kind,
                step.error,
            )
        plan.steps.append(step)
    return plan


def _compile(conn: Connection, registry: FieldRegistry, plan: RunPlan, index: int, raw: Any) -> Step:
    if not isinstance(raw, dict) or len(raw) != 1:
        return Step(index, "?", error=f"a flow step is a mapping with one key, got {raw!r}")
    ((kind, arg),) = raw.items()
    flow_step = STEPS.get(kind)
    if flow_step is None:
        return Step(index, kind, error=f"unknown flow step {kind!r}")
    try:
        return Step(index, kind, flow_step.compile(conn, registry, plan, arg))
    except (MarketoError, ValueError, KeyError, TypeError) as exc:
        detail = exc.detail if isinstance(exc, MarketoError) else str(exc)
        return Step(index, kind, error=detail)


# --- executing ------------------------------------------------------------------------------


def pairs(raw: str | None) -> list[tuple[str, str]]:
    """Stored token overrides (JSON list of [name, value], or a mapping) as pairs."""
    if not raw:
        return []
    data = json.loads(raw)
    items: Iterable[Any] = data.items() if isinstance(data, dict) else data
    return [(str(n), "" if v is None else str(v)) for n, v in items]


class LeadTokens:
    """The tokens a run's leads see: the plan's program, campaign and call overrides, the time
    of the pass, and each lead's values as they stand (earlier steps' changes included).

    The chunk is one; the console's email preview makes one for a single lead, so a preview
    resolves tokens by this very code."""

    def __init__(self, registry: FieldRegistry, plan: RunPlan, now: datetime) -> None:
        self.registry = registry
        self.plan = plan
        self.program_values = tk.program_token_values(plan.program) if plan.program else {}
        self.campaign_values = tk.campaign_token_values(plan.campaign)
        self.system_values = tk.system_token_values(now)
        self.program_tokens = plan.program.tokens if plan.program else []
        self.company_keys = self._company_keys()

    def value(self, st: LeadState, f: Field) -> str | None:
        return st.cols.get(f.column) if f.column else st.values.get(f.name)

    def context(self, st: LeadState, recipient: list[tuple[str, str]]) -> tk.TokenContext:
        """Tokens as this lead sees them now (earlier steps' changes included)."""
        attrs = []
        for f in self.registry:
            v = self.value(st, f)
            if f.name not in TOP_LEVEL and v not in (None, ""):
                attrs.append(LeadAttribute(f.name, f.data_type, str(v)))
        assert st.id is not None
        lead = Lead(
            st.id,
            st.cols.get("email"),
            st.cols.get("foreign_sys_person_id"),
            st.cols.get("foreign_sys_type"),
            attrs,
            st.updated_at,
            st.updated_at,
        )
        lead_values = tk.lead_token_values(lead, self.registry)
        company = {k: v for k, v in lead_values.items() if k in self.company_keys}
        if "Company" in lead_values:
            company["Name"] = lead_values["Company"]
        return tk.TokenContext(
            lead=lead_values,
            my=tk.merge_tokens(self.program_tokens, self.plan.run_tokens, recipient),
            company=company,
            program=self.program_values,
            campaign=self.campaign_values,
            system=self.system_values,
        )

    def _company_keys(self) -> frozenset[str]:
        """API and display names of the company fields (keys of {{company.*}})."""
        keys: set[str] = set()
        for name in COMPANY_FIELDS:
            f = self.registry.get(name)
            if f is not None:
                keys.update((f.name, f.display_name))
        return frozenset(keys)


class _Chunk(LeadTokens):
    def __init__(self, conn: Connection, registry: FieldRegistry, plan: RunPlan, now: datetime) -> None:
        self.conn = conn
        self.now = now
        self.full = plan.campaign.full_name
        self.batch = SyncBatch(conn, registry, now)
        self.result = ChunkResult()
        super().__init__(registry, plan, now)
        self.outgoing: list[Message] = []  # rendered by send_email, stored together by run()
        self.queued: set[tuple[int, int]] = set()  # (lead, step) already in the outbox

    # --- helpers -------------------------------------------------------------------------
    def row(
        self, st: LeadState, kind: Any, asset: str, attrs: Sequence[tuple[str, str]], campaign: str | None = None
    ) -> None:
        assert st.id is not None
        self.batch.log(
            st,
            ActivityRow(
                st.id, self.now, kind, asset[:ASSET_MAX], [*attrs, ("Lead ID", str(st.id))], campaign or self.full
            ),
        )

    def cause(self, step: Step, action: str) -> ChangeCause:
        return ChangeCause(self.plan.reason(action), self.full, step.attributes())

    # --- the chunk -----------------------------------------------------------------------
    def run(self, rows: Sequence[Any]) -> ChunkResult:
        lead_ids = [int(r.lead_id) for r in rows]
        self.batch.load(lead_ids)
        for kind in dict.fromkeys(step.kind for step in self.plan.steps if not step.error):
            STEPS[kind].prepare(self, lead_ids)
        updates: list[dict[str, Any]] = []
        for row in rows:
            st = self.batch.states.get(int(row.lead_id))
            index, status, wake_at = int(row.next_step), "done", None
            recipient = pairs(row.tokens)
            while st is not None and index < len(self.plan.steps):
                step = self.plan.steps[index]
                index += 1
                if step.error:
                    continue
                stop = STEPS[step.kind].run(self, step, st, recipient)
                if stop is not None:
                    status, wake_at = stop.status, stop.wake_at
                    break
            updates.append(
                {
                    "b_run": self.plan.run_id,
                    "b_lead": int(row.lead_id),
                    "b_next": index,
                    "b_status": status,
                    "b_wake": wake_at,
                }
            )
        queue_emails(self.conn, self.outgoing)  # one executemany for the chunk's messages
        self.batch.flush()
        if updates:
            self.conn.execute(
                update(run_leads)
                .where(and_(run_leads.c.run_id == bindparam("b_run"), run_leads.c.lead_id == bindparam("b_lead")))
                .values(next_step=bindparam("b_next"), status=bindparam("b_status"), wake_at=bindparam("b_wake")),
                updates,
            )
        self.result.processed = len(rows)
        return self.result


def execute_chunk(
    conn: Connection, registry: FieldRegistry, plan: RunPlan, rows: Sequence[Any], now: datetime
) -> ChunkResult:
    """Take `rows` (run_leads of `plan.run_id`, locked by the caller) through their remaining
    steps up to a wait or the end; update their run_leads rows. Flow requests and wake-ups are
    returned for the caller to start and enqueue in the same transaction."""
    return _Chunk(conn, registry, plan, now).run(rows)
