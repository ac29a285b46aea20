"""Fixtures that start real `mktows serve` processes (SQLite and PostgreSQL backends).

Backends: env `MKTOWS_TEST_BACKENDS` (comma list, default `sqlite,postgresql`). The
PostgreSQL backend creates a fresh database `mktows_t_<hex>` on 127.0.0.1:5432 (user
`postgres`, falling back to `root`; maintenance db `test`) and drops it at the end. When
the variable is not set and no PostgreSQL is reachable, the postgresql variants are
skipped with the reason; when it is set explicitly, an unreachable server is an error.

One server per backend for the whole session; tests stay independent by using unique
emails (`unique_email`) and per-test static lists (`fresh_list`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

pytest.register_assert_rewrite("support")

from support.clients import LeadApi, make_suds_client, make_zeep_client  # noqa: E402
from support.server import Server, running_server  # noqa: E402

PG_HOST = "127.0.0.1"
PG_PORT = 5432


def _backends() -> list[str]:
    raw = os.environ.get("MKTOWS_TEST_BACKENDS", "sqlite,postgresql")
    return [b.strip() for b in raw.split(",") if b.strip()]


def _pg_connect(dbname: str = "test"):
    import psycopg

    last: Exception | None = None
    for user in ("postgres", "root"):
        try:
            conn = psycopg.connect(host=PG_HOST, port=PG_PORT, user=user, dbname=dbname, autocommit=True, connect_timeout=5)
            return conn, user
        except psycopg.Error as exc:  # try the next user
            last = exc
    raise RuntimeError(f"cannot connect to PostgreSQL on {PG_HOST}:{PG_PORT} as postgres or root: {last}")


@pytest.fixture(scope="session")
def postgres_db() -> Iterator[str]:
    try:
        conn, user = _pg_connect()
    except RuntimeError as exc:
        if "MKTOWS_TEST_BACKENDS" in os.environ:
            raise
        pytest.skip(str(exc))
    name = f"mktows_t_{uuid.uuid4().hex[:12]}"
    with conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        conn, _ = _pg_connect()
        with conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=_backends())
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
