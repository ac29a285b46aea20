"""API users: the list with each one's calls today against the server's limits, and the forms
that create a user, rotate a key, and disable or enable a user.

A new key is shown once, in the answer to the form that made it (never in a URL, never kept
anywhere but in the user's row): the page says it cannot be shown again. Sending that form
twice (a reload) changes nothing more: creating an existing user is refused, and a rotation
names the key state it was asked against (`ApiUserRow.key_state`), so a second one is refused
instead of ending the key the first one kept working.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mktows.console.web import PREFIX, notice_url, render
from mktows.engine import Engine
from mktows.engine.admin.api_usage import LIMIT_FAULTS
from mktows.engine.admin.console_users import ConsoleSession
from mktows.engine.admin.users import DEFAULT_OVERLAP, generate_key, parse_overlap
from mktows.errors import (
    AccessDenied,
    ConcurrencyLimitExceeded,
    MarketoError,
    RateLimitExceeded,
    RequestLimitExceeded,
)
from mktows.soap.limits import CallLimits, LimitPolicy

TARGET = f"{PREFIX}/users"
LIMIT_NAMES = {
    RequestLimitExceeded.code: "daily quota",
    RateLimitExceeded.code: "rate limit",
    ConcurrencyLimitExceeded.code: "concurrency limit",
}


def _duration(delta: timedelta) -> str:
    """Whole minutes as `parse_overlap` reads them: `1h`, `90m`."""
    minutes = int(delta.total_seconds()) // 60
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


DEFAULT_OVERLAP_TEXT = _duration(DEFAULT_OVERLAP)


def _limits(request: Request) -> tuple[LimitPolicy, bool]:
    """The call limits the server was started with, and whether the daily quota and the rate
    are counted in the database (they are while either is on)."""
    limits = getattr(request.app.state, "limits", None)
    if isinstance(limits, CallLimits):
        return limits.policy, limits.counters is not None
    return LimitPolicy(), False


async def api_user_list(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    policy, counted = _limits(request)
    rows, usage = await run_in_threadpool(
        lambda: (engine.api_user_rows(), engine.api_usage(rate_seconds=policy.rate_seconds))
    )
    known = {r.user_id for r in rows}
    return render(
        request,
        "api_users.html",
        session=session,
        rows=rows,
        usage=usage,
        gone=[u for u in usage.users if u.user_id and u.user_id not in known],
        policy=policy,
        counted=counted,
        limit_faults=[(code, LIMIT_NAMES[code]) for code in LIMIT_FAULTS],
        default_overlap=DEFAULT_OVERLAP_TEXT,
        notice=request.query_params.get("notice"),
        error=request.query_params.get("error"),
    )


def _shown_once(
    request: Request,
    session: ConsoleSession,
    user_id: str,
    key: str,
    *,
    rotated: bool = False,
    previous_until: datetime | None = None,
) -> Response:
    """The page that shows a new key, in the answer to the POST that made it."""
    return render(
        request,
        "api_user_key.html",
        session=session,
        user_id=user_id,
        key=key,
        rotated=rotated,
        previous_until=previous_until,
    )


async def add_api_user(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    """A new API user with a generated key, validated as `mktows users add` does."""
    form = await request.form()
    user_id = str(form.get("user_id", "")).strip()
    key = generate_key()
    try:
        user = await run_in_threadpool(engine.add_api_user, user_id, key)
    except MarketoError as exc:  # the id is taken, or is not one a call could name
        return RedirectResponse(notice_url(TARGET, error=f"Not created: {exc.detail}."), 303)
    return _shown_once(request, session, user.user_id, key)


async def rotate_api_key(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    """A generated key for the user; the replaced one keeps working for the overlap asked for."""
    form = await request.form()
    user_id = str(form.get("user_id", ""))
    state = form.get("key_state")
    key = generate_key()
    try:
        overlap = parse_overlap(str(form.get("overlap", "")) or DEFAULT_OVERLAP_TEXT)
        user = await run_in_threadpool(
            lambda: engine.rotate_api_key(user_id, key, overlap, expect=None if state is None else str(state))
        )
    except MarketoError as exc:  # no such user, a bad overlap, or rotated since the page was shown
        return RedirectResponse(notice_url(TARGET, error=f"Not rotated: {exc.detail}."), 303)
    return _shown_once(request, session, user.user_id, key, rotated=True, previous_until=user.previous_key_expires_at)


async def set_api_user_enabled(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    """Disable a user (its calls fault with 20013) or enable it again."""
    form = await request.form()
    user_id = str(form.get("user_id", ""))
    enabled = str(form.get("enabled", "")) == "1"
    try:
        await run_in_threadpool(engine.set_api_user_enabled, user_id, enabled)
    except MarketoError as exc:
        return RedirectResponse(notice_url(TARGET, error=exc.detail), 303)
    if enabled:
        notice = f"API user {user_id} is enabled: its calls are answered again."
    else:
        notice = f"API user {user_id} is disabled: its calls fault with {AccessDenied.code} (Access Denied)."
    return RedirectResponse(notice_url(TARGET, notice=notice), 303)
