"""Session fixtures: the app in process (`asgi_server`) and real `mktows serve` processes
(`server` on each backend, `sqlite_server`), all built by the project's own pytest plugin
(mktows.testing). tests/README.md says which test uses which.

Backends and throw-away PostgreSQL databases: see `support/pg.py`.

One server per backend for the whole session (started when a test first needs it); tests
stay independent by using unique emails (`unique_email`) and per-test static lists
(`fresh_list`).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _cache_bytecode_outside_the_checkout() -> None:
    """Where PYTHONDONTWRITEBYTECODE is set, this process and every server or command it
    starts would compile mktows and the (assert-rewritten) test modules from source again,
    a second or more each time: keep the compiled files in a directory of their own instead,
    outside the checkout. Nothing changes where bytecode is written as usual."""
    if not sys.dont_write_bytecode or sys.pycache_prefix:
        return
    prefix = str(Path(tempfile.gettempdir()) / f"mktows-tests-pycache-{os.getuid()}")
    sys.pycache_prefix = prefix
    sys.dont_write_bytecode = False
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = prefix


_cache_bytecode_outside_the_checkout()
pytest.register_assert_rewrite("support")

from support.clients import LeadApi, make_suds_client, make_zeep_client  # noqa: E402
from support.inprocess import InProcessServer, in_process_server  # noqa: E402
from support.pg import backends, temporary_database  # noqa: E402
from support.server import Server, running_server  # noqa: E402
from support.soap import close_shared_client  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "in_process: uses the app in process (`asgi_server`); set by tests/conftest.py, select with -m"
    )


def pytest_collection_modifyitems(config, items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if "asgi_server" in names and "server" in names:
            raise pytest.UsageError(
                f"{item.nodeid} uses the app in process and the real servers at once"
                " (fresh_list and lead_api belong to `server`; use asgi_server.fresh_list())"
            )
        if "asgi_server" in names:
            item.add_marker(pytest.mark.in_process)


@pytest.fixture(scope="session", autouse=True)
def _shared_http_client() -> Iterator[None]:
    """support.soap's pooled client for raw calls over the network, closed at the end."""
    yield
    close_shared_client()


@pytest.fixture(scope="session")
def asgi_server(tmp_path_factory) -> Iterator[InProcessServer]:
    """The app `mktows serve` runs, in this process over httpx's ASGI transport, on a fresh
    SQLite file with the real servers' instance file; every response is schema-checked.

    It runs no job workers (MKTOWS_WORKERS=0): no test of it queues a job, and idle workers
    would poll the database for the whole session. A test that needs jobs builds an app of
    its own with `in_process_server` (workers on by default)."""
    with in_process_server(tmp_path_factory.mktemp("asgi"), env={"MKTOWS_WORKERS": "0"}) as app:
        yield app


@pytest.fixture(scope="session")
def real_servers(tmp_path_factory, mktows_session_start) -> Iterator[object]:
    """`real_servers(backend)` -> that backend's session server, started on first use by the
    plugin's session factory (a `mktows serve` process of its own)."""
    started: dict[str, Server] = {}
    with contextlib.ExitStack() as stack:

        def get(backend: str) -> Server:
            if backend not in started:
                workdir = tmp_path_factory.mktemp(f"server-{backend}")
                if backend == "sqlite":
                    db_url = f"sqlite:///{workdir / 'mktows.db'}"
                elif backend == "postgresql":
                    db_url = stack.enter_context(temporary_database("mktows_t"))
                else:
                    raise ValueError(f"unknown backend {backend!r} in MKTOWS_TEST_BACKENDS")
                started[backend] = stack.enter_context(running_server(mktows_session_start, db_url, workdir))
            return started[backend]

        yield get


@pytest.fixture(scope="session", params=backends())
def server(request, real_servers) -> Server:
    """A real `mktows serve` on each backend of MKTOWS_TEST_BACKENDS."""
    return real_servers(request.param)


@pytest.fixture(scope="session")
def sqlite_server(real_servers) -> Server:
    """The real SQLite server, for what is about HTTP and sockets rather than the database."""
    return real_servers("sqlite")


@pytest.fixture(scope="session")
def zeep_client(server):
    """`zeep_client(version)` -> zeep.Client built from that version's served ?WSDL (cached)."""
    cache: dict[str, object] = {}

    def factory(version: str = "2_2"):
        if version not in cache:
            cache[version] = make_zeep_client(server.endpoint(version))
        return cache[version]

    return factory


@pytest.fixture(scope="session")
def suds_client(server):
    """`suds_client(version)` -> suds Client built from that version's served ?WSDL (cached)."""
    cache: dict[str, object] = {}

    def factory(version: str = "2_2"):
        if version not in cache:
            cache[version] = make_suds_client(server.endpoint(version))
        return cache[version]

    return factory


@pytest.fixture(scope="session")
def lead_api(zeep_client, suds_client):
    """`lead_api(kind, version)` -> LeadApi facade over the zeep or suds client."""
    cache: dict[tuple[str, str], LeadApi] = {}

    def factory(kind: str, version: str = "2_2") -> LeadApi:
        key = (kind, version)
        if key not in cache:
            client = zeep_client(version) if kind == "zeep" else suds_client(version)
            cache[key] = LeadApi(kind, client, version)
        return cache[key]

    return factory


@pytest.fixture
def unique_email():
    """`unique_email(tag="")` -> an address no other test uses."""

    def make(tag: str = "") -> str:
        return f"t-{tag + '-' if tag else ''}{uuid.uuid4().hex[:12]}@mktows-test.example.com"

    return make


@pytest.fixture
def fresh_list(server):
    """A static list from the instance file that no other test touches."""
    return server.fresh_list()
