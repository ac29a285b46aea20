"""Flow steps: what a campaign run does to each of its leads (docs/campaigns.md, "Flow steps").

A run's flow is compiled once per pass (`compile_plan`: emails, lists, fields, statuses and
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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, select, update

from mktows.engine.activities.log import ActivityRow
from mktows.engine.activities.types import ADD_TO_LIST, REMOVE_FROM_LIST, by_code
from mktows.engine.campaigns import catalog, programs
from mktows.engine.campaigns import tokens as tk
from mktows.engine.campaigns.outbox import Message, existing_steps, queue_emails
from mktows.engine.campaigns.smartlists import field_named
from mktows.engine.leads.fields import TOP_LEVEL, Field, FieldRegistry, normalize_value
from mktows.engine.leads.sync import ChangeCause, LeadState, SyncBatch
from mktows.engine.lists.members import add_members, list_event, remove_members
from mktows.engine.models import CampaignInfo, EmailInfo, Lead, LeadAttribute, ProgramInfo, ProgressionStatus
from mktows.errors import BadParameter, MarketoError, UnknownLeadField
from mktows.store.queries import upsert
from mktows.store.tables import campaign_runs, program_members, run_leads, static_lists

log = logging.getLogger("mktows.flow")

SEND_EMAIL = by_code("SendEmail")
CHANGE_SCORE = by_code("ChangeScore")
CHANGE_STATUS = by_code("ChangeStatusInProgression")
INTERESTING_MOMENT = by_code("InterestingMoment")
REQUEST_CAMPAIGN = by_code("RequestCampaign")
REMOVE_FROM_FLOW = by_code("RemoveFromFlow")

FLOW_ACTION_SOURCE = "Marketo Flow Action"  # the Source of a Request Campaign caused by a flow
ACTIVE = ("pending", "waiting")  # run_leads states of a lead still in a flow
WAIT_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}
# company fields of the lead record, for {{company.*}} (API and display names come along)
COMPANY_FIELDS = ("Company", "Industry", "AnnualRevenue", "NumberOfEmployees", "Website")
ASSET_MAX = 255


@dataclass
class Step:
    """One compiled flow step; `error` says why the whole run skips it."""

    index: int
    kind: str
    arg: Any = None
    error: str | None = None

    @property
    def step_id(self) -> str:
        """`Step ID` of activities: the step's 1-based position in the flow."""
        return str(self.index + 1)

    def attributes(self) -> tuple[tuple[str, str], ...]:
        return (("Step ID", self.step_id), ("Choice Number", "0"))


@dataclass
class RunPlan:
    run_id: int
    campaign: CampaignInfo
    program: ProgramInfo | None
    run_tokens: list[tuple[str, str]]  # the call's overrides (campaign_runs.tokens)
    steps: list[Step]

    def reason(self, action: str) -> str:
        return f"Changed by Smart Campaign {self.campaign.full_name} action {action}"


@dataclass
class ChunkResult:
    """What the caller (engine.campaigns) finishes in the same transaction."""

    processed: int = 0
    requested: dict[int, tuple[CampaignInfo, list[int]]] = field(default_factory=dict)  # flow requests
    wake_times: set[datetime] = field(default_factory=set)  # enqueue a run job at each


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
    compiler = _COMPILERS.get(kind)
    if compiler is None:
        return Step(index, kind, error=f"unknown flow step {kind!r}")
    try:
        return Step(index, kind, compiler(conn, registry, plan, arg))
    except (MarketoError, ValueError, KeyError, TypeError) as exc:
        detail = exc.detail if isinstance(exc, MarketoError) else str(exc)
        return Step(index, kind, error=detail)


def _field(registry: FieldRegistry, name: Any) -> Field:
    f = field_named(registry, str(name))
    if f is None:
        raise UnknownLeadField(f"unknown lead field {name!r}")
    return f


def _c_send_email(conn: Connection, registry: FieldRegistry, plan: RunPlan, arg: Any) -> EmailInfo:
    return programs.find_email(conn, plan.campaign.program_id, str(arg))


def _c_change_data_value(
    conn: Connection, registry: FieldRegistry, plan: RunPlan, arg: Any
) -> tuple[Field, str | None]:
    f = _field(registry, arg["field"])
    if f.read_only:
        raise BadParameter(f"{f.name} is read-only")
    value = arg.get("value")
    return f, None if value is None else str(value)


def _c_change_score(conn: Connection, registry: FieldRegistry, plan: RunPlan, arg: Any) -> tuple[Field, str, int]:
    spec = arg if isinstance(arg, dict) else {"change": arg}
    f = _field(registry, spec.get("field") or "LeadScore")
    if f.data_type not in ("integer", "score"):
        raise BadParameter(f"{f.name} is a {f.data_type} field, not an integer or score")
    change = str(spec.get("change", "")).strip().replace(" ", "")
    sign = change[0] if change[:1] in ("+", "-", "=") else "+"
    return f, sign, int(change.lstrip("+-="))


def _c_list(conn: Connection, registry: FieldRegistry, plan: RunPlan, arg: Any) -> tuple[int, str]:
    list_id, _ = programs.list_reference(conn, str(arg), plan.campaign.program_name)
    return list_id, conn.execute(select(static_lists.c.name).where(static_lists.c.id == list_id)).scalar_one()


def _c_change_program_status(
    conn: Connection, registry: FieldRegistry, plan: RunPlan, arg: Any
) -> tuple[ProgramInfo, ProgressionStatus, dict[str, int]]:
    program = programs.find_program(conn, str(arg["program"])) if arg.get("program") else plan.program
    if program is None:
        raise BadParameter("change_program_status needs a program for a campaign outside programs")
    statuses = catalog.channel_statuses(conn, program.channel)
    wanted = str(arg["status"]).strip().lower()
    status = next((s for s in statuses if s.name.lower() == wanted), None)
    if status is None:
        raise BadParameter(f"{arg['status']!r} is not a status of channel {program.channel!r}")
    steps = {s.name.lower(): s.step for s in statuses}
    return program, status, steps


def _c_interesting_moment(conn: Connection, registry: FieldRegistry, plan: RunPlan, arg: Any) -> tuple[str, str]:
    spec = arg if isinstance(arg, dict) else {"description": arg}
    return str(spec.get("type") or "Web"), str(spec.get("description") or "")


def _c_wait(conn: Connection, registry: FieldRegistry, plan: RunPlan, arg: Any) -> timedelta:
    spec = arg if isinstance(arg, dict) else {"seconds": arg}
    seconds = 0.0
    for unit, amount in spec.items():
        if unit not in WAIT_UNITS:
            raise BadParameter(f"unknown wait unit {unit!r} (seconds, minutes, hours, days, weeks)")
        seconds += float(amount) * WAIT_UNITS[unit]
    if seconds < 0:
        raise BadParameter("a wait cannot be negative")
    return timedelta(seconds=seconds)


def _c_request_campaign(conn: Connection, registry: FieldRegistry, plan: RunPlan, arg: Any) -> CampaignInfo:
    target = _campaign_ref(conn, plan, str(arg))
    if target.kind != "trigger" or not target.active:
        raise BadParameter(f"{target.full_name} is not an active trigger campaign")
    if target.id == plan.campaign.id:
        raise BadParameter("a campaign cannot request itself")
    return target


def _c_remove_from_flow(conn: Connection, registry: FieldRegistry, plan: RunPlan, arg: Any) -> list[CampaignInfo]:
    names = [] if arg in (None, "") else [arg] if isinstance(arg, str) else list(arg)
    return [_campaign_ref(conn, plan, str(n)) for n in names] or [plan.campaign]


def _campaign_ref(conn: Connection, plan: RunPlan, name: str) -> CampaignInfo:
    """`Program.Campaign`, a campaign outside programs, or one of this campaign's program."""
    found = programs.campaign_or_none(conn, None, name)
    if found is None and plan.campaign.program_name:
        found = programs.campaign_or_none(conn, plan.campaign.program_name, name)
    if found is None:
        raise BadParameter(f"campaign not found: {name}")
    return found


_COMPILERS: dict[str, Callable[[Connection, FieldRegistry, RunPlan, Any], Any]] = {
    "send_email": _c_send_email,
    "change_data_value": _c_change_data_value,
    "change_score": _c_change_score,
    "add_to_list": _c_list,
    "remove_from_list": _c_list,
    "change_program_status": _c_change_program_status,
    "interesting_moment": _c_interesting_moment,
    "wait": _c_wait,
    "request_campaign": _c_request_campaign,
    "remove_from_flow": _c_remove_from_flow,
}


# --- executing ------------------------------------------------------------------------------


class _Stop:
    """A step outcome that ends the lead's pass: waiting until `wake_at`, or removed."""

    def __init__(self, status: str, wake_at: datetime | None = None) -> None:
        self.status = status
        self.wake_at = wake_at


def pairs(raw: str | None) -> list[tuple[str, str]]:
    """Stored token overrides (JSON list of [name, value], or a mapping) as pairs."""
    if not raw:
        return []
    data = json.loads(raw)
    items: Iterable[Any] = data.items() if isinstance(data, dict) else data
    return [(str(n), "" if v is None else str(v)) for n, v in items]


class _Chunk:
    def __init__(self, conn: Connection, registry: FieldRegistry, plan: RunPlan, now: datetime) -> None:
        self.conn = conn
        self.registry = registry
        self.plan = plan
        self.now = now
        self.full = plan.campaign.full_name
        self.batch = SyncBatch(conn, registry, now)
        self.result = ChunkResult()
        self.program_values = tk.program_token_values(plan.program) if plan.program else {}
        self.campaign_values = tk.campaign_token_values(plan.campaign)
        self.system_values = tk.system_token_values(now)
        self.program_tokens = plan.program.tokens if plan.program else []
        self.company_keys = self._company_keys()
        self.outgoing: list[Message] = []  # rendered by send_email, stored together by run()
        self.queued: set[tuple[int, int]] = set()  # (lead, step) already in the outbox
        self.handlers: dict[str, Callable[[Step, LeadState, list[tuple[str, str]]], _Stop | None]] = {
            "send_email": self.send_email,
            "change_data_value": self.change_data_value,
            "change_score": self.change_score,
            "add_to_list": self.add_to_list,
            "remove_from_list": self.remove_from_list,
            "change_program_status": self.change_program_status,
            "interesting_moment": self.interesting_moment,
            "wait": self.wait,
            "request_campaign": self.request_campaign,
            "remove_from_flow": self.remove_from_flow,
        }

    # --- helpers -------------------------------------------------------------------------
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

    # --- steps ---------------------------------------------------------------------------
    def send_email(self, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> _Stop | None:
        email: EmailInfo = step.arg
        to_addr = (st.cols.get("email") or "").strip()
        if not to_addr or st.values.get("Unsubscribed") == "true":
            return None  # Marketo does not mail leads without an address or unsubscribed
        assert st.id is not None
        if (st.id, step.index) in self.queued:
            return None  # this (run, lead, step) already has its message: nobody gets it twice
        self.queued.add((st.id, step.index))
        ctx = self.context(st, recipient)
        self.outgoing.append(
            Message(
                to_addr=to_addr,
                from_addr=tk.render(email.from_email, ctx, html=False),
                from_name=tk.render(email.from_name, ctx, html=False) if email.from_name else None,
                reply_to=tk.render(email.reply_to, ctx, html=False) if email.reply_to else None,
                subject=tk.render(email.subject, ctx, html=False),
                html=tk.render(email.html, ctx, html=True),
                text=tk.render(email.text, ctx, html=False),
                lead_id=st.id,
                run_id=self.plan.run_id,
                step_index=step.index,
                campaign=self.full,
                email_id=email.id,
                email_name=email.name,
            )
        )
        self.row(st, SEND_EMAIL, email.name, [("Mailing ID", str(email.id)), *step.attributes()])
        return None

    def change_data_value(self, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> _Stop | None:
        f, template = step.arg
        text = tk.render(template, self.context(st, recipient), html=False) if template else ""
        if text.strip() == "":
            new = None
        else:
            try:
                new = normalize_value(f, text)
            except ValueError as exc:
                log.info("campaign %s: lead %s: change_data_value skipped: %s", self.full, st.id, exc)
                return None
        self.batch.apply(st, [(f, new)], self.cause(step, "Change Data Value"))
        return None

    def change_score(self, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> _Stop | None:
        f, sign, amount = step.arg
        stored = self.value(st, f)
        try:
            old = int(stored) if stored else 0
        except ValueError:
            return None
        new = old + amount if sign == "+" else old - amount if sign == "-" else amount
        if new == old and stored:
            return None
        change = f"{sign}{amount}"
        reason = self.plan.reason("Change Score")
        self.row(
            st,
            CHANGE_SCORE,
            f.display_name,
            [("Change Value", change), ("New Value", str(new)), ("Old Value", str(old)), ("Reason", reason)],
        )
        self.batch.apply(st, [(f, str(new))], self.cause(step, "Change Score"))
        return None

    def add_to_list(self, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> _Stop | None:
        list_id, label = step.arg
        assert st.id is not None
        if add_members(self.conn, list_id, [st.id], self.now, log_activities=False):
            self.batch.log(st, list_event(ADD_TO_LIST, st.id, list_id, label, self.now, self.full))
        return None

    def remove_from_list(self, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> _Stop | None:
        list_id, label = step.arg
        assert st.id is not None
        if remove_members(self.conn, list_id, [st.id], self.now, log_activities=False):
            self.batch.log(st, list_event(REMOVE_FROM_LIST, st.id, list_id, label, self.now, self.full))
        return None

    def change_program_status(self, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> _Stop | None:
        program, status, order = step.arg
        current = self.conn.execute(
            select(program_members.c.status, program_members.c.success).where(
                program_members.c.program_id == program.id, program_members.c.lead_id == st.id
            )
        ).first()
        old = current.status if current is not None else None
        if old is not None:
            if old.lower() == status.name.lower():
                return None
            if order.get(old.lower(), -1) > status.step:
                return None  # progression only moves forward
        success = status.success or bool(current is not None and current.success)
        stmt = upsert(self.conn, program_members).values(
            program_id=program.id, lead_id=st.id, status=status.name, success=success, updated_at=self.now
        )
        self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[program_members.c.program_id, program_members.c.lead_id],
                set_={"status": status.name, "success": success, "updated_at": self.now},
            )
        )
        self.row(
            st,
            CHANGE_STATUS,
            program.name,
            [
                ("Old Status", old or "Not in Program"),
                ("New Status", status.name),
                ("Program ID", str(program.id)),
                ("Success", "true" if status.success else "false"),
                ("Reason", self.plan.reason("Change Program Status")),
                *step.attributes(),
            ],
        )
        return None

    def interesting_moment(self, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> _Stop | None:
        kind, template = step.arg
        description = tk.render(template, self.context(st, recipient), html=False)
        self.row(
            st, INTERESTING_MOMENT, description, [("Type", kind), ("Description", description), *step.attributes()]
        )
        return None

    def wait(self, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> _Stop | None:
        wake_at = self.now + step.arg
        self.result.wake_times.add(wake_at)
        return _Stop("waiting", wake_at)

    def request_campaign(self, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> _Stop | None:
        target: CampaignInfo = step.arg
        assert st.id is not None
        self.row(
            st,
            REQUEST_CAMPAIGN,
            target.full_name,
            [("Source", FLOW_ACTION_SOURCE), ("Campaign ID", str(target.id))],
            campaign=target.full_name,
        )
        self.result.requested.setdefault(target.id, (target, []))[1].append(st.id)
        return None

    def remove_from_flow(self, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> _Stop | None:
        own = False
        for target in step.arg:
            removed = self.conn.execute(
                update(run_leads)
                .where(
                    run_leads.c.lead_id == st.id,
                    run_leads.c.status.in_(ACTIVE),
                    run_leads.c.run_id != self.plan.run_id,
                    run_leads.c.run_id.in_(
                        select(campaign_runs.c.id).where(
                            campaign_runs.c.campaign_id == target.id, campaign_runs.c.status.not_in(("done", "failed"))
                        )
                    ),
                )
                .values(status="removed", wake_at=None)
            ).rowcount
            here = target.id == self.plan.campaign.id
            own = own or here
            if removed or here:
                self.row(st, REMOVE_FROM_FLOW, target.full_name, [("Campaign ID", str(target.id)), *step.attributes()])
        return _Stop("removed") if own else None

    # --- the chunk -----------------------------------------------------------------------
    def run(self, rows: Sequence[Any]) -> ChunkResult:
        lead_ids = [int(r.lead_id) for r in rows]
        self.batch.load(lead_ids)
        if any(step.kind == "send_email" and not step.error for step in self.plan.steps):
            self.queued = existing_steps(self.conn, self.plan.run_id, lead_ids)
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
                stop = self.handlers[step.kind](step, st, recipient)
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
