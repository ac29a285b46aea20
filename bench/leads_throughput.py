"""Throughput of syncMultipleLeads and getMultipleLeads against a real `mktows serve`.

    .venv/bin/python bench/leads_throughput.py [--leads 10000] [--batch 300] [--page 1000]
                                                [--db sqlite|postgresql://...]

Sends raw SOAP over one keep-alive HTTP connection (the server's cost, not a client
library's), then does the same work with bare sqlite3 + bare lxml on the same rows as a
lower bound, and prints both with their ratio. Bounded: one client, a fixed number of calls.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import httpx
from lxml import etree
from soapbench import TNS, bench_user_yaml, database_url, envelope, start_server, stop_server

INSTANCE = bench_user_yaml() + "lead_fields:\n  - {name: Bench_Note, display_name: Bench Note, type: string}\n"


def lead_rows(count: int, run: str) -> list[dict[str, str]]:
    return [
        {
            "Email": f"bench-{run}-{i}@example.com",
            "FirstName": f"First{i}",
            "LastName": f"Last{i}",
            "Company": f"Company {i % 97}",
            "Bench_Note": f"note {i}",
        }
        for i in range(count)
    ]


def sync_body(rows: list[dict[str, str]]) -> str:
    records = "".join(
        f"<leadRecord><Email>{escape(r['Email'])}</Email><leadAttributeList>"
        + "".join(
            f"<attribute><attrName>{k}</attrName><attrValue>{escape(v)}</attrValue></attribute>"
            for k, v in r.items()
            if k != "Email"
        )
        + "</leadAttributeList></leadRecord>"
        for r in rows
    )
    return f"<m:paramsSyncMultipleLeads><leadRecordList>{records}</leadRecordList></m:paramsSyncMultipleLeads>"


def page_body(oldest: datetime, size: int, position: str) -> str:
    pos = f"<streamPosition>{escape(position)}</streamPosition>" if position else ""
    return (
        '<m:paramsGetMultipleLeads><leadSelector xsi:type="m:LastUpdateAtSelector">'
        f"<oldestUpdatedAt>{oldest.isoformat()}</oldestUpdatedAt></leadSelector>{pos}"
        f"<batchSize>{size}</batchSize><includeAttributes><stringItem>FirstName</stringItem>"
        "<stringItem>Bench_Note</stringItem></includeAttributes></m:paramsGetMultipleLeads>"
    )


def run_server(args: argparse.Namespace, workdir: Path) -> tuple[float, float, int]:
    proc, url = start_server(database_url(args.db, workdir), workdir, INSTANCE)
    try:
        rows = lead_rows(args.leads, str(int(time.time())))
        start_mark = datetime.now(UTC) - timedelta(seconds=1)
        with httpx.Client(timeout=300, headers={"Content-Type": "text/xml; charset=UTF-8"}) as client:
            began = time.perf_counter()
            for i in range(0, len(rows), args.batch):
                reply = client.post(url, content=envelope(sync_body(rows[i : i + args.batch])))
                assert reply.status_code == 200, reply.text[:500]
            sync_seconds = time.perf_counter() - began
            began, position, seen = time.perf_counter(), "", 0
            while True:
                reply = client.post(url, content=envelope(page_body(start_mark, args.page, position)))
                assert reply.status_code == 200, reply.text[:500]
                result = etree.fromstring(reply.content).find(f".//{{{TNS}}}successGetMultipleLeads/result")
                seen += int(result.findtext("returnCount"))
                if int(result.findtext("remainingCount")) == 0:
                    break
                position = result.findtext("newStreamPosition")
            page_seconds = time.perf_counter() - began
        return sync_seconds, page_seconds, seen
    finally:
        stop_server(proc)


def run_bare(args: argparse.Namespace, workdir: Path) -> tuple[float, float]:
    """Lower bound: parse the same bodies with lxml, write them to SQLite, read pages back as XML."""
    rows = lead_rows(args.leads, "bare")
    bodies = [envelope(sync_body(rows[i : i + args.batch])) for i in range(0, len(rows), args.batch)]
    db = sqlite3.connect(workdir / "bare.db", isolation_level=None)
    db.executescript(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
        "CREATE TABLE lead(id INTEGER PRIMARY KEY, email TEXT, updated REAL);"
        "CREATE INDEX lead_email ON lead(email); CREATE INDEX lead_upd ON lead(updated, id);"
        "CREATE TABLE val(lead INTEGER, name TEXT, value TEXT, PRIMARY KEY(lead, name));"
    )
    began = time.perf_counter()
    for body in bodies:
        records = etree.fromstring(body).iter("leadRecord")
        db.execute("BEGIN")
        for record in records:
            email = record.findtext("Email")
            db.execute("SELECT id FROM lead WHERE email = ?", (email,)).fetchone()
            lead_id = db.execute("INSERT INTO lead(email, updated) VALUES (?, ?)", (email, time.time())).lastrowid
            db.executemany(
                "INSERT INTO val VALUES (?, ?, ?)",
                [(lead_id, a.findtext("attrName"), a.findtext("attrValue")) for a in record.iter("attribute")],
            )
        db.execute("COMMIT")
    sync_seconds = time.perf_counter() - began
    began, last = time.perf_counter(), (0.0, 0)
    while True:
        page = db.execute(
            "SELECT id, email, updated FROM lead WHERE (updated, id) > (?, ?) ORDER BY updated, id LIMIT ?",
            (*last, args.page),
        ).fetchall()
        if not page:
            break
        values = db.execute(
            f"SELECT lead, name, value FROM val WHERE lead IN ({','.join('?' * len(page))}) "
            "AND name IN ('FirstName', 'Bench_Note')",
            [p[0] for p in page],
        ).fetchall()
        root = etree.Element("leadRecordList")
        by_lead: dict[int, list[tuple[str, str]]] = {}
        for lead, name, value in values:
            by_lead.setdefault(lead, []).append((name, value))
        for lead_id, email, _ in page:
            record = etree.SubElement(root, "leadRecord")
            etree.SubElement(record, "Id").text = str(lead_id)
            etree.SubElement(record, "Email").text = email
            attributes = etree.SubElement(record, "leadAttributeList")
            for name, value in by_lead.get(lead_id, []):
                attribute = etree.SubElement(attributes, "attribute")
                etree.SubElement(attribute, "attrName").text = name
                etree.SubElement(attribute, "attrValue").text = value
        etree.tostring(root)
        last = (page[-1][2], page[-1][0])
    return sync_seconds, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=300)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--db", default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sync_s, page_s, seen = run_server(args, Path(tmp))
        bare_sync_s, bare_page_s = run_bare(args, Path(tmp))
    assert seen == args.leads, f"paged {seen} leads, expected {args.leads}"
    print(
        f"backend: {args.db}; {args.leads} leads, syncMultipleLeads batches of {args.batch}, "
        f"getMultipleLeads pages of {args.page}"
    )
    print(
        f"syncMultipleLeads: {args.leads / sync_s:8.0f} leads/s ({sync_s:.2f} s); "
        f"bare sqlite3+lxml {args.leads / bare_sync_s:8.0f} leads/s; ratio {sync_s / bare_sync_s:.1f}x"
    )
    print(
        f"getMultipleLeads : {args.leads / page_s:8.0f} leads/s ({page_s:.2f} s); "
        f"bare sqlite3+lxml {args.leads / bare_page_s:8.0f} leads/s; ratio {page_s / bare_page_s:.1f}x"
    )


if __name__ == "__main__":
    main()
