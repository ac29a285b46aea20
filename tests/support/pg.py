"""Throw-away PostgreSQL databases on 127.0.0.1:5432, and the backend list tests run on.

`MKTOWS_TEST_BACKENDS` (comma list, default `sqlite,postgresql`) picks the backends. When it
is not set and no PostgreSQL answers, postgresql variants are skipped with the reason; when
it names postgresql explicitly, an unreachable server is an error.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

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
            conn = psycopg.connect(host=PG_HOST, port=PG_PORT, user=user, dbname="test", autocommit=True,
                                   connect_timeout=5)
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
