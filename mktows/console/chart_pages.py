"""The charts page: calls, faults, emails and leads over time, for the whole instance."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mktows.console import charts
from mktows.console.web import render
from mktows.engine import Engine
from mktows.engine.admin.console_users import ConsoleSession


async def chart_page(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    found = await run_in_threadpool(engine.instance_charts)
    drawn = [
        {
            "id": f"chart{i}",
            "series": s,
            "svg": charts.svg(s, f"chart{i}"),
            "legend": charts.legend(s),
            "rows": charts.stacked(s),
        }
        for i, s in enumerate(found)
    ]
    return render(request, "charts.html", session=session, section="charts", charts=drawn)
