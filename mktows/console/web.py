"""What every console page shares: templates, the signed-in check, CSRF, security headers."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from mktows.engine import Engine
from mktows.engine.admin.console_users import ConsoleSession

SESSION_COOKIE = "mktows_console"
LOGIN_CSRF_COOKIE = "mktows_console_login"
PREFIX = "/console"
T = TypeVar("T")
log = logging.getLogger("mktows.console")

TEMPLATES = Environment(
    loader=PackageLoader("mktows.console"), autoescape=select_autoescape(), undefined=StrictUndefined
)

# Pages load nothing from elsewhere and run only the console's own script; a message's HTML is
# shown in a sandboxed frame that may run nothing at all (see outbox_pages).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'self';"
    " form-action 'self'; base-uri 'none'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

Page = Callable[[Request, Engine, ConsoleSession], Awaitable[Response]]


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("session", None)
    context.setdefault("section", None)
    html = TEMPLATES.get_template(template).render(request=request, prefix=PREFIX, **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def signed_in(engine: Engine, page: Page) -> Callable[[Request], Awaitable[Response]]:
    """The page for a signed-in user; a redirect to the sign-in page otherwise. A POST must
    carry the session's CSRF token in its form (`csrf`), or it is refused with 403."""

    async def endpoint(request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        session = await run_in_threadpool(engine.console_session, token) if token else None
        if session is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{PREFIX}/login?next={quote(target)}", status_code=303)
        if request.method == "POST":
            form = await request.form()
            if not secrets.compare_digest(str(form.get("csrf", "")), session.csrf_token):
                return PlainTextResponse("the form's CSRF token is missing or wrong: reload the page", 403)
        request.state.session = session
        response = await page(request, engine, session)
        if request.method == "POST":  # who changed what, for the operators' log
            fields = {"user": session.user, "path": request.url.path, "status": response.status_code}
            log.info("console change", extra={"fields": fields})
        return response

    return endpoint


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console path only, never another site."""
    if target and target.startswith(PREFIX) and not target.startswith("//") and "\\" not in target:
        return target
    return f"{PREFIX}/leads"


PAGE_SIZE = 50  # rows on one page of every console list


def int_param(value: str | None) -> int | None:
    """A path or query value that names an id; None for anything else (an unknown id then)."""
    return int(value) if value and value.isdigit() and len(value) < 10 else None


def text_and_id(value: str | None) -> tuple[str, int] | None:
    """`text,id` of the last row of the page before (a keyset on a text column, then the id;
    the text may hold commas, the id none); None for anything else (then the first page)."""
    if not value or "," not in value:
        return None
    text, _, row_id = value.rpartition(",")
    number = int_param(row_id)
    return None if number is None else (text, number)


def one_page(rows: Sequence[T], size: int = PAGE_SIZE) -> tuple[list[T], T | None]:
    """The page out of `size + 1` rows read, and its last row when there is a next page."""
    page = list(rows[:size])
    return page, (page[-1] if len(rows) > size and page else None)


def not_found(request: Request, session: ConsoleSession, what: str) -> Response:
    return render(request, "not_found.html", status=404, session=session, what=what)


def notice_url(target: str, *, notice: str | None = None, error: str | None = None) -> str:
    """`target` with the notice (or error) the page it leads to shows."""
    key, text = ("error", error) if error is not None else ("notice", notice or "")
    return f"{target}?{key}={quote(text[:300])}"
