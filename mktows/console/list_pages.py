"""Static lists and list imports: the lists with their member counts, a list's page with its
members and its latest imports, every import newest first, and an import's page with its
counters, progress, timing, summary and first failed rows."""

from __future__ import annotations

from datetime import timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mktows.console.web import PAGE_SIZE, int_param, not_found, one_page, render, text_and_id
from mktows.engine import Engine
from mktows.engine.admin.console_users import ConsoleSession
from mktows.engine.lists.console_reads import MEMBERS_COUNTED

IMPORTS_SHOWN = 10  # a list's latest imports on its page; the imports page has them all


async def list_list(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    after = text_and_id(request.query_params.get("after"))
    rows = await run_in_threadpool(lambda: engine.list_page(after=after, limit=PAGE_SIZE + 1))
    rows, last = one_page(rows)
    return render(
        request,
        "lists.html",
        session=session,
        rows=rows,
        next_after=f"{last.name},{last.id}" if last else None,
        first_page=after is None,
        counted=MEMBERS_COUNTED,
    )


async def list_page(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    """A list, its members by lead id (`after=lead id`) and its latest imports."""
    list_id = int_param(request.path_params["list_id"])
    after = int_param(request.query_params.get("after"))
    # every member is counted on the first page only: the pages after it cost what it does
    detail = await run_in_threadpool(lambda: engine.list_detail(list_id, count_all=after is None)) if list_id else None
    if detail is None or list_id is None:
        return not_found(request, session, f"list {request.path_params['list_id']}")
    members = await run_in_threadpool(
        lambda: engine.list_member_page(list_id, after_lead_id=after, limit=PAGE_SIZE + 1)
    )
    members, last = one_page(members)
    imports = await run_in_threadpool(lambda: engine.import_page(list_id=list_id, limit=IMPORTS_SHOWN + 1))
    return render(
        request,
        "list.html",
        session=session,
        lst=detail,
        members=members,
        next_after=last.lead_id if last else None,
        first_page=after is None,
        imports=imports[:IMPORTS_SHOWN],
        more_imports=len(imports) > IMPORTS_SHOWN,
    )


async def import_list(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    """Every import, newest first (`before=id`); `list=id` keeps one list's."""
    before = int_param(request.query_params.get("before"))
    list_id = int_param(request.query_params.get("list"))
    rows = await run_in_threadpool(lambda: engine.import_page(before_id=before, list_id=list_id, limit=PAGE_SIZE + 1))
    rows, last = one_page(rows)
    return render(
        request,
        "imports.html",
        session=session,
        rows=rows,
        list_id=list_id,
        next_before=last.id if last else None,
        first_page=before is None,
    )


def duration_text(elapsed: timedelta | None) -> str | None:
    """`2 h 5 min 3 s`, `4.2 s`; None when unknown."""
    if elapsed is None:
        return None
    seconds = elapsed.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    parts, left = [], int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if left >= size:
            parts.append(f"{left // size} {unit}")
            left %= size
    return " ".join(parts)


async def import_page(request: Request, engine: Engine, session: ConsoleSession) -> Response:
    import_id = int_param(request.path_params["import_id"])
    detail = await run_in_threadpool(engine.import_detail, import_id) if import_id else None
    if detail is None:
        return not_found(request, session, f"import {request.path_params['import_id']}")
    rate = detail.rows_per_second
    return render(
        request,
        "import.html",
        session=session,
        d=detail,
        j=detail.job,
        duration=duration_text(detail.elapsed),
        rate=f"{rate:,.1f}" if rate is not None else None,
    )
