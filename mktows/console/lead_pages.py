"""Leads: the search with its keyset pages, a lead's page, and editing one of its fields
(which goes through syncLead's code, so the change is logged like any other)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mktows.console.web import PAGE_SIZE, PREFIX, int_param, not_found, notice_url, one_page, render
from mktows.engine import Engine
from mktows.engine.admin.console_users import ConsoleSession
from mktows.engine.models import LeadInput, LeadKey
from mktows.errors import MarketoError

ACTIVITIES_SHOWN = 100


async def lead_list(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    """With a query, pages follow the email order (`after=email,id`); without, the ids
    (`before=id`), newest first."""
    query = request.query_params.get("q", "").strip()
    before = int_param(request.query_params.get("before"))
    after = _after(request.query_params.get("after"))
    rows = await run_in_threadpool(
        lambda: engine.search_leads(query, before_id=before, after=after, limit=PAGE_SIZE + 1)
    )
    rows, last = one_page(rows)
    next_page = None
    if last is not None:
        next_page = {"after": f"{last.email_lower or ''},{last.id}"} if query else {"before": str(last.id)}
    return render(
        request,
        "leads.html",
        session=session,
        query=query,
        rows=rows,
        next_page=next_page,
        first_page=before is None and after is None,
    )


def _after(value: str | None) -> tuple[str, int] | None:
    """`email,id` of the last row of the page before."""
    if not value or "," not in value:
        return None
    email, _, lead_id = value.rpartition(",")
    number = int_param(lead_id)
    return None if number is None else (email, number)


async def lead_page(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    lead_id = int_param(request.path_params["lead_id"])
    found = await run_in_threadpool(engine.get_leads, LeadKey("IDNUM", str(lead_id))) if lead_id else []
    if not found:
        return not_found(request, session, f"lead {request.path_params['lead_id']}")
    lead = found[0]
    memberships = await run_in_threadpool(engine.lead_memberships, lead.id)
    activity = await run_in_threadpool(
        lambda: engine.lead_activity(LeadKey("IDNUM", str(lead.id)), batch_size=ACTIVITIES_SHOWN)
    )
    fields = await run_in_threadpool(engine.lead_fields)
    return render(
        request,
        "lead.html",
        session=session,
        lead=lead,
        memberships=memberships,
        activities=sorted(activity.activities, key=lambda a: (a.created_at, a.id), reverse=True),
        more_activities=activity.remaining,
        fields=[f for f in fields if not f.read_only],
        error=request.query_params.get("error"),
        saved=request.query_params.get("saved"),
    )


async def edit_field(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    lead_id = int_param(request.path_params["lead_id"])
    form = await request.form()
    name, value = str(form.get("field", "")), str(form.get("value", ""))
    target = f"{PREFIX}/leads/{lead_id}"
    try:
        await run_in_threadpool(
            lambda: engine.sync_lead(LeadInput(id=lead_id, attributes=[(name, value)]), return_lead=False)
        )
    except MarketoError as exc:
        return RedirectResponse(notice_url(target, error=exc.detail), status_code=303)
    return RedirectResponse(f"{target}?saved={quote(name)}", status_code=303)
