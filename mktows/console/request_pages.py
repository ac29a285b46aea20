"""The request log (when `MKTOWS_REQUEST_LOG` is on): calls newest first, searched by
operation, API user, fault code or request id; an entry's page with both bodies as sent and
answered (pretty-printed); and sending a logged request again, signed anew with its user's
current key, through this app as any call is."""

from __future__ import annotations

import httpx
from lxml import etree
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mktows.console.web import PAGE_SIZE, int_param, not_found, one_page, render
from mktows.engine import Engine
from mktows.engine.admin.console_users import ConsoleSession
from mktows.runtime import request_log
from mktows.runtime.request_log import Entry
from mktows.soap.resend import NotResendable, resign


def pretty(body: bytes) -> str:
    """The XML indented when it parses (a cut body may not), else the text as it came."""
    try:
        parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
        root = etree.fromstring(body, parser)
        return str(etree.tostring(root, pretty_print=True, encoding="unicode"))
    except etree.XMLSyntaxError:
        return body.decode("utf-8", errors="replace")


def _filters(request: Request) -> dict[str, str]:
    q = request.query_params
    return {name: q.get(name, "").strip() for name in ("operation", "user", "fault", "request_id")}


async def request_list(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    filters = _filters(request)
    fault = filters["fault"]
    found = await run_in_threadpool(
        lambda: request_log.list_entries(
            engine.db,
            operation=filters["operation"] or None,
            user_id=filters["user"] or None,
            fault_code=int(fault) if fault.isdigit() and len(fault) < 10 else None,
            request_id=filters["request_id"] or None,
            before_id=int_param(request.query_params.get("before")),
            limit=PAGE_SIZE + 1,
        )
    )
    entries, last = one_page(found)
    kept = await run_in_threadpool(request_log.kept_bytes, engine.db)
    return render(
        request,
        "requests.html",
        session=session,
        entries=entries,
        next_before=last.id if last else None,
        filters=filters,
        log=getattr(request.app.state, "request_log", None),
        kept=kept,
    )


async def _entry_or_404(request: Request, engine: Engine, session: ConsoleSession) -> Entry | Response:
    entry_id = int_param(request.path_params["entry_id"])
    entry = await run_in_threadpool(lambda: request_log.get_entry(engine.db, entry_id=entry_id)) if entry_id else None
    if entry is None:
        return not_found(request, session, f"request log entry {request.path_params['entry_id']}")
    return entry


async def request_page(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    entry = await _entry_or_404(request, engine, session)
    if isinstance(entry, Response):
        return entry
    return render(request, "request.html", session=session, e=entry, pretty=pretty, resent=None, error=None)


async def resend_request(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    """Send the logged request again, signed with its user's current key; show the answer."""
    entry = await _entry_or_404(request, engine, session)
    if isinstance(entry, Response):
        return entry
    error = None
    resent = None
    user = await run_in_threadpool(lambda: engine.api_user(entry.user_id, fresh=True)) if entry.user_id else None
    if entry.request_cut:
        error = "The logged request was cut short, so it cannot be sent again."
    elif user is None:
        error = f"No API user {entry.user_id!r} to sign the request with."
    else:
        try:
            body = resign(entry.request_body, user.user_id, user.encryption_key)
        except NotResendable as exc:
            error = f"Not sent: {exc}."
        else:
            transport = httpx.ASGITransport(app=request.app, client=("127.0.0.1", 0))
            async with httpx.AsyncClient(transport=transport, base_url=str(request.base_url)) as client:
                answer = await client.post(
                    f"/soap/mktows/{entry.version}",
                    content=body,
                    headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
                    timeout=300,
                )
            resent = {
                "status": answer.status_code,
                "request_id": answer.headers.get("x-request-id", ""),
                "body": pretty(answer.content),
            }
    status = 200 if error is None else 409
    return render(
        request, "request.html", status=status, session=session, e=entry, pretty=pretty, resent=resent, error=error
    )
