"""What an operator sees of the server: one log line per call with its request id, the reason
behind an authentication fault, Prometheus metrics, health and readiness, HEAD, and the
slowing-down of a source address that keeps failing authentication.

Mostly on the app in process (apps of their own, so the counters and the throttle start from
this module's calls); the JSON lines on stderr and a dropped PostgreSQL database on real
`mktows serve` processes.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from support.inprocess import InProcessServer, in_process_server
from support.pg import backends, temporary_database
from support.server import running_server
from support.smtp import outbox_message, smtp_sink
from support.soap import (
    DEFAULT_HEADERS,
    TEST_KEY,
    TEST_USER,
    assert_fault,
    auth_header_xml,
    call,
    envelope,
    now_timestamp,
    post,
    sign,
    success,
)

from mktows.delivery import deliver
from mktows.engine.campaigns.outbox import queue_email
from mktows.observe.logs import JsonFormatter
from mktows.observe.metrics import REGISTRY
from mktows.runtime import jobs
from mktows.soap.auth import REASONS, FailureThrottle
from mktows.workers import Workers

LIST_MOBJECTS = "<ns1:paramsListMObjects/>"
NO_WORKERS = {"MKTOWS_WORKERS": "0"}


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[InProcessServer]:
    """An app of this module's own: its throttle and table counts see only these tests."""
    with in_process_server(tmp_path_factory.mktemp("observe"), env=NO_WORKERS) as server:
        yield server


class LogLines:
    """The JSON lines mktows' loggers write while a test runs (the formatter `serve` uses)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def entries(self, logger: str | None = None) -> list[dict[str, Any]]:
        found = [json.loads(line) for line in self.lines]
        return [e for e in found if logger is None or e["logger"] == logger]

    def calls(self) -> list[dict[str, Any]]:
        return self.entries("mktows.call")


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    captured = LogLines()

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            captured.lines.append(self.format(record))

    handler = Handler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("mktows")
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield captured
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def metric_samples(server: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = http(server, "GET", "/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == CONTENT_TYPE_LATEST
    samples = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def sample(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def http(server: Any, method: str, path: str, **kw: Any) -> httpx.Response:
    """A plain HTTP request to an app in process or a real server."""
    url = server.base_url + path
    if isinstance(server, InProcessServer):
        return server.request(method, url, **kw)
    return httpx.request(method, url, timeout=30, **kw)


def wrong_key_header() -> str:
    ts = now_timestamp()
    return auth_header_xml(timestamp=ts, signature=sign(ts, TEST_USER, "not-the-key-42"))


# --------------------------------------------------------------------------- the log line per call


def test_a_call_logs_one_line_with_the_id_it_answers_with(app, log_lines):
    resp = post(app.endpoint("2_9"), envelope(LIST_MOBJECTS), {**DEFAULT_HEADERS, "X-Request-Id": "trace-7.a:b"})
    success(resp, "listMObjects")
    assert resp.headers["x-request-id"] == "trace-7.a:b"
    [line] = log_lines.calls()
    assert line["request_id"] == "trace-7.a:b"
    assert line["level"] == "info"
    assert line["version"] == "2_9"
    assert line["operation"] == "listMObjects"
    assert line["user"] == TEST_USER
    assert line["client"] == "127.0.0.1"
    assert line["outcome"] == "ok"
    assert isinstance(line["duration_ms"], float) and 0 <= line["duration_ms"] < 10_000
    assert "fault_code" not in line


@pytest.mark.parametrize("offered", [None, "x" * 65, "has space", "new\nline", ""])
def test_a_missing_or_unsafe_incoming_id_is_replaced(app, log_lines, offered):
    headers = dict(DEFAULT_HEADERS)
    if offered is not None:
        headers["X-Request-Id"] = offered
    resp = post(app.endpoint(), envelope(LIST_MOBJECTS), headers)
    rid = resp.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid), rid
    assert log_lines.calls()[0]["request_id"] == rid


def test_every_answer_carries_a_request_id(app):
    ids = set()
    for method, path in [
        ("GET", "/soap/mktows/2_2?WSDL"),
        ("GET", "/soap/mktows/2_2"),
        ("GET", "/soap/mktows/9_9"),
        ("GET", "/healthz"),
        ("GET", "/health"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/nowhere"),
        ("PUT", "/soap/mktows/2_2"),
        ("HEAD", "/soap/mktows/2_2?WSDL"),
    ]:
        resp = http(app, method, path)
        ids.add(resp.headers["x-request-id"])
    fault = call(app.endpoint(), LIST_MOBJECTS, header_xml="")
    ids.add(fault.headers["x-request-id"])
    assert len(ids) == 11  # one fresh id per request


@pytest.mark.parametrize(
    ("header", "code", "reason"),
    [
        ("wrong key", 20014, "bad_signature"),
        ("unknown user", 20014, "unknown_user"),
        ("no signature", 20014, "missing_signature"),
        ("no timestamp", 20014, "missing_timestamp"),
        ("no header", 20014, "missing_header"),
        ("empty header", 20014, "missing_header"),
        ("unreadable timestamp", 20016, "bad_timestamp"),
        ("stale timestamp", 20016, "expired"),
    ],
)
def test_an_auth_fault_logs_its_reason_and_the_client_sees_the_usual_fault(app, log_lines, header, code, reason):
    headers = {
        "wrong key": wrong_key_header(),
        "unknown user": auth_header_xml(user="nobody_here"),
        "no signature": f"<ns1:AuthenticationHeader><mktowsUserId>{TEST_USER}</mktowsUserId></ns1:AuthenticationHeader>",
        "no timestamp": auth_header_xml().split("<requestTimestamp>")[0] + "</ns1:AuthenticationHeader>",
        "no header": "",
        "empty header": "<ns1:AuthenticationHeader/>",
        "unreadable timestamp": auth_header_xml(timestamp="next tuesday"),
        "stale timestamp": auth_header_xml(timestamp="2001-01-01T00:00:00+00:00"),
    }
    before = metric_samples(app)
    resp = call(app.endpoint(), LIST_MOBJECTS, header_xml=headers[header])
    fault = assert_fault(resp, code)
    assert "reason" not in resp.text and (reason == "expired" or reason not in resp.text)  # it stays on this side
    if code == 20014:
        assert fault.faultstring == "20014 - Authentication failed"
    [line] = log_lines.calls()
    assert (line["outcome"], line["fault_code"], line["reason"]) == ("fault", code, reason)
    assert line["request_id"] == resp.headers["x-request-id"]
    after = metric_samples(app)
    assert sample(after, "mktows_auth_failures_total", reason=reason) == (
        sample(before, "mktows_auth_failures_total", reason=reason) + 1
    )


def test_no_key_or_signature_reaches_the_log(app, log_lines):
    ts = now_timestamp()
    good = sign(ts, TEST_USER, TEST_KEY)
    success(call(app.endpoint(), LIST_MOBJECTS, header_xml=auth_header_xml(timestamp=ts)), "listMObjects")
    bad_header = wrong_key_header()
    bad = re.search(r"<requestSignature>(\w+)<", bad_header)[1]
    assert_fault(call(app.endpoint(), LIST_MOBJECTS, header_xml=bad_header), 20014)
    written = "\n".join(log_lines.lines)
    assert len(log_lines.calls()) == 2
    for secret in (TEST_KEY, good, bad, "not-the-key-42"):
        assert secret not in written


def test_other_faults_log_their_code_and_message(app, log_lines):
    resp = call(app.endpoint(), "<ns1:paramsGetLead><leadKey><keyType>IDNUM</keyType></leadKey></ns1:paramsGetLead>")
    fault = assert_fault(resp)
    [line] = log_lines.calls()
    assert line["operation"] == "getLead"
    assert line["fault_code"] == fault.code
    assert line["message"] == "call"
    assert line["fault_message"] in fault.message
    not_xml = post(app.endpoint(), b"this is not xml")
    assert_fault(not_xml, 20012)
    assert log_lines.calls()[1]["operation"] == "unknown"


# --------------------------------------------------------------------------- metrics


def test_metrics_count_calls_faults_and_latency(app):
    before = metric_samples(app)
    for _ in range(3):
        success(call(app.endpoint("2_7"), LIST_MOBJECTS), "listMObjects")
    assert_fault(call(app.endpoint("2_7"), LIST_MOBJECTS, header_xml=wrong_key_header()), 20014)
    after = metric_samples(app)

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("mktows_calls_total", operation="listMObjects", version="2_7", outcome="ok") == 3
    assert grew("mktows_calls_total", operation="listMObjects", version="2_7", outcome="fault") == 1
    assert grew("mktows_faults_total", operation="listMObjects", code="20014") == 1
    assert grew("mktows_call_duration_seconds_count", operation="listMObjects") == 4
    assert sample(after, "mktows_calls_in_flight") == 0


def test_metrics_read_jobs_and_outbox_from_the_database(tmp_path, log_lines):
    """Messages to a refusing SMTP server: the outbox gauges, the SMTP failures, and the log
    lines naming only the recipient's domain."""
    with in_process_server(tmp_path, env=NO_WORKERS) as server, smtp_sink() as sink:
        sink.reject("bounce.me@refusing.example", "550 5.1.1 <bounce.me@refusing.example>: no such user")
        sink.reject("later@slow.example", "451 4.3.0 try again later")
        database = server.engine.db
        with database.write() as conn:
            for n, to in enumerate(["bounce.me@refusing.example", "later@slow.example", "fine@ok.example"]):
                queue_email(conn, outbox_message(n, to_addr=to))
        before = metric_samples(server)
        assert sample(before, "mktows_outbox_messages", status="queued") == 3
        assert sample(before, "mktows_jobs", state="queued") >= 1
        assert sample(before, "mktows_jobs", state="running") == 0
        deliver.configure(sink.url)
        try:
            Workers(database, threads=1).run_until_idle()
        finally:
            deliver.configure(None)
        after = metric_samples(server)
    assert sample(after, "mktows_outbox_messages", status="bounced") == 1
    assert sample(after, "mktows_outbox_messages", status="sent") == 1
    assert sample(after, "mktows_outbox_messages", status="queued") == 1  # waits for its retry
    assert sample(after, "mktows_jobs", state="done") >= 1
    for retry in ("yes", "no"):
        assert (
            sample(after, "mktows_smtp_failures_total", retry=retry)
            - sample(before, "mktows_smtp_failures_total", retry=retry)
            == 1
        )
    failures = [e for e in log_lines.entries("mktows.delivery") if e["message"] == "SMTP delivery failed"]
    assert sorted(e["recipient_domain"] for e in failures) == ["refusing.example", "slow.example"]
    assert sorted(e["outcome"] for e in failures) == ["bounced", "retry"]
    written = "\n".join(log_lines.lines)
    assert "bounce.me" not in written and "later@" not in written
    assert "Hello" not in written  # no subject or body either


def test_job_failures_and_retries_are_logged_and_counted(tmp_path, log_lines):
    attempts: list[int] = []

    def flaky(database: Any, payload: dict) -> None:
        attempts.append(1)
        raise RuntimeError(f"attempt {len(attempts)} went wrong")

    jobs.HANDLERS["test.observe.flaky"] = flaky
    try:
        with in_process_server(tmp_path, env=NO_WORKERS) as server:
            database = server.engine.db
            with database.write() as conn:
                job_id = jobs.enqueue(conn, "test.observe.flaky", {})
            before = metric_samples(server)
            Workers(database, threads=1, max_attempts=2, backoff=lambda n: 0.0).run_until_idle()
            after = metric_samples(server)
    finally:
        del jobs.HANDLERS["test.observe.flaky"]
    assert len(attempts) == 2
    lines = [e for e in log_lines.entries("mktows.jobs") if e.get("job_id") == job_id]
    assert [(e["event"], e["attempt"]) for e in lines] == [("retried", 1), ("failed", 2)]
    assert all(e["kind"] == "test.observe.flaky" and "went wrong" in e["error"] for e in lines)
    for event in ("retried", "failed"):
        key = {"kind": "test.observe.flaky", "event": event}
        assert sample(after, "mktows_job_events_total", **key) - sample(before, "mktows_job_events_total", **key) == 1
    assert sample(after, "mktows_jobs", state="failed") == 1


# --------------------------------------------------------------------------- health and readiness


def test_alive_and_ready(app):
    for path in ("/healthz", "/health"):
        resp = http(app, "GET", path)
        assert (resp.status_code, resp.text) == (200, "ok")
    resp = http(app, "GET", "/readyz")
    assert resp.status_code == 200, resp.text
    document = resp.json()
    assert document["status"] == "ready" and document["failing"] == []
    assert set(document["checks"]) == {"database", "schema"}  # this app runs no job workers


def test_not_ready_when_the_schema_is_behind(tmp_path, log_lines):
    with in_process_server(tmp_path, env=NO_WORKERS) as server:
        with server.engine.db.write() as conn:
            head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        resp = http(server, "GET", "/readyz")
        assert resp.status_code == 503
        document = resp.json()
        assert document["failing"] == ["schema"]
        assert head in document["checks"]["schema"]["detail"]
        assert http(server, "GET", "/readyz").status_code == 503
        with server.engine.db.write() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        assert http(server, "GET", "/readyz").status_code == 200
        said = [e["message"] for e in log_lines.entries("mktows.app")]
        assert said == ["not ready: schema", "ready again"]  # once per change, not per probe
        assert (http(server, "GET", "/healthz").status_code, http(server, "GET", "/healthz").text) == (200, "ok")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_not_ready_when_a_job_worker_died(tmp_path):
    def die(database: Any, payload: dict) -> None:
        raise SystemExit  # escapes the worker loop: its thread ends

    jobs.HANDLERS["test.observe.die"] = die
    try:
        with in_process_server(tmp_path, env={"MKTOWS_WORKERS": "1"}) as server:
            first = http(server, "GET", "/readyz").json()
            assert first["checks"]["workers"]["ok"] is True
            with server.engine.db.write() as conn:
                jobs.enqueue(conn, "test.observe.die", {})
            deadline = time.monotonic() + 10
            while (resp := http(server, "GET", "/readyz")).status_code == 200 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert resp.status_code == 503
            assert resp.json()["failing"] == ["workers"]
    finally:
        del jobs.HANDLERS["test.observe.die"]


# --------------------------------------------------------------------------- HEAD and other methods


def test_head_answers_like_get_without_a_body(app):
    for path in ("/soap/mktows/2_9?WSDL", "/soap/mktows/2_9", "/healthz", "/readyz", "/metrics"):
        got = http(app, "GET", path)
        head = http(app, "HEAD", path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b"", path
        assert head.headers["content-type"] == got.headers["content-type"], path
        if path != "/metrics":  # the counters move between the two requests
            assert int(head.headers["content-length"]) == len(got.content), path
    unknown = http(app, "HEAD", "/soap/mktows/9_9")
    assert (unknown.status_code, unknown.content) == (404, b"")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_are_refused_with_allow(app, method):
    resp = http(app, method, "/soap/mktows/2_2")
    assert resp.status_code == 405
    assert set(resp.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}


# --------------------------------------------------------------------------- throttling


THROTTLE = {**NO_WORKERS, "MKTOWS_AUTH_THROTTLE_FAILURES": "3", "MKTOWS_AUTH_THROTTLE_MAX_DELAY_MS": "800"}


def timed(server: InProcessServer, header_xml: str | None = None) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    resp = call(server.endpoint(), LIST_MOBJECTS, header_xml=header_xml)
    return resp, time.monotonic() - started


def test_a_failing_source_is_slowed_down_but_a_signed_call_never(tmp_path, log_lines):
    with in_process_server(tmp_path, env=THROTTLE) as server:
        before = metric_samples(server)
        took = []
        for _ in range(8):
            resp, seconds = timed(server, wrong_key_header())
            assert_fault(resp, 20014)  # the same answer, later
            took.append(seconds)
        held = [line.get("throttled_ms") for line in log_lines.calls()]
        assert held == [None, None, None, 100, 200, 400, 800, 800]  # doubling, capped
        assert all(seconds >= ms / 1000 for seconds, ms in zip(took, held, strict=True) if ms)

        # a correctly signed call from the same address is not held back (it would wait 0.8 s),
        # and the count starts again after it
        resp, seconds = timed(server)
        success(resp, "listMObjects")
        assert seconds < 0.5
        assert_fault(timed(server, wrong_key_header())[0], 20014)
        assert [line.get("throttled_ms") for line in log_lines.calls()[8:]] == [None, None]
        after = metric_samples(server)
    assert sample(after, "mktows_auth_throttled_total") - sample(before, "mktows_auth_throttled_total") == 5


def test_a_held_back_answer_does_not_hold_up_other_calls(tmp_path):
    env = {**THROTTLE, "MKTOWS_AUTH_THROTTLE_FAILURES": "1"}
    with in_process_server(tmp_path, env=env) as server:
        for _ in range(4):  # held back 0, 0.1, 0.2, 0.4 s: the next failure waits 0.8 s
            timed(server, wrong_key_header())
        finished: dict[str, float] = {}

        def failing() -> None:
            assert_fault(call(server.endpoint(), LIST_MOBJECTS, header_xml=wrong_key_header()), 20014)
            finished["failing"] = time.monotonic()

        thread = threading.Thread(target=failing)
        started = time.monotonic()
        thread.start()
        time.sleep(0.05)
        success(call(server.endpoint(), LIST_MOBJECTS), "listMObjects")
        finished["signed"] = time.monotonic()
        thread.join()
    assert finished["signed"] < finished["failing"]  # answered while the failing one waited
    assert finished["failing"] - started >= 0.8


def test_the_throttle_counts_per_address_and_bounds_its_table():
    t = [0.0]
    throttle = FailureThrottle(after=2, max_delay=2.0, window_seconds=60, max_sources=100, clock=lambda: t[0])
    assert [throttle.failed("10.0.0.1") for _ in range(5)] == [0, 0, 0.1, 0.2, 0.4]
    assert throttle.failed("10.0.0.2") == 0  # another address has its own count
    t[0] += 61  # a pause longer than the window: the count starts again
    assert throttle.failed("10.0.0.1") == 0
    for n in range(1000):
        throttle.failed(f"192.0.2.{n}")
    assert len(throttle) == 100
    assert max(throttle.failed("10.9.9.9") for _ in range(40)) == 2.0  # capped
    off = FailureThrottle(after=0, max_delay=2.0)
    assert max(off.failed("10.0.0.1") for _ in range(20)) == 0


# --------------------------------------------------------------------------- real servers


def test_serve_writes_json_lines_and_answers_head(tmp_path, mktows_start):
    with running_server(
        mktows_start, f"sqlite:///{tmp_path / 'mktows.db'}", tmp_path, env={"MKTOWS_LOG_FORMAT": "json"}
    ) as srv:
        answered = call(srv.endpoint("2_3"), LIST_MOBJECTS)
        success(answered, "listMObjects")
        assert_fault(call(srv.endpoint("2_3"), LIST_MOBJECTS, header_xml=wrong_key_header()), 20014)
        head = httpx.head(srv.endpoint("2_3") + "?WSDL", timeout=30)
        got = httpx.get(srv.endpoint("2_3") + "?WSDL", timeout=30)
        assert head.status_code == 200 and head.content == b""
        assert int(head.headers["content-length"]) == len(got.content)
        lines = wait_for_call_lines(srv, 2)
    ok, fault = lines
    assert (ok["operation"], ok["version"], ok["outcome"], ok["user"]) == ("listMObjects", "2_3", "ok", TEST_USER)
    assert (fault["outcome"], fault["fault_code"], fault["reason"]) == ("fault", 20014, "bad_signature")
    assert ok["request_id"] == answered.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", ok["request_id"])
    assert ok["request_id"] != fault["request_id"]


def wait_for_call_lines(srv: Any, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        entries = [json.loads(line) for line in srv.output().splitlines() if line.startswith("{")]
        calls = [e for e in entries if e.get("logger") == "mktows.call"]
        if len(calls) >= count or time.monotonic() > deadline:
            assert len(calls) == count, srv.output()
            return calls
        time.sleep(0.05)


@pytest.mark.skipif("postgresql" not in backends(), reason="PostgreSQL is not among MKTOWS_TEST_BACKENDS")
def test_not_ready_when_the_postgresql_database_is_dropped(tmp_path, mktows_start):
    with temporary_database("mktows_ready") as url:
        with running_server(mktows_start, url, tmp_path, env={"MKTOWS_WORKERS": "0"}) as srv:
            ready = httpx.get(srv.base_url + "/readyz", timeout=30)
            assert ready.status_code == 200, ready.text
            drop(url)
            resp = httpx.get(srv.base_url + "/readyz", timeout=30)
            assert resp.status_code == 503
            assert resp.json()["failing"][0] == "database"
            alive = httpx.get(srv.base_url + "/healthz", timeout=30)
            assert (alive.status_code, alive.text) == (200, "ok")
            metrics = httpx.get(srv.base_url + "/metrics", timeout=30)
            assert metrics.status_code == 200 and "mktows_calls_in_flight" in metrics.text


def drop(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/test"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_operations_page_lists_every_metric_and_reason():
    page = (Path(__file__).resolve().parents[1] / "docs" / "operations.md").read_text(encoding="utf-8")
    names = {m.name for m in REGISTRY.collect()} | {"mktows_jobs", "mktows_outbox_messages"}
    for name in names:
        assert f"`{name}`" in page, name
    for reason in REASONS:
        assert f"| `{reason}` |" in page, reason
