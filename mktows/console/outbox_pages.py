"""The email outbox, as a mail catcher shows it: search, a message's parts and headers, its
HTML in a sandboxed frame that may run nothing, delete, release of a captured message to the
instance's SMTP server, and the same lists as JSON for scripts."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from mktows.console.web import PAGE_SIZE, PREFIX, SECURITY_HEADERS, int_param, not_found, notice_url, one_page, render
from mktows.delivery.deliver import current_config
from mktows.engine import Engine
from mktows.engine.admin.console_users import ConsoleSession
from mktows.engine.campaigns import outbox
from mktows.engine.campaigns.outbox import STATUSES, OutboxEntry

# A message's HTML runs no script, submits no form and reaches nothing: only its own inline
# styles and images already inside it (data: URLs) are allowed.
MESSAGE_HTML_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _messages(request: Request, engine: Engine) -> tuple[list[OutboxEntry], int | None, str, str]:
    query = request.query_params.get("q", "")
    status = request.query_params.get("status", "")
    status = status if status in STATUSES else ""
    before = int_param(request.query_params.get("before"))
    found = outbox.list_messages(engine.db, status=status or None, limit=PAGE_SIZE + 1, query=query, before_id=before)
    found, last = one_page(found)
    return found, (last.id if last else None), query, status


async def message_list(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    found, next_before, query, status = await run_in_threadpool(_messages, request, engine)
    smtp = current_config(engine.db).smtp
    return render(
        request,
        "outbox.html",
        session=session,
        messages=found,
        next_before=next_before,
        query=query,
        status_filter=status,
        statuses=STATUSES,
        smtp=f"{smtp.host}:{smtp.port}" if smtp else None,
        notice=request.query_params.get("notice"),
    )


def _json_entry(entry: OutboxEntry) -> dict[str, Any]:
    out = asdict(entry)
    for key in ("created_at", "sent_at"):
        out[key] = out[key].isoformat() if out[key] else None
    return out


async def message_list_json(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    found, next_before, _, _ = await run_in_threadpool(_messages, request, engine)
    body = {"messages": [_json_entry(m) for m in found], "next_before": next_before}
    return JSONResponse(body, headers=SECURITY_HEADERS)


async def _entry_or_404(request: Request, engine: Engine, session: ConsoleSession) -> OutboxEntry | Response:
    outbox_id = int_param(request.path_params["outbox_id"])
    entry = await run_in_threadpool(outbox.get_message, engine.db, outbox_id) if outbox_id else None
    if entry is None:
        return not_found(request, session, f"message {request.path_params['outbox_id']}")
    return entry


async def message_page(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    entry = await _entry_or_404(request, engine, session)
    if isinstance(entry, Response):
        return entry
    return render(request, "message.html", session=session, m=entry)


async def message_json(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    entry = await _entry_or_404(request, engine, session)
    if isinstance(entry, Response):
        return entry
    return JSONResponse(_json_entry(entry), headers=SECURITY_HEADERS)


async def message_html(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    """The HTML part alone, for the message page's sandboxed frame."""
    entry = await _entry_or_404(request, engine, session)
    if isinstance(entry, Response):
        return entry
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": MESSAGE_HTML_POLICY, "X-Frame-Options": "SAMEORIGIN"}
    return Response(entry.html or "", media_type="text/html", headers=headers)


async def delete_message(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    outbox_id = int_param(request.path_params["outbox_id"]) or 0
    done = await run_in_threadpool(outbox.delete_message, engine.db, outbox_id)
    notice = f"message {outbox_id} deleted" if done else f"message {outbox_id} is on its way and stays"
    return RedirectResponse(notice_url(f"{PREFIX}/outbox", notice=notice), status_code=303)


async def release_message(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    outbox_id = int_param(request.path_params["outbox_id"]) or 0
    done = await run_in_threadpool(outbox.release_message, engine.db, outbox_id)
    notice = f"message {outbox_id} released for delivery" if done else f"message {outbox_id} was not captured"
    return RedirectResponse(notice_url(f"{PREFIX}/outbox/{outbox_id}", notice=notice), status_code=303)
