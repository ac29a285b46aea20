"""`Client.iter_leads_updated` over 100,000 leads: ten date windows paged in parallel return
each lead exactly once, with the fields asked for, equal to a direct read of the database.

The leads are written straight into a fresh SQLite file by bench/build_db.py (the rows the
engine's sync writes, their update times spread over 330 days), then served by a real
`mktows serve`.
"""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support.server import INSTANCE, REPO_ROOT, running_server
from support.soap import TEST_KEY, TEST_USER

from mktows.client import Client, LeadRecord
from mktows.client.sync import _dedupe

SIZE = 100_000
FIELDS = ["FirstName", "City", "Bench_Score"]


def _build_db():  # the benchmark's builder, loaded from its file (bench/ is not a package)
    name = "bench_build_db"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "bench" / "build_db.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # its dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]


def _direct_read(path: Path) -> dict[int, dict[str, str]]:
    """id -> the chosen fields, read from the tables without the server."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        leads: dict[int, dict[str, str]] = {lead_id: {} for (lead_id,) in db.execute("SELECT id FROM leads")}
        marks = ",".join("?" * len(FIELDS))
        for lead_id, name, value in db.execute(
            f"SELECT lead_id, name, value FROM lead_values WHERE name IN ({marks}) AND value <> ''", FIELDS
        ):
            leads[lead_id][name] = value
        return leads
    finally:
        db.close()


def test_a_hundred_thousand_leads_exported_in_parallel_windows_each_once(tmp_path, mktows_start):
    build_db = _build_db()
    anchor = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    anchor_us = int(anchor.timestamp()) * 1_000_000
    path = tmp_path / "leads.db"
    build_db.build_sqlite(SIZE, path, anchor_us, lambda *_: None)
    expected = _direct_read(path)
    assert len(expected) == SIZE

    since = anchor - timedelta(days=build_db.SPAN_DAYS + 1)
    with running_server(mktows_start, f"sqlite:///{path}", tmp_path / "server", instance=INSTANCE) as server:
        with Client(server.endpoint("2_9"), TEST_USER, TEST_KEY) as client:
            started = time.monotonic()
            exported: dict[int, dict[str, str]] = {}
            for record in client.iter_leads_updated(since, fields=FIELDS, windows=10, concurrency=10, batch_size=200):
                assert record.id is not None and record.id not in exported, f"lead {record.id} came twice"
                exported[record.id] = record.attributes
            seconds = time.monotonic() - started
            calls = client.calls_sent
    assert len(exported) == SIZE
    assert exported == expected
    # 331 days in windows of at most 30 days: 12 windows, each paged 200 at a time
    assert SIZE // 200 <= calls <= SIZE // 200 + 12 * 2
    print(f"exported {SIZE:,} leads in {seconds:.1f} s over {calls} calls")


def test_a_lead_seen_in_two_windows_is_yielded_once():
    def pages():
        yield [LeadRecord(id=1, email="a@x"), LeadRecord(id=2, email="b@x")]
        yield [LeadRecord(id=2, email="b@x (updated meanwhile)"), LeadRecord(id=3, email="c@x")]

    assert [(r.id, r.email) for r in _dedupe(pages())] == [(1, "a@x"), (2, "b@x"), (3, "c@x")]
