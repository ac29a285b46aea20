"""What the web console's lists and imports pages read.

Static lists are few; what grows is their members (`list_members`, a million rows in a big
instance) and the imports (`import_jobs`, whose `rows` column holds a whole import's CSV lines,
megabytes of them). So every read here reaches its rows through an index, and no read of an
import selects `rows`:

- lists by name then id, a keyset page of `ix_static_lists_name` (the id rides along);
- a list's members by lead id, a keyset range of the primary key (list_id, lead_id), with
  their emails by the leads' primary key and their names by `pk_lead_values`;
- member counts: a range of that same primary key, read from the index alone. Counting a
  million members takes tens of milliseconds, too much fifty times over for one page of
  lists, so the lists page counts each list's members up to `MEMBERS_COUNTED` and says "more"
  past it; the list's own page counts them all;
- imports newest first by id (the primary key), a list's imports by `ix_import_jobs_list`
  (list_id, id). Nothing indexes an import's status, so imports are not looked up by it.

An import keeps no row of its own per failure: the first failures are lines of its summary
(`Row N: why`, see `imports.py`), which `import_detail` hands back apart from the other lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, func, literal, select, tuple_

from mktows.store.tables import campaigns, import_jobs, lead_values, leads, list_members, programs, static_lists

MEMBERS_COUNTED = 10_000  # the lists page counts each list's members up to this many
MAX_ID = 2**31 - 1  # the largest id an INTEGER column holds
FAILURE_LINE = re.compile(r"^Row (\d+): (.*)$")  # as `imports._ChunkOutcome.fail` writes them


@dataclass(frozen=True)
class ListRow:
    id: int
    name: str
    program_name: str | None
    program_id: int | None  # the program the list belongs to, when it exists
    created_at: datetime
    members: int
    more_members: bool  # there are more than `members` (the lists page stops counting there)

    @property
    def full_name(self) -> str:
        """`Program.List`, as listOperation and importToList name it, or the bare name."""
        return f"{self.program_name}.{self.name}" if self.program_name else self.name


@dataclass(frozen=True)
class MemberRow:
    lead_id: int
    email: str | None
    first_name: str | None
    last_name: str | None
    added_at: datetime


@dataclass(frozen=True)
class ImportRow:
    id: int
    list_id: int
    list_name: str  # `Program.List`
    campaign_id: int | None  # the campaign its token columns are for
    campaign_name: str | None  # `Program.Campaign`
    mode: str  # UPSERTLEADS | LISTONLY
    status: str  # PROCESSING | COMPLETE | FAILED | CANCELED
    estimated_rows: int
    rows_imported: int
    rows_failed: int
    rows_ignored: int
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None

    @property
    def done(self) -> int:
        """Rows worked through so far, whatever came of them."""
        return self.rows_imported + self.rows_failed + self.rows_ignored


@dataclass(frozen=True)
class ImportFailure:
    row: int  # 1-based, among the import's rows
    why: str


@dataclass(frozen=True)
class ImportDetail:
    job: ImportRow
    clear_list: bool
    header: str  # importFileHeader as sent
    notes: list[str]  # the summary's lines that are not row failures
    failures: list[ImportFailure]  # the first failed rows, as far as the summary keeps them
    elapsed: timedelta | None  # from start to end, or to now while it runs

    @property
    def rows_per_second(self) -> float | None:
        seconds = self.elapsed.total_seconds() if self.elapsed is not None else 0
        return self.job.done / seconds if seconds > 0 else None


# --- lists -----------------------------------------------------------------------------


def _list_query() -> Select[Any]:
    return select(
        static_lists.c.id,
        static_lists.c.name,
        static_lists.c.program_name,
        static_lists.c.created_at,
        programs.c.id.label("program_id"),
    ).outerjoin(programs, programs.c.name_lower == func.lower(static_lists.c.program_name))


def _count(conn: Connection, list_id: int, at_most: int | None) -> int:
    """The list's members, up to `at_most` (None: all of them), from the primary key alone."""
    if at_most is None:
        q = select(func.count()).select_from(list_members).where(list_members.c.list_id == list_id)
    else:
        some = select(literal(1).label("one")).where(list_members.c.list_id == list_id).limit(at_most)
        q = select(func.count()).select_from(some.subquery())
    return int(conn.execute(q).scalar_one())


def _list_row(conn: Connection, r: Any, *, count_all: bool) -> ListRow:
    n = _count(conn, r.id, None if count_all else MEMBERS_COUNTED + 1)
    return ListRow(
        id=r.id,
        name=r.name,
        program_name=r.program_name,
        program_id=r.program_id,
        created_at=r.created_at,
        members=min(n, MEMBERS_COUNTED) if not count_all else n,
        more_members=not count_all and n > MEMBERS_COUNTED,
    )


def list_page(conn: Connection, *, after: tuple[str, int] | None, limit: int) -> list[ListRow]:
    """Static lists by name then id, those after `after` (the last list's name and id), each
    with its members counted up to MEMBERS_COUNTED."""
    q = _list_query()
    if after is not None:
        q = q.where(tuple_(static_lists.c.name, static_lists.c.id) > tuple_(literal(after[0]), literal(after[1])))
    rows = conn.execute(q.order_by(static_lists.c.name, static_lists.c.id).limit(limit)).all()
    return [_list_row(conn, r, count_all=False) for r in rows]


def list_detail(conn: Connection, list_id: int, *, count_all: bool = True) -> ListRow | None:
    """One list with all its members counted (or up to MEMBERS_COUNTED); None when unknown."""
    row = conn.execute(_list_query().where(static_lists.c.id == list_id)).first()
    return _list_row(conn, row, count_all=count_all) if row is not None else None


def member_page(conn: Connection, list_id: int, *, after_lead_id: int | None, limit: int) -> list[MemberRow]:
    """The list's members by lead id, those above `after_lead_id`, with when each was added."""
    after = after_lead_id or 0
    q = (
        select(list_members.c.lead_id, list_members.c.created_at, leads.c.email)
        .join(leads, leads.c.id == list_members.c.lead_id)
        # the bound on both sides, so a merge join starts the leads where the page does
        .where(list_members.c.list_id == list_id, list_members.c.lead_id > after, leads.c.id > after)
        .order_by(list_members.c.lead_id)
        .limit(limit)
    )
    rows = conn.execute(q).all()
    names: dict[tuple[int, str], str] = {}
    if rows:
        found = conn.execute(
            select(lead_values.c.lead_id, lead_values.c.name, lead_values.c.value).where(
                lead_values.c.lead_id.in_([r.lead_id for r in rows]),
                lead_values.c.name.in_(("FirstName", "LastName")),
            )
        )
        names = {(v.lead_id, v.name): v.value for v in found}
    return [
        MemberRow(
            lead_id=r.lead_id,
            email=r.email,
            first_name=names.get((r.lead_id, "FirstName")),
            last_name=names.get((r.lead_id, "LastName")),
            added_at=r.created_at,
        )
        for r in rows
    ]


# --- imports ---------------------------------------------------------------------------


def _import_query(*extra: Any) -> Select[Any]:
    """Every column an import's page shows, never `rows`."""
    j = import_jobs.c
    campaign_program = programs.alias("campaign_program")
    return (
        select(
            j.id,
            j.list_id,
            j.campaign_id,
            j.mode,
            j.status,
            j.estimated_rows,
            j.rows_imported,
            j.rows_failed,
            j.rows_ignored,
            j.created_at,
            j.started_at,
            j.ended_at,
            static_lists.c.name.label("list_name"),
            static_lists.c.program_name.label("list_program"),
            campaigns.c.name.label("campaign_name"),
            campaign_program.c.name.label("campaign_program"),
            *extra,
        )
        .join(static_lists, static_lists.c.id == j.list_id)
        .outerjoin(campaigns, campaigns.c.id == j.campaign_id)
        .outerjoin(campaign_program, campaign_program.c.id == campaigns.c.program_id)
    )


def _dotted(program: str | None, name: str | None) -> str | None:
    return f"{program}.{name}" if program and name else name


def _import_row(r: Any) -> ImportRow:
    return ImportRow(
        id=r.id,
        list_id=r.list_id,
        list_name=_dotted(r.list_program, r.list_name) or "",
        campaign_id=r.campaign_id,
        campaign_name=_dotted(r.campaign_program, r.campaign_name),
        mode=r.mode,
        status=r.status,
        estimated_rows=int(r.estimated_rows),
        rows_imported=int(r.rows_imported),
        rows_failed=int(r.rows_failed),
        rows_ignored=int(r.rows_ignored),
        created_at=r.created_at,
        started_at=r.started_at,
        ended_at=r.ended_at,
    )


def import_page(conn: Connection, *, before_id: int | None, list_id: int | None, limit: int) -> list[ImportRow]:
    """Imports newest first, those below `before_id`; with `list_id`, that list's only."""
    # always bounded, so the first page too is a range of its index read backwards
    q = _import_query().where(import_jobs.c.id < before_id if before_id is not None else import_jobs.c.id <= MAX_ID)
    if list_id is not None:
        q = q.where(import_jobs.c.list_id == list_id)
    return [_import_row(r) for r in conn.execute(q.order_by(import_jobs.c.id.desc()).limit(limit))]


def import_detail(conn: Connection, import_id: int, now: datetime) -> ImportDetail | None:
    """One import with its summary split into notes and row failures; None when unknown."""
    j = import_jobs.c
    row = conn.execute(_import_query(j.clear_list, j.header, j.summary).where(j.id == import_id)).first()
    if row is None:
        return None
    notes: list[str] = []
    failures: list[ImportFailure] = []
    for line in (row.summary or "").splitlines():
        failed = FAILURE_LINE.match(line)
        if failed:
            failures.append(ImportFailure(int(failed.group(1)), failed.group(2)))
        elif line.strip():
            notes.append(line)
    elapsed = None
    if row.started_at is not None:
        end = row.ended_at if row.ended_at is not None else (now if row.status == "PROCESSING" else None)
        elapsed = max(end - row.started_at, timedelta(0)) if end is not None else None
    return ImportDetail(
        job=_import_row(row),
        clear_list=bool(row.clear_list),
        header=row.header,
        notes=notes,
        failures=failures,
        elapsed=elapsed,
    )
