"""`mktows backup`: a consistent copy of a live SQLite database, and the PostgreSQL way.

The live test keeps writer threads calling syncMultipleLeads on a real server while
`mktows backup` copies its database file. The copy must pass `PRAGMA integrity_check`, hold
every batch acknowledged before the backup began, hold each batch whole or not at all, and
hold, per writer, a prefix of what it sent (a snapshot of one moment). Served by a new
server (the restore), it answers getLead for the leads it holds.

For PostgreSQL the command refuses and prints the pg_dump and pg_restore commands; a test
runs exactly those commands (when pg_dump is installed) and serves the restored database.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from support.pg import backends, temporary_database
from support.server import INSTANCE, REPO_ROOT, Server, running_server
from support.soap import envelope, soap_action, success

BATCH = 50
WRITERS = 2
MARKER = "Batch_Marker"
BACKUP_INSTANCE = {
    "api_users": INSTANCE["api_users"][:1],
    "lead_fields": [{"name": MARKER, "display_name": "Batch Marker", "type": "string"}],
}


def mktows(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mktows", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )


def sync_batch(client: httpx.Client, srv: Server, name: str) -> None:
    records = "".join(
        f"<leadRecord><Email>{name}-{i:02d}@backup.example.com</Email><leadAttributeList>"
        f"<attribute><attrName>{MARKER}</attrName><attrValue>{name}</attrValue></attribute>"
        f"<attribute><attrName>FirstName</attrName><attrValue>B{i}</attrValue></attribute>"
        "</leadAttributeList></leadRecord>"
        for i in range(BATCH)
    )
    body = (
        f"<ns1:paramsSyncMultipleLeads><leadRecordList>{records}</leadRecordList>"
        "<dedupEnabled>true</dedupEnabled></ns1:paramsSyncMultipleLeads>"
    )
    resp = client.post(srv.endpoint("2_9"), content=envelope(body), headers=soap_action("syncMultipleLeads"))
    result = success(resp, "syncMultipleLeads")
    assert [s.findtext("status") for s in result.iter("syncStatus")] == ["CREATED"] * BATCH


class Writers:
    """Threads that each send numbered batches until stopped; `acked[w]` counts, in order."""

    def __init__(self, srv: Server, tag: str) -> None:
        self.srv, self.tag = srv, tag
        self.acked = [0] * WRITERS
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(w,), daemon=True) for w in range(WRITERS)]

    def name(self, writer: int, n: int) -> str:
        return f"{self.tag}w{writer}n{n:04d}"

    def __enter__(self) -> Writers:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)
        assert not self.errors, self.errors[0]

    def _run(self, writer: int) -> None:
        try:
            with httpx.Client(timeout=60) as client:
                while not self._stop.is_set():
                    sync_batch(client, self.srv, self.name(writer, self.acked[writer]))
                    self.acked[writer] += 1
        except BaseException as exc:  # reported by __exit__
            self.errors.append(exc)


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def get_lead(srv: Server, email: str) -> dict[str, str] | None:
    body = f"<ns1:paramsGetLead><leadKey><keyType>EMAIL</keyType><keyValue>{email}</keyValue></leadKey></ns1:paramsGetLead>"
    resp = httpx.post(srv.endpoint("2_9"), content=envelope(body), headers=soap_action("getLead"), timeout=30)
    if resp.status_code == 500 and b"<code>20103</code>" in resp.content:  # lead not found
        return None
    record = success(resp, "getLead").find("result/leadRecordList/leadRecord")
    return {a.findtext("attrName"): a.findtext("attrValue") for a in record.iter("attribute")}


def test_backup_of_a_live_database_is_a_consistent_snapshot(tmp_path, mktows_start):
    live, copy = tmp_path / "live.db", tmp_path / "copy.db"
    tag = uuid.uuid4().hex[:6]
    with running_server(mktows_start, f"sqlite:///{live}", tmp_path / "live", instance=BACKUP_INSTANCE) as srv:
        with Writers(srv, tag) as writers:
            wait_for(lambda: min(writers.acked) >= 10, 60, "the writers to get going")
            before = list(writers.acked)
            done = mktows("backup", "--db", f"sqlite:///{live}", str(copy))
            after = list(writers.acked)
            wait_for(lambda: min(writers.acked) >= after[0] + 3, 60, "writes after the backup")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"backup written: {copy}"), done.stdout
        assert not [p for p in tmp_path.iterdir() if ".partial" in p.name], "a partial file was left behind"

    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",), "the copy is one self-contained file"
        rows = conn.execute(
            "SELECT v.value, count(*) FROM lead_values v JOIN leads l ON l.id = v.lead_id "
            "WHERE v.name = ? GROUP BY v.value",
            (MARKER,),
        ).fetchall()
    finally:
        conn.close()
    held = dict(rows)
    assert set(held.values()) == {BATCH}, f"half batches in the copy: {[b for b, n in held.items() if n != BATCH]}"
    for w in range(WRITERS):
        mine = sorted(b for b in held if b.startswith(f"{tag}w{w}n"))
        count = len(mine)
        assert mine == [writers.name(w, n) for n in range(count)], f"writer {w}: the copy is not a prefix"
        assert before[w] <= count <= after[w] + 1, f"writer {w}: {count} batches, acknowledged {before[w]}..{after[w]}"

    # the restore: a server on the copy answers for what the copy holds, and only that
    with running_server(mktows_start, f"sqlite:///{copy}", tmp_path / "restored", instance=BACKUP_INSTANCE) as restored:
        last = writers.name(0, before[0] - 1)
        assert get_lead(restored, f"{last}-49@backup.example.com") == {MARKER: last, "FirstName": "B49"}
        missing = writers.name(0, writers.acked[0] - 1)
        assert missing not in held and get_lead(restored, f"{missing}-00@backup.example.com") is None


def test_backup_refuses_what_it_cannot_copy(tmp_path):
    target = tmp_path / "copy.db"
    absent = mktows("backup", "--db", f"sqlite:///{tmp_path / 'none.db'}", str(target))
    assert absent.returncode == 2 and absent.stderr == f"error: no database file at {tmp_path / 'none.db'}\n"
    assert not (tmp_path / "none.db").exists() and not target.exists(), "nothing may be created"
    source = tmp_path / "source.db"
    sqlite3.connect(source).close()
    target.write_bytes(b"keep me")
    taken = mktows("backup", "--db", f"sqlite:///{source}", str(target))
    assert taken.returncode == 2 and "exists" in taken.stderr and target.read_bytes() == b"keep me"
    memory = mktows("backup", "--db", "sqlite:///:memory:", str(tmp_path / "m.db"))
    assert memory.returncode == 2 and "in-memory" in memory.stderr


def pg_commands(db_url: str, out: Path) -> tuple[list[str], list[str]]:
    """The pg_dump and pg_restore commands `mktows backup` prints for a PostgreSQL URL."""
    told = mktows("backup", "--db", db_url, str(out))
    assert told.returncode == 2 and not told.stdout, told
    [line] = told.stderr.splitlines()
    dump = re.search(r"(pg_dump [^(]+?)\s+\(", line)
    restore = re.search(r"(pg_restore .+?)\)$", line)
    assert dump and restore, line
    return shlex.split(dump.group(1)), shlex.split(restore.group(1))


@pytest.mark.skipif("postgresql" not in backends(), reason="PostgreSQL is not among MKTOWS_TEST_BACKENDS")
@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
def test_postgresql_backup_with_the_printed_commands_restores(tmp_path, mktows_start):
    out = tmp_path / "mktows.dump"
    tag = uuid.uuid4().hex[:6]
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(temporary_database("mktows_bk"))
        with running_server(mktows_start, source, tmp_path / "source", instance=BACKUP_INSTANCE) as srv:
            with httpx.Client(timeout=60) as client:
                for n in range(3):
                    sync_batch(client, srv, f"{tag}n{n}")
            dump, restore = pg_commands(source, out)
            assert dump[:2] == ["pg_dump", "--format=custom"]
            ran = subprocess.run(dump, capture_output=True, text=True, timeout=120)
            assert ran.returncode == 0, ran.stderr
        target = stack.enter_context(temporary_database("mktows_rs"))
        restore = [target if arg == "<new database URL>" else arg for arg in restore]
        ran = subprocess.run(restore, capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, ran.stderr
        with running_server(mktows_start, target, tmp_path / "restored", instance=BACKUP_INSTANCE) as restored:
            assert get_lead(restored, f"{tag}n2-07@backup.example.com") == {MARKER: f"{tag}n2", "FirstName": "B7"}
