"""The commands that work through `mktows.client`, so against any Marketo-compatible endpoint,
a remote mktows included: `leads import|export|get`, `campaigns list|request`, `activity tail`.

The endpoint, user id and key come from the options or from MKTOWS_ENDPOINT, MKTOWS_USER_ID
and MKTOWS_ENCRYPTION_KEY. A fault is one `error:` line with its Marketo code and exit code 1;
a bad option is one `error:` line and exit code 2, as everywhere in the command line. Long work
shows a progress bar (rate and time left) on stderr when stderr is a terminal.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

if TYPE_CHECKING:
    from mktows.client import Client

leads_app = typer.Typer(no_args_is_help=True, help="Leads, through the SOAP API of any endpoint.")
activity_app = typer.Typer(no_args_is_help=True, help="Lead activity, through the SOAP API of any endpoint.")

EndpointOption = Annotated[
    str | None, typer.Option("--endpoint", envvar="MKTOWS_ENDPOINT", help="SOAP endpoint URL (env MKTOWS_ENDPOINT).")
]
UserOption = Annotated[
    str | None, typer.Option("--user-id", envvar="MKTOWS_USER_ID", help="API user id (env MKTOWS_USER_ID).")
]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--encryption-key",
        envvar="MKTOWS_ENCRYPTION_KEY",
        help="The user's key (env MKTOWS_ENCRYPTION_KEY, which keeps it out of the process list).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")]
STDERR = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def connected(endpoint: str | None, user_id: str | None, key: str | None) -> Iterator[Client]:
    """A client, with every fault or lost connection turned into one line and exit code 1. The
    client is imported here: every other command of `mktows`, `serve` first, starts without
    its generated types."""
    from mktows.client import Client, MarketoConnectionError, MarketoFault, MarketoProtocolError

    try:
        client = Client(endpoint, user_id, key)
    except ValueError as exc:
        fail(str(exc))
    try:
        with client:
            yield client
    except MarketoFault as exc:
        said = exc.message if str(exc.code) in exc.message else f"{exc.message} ({exc.code})"
        fail(f"{exc.operation}: {said}", 1)
    except MarketoConnectionError as exc:
        fail(f"cannot reach {client.endpoint}: {exc}", 1)
    except MarketoProtocolError as exc:
        fail(f"{exc.operation}: {exc}", 1)


def progress(total: int | None, what: str) -> Progress:
    """A bar with the count, the rate and the time left; silent when stderr is not a terminal."""
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), _Rate(), TimeRemainingColumn()]
    bar = Progress(*columns, console=STDERR, disable=not STDERR.is_terminal, transient=False)
    bar.add_task(what, total=total)
    return bar


class _Rate(TextColumn):
    """Rows a second, once the bar has seen some."""

    def __init__(self) -> None:
        super().__init__("")

    def render(self, task: Any) -> Any:
        speed = task.finished_speed or task.speed
        return super().render(task) if speed is None else Text(f"{speed:,.0f}/s")


def parse_when(text: str | None, flag: str) -> datetime | None:
    """An ISO date or date-time (UTC when it names no zone), or `-7d` / `-12h` before now."""
    if text is None:
        return None
    value = text.strip()
    if value.startswith("-") and value[-1:] in ("d", "h") and value[1:-1].isdigit():
        span = timedelta(days=int(value[1:-1])) if value[-1] == "d" else timedelta(hours=int(value[1:-1]))
        return datetime.now(UTC) - span
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{flag} {text!r} is not a date: give 2026-11-30, 2026-11-30T08:00:00Z or -7d")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- leads import --------------------------------------------------------------------------


@dataclass
class ImportState:
    """What an import has had acknowledged, kept beside the file so an interrupted import
    resumes after the last batch the server answered (and re-sends none of those)."""

    path: Path
    fingerprint: str
    rows_done: int = 0
    sent_at: int = -1  # the first row of the importToList call the server acknowledged last

    @classmethod
    def load(cls, path: Path, fingerprint: str) -> ImportState:
        if path.exists():
            saved = json.loads(path.read_text())
            if saved.get("fingerprint") != fingerprint:
                fail(f"{path} belongs to another file or another import; remove it to start again")
            return cls(path, fingerprint, int(saved["rows_done"]), int(saved.get("sent_at", -1)))
        return cls(path, fingerprint)

    def save(self) -> None:
        """Write the new count where a crash cannot leave half a file: a temporary file, flushed
        to disk, renamed over the old one."""
        temporary = self.path.with_suffix(self.path.suffix + ".tmp")
        with temporary.open("w") as out:
            json.dump({"fingerprint": self.fingerprint, "rows_done": self.rows_done, "sent_at": self.sent_at}, out)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(self.path)


def fingerprint(path: Path, target: str) -> str:
    """The file's size, modification time and first bytes, with where its rows go."""
    stat = path.stat()
    with path.open("rb") as raw:
        head = raw.read(65536)
    return hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}:{target}:".encode() + head).hexdigest()[:32]


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8-sig") as source:
        reader = csv.reader(source)
        header = next(reader, None)
        if not header:
            fail(f"{path} is empty: the first line names the fields")
        return [name.strip() for name in header], [row for row in reader if any(cell.strip() for cell in row)]


def batches(rows: list[list[str]], start: int, size: int) -> Iterator[tuple[int, list[list[str]]]]:
    for first in range(start, len(rows), size):
        yield first, rows[first : first + size]


def csv_line(cells: list[str]) -> str:
    """One row as importToList takes it: a CSV line."""
    line = io.StringIO()
    csv.writer(line, lineterminator="").writerow(cells)
    return line.getvalue()


# --- output --------------------------------------------------------------------------------


def write_records(out: TextIO, records: Iterator[dict[str, Any]], fields: list[str], fmt: str) -> Iterator[int]:
    """Write each record (CSV with a header, or JSON lines); yields after each."""
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore") if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    for n, record in enumerate(records, 1):
        if writer is not None:
            writer.writerow(record)
        else:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        yield n


def echo_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")


# --- the commands ----------------------------------------------------------------------------

BatchOption = Annotated[int, typer.Option("--batch", min=1, max=1000, help="Leads a syncMultipleLeads call.")]


@leads_app.command("import")
def leads_import(
    file: Annotated[Path, typer.Argument(help="CSV file; its first line names the fields (Email, FirstName, ...).")],
    list_name: Annotated[
        str | None,
        typer.Option(
            "--list", help="Import into this list with importToList, as PROGRAM.LIST (else syncMultipleLeads)."
        ),
    ] = None,
    mode: Annotated[str, typer.Option("--mode", help="With --list: UPSERTLEADS or LISTONLY.")] = "UPSERTLEADS",
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="With --list: the campaign its token columns are for.")
    ] = None,
    batch: BatchOption = 300,
    rows_per_import: Annotated[
        int, typer.Option("--rows-per-import", min=1, help="With --list: rows an importToList call.")
    ] = 10_000,
    state: Annotated[
        Path | None,
        typer.Option("--state", help="Where progress is kept (default FILE.mktows-import beside the file)."),
    ] = None,
    endpoint: EndpointOption = None,
    user_id: UserOption = None,
    key: KeyOption = None,
) -> None:
    """Create or update the file's leads: syncMultipleLeads in batches, or importToList into a list.
    Interrupted, the same command resumes after the last batch the server acknowledged."""
    if not file.is_file():
        fail(f"no file {file}")
    if mode not in ("UPSERTLEADS", "LISTONLY"):
        fail(f"--mode {mode!r} is not accepted: expected UPSERTLEADS or LISTONLY")
    program, _, name = (list_name or "").rpartition(".")
    if list_name is not None and not (program and name):
        fail(f"--list {list_name!r}: name the list as PROGRAM.LIST")
    header, rows = read_rows(file)
    target = f"{list_name}:{mode}:{campaign}" if list_name else f"sync:{batch}"
    kept = ImportState.load(state or file.with_name(file.name + ".mktows-import"), fingerprint(file, target))
    size = rows_per_import if list_name else batch
    with connected(endpoint, user_id, key) as client, progress(len(rows), f"{file.name}") as bar:
        bar.update(bar.task_ids[0], completed=kept.rows_done)
        try:
            for first, chunk in batches(rows, kept.rows_done, size):
                if list_name:
                    _import_chunk(client, kept, program, name, header, chunk, mode, campaign)
                else:
                    records = [dict(zip(header, cells, strict=False)) for cells in chunk]
                    result = client.sync_multiple_leads(lead_record_list=records)
                    failed = [s for s in result.sync_status_list if s.status == "FAILED"]
                    for status in failed[:5]:
                        STDERR.print(f"lead {status.lead_id or '?'}: {status.error}", highlight=False)
                kept.rows_done = first + len(chunk)
                kept.save()
                bar.update(bar.task_ids[0], completed=kept.rows_done)
        except KeyboardInterrupt:
            fail(f"interrupted after {kept.rows_done:,} rows: run the same command again to resume", 130)
    kept.path.unlink(missing_ok=True)
    typer.echo(f"{len(rows):,} rows of {file} {'imported into ' + list_name if list_name else 'synced'}")


def _import_chunk(
    client: Client,
    kept: ImportState,
    program: str,
    name: str,
    header: list[str],
    chunk: list[list[str]],
    mode: str,
    campaign: str | None,
) -> None:
    """One importToList call, then its status polled until it is done. A call the server
    acknowledged is noted first, so a resumed import waits for it instead of sending it again."""
    if kept.sent_at != kept.rows_done:
        client.import_to_list(
            program_name=program,
            list_name=name,
            import_file_header=csv_line(header),
            import_file_rows=[csv_line(cells) for cells in chunk],
            import_list_mode=mode,
            campaign_name=campaign,
        )
        kept.sent_at = kept.rows_done
        kept.save()
    while (status := client.get_import_to_list_status(program_name=program, list_name=name)).status == "PROCESSING":
        time.sleep(1.0)
    if status.status != "COMPLETE":
        fail(f"the import into {program}.{name} ended {status.status}", 1)


FORMATS = ("csv", "jsonl")


@leads_app.command("export")
def leads_export(
    since: Annotated[str, typer.Option("--since", help="Leads updated from: 2026-01-31, 2026-01-31T08:00Z or -30d.")],
    until: Annotated[str | None, typer.Option("--until", help="Leads updated before (default now).")] = None,
    fields: Annotated[
        str, typer.Option("--fields", help="Comma-separated fields to fetch (only those are read: faster).")
    ] = "Email,FirstName,LastName",
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default stdout).")] = None,
    windows: Annotated[int, typer.Option("--windows", min=1, help="Date windows read in parallel.")] = 10,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=10, help="Calls in flight at once.")] = 10,
    batch: Annotated[int, typer.Option("--batch", min=1, max=1000, help="Leads a page.")] = 200,
    endpoint: EndpointOption = None,
    user_id: UserOption = None,
    key: KeyOption = None,
) -> None:
    """Every lead updated in a date range, each once: parallel date windows of getMultipleLeads."""
    if fmt not in FORMATS:
        fail(f"--format {fmt!r} is not accepted: expected csv or jsonl")
    start, end = parse_when(since, "--since"), parse_when(until, "--until")
    assert start is not None
    names = [f.strip() for f in fields.split(",") if f.strip()]
    columns = ["Id", *[n for n in names if n != "Id"]]
    count = 0
    with connected(endpoint, user_id, key) as client, _output(out) as sink, progress(None, "leads") as bar:
        leads = client.iter_leads_updated(
            start, end, fields=names, windows=windows, concurrency=concurrency, batch_size=batch
        )
        rows = ({"Id": lead.id, "Email": lead.email, **lead.attributes} for lead in leads)
        for count in write_records(sink, rows, columns, fmt):
            bar.update(bar.task_ids[0], completed=count)
    typer.echo(f"{count:,} leads", err=True)


@contextlib.contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
        return
    with path.open("w", newline="", encoding="utf-8") as sink:
        yield sink


@leads_app.command("get")
def leads_get(
    value: Annotated[str, typer.Argument(help="The key's value: an email, an id, ...")],
    key_type: Annotated[str, typer.Option("--type", help="IDNUM, EMAIL, COOKIE, SFDCLEADID, ...")] = "EMAIL",
    as_json: JsonOption = False,
    endpoint: EndpointOption = None,
    user_id: UserOption = None,
    key: KeyOption = None,
) -> None:
    """The leads a key matches (getLead), each with its fields."""
    with connected(endpoint, user_id, key) as client:
        found = client.get_lead(lead_key=(key_type.upper(), value)).lead_record_list or []
    leads = [{"Id": lead.id, "Email": lead.email, **lead.attributes} for lead in found]
    if as_json:
        echo_json(leads)
        return
    for n, lead in enumerate(leads):
        if n:
            typer.echo("")
        for name, field_value in lead.items():
            typer.echo(f"{name}\t{'' if field_value is None else field_value}")


# `mktows campaigns list|request`: registered by mktows.cli beside its `campaigns status`


def campaigns_list(
    source: Annotated[str, typer.Option("--source", help="MKTOWS (the web service API) or SALES.")] = "MKTOWS",
    name: Annotated[str | None, typer.Option("--name", help="Only campaigns whose name contains this.")] = None,
    as_json: JsonOption = False,
    endpoint: EndpointOption = None,
    user_id: UserOption = None,
    key: KeyOption = None,
) -> None:
    """The campaigns a source may request (getCampaignsForSource): id, name, description."""
    with connected(endpoint, user_id, key) as client:
        found = client.get_campaigns_for_source(source=source.upper(), name=name).campaign_record_list or []
    rows = [{"id": c.id, "name": c.name, "description": c.description} for c in found]
    if as_json:
        echo_json(rows)
        return
    typer.echo("ID\tNAME\tDESCRIPTION")
    for row in rows:
        typer.echo(f"{row['id']}\t{row['name']}\t{row['description']}")


def campaigns_request(
    campaign: Annotated[str, typer.Argument(help="The campaign: its id, or PROGRAM.CAMPAIGN.")],
    leads: Annotated[list[str], typer.Option("--lead", help="A lead's email, or its id (repeatable).")],
    tokens: Annotated[
        list[str] | None, typer.Option("--token", help="A My Token for this run: my.Name=value (repeatable).")
    ] = None,
    source: Annotated[str, typer.Option("--source", help="MKTOWS or SALES.")] = "MKTOWS",
    endpoint: EndpointOption = None,
    user_id: UserOption = None,
    key: KeyOption = None,
) -> None:
    """Run leads through a trigger campaign now (requestCampaign)."""
    keys = [("IDNUM", lead) if lead.isdigit() else ("EMAIL", lead) for lead in leads]
    values = {}
    for token in tokens or []:
        token_name, sep, value = token.partition("=")
        if not sep or not token_name.strip():
            fail(f"--token {token!r}: give it as my.Name=value")
        values[token_name.strip()] = value
    where: dict[str, Any] = {"campaign_id": int(campaign)} if campaign.isdigit() else {}
    if not where:
        program, _, campaign_name = campaign.rpartition(".")
        if not program:
            fail(f"campaign {campaign!r}: give its id or PROGRAM.CAMPAIGN")
        where = {"program_name": program, "campaign_name": campaign_name}
    with connected(endpoint, user_id, key) as client:
        client.request_campaign(source=source.upper(), lead_list=keys, program_token_list=values or None, **where)
    typer.echo(f"requested {campaign} for {len(keys)} lead{'s' if len(keys) != 1 else ''}")


@activity_app.command("tail")
def activity_tail(
    since: Annotated[str, typer.Option("--since", help="From when: 2026-01-31T08:00Z or -1h.")] = "-1h",
    types: Annotated[
        str | None, typer.Option("--types", help="Only these activity types, comma-separated (New Lead, ...).")
    ] = None,
    follow: Annotated[bool, typer.Option("--follow/--no-follow", help="Wait for new activity (Ctrl-C stops).")] = True,
    interval: Annotated[float, typer.Option("--interval", min=0.1, help="Seconds between polls when following.")] = 5.0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
    endpoint: EndpointOption = None,
    user_id: UserOption = None,
    key: KeyOption = None,
) -> None:
    """Print activity across leads as it happens (getLeadChanges), oldest first."""
    start = parse_when(since, "--since")
    assert start is not None
    names = [t.strip() for t in types.split(",") if t.strip()] if types else None
    position: Any = start
    seen: dict[int, None] = {}  # the ids printed lately (a page may repeat the last one's), oldest first
    with connected(endpoint, user_id, key) as client:
        try:
            while True:
                page = client.get_lead_changes(start_position=position, activity_name_filter=names, batch_size=1000)
                for change in page.lead_change_record_list or []:
                    if change.id in seen:
                        continue
                    seen[change.id] = None
                    if len(seen) > SEEN_KEPT:
                        del seen[next(iter(seen))]
                    _print_change(change, as_json)
                if page.new_start_position is not None:
                    position = page.new_start_position
                if page.remaining_count:
                    continue
                if not follow:
                    return
                time.sleep(interval)
        except KeyboardInterrupt:
            return


SEEN_KEPT = 100_000


def _print_change(change: Any, as_json: bool) -> None:
    attributes = change.attributes
    lead = attributes.get("Lead ID", "")
    if as_json:
        echo_json(
            {
                "id": change.id,
                "at": change.activity_date_time.isoformat(),
                "type": change.activity_type,
                "asset": change.mktg_asset_name,
                "lead": lead,
                "attributes": attributes,
            }
        )
    else:
        asset = f" {change.mktg_asset_name}" if change.mktg_asset_name else ""
        typer.echo(f"{change.activity_date_time.isoformat()}\tlead {lead}\t{change.activity_type}{asset}")
    sys.stdout.flush()
