"""The request log (`MKTOWS_REQUEST_LOG=1`): each SOAP call's request, its signature redacted,
and its response, under the request id of the call's log line; pruned by age and size;
searched and shown in the console and by `mktows requests`; and sent again, signed anew."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from support.clients import make_zeep_client
from support.console import ADMIN, PASSWORD, csrf_of, signed_in
from support.inprocess import InProcessServer, in_process_server
from support.server import REPO_ROOT, Server, running_server
from support.soap import TEST_USER, auth_header_xml, call, envelope, post, soap_action

from mktows.runtime import request_log
from mktows.runtime.request_log import RequestLog, redact
from mktows.store.database import Database

LIST_MOBJECTS = "<ns1:paramsListMObjects/>"


def test_redact_replaces_every_signature_text() -> None:
    body = b"<a><ns1:requestSignature>abc123</ns1:requestSignature><requestSignature x='1'>def</requestSignature>"
    assert redact(body) == (
        b"<a><ns1:requestSignature>REDACTED</ns1:requestSignature><requestSignature x='1'>REDACTED</requestSignature>"
    )
    assert redact(b"<h><requestSignature>cut-he") == b"<h><requestSignature>REDACTED"


@pytest.fixture(scope="module")
def srv(tmp_path_factory) -> Iterator[InProcessServer]:
    env = {"MKTOWS_WORKERS": "0", "MKTOWS_REQUEST_LOG": "1", "MKTOWS_REQUEST_LOG_MAX_BODY_KB": "4"}
    with in_process_server(tmp_path_factory.mktemp("request-log"), env=env) as server:
        server.engine.add_console_user(ADMIN, PASSWORD)
        yield server


def _flushed(srv: InProcessServer) -> RequestLog:
    log = srv.app.state.request_log
    log.flush()
    return log


def test_a_call_is_logged_with_its_signature_redacted(srv: InProcessServer) -> None:
    header = auth_header_xml()
    signature = header.split("<requestSignature>")[1].split("<")[0]
    resp = call(srv.endpoint("2_9"), LIST_MOBJECTS, header_xml=header)
    assert resp.status_code == 200
    request_id = resp.headers["x-request-id"]
    _flushed(srv)
    entry = request_log.get_entry(srv.engine.db, request_id=request_id)
    assert entry is not None
    assert (entry.operation, entry.user_id, entry.version, entry.status, entry.fault_code) == (
        "listMObjects",
        TEST_USER,
        "2_9",
        200,
        0,
    )
    assert signature.encode() not in entry.request_body
    assert b"<requestSignature>REDACTED</requestSignature>" in entry.request_body
    assert entry.response_body == resp.content and entry.duration_ms >= 0


def test_a_fault_and_a_large_body_are_logged(srv: InProcessServer) -> None:
    bad = call(srv.endpoint("2_9"), LIST_MOBJECTS, header_xml=auth_header_xml(key="wrong-key"))
    assert bad.status_code == 500
    padding = "<!--" + "x" * 10_000 + "-->"
    big = post(srv.endpoint("2_9"), envelope(LIST_MOBJECTS + padding, auth_header_xml()), soap_action("listMObjects"))
    _flushed(srv)
    faulted = request_log.get_entry(srv.engine.db, request_id=bad.headers["x-request-id"])
    assert faulted is not None and faulted.fault_code == 20014 and faulted.status == 500
    cut = request_log.get_entry(srv.engine.db, request_id=big.headers["x-request-id"])
    assert cut is not None and cut.request_cut and 4000 < len(cut.request_body) <= 4096 and cut.request_size > 10_000
    [found] = request_log.list_entries(srv.engine.db, fault_code=20014, user_id=TEST_USER, limit=5)[:1]
    assert found.request_id == bad.headers["x-request-id"]


def test_console_lists_searches_shows_and_resends(srv: InProcessServer) -> None:
    resp = call(srv.endpoint("2_9"), LIST_MOBJECTS)
    request_id = resp.headers["x-request-id"]
    _flushed(srv)
    browser = signed_in(srv)
    page = browser.get("/console/requests")
    assert page.status_code == 200 and request_id in page.text and ">Requests</a>" in page.text
    assert re.search(r"Bodies kept: [0-9.]+ (Bytes|KiB), at most 100\.0 MiB and 7 days", page.text), page.text
    searched = browser.get("/console/requests", params={"request_id": request_id})
    assert searched.text.count("/console/requests/") >= 1 and request_id in searched.text
    assert request_id not in browser.get("/console/requests", params={"fault": "20014"}).text
    assert "listMObjects" in browser.get("/console/requests", params={"operation": "listMObjects"}).text
    [entry] = request_log.list_entries(srv.engine.db, request_id=request_id)
    shown = browser.get(f"/console/requests/{entry.id}")
    assert shown.status_code == 200 and "REDACTED" in shown.text and "successListMObjects" in shown.text
    refused = browser.post(f"/console/requests/{entry.id}/resend", data={"csrf": "wrong"})
    assert refused.status_code == 403
    again = browser.post(f"/console/requests/{entry.id}/resend", data={"csrf": csrf_of(shown)})
    assert again.status_code == 200 and "Sent again: HTTP 200" in again.text, again.text[:3000]
    assert browser.get("/console/requests/999999").status_code == 404


def test_paging_is_newest_first(srv: InProcessServer) -> None:
    for _ in range(3):
        call(srv.endpoint("2_9"), LIST_MOBJECTS)
    _flushed(srv)
    first = request_log.list_entries(srv.engine.db, limit=2)
    after = request_log.list_entries(srv.engine.db, before_id=first[-1].id, limit=2)
    ids = [e.id for e in first + after]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4


def test_pruning_keeps_both_bounds(tmp_path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'p.db'}", create=True)
    database.migrate()
    log = RequestLog(database, max_bytes=100_000, max_days=7, max_body_bytes=100_000)
    kw = {"version": "2_9", "operation": "getLead", "user_id": "u", "client": None, "status": 200, "fault_code": 0}
    for n in range(10):
        log.add(request_id=f"r{n}", seconds=0.01, request_body=b"q" * 1000, response_body=b"a" * 1000, **kw)
    log.flush()
    assert request_log.kept_bytes(database) == _summed(database) == 20_000
    with database.write() as conn:  # one entry in the middle is made 8 days old
        conn.execute(
            request_log.request_log.update()
            .where(request_log.request_log.c.request_id == "r5")
            .values(at=datetime.now(UTC) - timedelta(days=8))
        )
    request_log.prune(database, max_bytes=10_000, max_days=7)  # r5 by age, then the oldest by size
    kept = [e.request_id for e in request_log.list_entries(database, limit=50)]
    assert kept == ["r9", "r8", "r7", "r6", "r4"]
    assert request_log.kept_bytes(database) == _summed(database) == 10_000
    # an emptied log (the emulator's reset) starts its total again from what it holds
    with database.write() as conn:
        conn.execute(request_log.request_log_total.delete())
    log.add(request_id="r10", seconds=0.01, request_body=b"q" * 10, response_body=b"a" * 10, **kw)
    log.flush()
    assert request_log.kept_bytes(database) == _summed(database) == 10_020
    log.stop()
    database.dispose()


def _summed(database: Database) -> int:
    return sum(e.request_size + e.response_size for e in request_log.list_entries(database, limit=50))


def _mktows(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mktows", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def real(tmp_path_factory, mktows_session_start) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("request-log-server")
    env = {"MKTOWS_REQUEST_LOG": "1", "MKTOWS_LOG_FORMAT": "json"}
    with running_server(mktows_session_start, f"sqlite:///{workdir / 'mktows.db'}", workdir, env=env) as server:
        yield server


def _entry_when_written(db_url: str, request_id: str) -> request_log.Entry:
    database = Database(db_url)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            entry = request_log.get_entry(database, request_id=request_id)
            if entry is not None:
                return entry
            time.sleep(0.2)
    finally:
        database.dispose()
    raise AssertionError(f"request {request_id} never reached the log")


def test_a_real_server_logs_zeep_and_raw_calls_under_the_log_lines_id(real: Server) -> None:
    client = make_zeep_client(real.endpoint("2_9"))
    client.service.listMObjects()
    raw = call(real.endpoint("2_9"), LIST_MOBJECTS)
    raw_id = raw.headers["x-request-id"]
    entry = _entry_when_written(real.db_url, raw_id)
    assert entry.response_body == raw.content
    lines = [json.loads(line) for line in real.output().splitlines() if line.startswith("{")]
    calls = [line for line in lines if line.get("message") == "call" and line.get("operation") == "listMObjects"]
    assert raw_id in {line.get("request_id") for line in calls}
    zeep_ids = [line["request_id"] for line in calls if line["request_id"] != raw_id]
    assert zeep_ids, calls
    zeep_entry = _entry_when_written(real.db_url, zeep_ids[0])
    assert b"REDACTED" in zeep_entry.request_body and b"<requestSignature>" in zeep_entry.request_body
    assert re.search(rb"requestSignature>[0-9a-f]{40}<", zeep_entry.request_body) is None

    listed = _mktows("requests", "list", "--operation", "listMObjects", "--json", "--db", real.db_url)
    assert listed.returncode == 0, listed.stderr
    assert raw_id in {row["request_id"] for row in json.loads(listed.stdout)}
    shown = _mktows("requests", "show", raw_id, "--db", real.db_url)
    assert shown.returncode == 0 and "Operation: listMObjects" in shown.stdout and "REDACTED" in shown.stdout
    resent = _mktows("requests", "resend", raw_id, "--endpoint", real.base_url, "--db", real.db_url)
    assert resent.returncode == 0, resent.stderr
    assert "Status: 200" in resent.stdout and "successListMObjects" in resent.stdout
    new_id = resent.stdout.split("Request-Id: ")[1].split()[0]
    assert new_id != raw_id and _entry_when_written(real.db_url, new_id).status == 200
    missing = _mktows("requests", "show", "no-such-id", "--db", real.db_url)
    assert missing.returncode == 2 and "no request no-such-id" in missing.stderr
