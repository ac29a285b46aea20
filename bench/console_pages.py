"""The web console's pages on an instance of a million leads, against bare SQL plus lxml.

    .venv/bin/python bench/console_pages.py [--size 1000000 ...] [--db sqlite|postgresql://...]
        [--requests 40] [--seconds 8] [--out docs/benchmarks.md]

The database is `bench/build_db.py`'s (built and cached when missing). A console user is added
with `mktows admins add`, a real `mktows serve` is started on it (call limits off), and one
signed-in HTTP client with a keep-alive connection asks each page `--requests` times in a row
(at most `--seconds` per page, after two unmeasured requests): the leads' first page, a page
ten thousand pages deep, an exact email, the beginning of an email and of a first name with
the page after each, a lead's page, the static lists with their member counts, a page of a
list's members half-way through, and the charts. The figure is the median time to the last
byte of the page.

The bound, measured in the same run with the server stopped: bare sqlite3 (or psycopg) sends
the same indexed queries for the same rows, and lxml builds and serialises an HTML table of
them; no session, no template, no escaping rules beyond lxml's. The ratio is the page's median
over the bound's. What matters at this size is that a page's cost does not grow with the
database: compare the deep page with the first, and the ratio with that of a small database.
"""

from __future__ import annotations

import argparse
import html
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import build_db as B
import httpx
from leadbench import Bare
from lxml.html import builder as E
from lxml.html import tostring
from soapbench import bench_user_yaml, replace_section, start_server, stop_server

ADMIN, PASSWORD = "bench", "bench console password"
PAGE = 50  # rows on a console page
SECTION = "## The web console at instance size (`bench/console_pages.py`)"
NEXT_LINK = re.compile(r'href="(/console/leads\?[^"]*)">Next page')


@dataclass
class Case:
    name: str
    path: str
    floor: Callable[[Bare], bytes]


# --- the bound: the same rows, bare -----------------------------------------------------


def _table(rows: list[tuple[Any, ...]]) -> bytes:
    body = [E.TR(*[E.TD(str(v) if v is not None else "") for v in row]) for row in rows]
    return tostring(E.HTML(E.BODY(E.TABLE(*body))))


def _with_names(bare: Bare, rows: list[tuple[Any, ...]]) -> bytes:
    ids = [r[0] for r in rows]
    names: dict[tuple[int, str], str] = {}
    if ids:
        marks = ",".join("?" * len(ids))
        sql = f"SELECT lead_id, name, value FROM lead_values WHERE lead_id IN ({marks}) AND name IN (?, ?)"
        names = {(r[0], r[1]): r[2] for r in bare.q(sql, [*ids, "FirstName", "LastName"])}
    return _table([(*r, names.get((r[0], "FirstName")), names.get((r[0], "LastName"))) for r in rows])


def newest_floor(before: int) -> Callable[[Bare], bytes]:
    def floor(bare: Bare) -> bytes:
        sql = "SELECT id, email, updated_at FROM leads WHERE id < ? ORDER BY id DESC LIMIT ?"
        return _with_names(bare, bare.q(sql, (before, PAGE + 1)))

    return floor


def email_floor(prefix: str, after: tuple[str, int] | None = None) -> Callable[[Bare], bytes]:
    high = prefix[:-1] + chr(ord(prefix[-1]) + 1)

    def floor(bare: Bare) -> bytes:
        sql = "SELECT id, email, updated_at FROM leads WHERE email_lower >= ? AND email_lower < ?"
        params: list[Any] = [prefix, high]
        if after is not None:
            sql += " AND (email_lower, id) > (?, ?)"
            params += list(after)
        return _with_names(bare, bare.q(sql + " ORDER BY email_lower, id LIMIT ?", [*params, PAGE + 1]))

    return floor


def name_floor(prefix: str, after: tuple[str, int] | None = None) -> Callable[[Bare], bytes]:
    high = prefix[:-1] + chr(ord(prefix[-1]) + 1)

    def floor(bare: Bare) -> bytes:
        sql = (
            "SELECT lead_id FROM lead_values WHERE name IN ('FirstName', 'LastName')"
            " AND lower(value) >= ? AND lower(value) < ?"
        )
        params: list[Any] = [prefix, high]
        if after is not None:
            sql += " AND (lower(value), lead_id) > (?, ?)"
            params += list(after)
        ids = [r[0] for r in bare.q(sql + " ORDER BY lower(value), lead_id LIMIT ?", [*params, PAGE + 1])]
        marks = ",".join("?" * len(ids)) or "NULL"
        return _with_names(bare, bare.q(f"SELECT id, email, updated_at FROM leads WHERE id IN ({marks})", ids))

    return floor


def lead_floor(lead_id: int) -> Callable[[Bare], bytes]:
    def floor(bare: Bare) -> bytes:
        lead = bare.q("SELECT id, email, foreign_sys_person_id, updated_at FROM leads WHERE id = ?", (lead_id,))
        values = bare.q("SELECT name, value FROM lead_values WHERE lead_id = ?", (lead_id,))
        lists = bare.q(
            "SELECT s.name, m.created_at FROM list_members m JOIN static_lists s ON s.id = m.list_id"
            " WHERE m.lead_id = ?",
            (lead_id,),
        )
        acts = bare.q(
            "SELECT id, created_at, type_name, asset_name, attributes FROM activities WHERE lead_id = ?"
            " ORDER BY id DESC LIMIT 101",
            (lead_id,),
        )
        return _table(lead + values + lists + acts)

    return floor


def lists_floor(bare: Bare) -> bytes:
    lists = bare.q("SELECT id, name FROM static_lists ORDER BY name, id LIMIT ?", (PAGE + 1,))
    counted = "SELECT count(*) FROM (SELECT 1 FROM list_members WHERE list_id = ? LIMIT 10001) AS capped"
    return _table([(i, name, bare.q(counted, (i,))[0][0]) for i, name in lists])


def members_floor(list_id: int, after: int) -> Callable[[Bare], bytes]:
    def floor(bare: Bare) -> bytes:
        members = bare.q(
            "SELECT m.lead_id, l.email, m.created_at FROM list_members m JOIN leads l ON l.id = m.lead_id"
            " WHERE m.list_id = ? AND m.lead_id > ? AND l.id > ? ORDER BY m.lead_id LIMIT ?",
            (list_id, after, after, PAGE + 1),
        )
        return _with_names(bare, members)

    return floor


def charts_floor(since: datetime) -> Callable[[Bare], bytes]:
    def floor(bare: Bare) -> bytes:
        day = "substr(created_at, 1, 10)" if bare.sqlite else "date_trunc('day', created_at)"
        rows = bare.q(f"SELECT {day}, count(*) FROM leads WHERE created_at >= ? GROUP BY 1", (since,))
        return _table(rows)

    return floor


# --- the server's side ------------------------------------------------------------------


def add_console_user(url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mktows", "admins", "add", ADMIN, "--password-stdin", "--db", url],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0 and "exists" not in done.stderr:  # a cached database keeps it
        raise SystemExit(f"mktows admins add failed:\n{done.stdout}{done.stderr}")


def sign_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120)
    form = client.get("/console/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf, form[:400]
    reply = client.post("/console/login", data={"name": ADMIN, "password": PASSWORD, "csrf": csrf.group(1)})
    assert reply.status_code == 303, reply.text[:400]
    return client


def next_after(client: httpx.Client, path: str) -> tuple[str, tuple[str, int]]:
    """The path of the page after `path`, and the (text, id) it continues from."""
    found = NEXT_LINK.search(client.get(path).text)
    assert found, f"{path} has no next page"
    link = html.unescape(found.group(1))
    text, _, lead_id = httpx.URL(link).params["after"].rpartition(",")
    return link, (text, int(lead_id))


def timed(call: Callable[[], Any], requests: int, seconds: float) -> list[float]:
    for _ in range(2):
        call()
    took: list[float] = []
    deadline = time.monotonic() + seconds
    while len(took) < requests and time.monotonic() < deadline:
        began = time.perf_counter()
        call()
        took.append((time.perf_counter() - began) * 1000)
    return took


def cases(built: B.Built, client: httpx.Client) -> list[Case]:
    size = built.size
    mid = size // 2 + 7
    deep = max(size - PAGE * 10_000, size // 2)  # ten thousand pages in, or the middle of a small database
    email_prefix = f"lead{mid // 100}"  # Lead{mid//100}, then its 100 followers' shared beginning
    name = B.values(mid)["FirstName"].lower()
    first = name.rstrip("0123456789") + str(mid)[0]  # e.g. "jo5": a fourteenth of the leads whose id begins 5
    email_next, email_after = next_after(client, f"/console/leads?q={email_prefix}")
    name_next, name_after = next_after(client, f"/console/leads?q={first}")
    return [
        Case("the newest leads", "/console/leads", newest_floor(2**31 - 1)),
        Case(
            f"leads below id {deep:,} ({(size - deep) // PAGE:,} pages in)",
            f"/console/leads?q=&before={deep}",
            newest_floor(deep),
        ),
        Case("an exact email", f"/console/leads?q={B.email(mid)}", email_floor(B.email(mid).lower())),
        Case(f"emails beginning {email_prefix!r}", f"/console/leads?q={email_prefix}", email_floor(email_prefix)),
        Case("  the page after", email_next, email_floor(email_prefix, email_after)),
        Case(f"first names beginning {first!r}", f"/console/leads?q={first}", name_floor(first)),
        Case("  the page after", name_next, name_floor(first, name_after)),
        Case("a lead's page", f"/console/leads/{mid}", lead_floor(mid)),
        Case("the static lists, with member counts", "/console/lists", lists_floor),
        Case(
            f"{B.LISTS[0]}'s members after lead {mid:,}",
            f"/console/lists/1?after={mid}",
            members_floor(1, mid),
        ),
        Case("charts (30 days of new leads)", "/console/charts", charts_floor(datetime.now(UTC) - timedelta(days=30))),
    ]


def run(args: argparse.Namespace, size: int) -> list[str]:
    built = B.ensure(size, args.db)
    B.reset(built)
    add_console_user(built.url)
    with tempfile.TemporaryDirectory() as tmp:
        proc, endpoint = start_server(built.url, Path(tmp), bench_user_yaml())
        try:
            client = sign_in(endpoint.split("/soap/")[0])
            measured = []
            for case in cases(built, client):

                def get(path: str = case.path) -> None:
                    reply = client.get(path)
                    assert reply.status_code == 200, f"{path}: {reply.status_code}"

                took = timed(get, args.requests, args.seconds)
                measured.append((case, took))
                print(f"{case.name:<44} {statistics.median(took):8.2f} ms", flush=True)
        finally:
            stop_server(proc)
    bare = Bare(built)
    lines = ["| page | median ms | p95 ms | bound ms | ratio |", "| --- | --- | --- | --- | --- |"]
    try:
        for case, took in measured:
            floor = timed(lambda case=case: case.floor(bare), args.requests, args.seconds)
            page, bound = statistics.median(took), statistics.median(floor)
            p95 = statistics.quantiles(took, n=20)[-1] if len(took) >= 20 else max(took)
            lines.append(f"| {case.name.strip()} | {page:.2f} | {p95:.2f} | {bound:.2f} | {page / bound:.1f} |")
    finally:
        bare.close()
    print("\n".join(lines))
    return lines


def write_section(path: Path, command: str, args: argparse.Namespace, tables: dict[int, list[str]]) -> None:
    """Replace the section (up to the next `## ` heading), or add it at the end."""
    db = "SQLite" if args.db == "sqlite" else "PostgreSQL"
    sizes = " and ".join(f"{size:,}" for size in tables)
    about = textwrap.fill(
        f"One run on {datetime.now(UTC):%Y-%m-%d}, {sizes} leads on {db}, this machine's 2 cores shared"
        " by the server, the client and (for PostgreSQL) the database server. The bound sends the same"
        " queries with bare sqlite3 or psycopg and builds an HTML table of the rows with lxml; the ratio is the"
        " page's median over the bound's. The page figure includes the signed-in session's lookup, the"
        " template and HTTP.",
        width=96,
    )
    reading = textwrap.fill(
        "How to read it: a page of the console costs about 3 ms before it reads anything (the session's"
        " lookup in the database, the template, HTTP), which is most of the figure when the bound reads one"
        " row (an exact email, a lead's page). The lead and list pages cost the same on both sizes, deep"
        " pages included: each is an index range read in order. The charts page is the one that grows with"
        " the database: it counts the leads created on each of the last 30 days, a range of"
        " `ix_leads_created_at` that holds a month of leads.",
        width=96,
    )
    body = f"{SECTION}\n\n```sh\n{command}\n```\n\n{about}\n\n{reading}\n"
    for size, lines in tables.items():
        body += f"\n### {size:,} leads\n\n" + "\n".join(lines) + "\n"
    replace_section(path, SECTION, body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, action="append", help="leads in the database (repeatable; 1000000)")
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL server URL")
    parser.add_argument("--requests", type=int, default=40, help="requests per page")
    parser.add_argument("--seconds", type=float, default=8.0, help="at most this long per page")
    parser.add_argument("--out", type=Path, help="write the section of docs/benchmarks.md")
    args = parser.parse_args()
    tables = {size: run(args, size) for size in args.size or [1_000_000]}
    if args.out:
        command = " ".join([".venv/bin/python", "bench/console_pages.py", *sys.argv[1:]])
        write_section(args.out, command, args, tables)


if __name__ == "__main__":
    main()
