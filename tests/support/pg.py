"""Throw-away PostgreSQL databases on 127.0.0.1:5432, and the backend list tests run on.

`MKTOWS_TEST_BACKENDS` (comma list, default `sqlite,postgresql`) picks the backends. When it
is not set and no PostgreSQL answers, postgresql variants are skipped with the reason; when
it names postgresql explicitly, an unreachable server is an error.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
import pytest

PG_HOST, PG_PORT = "127.0.0.1", 5432


def backends() -> list[str]:
    raw = os.environ.get("MKTOWS_TEST_BACKENDS", "sqlite,postgresql")
    return [b.strip() for b in raw.split(",") if b.strip()]


def _admin() -> tuple[psycopg.Connection, str]:
    last: Exception | None = None
    for user in ("postgres", "root"):
        try:
            conn = psycopg.connect(
                host=PG_HOST, port=PG_PORT, user=user, dbname="test", autocommit=True, connect_timeout=5
            )
            return conn, user
        except psycopg.Error as exc:  # try the next user
            last = exc
    raise RuntimeError(f"cannot connect to PostgreSQL on {PG_HOST}:{PG_PORT} as postgres or root: {last}")


@contextmanager
def temporary_database(prefix: str) -> Iterator[str]:
    """A fresh database `{prefix}_<hex>` (its URL), dropped on exit."""
    try:
        conn, user = _admin()
    except RuntimeError as exc:
        if "MKTOWS_TEST_BACKENDS" in os.environ:
            raise
        pytest.skip(str(exc))
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        conn, _ = _admin()
        with conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_url(backend: str, workdir: Path, stack: ExitStack, prefix: str) -> str:
    """A fresh database for a module's own server: a SQLite file in `workdir`, or a throw-away
    PostgreSQL database (named `prefix_...`) that `stack` drops when it closes."""
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'mktows.db'}"
    if backend == "postgresql":
        return stack.enter_context(temporary_database(prefix))
    raise ValueError(f"unknown backend {backend!r} in MKTOWS_TEST_BACKENDS")


@contextmanager
def migrated_database(prefix: str) -> Iterator[str]:
    """A throw-away PostgreSQL database with the schema at head (its URL)."""
    from mktows.store.database import Database

    with temporary_database(prefix) as url:
        database = Database(url)
        database.migrate()
        database.dispose()
        yield url


def migrated_sqlite_file(directory: Path) -> Path:
    """A migrated SQLite file, to copy per test (migrating is the slow part)."""
    from mktows.store.database import Database

    path = directory / "mktows.db"
    database = Database(f"sqlite:///{path}")
    database.migrate()
    database.dispose()  # closing the last connection checkpoints the WAL into the file
    return path
