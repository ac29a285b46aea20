"""Smart campaigns: the list with each one's last and next run, a campaign's page (smart list,
flow, runs with their progress), and the two calls the API makes on them: requesting a trigger
campaign for a lead (as requestCampaign from the Web Service API) and scheduling a batch
campaign's run (as scheduleCampaign)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mktows.console.program_pages import lead_key
from mktows.console.web import PAGE_SIZE, PREFIX, int_param, not_found, notice_url, one_page, render
from mktows.engine import Engine
from mktows.engine.admin.console_users import ConsoleSession
from mktows.errors import MarketoError

RUNS_SHOWN = 20
API_SOURCE = "MKTOWS"  # the console requests campaigns as the Web Service API does
WAIT_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) or "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    return str(value)


def describe_filter(f: Any) -> str:
    """A smart-list filter as a sentence: `Member of list Seed List`, `Country is US or FR`."""
    if not isinstance(f, dict):
        return _text(f)
    if "member_of_list" in f:
        return f"Member of list {f['member_of_list']}"
    if "not_member_of_list" in f:
        return f"Not member of list {f['not_member_of_list']}"
    if "field" in f:
        op = str(f.get("op", "is")).replace("_", " ")
        value = f.get("value")
        if op in ("is empty", "is not empty"):
            return f"{f['field']} {op}"
        shown = " or ".join(map(str, value)) if isinstance(value, list) else str(value)
        return f"{f['field']} {op} {shown}"
    return _text(f)


def describe_step(kind: str, arg: Any) -> str:
    """What a stored flow step does, in words (its stored form names things canonically)."""
    if kind == "wait" and isinstance(arg, dict) and isinstance(arg.get("seconds"), int):
        left, parts = int(arg["seconds"]), []
        for unit, size in WAIT_UNITS:
            if left >= size:
                parts.append(_plural(left // size, unit))
                left %= size
        return " ".join(parts)
    if kind == "change_score" and isinstance(arg, dict):
        return f"{arg.get('field', 'LeadScore')} {arg.get('change')}"
    if kind == "change_data_value" and isinstance(arg, dict):
        value = arg.get("value")
        return f"{arg.get('field')} to {value!r}" if value not in (None, "") else f"{arg.get('field')}: cleared"
    if kind == "change_program_status" and isinstance(arg, dict):
        where = f" in {arg['program']}" if arg.get("program") else ""
        return f"{arg.get('status')}{where}"
    if kind == "interesting_moment" and isinstance(arg, dict):
        return f"{arg.get('type', 'Web')}: {arg.get('description', '')}"
    if kind == "remove_from_flow" and not arg:
        return "this campaign"
    return _text(arg)


async def campaign_list(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    after = int_param(request.query_params.get("after"))
    rows = await run_in_threadpool(lambda: engine.campaign_page(after_id=after, limit=PAGE_SIZE + 1))
    rows, last = one_page(rows)
    return render(
        request,
        "campaigns.html",
        session=session,
        rows=rows,
        next_after=last.campaign.id if last else None,
        first_page=after is None,
    )


async def campaign_page(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    campaign_id = int_param(request.path_params["campaign_id"])
    detail = await run_in_threadpool(engine.campaign_detail, campaign_id) if campaign_id else None
    if detail is None or campaign_id is None:
        return not_found(request, session, f"campaign {request.path_params['campaign_id']}")
    before = int_param(request.query_params.get("before"))
    runs = await run_in_threadpool(
        lambda: engine.campaign_run_page(campaign_id, before_id=before, limit=RUNS_SHOWN + 1)
    )
    more = len(runs) > RUNS_SHOWN
    runs = runs[:RUNS_SHOWN]
    return render(
        request,
        "campaign.html",
        session=session,
        d=detail,
        c=detail.campaign,
        filters=[describe_filter(f) for f in detail.smart_list],
        steps=[(s, s.kind.replace("_", " ").capitalize(), describe_step(s.kind, s.arg)) for s in detail.flow],
        runs=runs,
        next_before=runs[-1].id if more and runs else None,
        first_page=before is None,
        notice=request.query_params.get("notice"),
        error=request.query_params.get("error"),
    )


async def request_for_lead(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    """requestCampaign for one lead, from the Web Service API source (the campaign must allow it)."""
    campaign_id = int_param(request.path_params["campaign_id"])
    if campaign_id is None:
        return not_found(request, session, f"campaign {request.path_params['campaign_id']}")
    target = f"{PREFIX}/campaigns/{campaign_id}"
    form = await request.form()
    lead = str(form.get("lead", "")).strip()
    key = lead_key(lead)
    if key is None:
        return RedirectResponse(notice_url(target, error=f"{lead!r} is neither a lead id nor an email address"), 303)
    try:
        run_id = await run_in_threadpool(lambda: engine.request_campaign(API_SOURCE, [key], campaign_id=campaign_id))
    except MarketoError as exc:
        if exc.code == 20113 and await run_in_threadpool(engine.campaign_detail, campaign_id) is None:
            return not_found(request, session, f"campaign {campaign_id}")
        return RedirectResponse(notice_url(target, error=exc.detail), 303)
    return RedirectResponse(notice_url(target, notice=f"Requested for lead {lead}: run {run_id}."), 303)


def _run_at(form_value: str) -> datetime | None:
    """A datetime-local value (`2026-05-01T09:30`), read as UTC."""
    try:
        when = datetime.fromisoformat(form_value.strip())
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


async def schedule_run(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    """scheduleCampaign for a batch campaign: at the time given (UTC), or now (`when=now`; a
    time in the past also runs now)."""
    campaign_id = int_param(request.path_params["campaign_id"])
    detail = await run_in_threadpool(engine.campaign_detail, campaign_id) if campaign_id else None
    if detail is None or campaign_id is None:
        return not_found(request, session, f"campaign {request.path_params['campaign_id']}")
    target = f"{PREFIX}/campaigns/{campaign_id}"
    form = await request.form()
    run_at = None
    if str(form.get("when", "")) != "now":
        run_at = _run_at(str(form.get("run_at", "")))
        if run_at is None:
            return RedirectResponse(
                notice_url(target, error="Give a date and time to schedule the run at, or run it now."), 303
            )
    c = detail.campaign.campaign
    if c.program_name is None:
        error = f"Campaign {c.full_name} is outside programs: scheduleCampaign names a program, so it cannot run it."
        return RedirectResponse(notice_url(target, error=error), 303)
    program_name = c.program_name
    try:
        run_id = await run_in_threadpool(lambda: engine.schedule_campaign(program_name, c.name, run_at=run_at))
    except MarketoError as exc:
        return RedirectResponse(notice_url(target, error=exc.detail), 303)
    later = run_at is not None and run_at > engine.now()
    when = f"for {run_at:%Y-%m-%d %H:%M} UTC" if later and run_at is not None else "to run now"
    return RedirectResponse(notice_url(target, notice=f"Run {run_id} scheduled {when}."), 303)
