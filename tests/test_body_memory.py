"""Request bodies in flight take bounded memory, before authentication too, and a body that
trickles in is cut off after a bounded time. Against a real `mktows serve` and raw sockets."""

from __future__ import annotations

import re
import select
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from support.server import running_server
from support.soap import assert_fault, call, envelope, success

MAX_BODY = 2 * 1024 * 1024
BUDGET = 4 * 1024 * 1024
BODY = 1_900_000  # two fit in the budget, three do not
READ_TIMEOUT = 3
LIST_MOBJECTS = "<ns1:paramsListMObjects/>"


@pytest.fixture(scope="module")
def srv(tmp_path_factory, mktows_session_start):
    workdir: Path = tmp_path_factory.mktemp("body-memory")
    env = {
        "MKTOWS_MAX_BODY_BYTES": str(MAX_BODY),
        "MKTOWS_MAX_BODY_BYTES_IN_FLIGHT": str(BUDGET),
        "MKTOWS_BODY_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT),
        "MKTOWS_WORKERS": "0",
    }
    with running_server(mktows_session_start, f"sqlite:///{workdir / 'mktows.db'}", workdir, env=env) as server:
        yield server


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def bytes_in_flight(srv) -> float:
    text = httpx.get(srv.base_url + "/metrics", timeout=10).text
    m = re.search(r"^mktows_request_body_bytes_in_flight (\S+)$", text, re.M)
    assert m, "the metrics page has no body-bytes gauge"
    return float(m.group(1))


def wait_for_no_bytes_in_flight(srv) -> None:
    deadline = time.monotonic() + 5
    while bytes_in_flight(srv) != 0:
        assert time.monotonic() < deadline, f"{bytes_in_flight(srv)} body bytes still held"
        time.sleep(0.05)


def open_request(srv, headers: dict[str, str]) -> socket.socket:
    """A POST whose headers are sent and whose body is not (yet)."""
    url = urlsplit(srv.endpoint("2_9"))
    sock = socket.create_connection((url.hostname, url.port), timeout=10)
    lines = [f"POST {url.path} HTTP/1.1", f"Host: {url.netloc}", "Content-Type: text/xml; charset=utf-8"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def answer_within(sock: socket.socket, seconds: float) -> bytes | None:
    """The server's whole answer if one starts arriving within `seconds`, else None."""
    ready, _, _ = select.select([sock], [], [], seconds)
    if not ready:
        return None
    data = b""
    while b"</SOAP-ENV:Envelope>" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def post_large_body(srv) -> None:
    """A signed call padded to 1.9 MB (whitespace after the envelope is still XML), answered."""
    body = envelope(LIST_MOBJECTS)
    body += b" " * (BODY - len(body))
    resp = httpx.post(srv.endpoint("2_9"), content=body, headers={"Content-Type": "text/xml"}, timeout=30)
    assert resp.status_code == 200, resp.text[:2000]


def fault_code(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 500"), answer[:200]
    m = re.search(rb"<code>(\d+)</code>", answer)
    assert m, answer[:2000]
    return int(m.group(1))


def test_bodies_held_before_authentication_are_bounded(srv):
    success(call(srv.endpoint("2_9"), LIST_MOBJECTS), "listMObjects")
    post_large_body(srv)  # the paths a body takes are warm before the baseline
    before = rss_bytes(srv.proc.pid)

    sockets, busy = [], []
    try:
        for _ in range(10):  # each sends all but the last byte of a 1.9 MB body, and holds it
            sock = open_request(srv, {"Content-Length": str(BODY)})
            sockets.append(sock)
            refused = answer_within(sock, 0.3)
            if refused is not None:
                busy.append(refused)
                continue
            sock.sendall(b"x" * (BODY - 1))
        time.sleep(0.5)
        grown = rss_bytes(srv.proc.pid) - before
        held = bytes_in_flight(srv)

        assert len(busy) == 8, f"{len(busy)} of 10 requests refused; the budget fits two"
        for answer in busy:
            assert fault_code(answer) == 20024
            assert b"busy" in answer and str(BUDGET).encode() in answer
        assert held == 2 * BODY
        assert grown < 8 * 1024 * 1024, f"the server grew by {grown / 1e6:.1f} MB holding bodies"
    finally:
        for sock in sockets:
            sock.close()

    wait_for_no_bytes_in_flight(srv)
    success(call(srv.endpoint("2_9"), LIST_MOBJECTS), "listMObjects")


def test_a_large_body_is_served_once_the_budget_is_free_again(srv):
    wait_for_no_bytes_in_flight(srv)
    post_large_body(srv)
    assert bytes_in_flight(srv) == 0


def test_chunked_bodies_are_counted_as_they_arrive(srv):
    wait_for_no_bytes_in_flight(srv)
    piece = b"x" * 100_000
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    sockets, answers = [], []
    try:
        for _ in range(3):
            sock = open_request(srv, {"Transfer-Encoding": "chunked"})
            sockets.append(sock)
            for _ in range(BODY // len(piece)):
                sock.sendall(chunk)
            answers.append(answer_within(sock, 1.0))
        assert answers[0] is None and answers[1] is None, "the first two bodies fit the budget"
        assert answers[2] is not None and fault_code(answers[2]) == 20024
    finally:
        for sock in sockets:
            sock.close()
    wait_for_no_bytes_in_flight(srv)


def test_a_body_that_trickles_is_cut_off_after_the_read_timeout(srv):
    sock = open_request(srv, {"Content-Length": "1000"})
    try:
        started = time.monotonic()
        sock.sendall(b"<")
        answer = None
        while answer is None and time.monotonic() - started < READ_TIMEOUT + 5:
            sock.sendall(b" ")
            answer = answer_within(sock, 0.5)
        elapsed = time.monotonic() - started
    finally:
        sock.close()
    assert answer is not None, "the trickling body was never cut off"
    assert fault_code(answer) == 20012 and f"{READ_TIMEOUT} seconds".encode() in answer
    assert READ_TIMEOUT - 0.5 <= elapsed < READ_TIMEOUT + 3
    wait_for_no_bytes_in_flight(srv)
    assert_fault(call(srv.endpoint("2_9"), LIST_MOBJECTS, header_xml=""), 20014)  # still answering
