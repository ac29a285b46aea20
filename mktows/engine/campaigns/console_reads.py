"""What the web console's programs, emails and campaigns pages read and write.

Programs, emails and campaigns are small tables; what grows is what they cause: campaign runs,
their leads (`run_leads`), leads and their values. So every read here of those reaches its rows
through an index: a campaign's runs by `ix_campaign_runs_campaign` (campaign, id: keyset pages,
newest first, and its last run), a running run's leads still to go by `ix_run_leads_status`
(run, status), a lead by its primary key or `ix_leads_email_lower`, its values by
`pk_lead_values`. A finished run's progress is its lead count, read from the run itself; only
running runs count their leads. A batch campaign's next scheduled run is looked for among its
runs (one per scheduleCampaign); trigger campaigns, whose runs may be countless, have none.

The email preview renders through the flow's own code: the tokens a run's lead sees
(`flow.LeadTokens`) and the send step's rendering (`steps.send_email.render_message`), so a
preview is what a send of that email to that lead by that campaign queues, minus the clock.
Campaigns are read with `programs`' own query and decoder, so they are what its lookups return.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, ScalarSelect, Select, func, select, update

from mktows.engine.campaigns import flow, programs
from mktows.engine.campaigns.outbox import Message
from mktows.engine.campaigns.runs import SOURCE_NAMES
from mktows.engine.campaigns.steps.send_email import not_mailed, render_message
from mktows.engine.campaigns.tokens import token_name, tokens_in
from mktows.engine.leads.reads import LEAD_COLUMNS, one_lead_id
from mktows.engine.leads.registry import field_registry
from mktows.engine.leads.sync import LeadState
from mktows.engine.models import CampaignInfo, EmailInfo, LeadKey
from mktows.errors import BadParameter, CampaignNotFound
from mktows.store.tables import (
    campaign_runs,
    campaigns,
    emails,
    lead_tokens,
    lead_values,
    leads,
    program_costs,
    run_leads,
    static_lists,
    workspaces,
)
from mktows.store.tables import programs as programs_table

ACTIVE = ("pending", "waiting")  # a run's leads still to go


@dataclass(frozen=True)
class Cost:
    month: str  # YYYY-MM
    amount: str  # exact decimal text
    note: str | None


@dataclass(frozen=True)
class ProgramRow:
    id: int
    name: str
    type: str
    channel: str | None
    workspace: str
    folder: str
    archived: bool
    tags: list[tuple[str, str]]
    costs: list[Cost]


@dataclass(frozen=True)
class EmailRow:
    id: int
    name: str
    subject: str


@dataclass(frozen=True)
class RunRow:
    id: int
    origin: str  # request | schedule | flow
    source: str | None  # Web Service API, Sales Insight (requested runs)
    status: str  # scheduled | running | done | failed
    run_at: datetime
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    lead_count: int  # 0 for a scheduled run until it starts and its smart list picks the leads
    pending: int
    waiting: int

    @property
    def done(self) -> int:
        """Leads through the flow (or removed from it)."""
        return max(self.lead_count - self.pending - self.waiting, 0)


@dataclass(frozen=True)
class CampaignRow:
    campaign: CampaignInfo
    sources: list[str]  # the Campaign is Requested trigger's sources, by display name
    last_run: RunRow | None
    next_run: RunRow | None  # the next scheduled run of a batch campaign


@dataclass(frozen=True)
class ProgramDetail:
    program: ProgramRow
    description: str | None
    tokens: list[tuple[str, str]]  # My Tokens (name without `my.`, value), in declared order
    lists: list[str]  # as listOperation names them: `Program.List`
    emails: list[EmailRow]
    campaigns: list[CampaignRow]


@dataclass(frozen=True)
class EmailDetail:
    email: EmailInfo
    program_name: str
    senders: list[CampaignRow]  # campaigns whose flow sends this email
    tokens: list[str]  # the tokens its parts use, `{{ns.Name}}`, each once


@dataclass(frozen=True)
class FlowStepView:
    position: int  # 1-based, as activities' Step ID
    kind: str
    arg: Any  # as stored (canonical)
    email_id: int | None  # a send_email step's email, when it resolves


@dataclass(frozen=True)
class CampaignDetail:
    campaign: CampaignRow
    description: str
    smart_list: list[dict[str, Any]]
    filter_logic: str
    flow: list[FlowStepView]


@dataclass(frozen=True)
class EmailPreview:
    lead_id: int
    campaign: str | None  # the sending campaign's full name; None: as the email's own program sends it
    message: Message
    skipped: str | None  # why a send would not mail this lead
    recipient_tokens: bool  # per-recipient My Tokens bound by importToList for the campaign's next run


# --- programs --------------------------------------------------------------------------


def _program_query() -> Any:
    return select(programs_table, workspaces.c.name.label("workspace_name")).join(
        workspaces, workspaces.c.id == programs_table.c.workspace_id
    )


def _program_rows(conn: Connection, rows: list[Row[Any]]) -> list[ProgramRow]:
    ids = [r.id for r in rows]
    tags = programs.tags_of(conn, ids)
    costs: dict[int, list[Cost]] = {}
    if ids:
        found = conn.execute(
            select(program_costs)
            .where(program_costs.c.program_id.in_(ids))
            .order_by(program_costs.c.program_id, program_costs.c.month, program_costs.c.id)
        )
        for c in found:
            costs.setdefault(c.program_id, []).append(Cost(c.month[:7], c.amount, c.note))
    return [
        ProgramRow(
            id=r.id,
            name=r.name,
            type=r.type,
            channel=r.channel,
            workspace=r.workspace_name,
            folder=r.folder or "",
            archived=bool(r.archived),
            tags=tags.get(r.id, []),
            costs=costs.get(r.id, []),
        )
        for r in rows
    ]


def program_page(conn: Connection, *, after: str | None, limit: int) -> list[ProgramRow]:
    """Programs by name (ignoring case), those after `after` (a name), keyset by the unique name."""
    q = _program_query()
    if after:
        q = q.where(programs_table.c.name_lower > programs.name_key(after))
    rows = list(conn.execute(q.order_by(programs_table.c.name_lower).limit(limit)))
    return _program_rows(conn, rows)


def program_detail(conn: Connection, program_id: int) -> ProgramDetail | None:
    row = conn.execute(_program_query().where(programs_table.c.id == program_id)).first()
    if row is None:
        return None
    [program] = _program_rows(conn, [row])
    lists = conn.execute(
        select(static_lists.c.name)
        .where(func.lower(static_lists.c.program_name) == programs.name_key(row.name))
        .order_by(static_lists.c.name, static_lists.c.id)
    ).scalars()
    mails = conn.execute(
        select(emails.c.id, emails.c.name, emails.c.subject)
        .where(emails.c.program_id == program_id)
        .order_by(emails.c.name_lower)
    )
    owned = programs._campaign_query().where(campaigns.c.program_id == program_id).order_by(campaigns.c.name_lower)
    return ProgramDetail(
        program=program,
        description=row.description,
        tokens=[(n, v) for n, v in json.loads(row.tokens)],
        lists=[f"{row.name}.{name}" for name in lists],
        emails=[EmailRow(m.id, m.name, m.subject) for m in mails],
        campaigns=_campaign_rows(conn, owned),
    )


def set_program_tokens(
    conn: Connection,
    program_id: int,
    values: list[tuple[str, str]],
    now: datetime,
    *,
    new: tuple[str, str] | None = None,
) -> list[tuple[str, str]]:
    """Give the program's My Tokens new values (names as stored, `my.X` or `{{my.X}}`, ignoring
    case) and, with `new`, one more token; the tokens as saved. An unknown name is 20110, so is
    a new name that is empty, holds braces or is taken; an unknown program 20113."""
    stored = conn.execute(select(programs_table.c.tokens).where(programs_table.c.id == program_id)).scalar()
    if stored is None:
        raise CampaignNotFound(f"Program not found: {program_id}")
    tokens = [[str(n), str(v)] for n, v in json.loads(stored)]
    where = {n.lower(): i for i, (n, _) in enumerate(tokens)}
    for raw, value in values:
        i = where.get(token_name(raw).lower())
        if i is None:
            raise BadParameter(f"The program has no My Token {raw!r}")
        tokens[i][1] = value
    if new is not None and (new[0].strip() or new[1]):
        name = token_name(new[0])
        if not name or "{" in name or "}" in name:
            raise BadParameter(f"Invalid token name {new[0]!r}: expected Name, my.Name or {{{{my.Name}}}}")
        if name.lower() in where:
            raise BadParameter(f"The program already has a My Token {name!r}")
        tokens.append([name, new[1]])
    conn.execute(
        update(programs_table)
        .where(programs_table.c.id == program_id)
        .values(tokens=json.dumps(tokens), updated_at=now)
    )
    return [(n, v) for n, v in tokens]


# --- campaigns and their runs ----------------------------------------------------------


def _run_row(conn: Connection, r: Row[Any]) -> RunRow:
    pending = waiting = 0
    if r.status == "running":  # only a running run counts its leads, through (run_id, status)
        found = conn.execute(
            select(run_leads.c.status, func.count())
            .where(run_leads.c.run_id == r.id, run_leads.c.status.in_(ACTIVE))
            .group_by(run_leads.c.status)
        )
        counts = {str(status): int(n) for status, n in found}
        pending, waiting = int(counts.get("pending", 0)), int(counts.get("waiting", 0))
    elif r.status == "scheduled":
        pending = int(r.lead_count)
    return RunRow(
        id=r.id,
        origin=r.origin,
        source=SOURCE_NAMES.get(r.source, r.source) if r.source else None,
        status=r.status,
        run_at=r.run_at,
        created_at=r.created_at,
        started_at=r.started_at,
        finished_at=r.finished_at,
        lead_count=int(r.lead_count),
        pending=pending,
        waiting=waiting,
    )


def run_page(conn: Connection, campaign_id: int, *, before_id: int | None, limit: int) -> list[RunRow]:
    """The campaign's runs, newest first, those with an id below `before_id`."""
    q = select(campaign_runs).where(campaign_runs.c.campaign_id == campaign_id)
    if before_id is not None:
        q = q.where(campaign_runs.c.id < before_id)
    return [_run_row(conn, r) for r in conn.execute(q.order_by(campaign_runs.c.id.desc()).limit(limit))]


def _last_run_id(campaign_id: Any) -> ScalarSelect[Any]:
    q = select(campaign_runs.c.id).where(campaign_runs.c.campaign_id == campaign_id)
    return q.order_by(campaign_runs.c.id.desc()).limit(1).scalar_subquery()


def _next_run_ids(conn: Connection, batch_ids: list[int]) -> dict[int, int]:
    """Each batch campaign's next scheduled run. (Trigger campaigns run when requested: their
    runs are due at once, and there may be very many of them, so they are not asked.)"""
    if not batch_ids:
        return {}
    q = select(campaign_runs.c.campaign_id, campaign_runs.c.run_at, campaign_runs.c.id).where(
        campaign_runs.c.campaign_id.in_(batch_ids), campaign_runs.c.status == "scheduled"
    )
    first: dict[int, tuple[Any, int]] = {}
    for r in conn.execute(q):
        if r.campaign_id not in first or (r.run_at, r.id) < first[r.campaign_id]:
            first[r.campaign_id] = (r.run_at, r.id)
    return {campaign_id: run_id for campaign_id, (_, run_id) in first.items()}


def _campaign_rows(conn: Connection, query: Select[Any]) -> list[CampaignRow]:
    """The campaigns `query` selects, each with its last run (its id read in the same
    statement, one index seek each) and next scheduled run: three statements for a page."""
    found = [
        (programs._campaign_info(r), r.last_run_id)
        for r in conn.execute(query.add_columns(_last_run_id(campaigns.c.id).label("last_run_id")))
    ]
    next_ids = _next_run_ids(conn, [c.id for c, _ in found if c.kind == "batch"])
    run_ids = {i for _, i in found if i is not None} | set(next_ids.values())
    runs = {r.id: _run_row(conn, r) for r in conn.execute(select(campaign_runs).where(campaign_runs.c.id.in_(run_ids)))}
    return [
        CampaignRow(
            campaign=c,
            sources=[SOURCE_NAMES.get(s, s) for s in c.sources],
            last_run=runs.get(last_id) if last_id is not None else None,
            next_run=runs.get(next_ids[c.id]) if c.id in next_ids else None,
        )
        for c, last_id in found
    ]


def campaign_page(conn: Connection, *, after_id: int | None, limit: int) -> list[CampaignRow]:
    """Every campaign (in programs or not) by id, those after `after_id`, with its last run and
    next scheduled run."""
    q = programs._campaign_query()
    if after_id is not None:
        q = q.where(campaigns.c.id > after_id)
    return _campaign_rows(conn, q.order_by(campaigns.c.id).limit(limit))


def campaign_detail(conn: Connection, campaign_id: int) -> CampaignDetail | None:
    try:
        campaign = programs.campaign_by_id(conn, campaign_id)
    except CampaignNotFound:
        return None
    steps = []
    for i, raw in enumerate(campaign.flow):
        kind, arg = next(iter(raw.items())) if isinstance(raw, dict) and len(raw) == 1 else ("?", raw)
        email = None
        if kind == "send_email" and isinstance(arg, str):
            email = programs.email_or_none(conn, campaign.program_id, arg)  # as a run resolves it
        steps.append(FlowStepView(i + 1, str(kind), arg, email.id if email is not None else None))
    return CampaignDetail(
        campaign=_campaign_rows(conn, programs._campaign_query().where(campaigns.c.id == campaign.id))[0],
        description=campaign.description,
        smart_list=campaign.smart_list,
        filter_logic=campaign.filter_logic,
        flow=steps,
    )


# --- emails ----------------------------------------------------------------------------


def _sends(conn: Connection, campaign: CampaignInfo, email: EmailInfo) -> bool:
    """Whether a send_email step of the campaign resolves to `email`, as a run resolves it."""
    for raw in campaign.flow:
        arg = raw.get("send_email") if isinstance(raw, dict) else None
        if isinstance(arg, str) and arg.strip().lower().endswith(email.name.lower()):
            found = programs.email_or_none(conn, campaign.program_id, arg)
            if found is not None and found.id == email.id:
                return True
    return False


def email_detail(conn: Connection, email_id: int) -> EmailDetail | None:
    try:
        email = programs.email_by_id(conn, email_id)
    except BadParameter:
        return None
    program = programs.program_by_id(conn, email.program_id)
    everyone = [programs._campaign_info(r) for r in conn.execute(programs._campaign_query().order_by(campaigns.c.id))]
    sending = [c.id for c in everyone if _sends(conn, c, email)]
    senders = _campaign_rows(
        conn, programs._campaign_query().where(campaigns.c.id.in_(sending)).order_by(campaigns.c.id)
    )
    parts = (email.from_name or "", email.from_email, email.reply_to or "", email.subject, email.html, email.text)
    used = dict.fromkeys(f"{{{{{ns}.{name}}}}}" for part in parts for ns, name in tokens_in(part))
    return EmailDetail(email, program.name, senders, list(used))


def _lead_state(conn: Connection, lead_id: int) -> LeadState:
    """The lead as a run's chunk loads it (`SyncBatch.load`), without the lead-write lock."""
    row = conn.execute(select(leads).where(leads.c.id == lead_id)).one()
    values = conn.execute(select(lead_values.c.name, lead_values.c.value).where(lead_values.c.lead_id == lead_id))
    return LeadState(
        id=row.id,
        cols={c: getattr(row, c) for c in LEAD_COLUMNS},
        values={name: value for name, value in values},
        updated_at=row.updated_at,
    )


def preview_email(
    conn: Connection, email_id: int, lead: LeadKey, campaign_id: int | None, now: datetime
) -> EmailPreview:
    """The email as a send by the campaign (`campaign_id`; None: a campaign of the email's own
    program without a name) would render it for the lead now: the program's My Tokens, the
    lead's per-recipient tokens bound for the campaign's next run, the lead's values.

    Unknown email: 20110; unknown lead: 20103; unknown campaign: 20113."""
    email = programs.email_by_id(conn, email_id)
    lead_id = one_lead_id(conn, lead)
    campaign = programs.campaign_by_id(conn, campaign_id) if campaign_id is not None else None
    recipient: list[tuple[str, str]] = []
    if campaign is not None:
        home = campaign.program_id
        bound = conn.execute(
            select(lead_tokens.c.tokens).where(
                lead_tokens.c.campaign_id == campaign.id, lead_tokens.c.lead_id == lead_id
            )
        ).scalar()
        recipient = flow.pairs(bound)
    else:
        home = email.program_id
    program = programs.program_by_id(conn, home) if home is not None else None
    if campaign is None:  # a nameless campaign of the email's program
        campaign_info = CampaignInfo(
            id=0,
            program_id=email.program_id,
            program_name=program.name if program else None,
            name="",
            description="",
            kind="trigger",
            sources=[],
            smart_list=[],
            filter_logic="all",
            flow=[],
            qualification="every_time",
            active=True,
        )
    else:
        campaign_info = campaign
    plan = flow.RunPlan(run_id=0, campaign=campaign_info, program=program, run_tokens=[], steps=[])
    view = flow.LeadTokens(field_registry(conn), plan, now)
    if campaign is None:
        view.campaign_values = {}  # no campaign: its tokens fall back to their defaults
    st = _lead_state(conn, lead_id)
    message = render_message(
        email,
        view.context(st, recipient),
        st,
        run_id=None,
        step_index=None,
        campaign=campaign.full_name if campaign else None,
    )
    return EmailPreview(lead_id, campaign.full_name if campaign else None, message, not_mailed(st), bool(recipient))
