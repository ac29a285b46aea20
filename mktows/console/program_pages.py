"""Programs and their emails: the list of programs, a program's page with its lists, emails,
campaigns and editable My Tokens, and an email's page with a live preview for a lead, rendered
by the flow's own send step (its HTML in a sandboxed frame that may run nothing)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from mktows.console.outbox_pages import MESSAGE_HTML_POLICY
from mktows.console.web import PAGE_SIZE, PREFIX, SECURITY_HEADERS, int_param, not_found, notice_url, one_page, render
from mktows.engine import Engine
from mktows.engine.admin.console_users import ConsoleSession
from mktows.engine.campaigns.console_reads import EmailDetail, EmailPreview
from mktows.engine.models import LeadKey
from mktows.errors import MarketoError


def lead_key(text: str) -> LeadKey | None:
    """What a "lead id or email" field names: digits are an id, anything with an @ an email."""
    text = text.strip()
    if text.isdigit() and len(text) < 10:
        return LeadKey("IDNUM", text)
    if "@" in text:
        return LeadKey("EMAIL", text)
    return None


def _lines(value: object) -> str:
    """A textarea's value as typed: browsers send its line breaks as CRLF."""
    return str(value).replace("\r\n", "\n")


# --- programs --------------------------------------------------------------------------


async def program_list(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    after = request.query_params.get("after") or None
    rows = await run_in_threadpool(lambda: engine.program_page(after=after, limit=PAGE_SIZE + 1))
    rows, last = one_page(rows)
    return render(
        request,
        "programs.html",
        session=session,
        rows=rows,
        next_after=last.name if last else None,
        first_page=after is None,
    )


async def program_page(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    program_id = int_param(request.path_params["program_id"])
    detail = await run_in_threadpool(engine.program_detail, program_id) if program_id else None
    if detail is None:
        return not_found(request, session, f"program {request.path_params['program_id']}")
    return render(
        request,
        "program.html",
        session=session,
        d=detail,
        p=detail.program,
        notice=request.query_params.get("notice"),
        error=request.query_params.get("error"),
    )


async def save_tokens(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    """The My Tokens form: `name` and `value` fields in pairs, and optionally `new_name`/`new_value`."""
    program_id = int_param(request.path_params["program_id"])
    if program_id is None:
        return not_found(request, session, f"program {request.path_params['program_id']}")
    form = await request.form()
    names = [str(n) for n in form.getlist("name")]
    values = [_lines(v) for v in form.getlist("value")]
    target = f"{PREFIX}/programs/{program_id}"
    if len(names) != len(values):
        return RedirectResponse(notice_url(target, error="the form's tokens and values do not pair up"), 303)
    new = (str(form.get("new_name", "")), _lines(form.get("new_value", "")))
    try:
        saved = await run_in_threadpool(
            lambda: engine.set_program_tokens(program_id, list(zip(names, values, strict=True)), new=new)
        )
    except MarketoError as exc:
        if exc.code == 20113:  # the program is gone
            return not_found(request, session, f"program {program_id}")
        return RedirectResponse(notice_url(target, error=exc.detail), 303)
    return RedirectResponse(notice_url(target, notice=f"My Tokens saved ({len(saved)})."), 303)


# --- emails ----------------------------------------------------------------------------


def _preview_campaign(request: Request, detail: EmailDetail) -> int | None:
    """The sending campaign the preview renders as: the one asked for (empty: none), else the
    first campaign that sends the email."""
    if "campaign" in request.query_params:
        return int_param(request.query_params["campaign"])
    return detail.senders[0].campaign.id if detail.senders else None


async def _preview(
    engine: Engine, email_id: int, lead: str, campaign_id: int | None
) -> tuple[EmailPreview | None, str | None]:
    """The preview for what the form names, or why there is none."""
    key = lead_key(lead)
    if key is None:
        return None, f"{lead!r} is neither a lead id nor an email address."
    try:
        found = await run_in_threadpool(lambda: engine.preview_email(email_id, key, campaign_id=campaign_id))
    except MarketoError as exc:
        return None, exc.detail
    except (ValueError, TypeError, KeyError) as exc:  # a template or token the renderer chokes on
        return None, f"The email could not be rendered: {exc}"
    return found, None


async def email_page(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    email_id = int_param(request.path_params["email_id"])
    detail = await run_in_threadpool(engine.email_detail, email_id) if email_id else None
    if detail is None or email_id is None:
        return not_found(request, session, f"email {request.path_params['email_id']}")
    lead = request.query_params.get("lead", "").strip()
    campaign_id = _preview_campaign(request, detail)
    preview, problem = await _preview(engine, email_id, lead, campaign_id) if lead else (None, None)
    frame = f"{PREFIX}/emails/{email_id}/preview?" + urlencode({"lead": lead, "campaign": campaign_id or ""})
    return render(
        request,
        "email.html",
        session=session,
        d=detail,
        e=detail.email,
        lead=lead,
        campaign_id=campaign_id,
        preview=preview,
        problem=problem,
        frame=frame,
    )


async def email_preview_html(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    """The preview's HTML part alone, for the email page's sandboxed frame."""
    email_id = int_param(request.path_params["email_id"])
    if email_id is None:
        return PlainTextResponse("no such email", 404, headers=SECURITY_HEADERS)
    campaign_id = int_param(request.query_params.get("campaign"))
    preview, problem = await _preview(engine, email_id, request.query_params.get("lead", ""), campaign_id)
    if preview is None:
        return PlainTextResponse(problem or "no preview", 404, headers=SECURITY_HEADERS)
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": MESSAGE_HTML_POLICY, "X-Frame-Options": "SAMEORIGIN"}
    return Response(preview.message.html, media_type="text/html", headers=headers)
