"""How quickly the test double (mktows.testing) gives a fresh server, against a lower bound.

    .venv/bin/python bench/test_double_start.py [--starts 50] [--slow-starts 10] [--out docs/benchmarks.md]

One start is what the `mktows_server` fixture does for a test: a fresh database, the default
instance file (one API user) applied, the app created, uvicorn listening on a free port of
127.0.0.1 in a thread; then the first answer: a signed getLead over HTTP (a new connection,
the client built inside the measured time) answered with its fault 20103 (no such lead). The
figure is the time from the start to that answer; the server is stopped after the clock stops.

Fast mode (the plugin's default) copies a migrated template database; slow mode runs the
migrations for each start, as `mktows serve` does on a new database. A process start
(`process=True`) runs `mktows serve` as a subprocess on a copy of the template file: the
interpreter's start and mktows's imports are most of it.

The lower bound: bare sqlite3 creating the same schema from its DDL (every CREATE statement of
the migrated database) in a new in-memory database, plus one lxml parse of the 2_9 WSDL. The
ratio is the fast median over the bound's median.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from pathlib import Path

import httpx
from lxml import etree
from soapbench import replace_section

from mktows.client import MarketoFault
from mktows.store.database import MEMORY_URL, Database
from mktows.testing.double import start_server, template_image

SECTION = "## A fresh test double (`bench/test_double_start.py`)"


def one_start(fast: bool, process: bool = False) -> float:
    started = time.perf_counter()
    with start_server(fast=fast, process=process) as mkto:
        with mkto.client(retries=0) as client:
            try:
                client.get_lead(lead_key=("EMAIL", "nobody@example.com"))
            except MarketoFault as fault:
                assert fault.code == 20103, fault
        elapsed = time.perf_counter() - started
    return elapsed * 1000


def schema_ddl() -> list[str]:
    database = Database(MEMORY_URL)
    try:
        database.load_image(template_image())
        with database.read() as conn:
            rows = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
            ).all()
    finally:
        database.dispose()
    return [r[0] for r in rows]


def one_bound(ddl: list[str], wsdl: bytes) -> float:
    started = time.perf_counter()
    conn = sqlite3.connect(":memory:")
    for statement in ddl:
        conn.execute(statement)
    conn.commit()
    etree.fromstring(wsdl)
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed * 1000


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--starts", type=int, default=50, help="fast starts measured")
    parser.add_argument("--slow-starts", type=int, default=10, help="starts with the migrations measured")
    parser.add_argument("--process-starts", type=int, default=5, help="starts in a process of their own measured")
    parser.add_argument("--out", type=Path, help="write the section of docs/benchmarks.md")
    args = parser.parse_args()

    one_start(True)  # warm up: imports, the template, the WSDL types
    with start_server() as mkto:
        wsdl = httpx.get(mkto.wsdl_url).content
    ddl = schema_ddl()
    fast = [one_start(True) for _ in range(args.starts)]
    slow = [one_start(False) for _ in range(args.slow_starts)]
    in_process = [one_start(True, process=True) for _ in range(args.process_starts)]
    bound = [one_bound(ddl, wsdl) for _ in range(args.starts)]
    fast_med, fast_p95 = summary(fast)
    slow_med, slow_p95 = summary(slow)
    proc_med, proc_p95 = summary(in_process)
    bound_med, bound_p95 = summary(bound)
    rows = [
        ("fast (template copy, the plugin's default)", len(fast), fast_med, fast_p95),
        ("slow (migrations on every start)", len(slow), slow_med, slow_p95),
        ("a process of its own (`process=True`, template copy)", len(in_process), proc_med, proc_p95),
        (
            f"bound: sqlite3 runs the {len(ddl)} CREATE statements + one lxml parse of the WSDL",
            len(bound),
            bound_med,
            bound_p95,
        ),
    ]
    for name, n, med, p95 in rows:
        print(f"{name}: n={n} median {med:.1f} ms, p95 {p95:.1f} ms")
    print(f"ratio fast/bound: {fast_med / bound_med:.1f}x")
    if args.out:
        command = " ".join([".venv/bin/python", "bench/test_double_start.py", *sys.argv[1:]])
        table = "\n".join(f"| {name} | {n} | {med:.1f} | {p95:.1f} |" for name, n, med, p95 in rows)
        body = (
            f"{SECTION}\n\n"
            "From the start of a fresh server (what the `mktows_server` fixture does for each test:\n"
            "fresh database, default instance file applied, uvicorn listening in a thread) to its\n"
            "first answer, a signed getLead from a new client over HTTP. A process of its own is\n"
            "`process=True`: `mktows serve` started as a subprocess, most of its time the interpreter's\n"
            "start and the imports. See [testing.md](testing.md).\n\n"
            f"```sh\n{command}\n```\n\n"
            "| start | n | median ms | p95 ms |\n| --- | --- | --- | --- |\n"
            f"{table}\n\n"
            f"Fast mode over the bound: **{fast_med / bound_med:.1f}x** (median over median); slow mode is"
            f" {slow_med / fast_med:.1f}x fast mode. Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}.\n"
        )
        replace_section(args.out, SECTION, body)


if __name__ == "__main__":
    main()
