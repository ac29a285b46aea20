"""`/`: what this server is, its endpoints with their WSDLs, the console, and its health."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mktows.console.web import render
from mktows.engine import Engine
from mktows.runtime import health
from mktows.soap.schema_model import VERSIONS


async def landing(request: Request, engine: Engine) -> Response:
    base = str(request.base_url).rstrip("/")
    checks = await run_in_threadpool(health.readiness, engine.db)
    return render(
        request,
        "landing.html",
        session=None,
        endpoints=[(v, f"{base}/soap/mktows/{v}") for v in reversed(VERSIONS)],
        checks=checks,
        ready=all(ok for ok, _ in checks.values()),
    )
