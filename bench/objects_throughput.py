"""Throughput of the object calls against a real `mktows serve`: syncMObjects + getMObjects
on opportunities, syncCustomObjects + getCustomObjects on a custom object.

    .venv/bin/python bench/objects_throughput.py [--objects 5000] [--db sqlite|postgresql://...]

Writes go 100 objects per call (the API's limit) and reads 100 per page (the page size), over
one keep-alive connection. The lower bound in the same run: bare sqlite3 + bare lxml parsing
the same request bodies, writing the same rows, and paging them back as XML by id.
Bounded: one client, a fixed number of calls.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

import httpx
from lxml import etree
from soapbench import TNS, bench_user_yaml, database_url, envelope, post, start_server, stop_server

BATCH = 100
LEADS = 50
INSTANCE = (
    bench_user_yaml()
    + """
custom_objects:
  - name: Visit
    fields:
      - {name: MKTOID, type: integer, link: Id, dedupe: true}
      - {name: vid, type: string, dedupe: true}
      - {name: city, type: string}
      - {name: attendees, type: integer}
"""
)


def _attribs(
    pairs: dict[str, str], wrapper: str = "attribList", item: str = "attrib", name: str = "name", value: str = "value"
) -> str:
    inner = "".join(f"<{item}><{name}>{k}</{name}><{value}>{escape(v)}</{value}></{item}>" for k, v in pairs.items())
    return f"<{wrapper}>{inner}</{wrapper}>"


def opportunity_bodies(count: int, run: str) -> Iterator[str]:
    for start in range(0, count, BATCH):
        objects = "".join(
            "<mObject><type>Opportunity</type>"
            + _attribs({"Name": f"Deal {run} {i}", "Stage": "Prospecting", "Amount": f"{1000 + i}.50"})
            + "</mObject>"
            for i in range(start, min(start + BATCH, count))
        )
        yield f"<m:paramsSyncMObjects><mObjectList>{objects}</mObjectList><operation>INSERT</operation></m:paramsSyncMObjects>"


def custom_bodies(count: int, lead_ids: list[str]) -> Iterator[str]:
    for start in range(0, count, BATCH):
        records = "".join(
            "<customObj>"
            + _attribs(
                {"MKTOID": lead_ids[i % len(lead_ids)], "vid": f"v{i}"},
                "customObjKeyList",
                "attribute",
                "attrName",
                "attrValue",
            )
            + _attribs(
                {"city": f"City {i % 40}", "attendees": str(i % 90)},
                "customObjAttributeList",
                "attribute",
                "attrName",
                "attrValue",
            )
            + "</customObj>"
            for i in range(start, min(start + BATCH, count))
        )
        yield (
            f"<m:paramsSyncCustomObjects><objTypeName>Visit</objTypeName><customObjList>{records}"
            "</customObjList><operation>UPSERT</operation></m:paramsSyncCustomObjects>"
        )


def _result(reply: bytes, operation: str) -> etree._Element:
    return etree.fromstring(reply).find(f".//{{{TNS}}}success{operation}/result")


def _timed_writes(client: httpx.Client, url: str, bodies: Iterator[str], operation: str) -> float:
    """Seconds to send every body; each object must come back CREATED."""
    began = time.perf_counter()
    for body in bodies:
        statuses = _result(post(client, url, body), operation).iter("status")
        assert all(s.text == "CREATED" for s in statuses)
    return time.perf_counter() - began


def _timed_paging(client: httpx.Client, url: str, operation: str, template: str, expected: int) -> float:
    """Seconds to read every page of a query (`{position}` in `template` takes the position)."""
    began, position, seen = time.perf_counter(), "", 0
    while True:
        pos = f"<streamPosition>{escape(position)}</streamPosition>" if position else ""
        result = _result(post(client, url, template.format(position=pos)), operation)
        seen += int(result.findtext("returnCount"))
        remaining = result.findtext("remainingCount")
        if (result.findtext("hasMore") != "true") if remaining is None else int(remaining) == 0:
            break
        position = result.findtext("newStreamPosition")
    assert seen == expected, f"{operation} paged {seen} objects, expected {expected}"
    return time.perf_counter() - began


def run_server(args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    proc, url = start_server(database_url(args.db, workdir), workdir, INSTANCE)
    try:
        return measure_server(url, args.objects)
    finally:
        stop_server(proc)


def measure_server(url: str, objects: int) -> dict[str, float]:
    """Seconds per operation for `objects` objects of each kind against a running server whose
    instance file is INSTANCE (run_all.py calls this on its built databases)."""
    timings: dict[str, float] = {}
    with httpx.Client(timeout=300) as client:
        run = str(int(time.time()))
        records = "".join(f"<leadRecord><Email>visit-{run}-{i}@example.com</Email></leadRecord>" for i in range(LEADS))
        reply = post(
            client,
            url,
            f"<m:paramsSyncMultipleLeads><leadRecordList>{records}</leadRecordList></m:paramsSyncMultipleLeads>",
        )
        lead_ids = [el.text for el in etree.fromstring(reply).iter("leadId")]

        timings["syncMObjects"] = _timed_writes(client, url, opportunity_bodies(objects, run), "SyncMObjects")
        timings["getMObjects"] = _timed_paging(
            client,
            url,
            "GetMObjects",
            "<m:paramsGetMObjects><type>Opportunity</type>{position}</m:paramsGetMObjects>",
            objects,
        )
        timings["syncCustomObjects"] = _timed_writes(client, url, custom_bodies(objects, lead_ids), "SyncCustomObjects")
        timings["getCustomObjects"] = _timed_paging(
            client,
            url,
            "GetCustomObjects",
            "<m:paramsGetCustomObjects><objTypeName>Visit</objTypeName>{position}<batchSize>100</batchSize>"
            "<includeAttributes/></m:paramsGetCustomObjects>",
            objects,
        )
    return timings


def run_bare(args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    """Lower bound: the same request bodies parsed with lxml into plain SQLite rows, read back
    100 at a time by id and rendered as XML."""
    db = sqlite3.connect(workdir / "bare.db", isolation_level=None)
    db.executescript(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
        "CREATE TABLE obj(id INTEGER PRIMARY KEY, kind TEXT, k TEXT, attrs TEXT, UNIQUE(kind, k));"
    )
    lead_ids = [str(i + 1) for i in range(LEADS)]
    timings: dict[str, float] = {}
    for label, kind, bodies, item in (
        ("syncMObjects", "opp", list(opportunity_bodies(args.objects, "bare")), "attrib"),
        ("syncCustomObjects", "visit", list(custom_bodies(args.objects, lead_ids)), "attribute"),
    ):
        envelopes = [envelope(b) for b in bodies]
        began = time.perf_counter()
        for raw in envelopes:
            root = etree.fromstring(raw)
            db.execute("BEGIN")
            for obj in root.iter("mObject", "customObj"):
                pairs = [(a[0].text, a[1].text) for a in obj.iter(item)]
                key = json.dumps(pairs[:2]) if kind == "visit" else None
                if key is not None:
                    db.execute("SELECT id FROM obj WHERE kind = ? AND k = ?", (kind, key)).fetchone()
                db.execute("INSERT INTO obj(kind, k, attrs) VALUES (?, ?, ?)", (kind, key, json.dumps(pairs)))
            db.execute("COMMIT")
        timings[label] = time.perf_counter() - began
    for label, kind in (("getMObjects", "opp"), ("getCustomObjects", "visit")):
        began, last = time.perf_counter(), 0
        while True:
            page = db.execute(
                "SELECT id, attrs FROM obj WHERE kind = ? AND id > ? ORDER BY id LIMIT ?", (kind, last, BATCH)
            ).fetchall()
            if not page:
                break
            root = etree.Element("list")
            for object_id, attrs in page:
                node = etree.SubElement(root, "item")
                etree.SubElement(node, "id").text = str(object_id)
                for name, value in json.loads(attrs):
                    pair = etree.SubElement(node, "attrib")
                    etree.SubElement(pair, "name").text = name
                    etree.SubElement(pair, "value").text = value
            etree.tostring(root)
            last = page[-1][0]
        timings[label] = time.perf_counter() - began
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--db", default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = run_server(args, Path(tmp))
        bare = run_bare(args, Path(tmp))
    print(f"backend: {args.db}; {args.objects} objects of each kind, 100 per call / page")
    for label in ("syncMObjects", "getMObjects", "syncCustomObjects", "getCustomObjects"):
        print(
            f"{label:18}: {args.objects / server[label]:8.0f} objects/s ({server[label]:.2f} s); "
            f"bare sqlite3+lxml {args.objects / bare[label]:8.0f} objects/s; "
            f"ratio {server[label] / bare[label]:.1f}x"
        )


if __name__ == "__main__":
    main()
