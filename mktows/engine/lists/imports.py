"""importToList and getImportToListStatus (docs/campaigns.md, Imports and the campaign calls).

`import_to_list` validates the call, writes an `import_jobs` row and enqueues the
"list.import" job in the caller's transaction. The job works through the rows in chunks,
each chunk in one write transaction together with the move of the import's counters, so a
job interrupted by a crash resumes after the last committed chunk and no row counts twice.

Rows are RFC-4180 CSV lines under a header whose cells name lead fields (by display name
first, then API name, case-insensitively) or `{{my.Token}}` columns. A column that names
neither is ignored rather than refused, as the vendor's own list import does (its example
header is `Email | First | Last`): its cells are never written, its name is logged and the
import's status lists it among the summary lines. Only a header without an Email column, a
column named twice or an unreadable header fails the call, since then no row can be applied
safely. UPSERTLEADS creates or updates leads through the sync engine (dedupe on email);
LISTONLY only adds leads that already exist (rows for unknown emails are ignored). Token
columns are stored per (campaign, lead) for that campaign's next run.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update

from mktows.engine.campaigns import programs, tokens
from mktows.engine.leads.fields import Field, FieldRegistry
from mktows.engine.leads.registry import field_registry
from mktows.engine.leads.sync import LeadState, RecordError, SyncBatch
from mktows.engine.lists import members as lists
from mktows.engine.models import ImportStatus, LeadInput
from mktows.errors import BadParameter, CampaignNotFound, ListNotFound, ParameterRequired
from mktows.runtime.jobs import enqueue, job_handler
from mktows.runtime.jobs import now as jobs_now
from mktows.store.database import Database
from mktows.store.queries import chunks, in_values
from mktows.store.tables import import_jobs, lead_tokens, leads, static_lists

JOB_KIND = "list.import"
MODES = ("UPSERTLEADS", "LISTONLY")
CHUNK_ROWS = 500
MAX_SUMMARY_LINES = 20
MAX_WARNING_LINES = 10  # of MAX_SUMMARY_LINES, so row failures keep room in the summary
TOKEN_COLUMN = re.compile(r"^\{\{\s*my\.(?P<name>[^{}]+?)\s*\}\}$", re.IGNORECASE)
EMAIL_RE = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\".]+$")

log = logging.getLogger("mktows.engine.imports")


# --- the header ---------------------------------------------------------------------------


@dataclass
class Header:
    """What each column of an importFileHeader means; `ignored` columns are never read."""

    fields: list[tuple[int, Field]]  # (column index, lead field)
    tokens: list[tuple[int, str]]  # (column index, token name without "my.")
    email_index: int
    width: int
    ignored: list[tuple[int, str]]  # (column index, name as sent): never read


def parse_line(line: str) -> list[str]:
    """One RFC-4180 record (quotes, embedded commas, line breaks inside quotes); ValueError if
    the line holds more than one record."""
    records = list(csv.reader(io.StringIO(line, newline=""), strict=True))
    if len(records) > 1:
        raise ValueError("a line break outside quotes")
    return records[0] if records else []


def _header_names(line: str) -> list[str]:
    """The trimmed header cells (a leading byte-order mark dropped); 20110 when there are none."""
    try:
        cells = parse_line(line or "")
    except (ValueError, csv.Error) as exc:
        raise BadParameter(f"importFileHeader is not one CSV line: {exc}") from None
    names = [c.strip().lstrip("\ufeff").strip() for c in cells]
    if not names or all(n == "" for n in names):
        raise BadParameter("importFileHeader is empty")
    return names


def _field_named(name: str, by_display: dict[str, Field], registry: FieldRegistry) -> Field | None:
    """The lead field a column names: display name first (what the UI shows), then API name."""
    if not name:
        return None
    return by_display.get(name.lower()) or registry.get(name)


def parse_header(line: str, registry: FieldRegistry) -> Header:
    """Map header cells to fields and tokens; cells that name neither are ignored, not refused.

    Faults (20110) only for a header no row could be applied under: unreadable, empty, a
    field or token named twice, or no Email column to identify the lead.
    """
    names = _header_names(line)
    by_display = {f.display_name.lower(): f for f in registry}
    fields_: list[tuple[int, Field]] = []
    token_cols: list[tuple[int, str]] = []
    ignored: list[tuple[int, str]] = []
    seen: dict[str, str] = {}
    for index, name in enumerate(names):
        m = TOKEN_COLUMN.match(name)
        if m:
            key = "my." + m.group("name").strip().lower()
            token_cols.append((index, m.group("name").strip()))
        else:
            f = _field_named(name, by_display, registry)
            if f is None:  # ignored columns never clash with each other or with known ones
                ignored.append((index, name))
                continue
            key = f.name.lower()
            fields_.append((index, f))
        if key in seen:
            raise BadParameter(f"importFileHeader names a column twice: {seen[key]}, {name}")
        seen[key] = name
    email = [i for i, f in fields_ if f.name == "Email"]
    if not email:
        raise BadParameter(_no_email_message(ignored))
    return Header(fields=fields_, tokens=token_cols, email_index=email[0], width=len(names), ignored=ignored)


def _no_email_message(ignored: list[tuple[int, str]]) -> str:
    """Say why the header is refused, and which columns matched nothing (a misspelt Email?)."""
    text = "importFileHeader has no Email Address column, so no row could identify its lead"
    unknown = [name for _, name in ignored if name]
    if unknown:
        text += "; these columns name no lead field: " + ", ".join(unknown)
    return text


def ignored_column_warnings(header: Header) -> list[str]:
    """One summary line per ignored column, at most MAX_WARNING_LINES of them."""
    lines = [_ignored_column_line(index, name) for index, name in header.ignored]
    if len(lines) > MAX_WARNING_LINES:
        rest = len(lines) - (MAX_WARNING_LINES - 1)
        lines = [*lines[: MAX_WARNING_LINES - 1], f"Ignored {rest} more columns that name no lead field"]
    return lines


def _ignored_column_line(index: int, name: str) -> str:
    if not name:
        return f"Ignored column {index + 1}: it has no name"
    return f'Ignored column "{name}": it names no lead field'


# --- the call -----------------------------------------------------------------------------


def import_to_list(
    conn: Connection,
    *,
    program_name: str | None,
    list_name: str | None,
    header: str | None,
    rows: list[str],
    mode: str | None,
    clear_list: bool,
    campaign_name: str | None,
    now: datetime,
) -> str:
    """Queue an import into `program_name`.`list_name`; returns the import status (PROCESSING)."""
    program_name = (program_name or "").strip()
    list_name = (list_name or "").strip()
    if not program_name:
        raise ParameterRequired("importToList needs a programName")
    if not list_name:
        raise ParameterRequired("importToList needs a listName")
    chosen_mode = (mode or "").strip().upper()
    if chosen_mode not in MODES:
        raise BadParameter(f"importListMode must be UPSERTLEADS or LISTONLY, got {mode!r}")
    program = programs.find_program(conn, program_name)
    list_id = programs.program_list_id(conn, program.name, list_name)
    campaign_id: int | None = None
    if campaign_name is not None and campaign_name.strip():
        campaign_id = programs.find_campaign(conn, program.name, campaign_name.strip()).id  # within the program
    parsed = parse_header(header or "", field_registry(conn))
    if parsed.tokens and campaign_id is None:
        names = ", ".join("{{my." + n + "}}" for _, n in parsed.tokens)
        raise ParameterRequired(f"Token columns ({names}) need a campaignName")
    busy = conn.execute(
        select(import_jobs.c.id).where(import_jobs.c.list_id == list_id, import_jobs.c.status == "PROCESSING")
    ).first()
    if busy is not None:
        raise BadParameter(f"An import into list {program.name}.{list_name} is already processing")
    import_id = conn.execute(
        insert(import_jobs)
        .values(
            list_id=list_id,
            campaign_id=campaign_id,
            mode=chosen_mode,
            clear_list=bool(clear_list),
            header=header or "",
            rows=json.dumps([r if r is not None else "" for r in rows], separators=(",", ":")),
            status="PROCESSING",
            summary="\n".join(ignored_column_warnings(parsed)) or None,  # visible while it runs
            estimated_rows=len(rows),
            created_at=now,
            started_at=now,
        )
        .returning(import_jobs.c.id)
    ).scalar_one()
    enqueue(conn, JOB_KIND, {"import_id": int(import_id)})
    return "PROCESSING"


def import_status(conn: Connection, program_name: str | None, list_name: str | None) -> ImportStatus:
    """The last import into the list; a list that never had one is 20110, not a COMPLETE."""
    program_name = (program_name or "").strip()
    list_name = (list_name or "").strip()
    if not program_name or not list_name:
        raise ParameterRequired("getImportToListStatus needs both programName and listName")
    try:
        program = programs.find_program(conn, program_name)
    except CampaignNotFound:
        raise ListNotFound(f"List not found: {program_name}.{list_name}") from None
    list_id = programs.program_list_id(conn, program.name, list_name)
    row = conn.execute(
        select(import_jobs).where(import_jobs.c.list_id == list_id).order_by(import_jobs.c.id.desc()).limit(1)
    ).first()
    if row is None:
        label = conn.execute(select(static_lists.c.name).where(static_lists.c.id == list_id)).scalar_one()
        raise BadParameter(f"No import found for list {program.name}.{label}")
    return ImportStatus(
        status=row.status,
        started_at=row.started_at,
        ended_at=row.ended_at if row.status != "PROCESSING" else None,
        estimated_seconds=None,
        estimated_rows=int(row.estimated_rows),
        rows_imported=int(row.rows_imported),
        rows_failed=int(row.rows_failed),
        rows_ignored=int(row.rows_ignored),
        summary=row.summary,
    )


# --- the job ------------------------------------------------------------------------------


@job_handler(JOB_KIND)
def run_import(database: Database, payload: dict[str, Any]) -> None:
    """Process the import in chunks until it is COMPLETE; safe to run again after a crash."""
    import_id = int(payload["import_id"])
    while True:
        with database.write() as conn:
            if not process_chunk(conn, import_id, jobs_now()):
                return


def process_chunk(conn: Connection, import_id: int, now: datetime, chunk_rows: int = CHUNK_ROWS) -> bool:
    """Apply the next chunk of rows; True while rows remain. Counters move with the chunk."""
    job = conn.execute(select(import_jobs).where(import_jobs.c.id == import_id)).first()
    if job is None or job.status != "PROCESSING":
        return False
    rows: list[str] = json.loads(job.rows)
    done = int(job.rows_imported) + int(job.rows_failed) + int(job.rows_ignored)
    if done == 0 and job.clear_list:
        lists.clear_members(conn, job.list_id, now)
        conn.execute(delete(lead_tokens).where(lead_tokens.c.list_id == job.list_id))
    registry = field_registry(conn)
    try:
        header = parse_header(job.header, registry)
    except BadParameter as exc:  # the fields changed since the call: fail the import, honestly
        conn.execute(
            update(import_jobs)
            .where(import_jobs.c.id == import_id)
            .values(status="FAILED", ended_at=now, summary=exc.detail, rows_failed=len(rows) - done + job.rows_failed)
        )
        return False
    part = rows[done : done + chunk_rows]
    outcome = _apply_rows(conn, job, header, registry, part, first_row=done + 1, now=now)
    summary_lines = job.summary.splitlines() if job.summary else []
    if done == 0:  # the first chunk: the header as the job reads it decides what was left out
        summary_lines = ignored_column_warnings(header)
        _log_ignored_columns(conn, job, header)
    room = MAX_SUMMARY_LINES - len(summary_lines)
    summary_lines += (outcome.failures or [])[: max(room, 0)]
    finished = done + len(part) >= len(rows)
    values: dict[str, Any] = {
        "rows_imported": job.rows_imported + outcome.imported,
        "rows_failed": job.rows_failed + outcome.failed,
        "rows_ignored": job.rows_ignored + outcome.ignored,
        "summary": "\n".join(summary_lines) or None,
    }
    if finished:
        values |= {"status": "COMPLETE", "ended_at": now}
        failed, ignored = values["rows_failed"], values["rows_ignored"]
        if failed or ignored:
            head = f"{values['rows_imported']} rows imported, {failed} failed, {ignored} ignored"
            values["summary"] = "\n".join([head, *summary_lines])
    conn.execute(update(import_jobs).where(import_jobs.c.id == import_id).values(**values))
    return not finished


def _log_ignored_columns(conn: Connection, job: Any, header: Header) -> None:
    """Tell the operator which columns an import dropped (the caller sees them in the status)."""
    if not header.ignored:
        return
    row = conn.execute(
        select(static_lists.c.program_name, static_lists.c.name).where(static_lists.c.id == job.list_id)
    ).first()
    target = f"{row.program_name}.{row.name}" if row is not None and row.program_name else f"list {job.list_id}"
    names = ", ".join(f'"{name}"' if name else f"#{index + 1} (no name)" for index, name in header.ignored)
    log.warning("import %s into %s: ignored columns that name no lead field: %s", job.id, target, names)


def _flushed_id(state: LeadState) -> int:
    """The id of a lead the batch has written (a new lead gets one at the flush)."""
    assert state.id is not None
    lead_id: int = state.id
    return lead_id


@dataclass
class _ChunkOutcome:
    imported: int = 0
    failed: int = 0
    ignored: int = 0
    failures: list[str] | None = None

    def __post_init__(self) -> None:
        self.failures = self.failures or []

    def fail(self, row_number: int, why: str) -> None:
        self.failed += 1
        assert self.failures is not None
        self.failures.append(f"Row {row_number}: {why}")


def _apply_rows(
    conn: Connection,
    job: Any,
    header: Header,
    registry: FieldRegistry,
    part: list[str],
    *,
    first_row: int,
    now: datetime,
) -> _ChunkOutcome:
    out = _ChunkOutcome()
    parsed: list[tuple[int, str, list[str]]] = []  # (row number, email, cells)
    for offset, line in enumerate(part):
        number = first_row + offset
        if line is None or line.strip() == "":
            out.ignored += 1
            continue
        try:
            cells = parse_line(line)
        except (ValueError, csv.Error) as exc:
            out.fail(number, f"not one CSV line: {exc}")
            continue
        if len(cells) > header.width:
            out.fail(number, f"{len(cells)} values for {header.width} columns")
            continue
        cells += [""] * (header.width - len(cells))
        email = cells[header.email_index].strip()
        if not email:
            out.fail(number, "Email Address is empty")
            continue
        if not EMAIL_RE.match(email):
            out.fail(number, f"Invalid email address: {email}")
            continue
        parsed.append((number, email, cells))

    lead_for_row: list[tuple[int, list[str]]] = []  # (lead id, cells) of the rows that made it
    if job.mode == "UPSERTLEADS":
        batch = SyncBatch(conn, registry, now)
        records = [
            LeadInput(
                email=email,
                attributes=[
                    (f.name, cells[i]) for i, f in header.fields if f.name != "Email" and cells[i].strip() != ""
                ],
            )
            for _, email, cells in parsed
        ]
        batch.preload(records)
        states = []
        for (number, _email, cells), record in zip(parsed, records, strict=True):
            try:
                state, _status = batch.sync_one(record, "multi", True)
            except RecordError as exc:
                out.fail(number, exc.error.detail)
                continue
            states.append((state, cells))
        batch.flush()
        lead_for_row = [(_flushed_id(st), cells) for st, cells in states]
    else:
        emails = sorted({e.lower() for _, e, _ in parsed})
        found: dict[str, int] = {}
        for part_emails in chunks(emails):
            q = (
                select(leads.c.id, leads.c.email_lower)
                .where(in_values(leads.c.email_lower, part_emails))
                .order_by(leads.c.updated_at, leads.c.id)
            )
            for lead_id, email_lower in conn.execute(q):
                found[email_lower] = int(lead_id)  # the most recently updated wins
        for _number, email, cells in parsed:
            lead_id = found.get(email.lower())
            if lead_id is None:
                out.ignored += 1
            else:
                lead_for_row.append((lead_id, cells))
    out.imported += len(lead_for_row)
    lists.add_members(conn, job.list_id, [lead_id for lead_id, _ in lead_for_row], now)
    if header.tokens and job.campaign_id is not None:
        _store_tokens(conn, job, header, lead_for_row, now)
    return out


def _store_tokens(conn: Connection, job: Any, header: Header, rows: list[tuple[int, list[str]]], now: datetime) -> None:
    """Per-recipient `{{my.*}}` values for the campaign's next run; a later row replaces earlier ones."""
    per_lead: dict[int, list[list[str]]] = {}
    for lead_id, cells in rows:
        values = [[tokens.token_name(name), cells[i]] for i, name in header.tokens if cells[i] != ""]
        per_lead[lead_id] = values
    ids = list(per_lead)
    for part in chunks(ids):
        conn.execute(
            delete(lead_tokens).where(
                and_(lead_tokens.c.campaign_id == job.campaign_id, in_values(lead_tokens.c.lead_id, part))
            )
        )
    inserts = [
        {
            "campaign_id": job.campaign_id,
            "lead_id": lead_id,
            "list_id": job.list_id,
            "tokens": json.dumps(values, separators=(",", ":")),
            "created_at": now,
        }
        for lead_id, values in per_lead.items()
        if values
    ]
    if inserts:
        conn.execute(insert(lead_tokens), inserts)
