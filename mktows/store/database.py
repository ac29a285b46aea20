"""Connections, the single writer and migrations.

SQLite: WAL, `synchronous=FULL`, foreign keys, a busy timeout, one writer per process
(a process-wide lock plus `BEGIN IMMEDIATE`, so writers never deadlock on lock upgrades),
and a `lower()` that folds every letter as PostgreSQL's does.
PostgreSQL: psycopg 3; reads run in REPEATABLE READ so a page and its count agree.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, event, select
from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.engine import make_url

from mktows.store.tables import server_meta

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def sqlite_lower(value: Any) -> str | None:
    """SQL `lower()` on SQLite, Unicode-aware. The built-in one folds ASCII letters only, so
    `lower(column) = value.lower()` (how the engine compares text ignoring case) missed
    'Déal Ünïcode' on SQLite while PostgreSQL, with a UTF-8 ctype, found it."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).lower()


def normalize_url(url: str) -> str:
    """Map `postgresql://` / `postgres://` onto the psycopg 3 driver; leave others alone."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _write_lock(key: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.Lock())


class Database:
    """One database: `write()` and `read()` transactions, `migrate()` to head."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalize_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            db_path = parsed.database or ""
            if db_path and db_path != ":memory:":
                path = Path(db_path).expanduser().resolve()
                path.parent.mkdir(parents=True, exist_ok=True)
                lock_key = str(path)
            else:
                lock_key = self.url
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            self._lock: threading.Lock | None = _write_lock(lock_key)
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
            self._lock = None
        self.engine: SAEngine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            self._install_sqlite_hooks()
        else:
            # multi-row INSERT ... VALUES for plain executemany too (as psycopg2 does)
            self.engine.dialect.use_insertmanyvalues_wo_returning = True
            self._install_pg_hooks()

    def _install_sqlite_hooks(self) -> None:
        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
            dbapi_conn.create_function("lower", 1, sqlite_lower, deterministic=True)

        @event.listens_for(self.engine, "begin")
        def _on_begin(conn: Connection) -> None:
            write = conn.get_execution_options().get("mktows_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    def _install_pg_hooks(self) -> None:
        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # psycopg prepares repeated statements; a generic plan would turn `= ANY($1)`
            # into a per-row linear scan of the array. Custom plans keep it hashed.
            dbapi_conn.execute("SET plan_cache_mode = force_custom_plan")
            dbapi_conn.commit()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction; commits on success, rolls back on any exception."""
        if self._lock is not None:
            with self._lock:
                with self.engine.connect().execution_options(mktows_write=True) as conn:
                    with conn.begin():
                        yield conn
        else:
            with self.engine.begin() as conn:
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only snapshot (PostgreSQL REPEATABLE READ; SQLite WAL read transaction)."""
        with self.engine.connect() as conn:
            if not self.is_sqlite:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def migrate(self) -> None:
        """Upgrade the schema to head and make sure the server secret exists."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.write() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        with self.write() as conn:
            if conn.execute(select(server_meta.c.value).where(server_meta.c.key == "hmac_secret")).first() is None:
                conn.execute(server_meta.insert().values(key="hmac_secret", value=secrets.token_hex(32)))

    def meta(self, key: str) -> str | None:
        with self.read() as conn:
            return conn.execute(select(server_meta.c.value).where(server_meta.c.key == key)).scalar()

    def dispose(self) -> None:
        self.engine.dispose()
