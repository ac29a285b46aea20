"""Fixtures that start real `mktows serve` processes (SQLite and PostgreSQL backends).

Backends and throw-away PostgreSQL databases: see `support/pg.py`.

One server per backend for the whole session; tests stay independent by using unique
emails (`unique_email`) and per-test static lists (`fresh_list`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

pytest.register_assert_rewrite("support")

from support.clients import LeadApi, make_suds_client, make_zeep_client  # noqa: E402
from support.pg import backends, temporary_database  # noqa: E402
from support.server import Server, running_server  # noqa: E402


@pytest.fixture(scope="session")
def postgres_db() -> Iterator[str]:
    with temporary_database("mktows_t") as url:
        yield url


@pytest.fixture(scope="session", params=backends())
def server(request, tmp_path_factory) -> Iterator[Server]:
    backend = request.param
    workdir = tmp_path_factory.mktemp(f"server-{backend}")
    if backend == "sqlite":
        db_url = f"sqlite:///{workdir / 'mktows.db'}"
    elif backend == "postgresql":
        db_url = request.getfixturevalue("postgres_db")
    else:
        raise ValueError(f"unknown backend {backend!r} in MKTOWS_TEST_BACKENDS")
    with running_server(db_url, workdir) as srv:
        yield srv


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
