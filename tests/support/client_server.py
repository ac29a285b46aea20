"""Servers for the tests of `mktows.client` (tests/test_client*.py): the instance file of
support/server.py plus a program whose campaigns the client requests and schedules.

The requested campaign writes a token into a lead field, so a test sees that it ran (and how
many times: `Seed_Score` goes up by one per run).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from mktows.client import Client
from mktows.testing.double import MktowsInstance

from .server import INSTANCE, SEED_CUSTOM_FIELD, SEED_INT_FIELD, Server
from .soap import TEST_KEY, TEST_USER

PROGRAM = "Client Program"
PROGRAM_LIST = "Client List"
TRIGGER = "Client Trigger"
BATCH = "Client Batch"
TOKEN = "my.Note"

CLIENT_INSTANCE: dict[str, Any] = {
    **INSTANCE,
    "programs": [
        *INSTANCE["programs"],
        {
            "name": PROGRAM,
            "tokens": {TOKEN: "from the program"},
            "lists": [PROGRAM_LIST],
            "campaigns": [
                {
                    "name": TRIGGER,
                    "description": "requested by the client tests",
                    "trigger": {"campaign_is_requested": ["web_service_api"]},
                    "flow": [
                        {"change_data_value": {"field": SEED_CUSTOM_FIELD, "value": "{{" + TOKEN + "}}"}},
                        {"change_score": {"field": SEED_INT_FIELD, "change": "+1"}},
                    ],
                },
                {
                    "name": BATCH,
                    "smart_list": [{"member_of_list": f"{PROGRAM}.{PROGRAM_LIST}"}],
                    "flow": [{"change_score": {"field": SEED_INT_FIELD, "change": "+1"}}],
                },
            ],
        },
    ],
}


def client_for(server: Server | MktowsInstance, version: str = "2_9", **settings: Any) -> Client:
    """A client signed as the tests' API user, of a real server or of a test double."""
    endpoint = server.endpoint_for(version) if isinstance(server, MktowsInstance) else server.endpoint(version)
    return Client(endpoint, TEST_USER, TEST_KEY, **settings)


T = TypeVar("T")


def eventually(read: Callable[[], T], done: Callable[[T], bool], *, seconds: float = 30) -> T:
    """`read()` again until `done` says yes (jobs run in the background), or fail."""
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {seconds} s")
        time.sleep(0.2)


@contextlib.contextmanager
def hanging_up_server() -> Iterator[tuple[str, list[int]]]:
    """A TCP server on 127.0.0.1 that accepts each connection, reads what comes and closes it
    without answering: a request that reached a server and got no answer. Yields its URL and a
    one-item list counting the connections it took."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    accepted = [0]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted[0] += 1
            with conn:
                conn.settimeout(1)
                with contextlib.suppress(OSError):
                    conn.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/soap/mktows/2_9", accepted
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def closed_port_url() -> str:
    """An endpoint on a 127.0.0.1 port nothing listens on: every connection is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/soap/mktows/2_9"
