"""The client's parallel-window export against one sequential getMultipleLeads stream.

    .venv/bin/python bench/client_export.py [--size 100000] [--db sqlite|postgresql://...]
        [--windows 10] [--concurrency 10] [--batch 200] [--out docs/benchmarks.md]

On `bench/build_db.py`'s database (built and cached when missing) and a real `mktows serve`
(call limits off), `mktows.client` reads every lead updated in the database's 330 days with
three fields, twice: as one LastUpdateAtSelector stream paged to its end (`iter_multiple_leads`),
then cut into date windows paged in parallel over pooled connections (`iter_leads_updated`).
Both must return every lead exactly once. The bound, measured in the same run with the server
stopped: bare sqlite3 (or psycopg) keyset pages of the same size over the same rows, with the
same fields, each rendered by bare lxml as the reply's records (one thread).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import build_db as B
from leadbench import Bare, _render
from soapbench import KEY, USER, VERSION, bench_user_yaml, replace_section, start_server, stop_server

from mktows.client import Client, LastUpdateAtSelector

SECTION = "## The client's parallel export (`bench/client_export.py`)"
FIELDS = ["Email", "FirstName", "LastName"]


def timed_export(label: str, run) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    ids = [lead.id for lead in run()]
    seconds = time.perf_counter() - began
    assert len(ids) == len(set(ids)), f"{label}: a lead came twice"
    print(f"{label:<40} {len(ids):>9,} leads {seconds:7.2f} s {len(ids) / seconds:9,.0f} leads/s", flush=True)
    return seconds, len(ids)


def floor(built: B.Built, since: datetime, batch: int) -> dict[str, float]:
    """Keyset pages of `batch` leads by (updated_at, id) with the same fields, each rendered
    as the reply's records with lxml; one thread, nothing else."""
    bare = Bare(built)
    start: object = since.astimezone(UTC).replace(tzinfo=None).isoformat(" ") if bare.sqlite else since
    last: tuple[object, int] = (start, 0)
    leads, began = 0, time.perf_counter()
    try:
        while True:
            rows = bare.q(
                "SELECT id, email, foreign_sys_person_id, foreign_sys_type, sfdc_lead_id, sfdc_account_id, updated_at"
                " FROM leads WHERE (updated_at, id) > (?, ?) ORDER BY updated_at, id LIMIT ?",
                (last[0], last[1], batch),
            )
            _render(bare, rows, FIELDS[1:], "leadRecordList")
            leads += len(rows)
            if len(rows) < batch:
                break
            last = (rows[-1][6], rows[-1][0])
    finally:
        bare.close()
    seconds = time.perf_counter() - began
    return {"leads": leads, "seconds": seconds, "leads_per_s": leads / seconds}


def run(args: argparse.Namespace) -> list[str]:
    built = B.ensure(args.size, args.db)
    B.reset(built)
    since = built.start - timedelta(seconds=1)
    until = datetime.now(UTC) + timedelta(minutes=1)
    with tempfile.TemporaryDirectory() as tmp:
        proc, endpoint = start_server(built.url, Path(tmp), bench_user_yaml())
        try:
            with Client(endpoint, USER, KEY, concurrency=args.concurrency) as client:
                sequential = timed_export(
                    "one stream",
                    lambda: client.iter_multiple_leads(
                        LastUpdateAtSelector(oldest_updated_at=since),  # no end: a window may span 30 days at most
                        batch_size=args.batch,
                        include_attributes=FIELDS,
                    ),
                )
                parallel = timed_export(
                    f"{args.windows} windows, {args.concurrency} at once",
                    lambda: client.iter_leads_updated(
                        since,
                        until,
                        fields=FIELDS,
                        windows=args.windows,
                        concurrency=args.concurrency,
                        batch_size=args.batch,
                    ),
                )
        finally:
            stop_server(proc)
    assert sequential[1] == parallel[1] == built.leads, (sequential, parallel, built.leads)
    bound = floor(built, since, args.batch)
    print(f"{'bound (bare SQL + lxml, one thread)':<40} {bound['leads']:>9,} leads {bound['seconds']:7.2f} s")
    rate = [n / s for s, n in (sequential, parallel)]
    return [
        "| export | seconds | leads/s | bound's leads/s over it |",
        "| --- | --- | --- | --- |",
        f"| one stream, batchSize {args.batch} | {sequential[0]:.1f} | {rate[0]:,.0f} |"
        f" {bound['leads_per_s'] / rate[0]:.1f} |",
        f"| {args.windows} windows, {args.concurrency} at once | {parallel[0]:.1f} | {rate[1]:,.0f} |"
        f" {bound['leads_per_s'] / rate[1]:.1f} |",
        f"| parallel over one stream | | **{rate[1] / rate[0]:.2f}x** | |",
    ]


def write_section(path: Path, command: str, args: argparse.Namespace, lines: list[str]) -> None:
    """Replace the section (up to the next `## ` heading), or add it at the end."""
    db = "SQLite" if args.db == "sqlite" else "PostgreSQL"
    about = textwrap.fill(
        f"One run on {datetime.now(UTC):%Y-%m-%d}: {args.size:,} leads on {db} ({VERSION} endpoint, call limits"
        f" off), three fields a lead, pages of {args.batch}, every lead returned exactly once by both. The bound"
        " is bare SQL keyset pages plus lxml on one thread, server stopped; the machine's 2 cores are shared by"
        " the server, the client threads and (for PostgreSQL) the database server, so the windows' gain is"
        " the overlap of one call's network and parsing with another's work, not more cores.",
        width=96,
    )
    body = f"{SECTION}\n\n```sh\n{command}\n```\n\n{about}\n\n" + "\n".join(lines) + "\n"
    replace_section(path, SECTION, body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="leads in the database")
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL server URL")
    parser.add_argument("--windows", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--out", type=Path, help="write the section of docs/benchmarks.md")
    args = parser.parse_args()
    lines = run(args)
    print("\n".join(lines))
    if args.out:
        write_section(args.out, " ".join([".venv/bin/python", "bench/client_export.py", *sys.argv[1:]]), args, lines)


if __name__ == "__main__":
    main()
