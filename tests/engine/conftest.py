"""Engine fixtures: a migrated database on SQLite (a file in tmp_path) and on PostgreSQL.

PostgreSQL: one fresh database `mktows_eng_<hex>` per session on 127.0.0.1:5432 (user
`postgres`, falling back to `root`; created from the maintenance db `test`), migrated
once, emptied before each test and dropped at the end. Unreachable PostgreSQL skips the
postgresql variants unless MKTOWS_TEST_BACKENDS names it explicitly.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from support.pg import backends, migrated_database, migrated_sqlite_file

from mktows.engine import Engine
from mktows.store.database import Database
from mktows.store.tables import metadata

# Every table but server_meta (which holds the HMAC secret and the schema version).
TABLES = ", ".join(t.name for t in metadata.sorted_tables if t.name != "server_meta")


@pytest.fixture(scope="session")
def engine_pg_url() -> Iterator[str]:
    with migrated_database("mktows_eng") as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    return migrated_sqlite_file(tmp_path_factory.mktemp("template"))


@pytest.fixture(params=backends())
def database(request, tmp_path) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "mktows.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        db = Database(f"sqlite:///{path}")
    else:
        db = Database(request.getfixturevalue("engine_pg_url"))
        with db.write() as conn:
            conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    try:
        yield db
    finally:
        db.dispose()


class Clock:
    """A controllable clock: starts at a fixed instant, moves 1 ms per reading."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        self.current += timedelta(milliseconds=1)
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0) - timedelta(days=1))


@pytest.fixture
def engine(database: Database, clock: Clock) -> Engine:
    return Engine(database, clock=clock)
