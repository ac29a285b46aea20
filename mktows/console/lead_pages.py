"""Leads: the search with its keyset pages, a lead's page, and editing one of its fields
(which goes through syncLead's code, so the change is logged like any other, with the
console user as its reason)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mktows.console.web import PAGE_SIZE, PREFIX, int_param, not_found, notice_url, render, text_and_id
from mktows.engine import Engine
from mktows.engine.admin.console_users import ConsoleSession
from mktows.engine.leads.sync import ChangeCause
from mktows.engine.models import LeadInput, LeadKey
from mktows.errors import MarketoError

ACTIVITIES_SHOWN = 100


async def lead_list(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    """With a query, pages follow the order of the matched email or name (`after=text,id`);
    without, the ids (`before=id`), newest first."""
    query = request.query_params.get("q", "").strip()
    before = int_param(request.query_params.get("before"))
    after = text_and_id(request.query_params.get("after"))
    page = await run_in_threadpool(lambda: engine.search_leads(query, before_id=before, after=after, limit=PAGE_SIZE))
    next_page = None
    if page.next_after is not None:
        next_page = {"after": f"{page.next_after[0]},{page.next_after[1]}"}
    elif page.next_before is not None:
        next_page = {"before": str(page.next_before)}
    return render(
        request,
        "leads.html",
        session=session,
        query=query,
        rows=page.rows,
        next_page=next_page,
        first_page=before is None and after is None,
    )


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
            lambda: engine.sync_lead(
                LeadInput(id=lead_id, attributes=[(name, value)]),
                return_lead=False,
                cause=ChangeCause(f"Changed by console user {session.user}"),
            )
        )
    except MarketoError as exc:
        return RedirectResponse(notice_url(target, error=exc.detail), status_code=303)
    return RedirectResponse(f"{target}?saved={quote(name)}", status_code=303)
