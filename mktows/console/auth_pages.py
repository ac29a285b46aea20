"""Signing in and out. The sign-in form carries a token that must match a cookie set with it
(the session does not exist yet), so another site cannot sign a browser in."""

from __future__ import annotations

import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mktows.console.web import LOGIN_CSRF_COOKIE, PREFIX, SESSION_COOKIE, render, safe_next
from mktows.engine import Engine
from mktows.engine.admin.console_users import SESSION_HOURS, ConsoleSession


def _login_form(request: Request, *, error: str | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        status=status,
        csrf=token,
        error=error,
        next=safe_next(request.query_params.get("next")),
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path=PREFIX, secure=_https(request))
    return response


def _https(request: Request) -> bool:
    return request.url.scheme == "https"


async def login(request: Request, engine: Engine) -> Response:
    if request.method == "GET":
        return _login_form(request)
    form = await request.form()
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(str(form.get("csrf", "")), expected):
        return _login_form(request, error="The form had expired; sign in again.", status=403)
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    token = await run_in_threadpool(engine.console_sign_in, name, password)
    if token is None:
        return _login_form(request, error="Wrong name or password.", status=401)
    response = RedirectResponse(safe_next(str(form.get("next", ""))), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="lax",
        path=PREFIX,
        secure=_https(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
    return response


async def logout(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    await run_in_threadpool(engine.console_sign_out, request.cookies[SESSION_COOKIE])
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response
