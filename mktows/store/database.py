"""Connections, the single writer and migrations.

SQLite: WAL, `synchronous=FULL`, foreign keys, a busy timeout, one writer per process
(a process-wide lock plus `BEGIN IMMEDIATE`, so writers never deadlock on lock upgrades),
and a `lower()` that folds every letter as PostgreSQL's does.
PostgreSQL: psycopg 3; reads run in REPEATABLE READ so a page and its count agree.
`sqlite:///:memory:` (a test double, or a throw-away server): one connection shared by every
thread, each transaction taking it in turn; it lives as long as the `Database` object.
Only SQLite and PostgreSQL URLs are accepted; anything else is refused with `DatabaseError`
before a driver is loaded.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, event, inspect, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from mktows.store.tables import server_meta

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
ACCEPTED_URLS = "sqlite:///PATH, sqlite:///:memory: or postgresql://user[:password]@host[:port]/db"
_MEMORY_PATHS = ("", ":memory:")
MEMORY_URL = "sqlite:///:memory:"
SQLITE_HEADER = b"SQLite format 3\x00"


class DatabaseError(Exception):
    """A database URL that cannot be used, or a database that is not there; the text is one line."""


class DatabaseMissing(DatabaseError):
    """The URL is fine but no mktows database is there yet (`mktows migrate` creates it)."""


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


def parse_url(url: str) -> URL:
    """The parsed URL of a backend mktows runs on, or `DatabaseError` saying what is accepted."""
    try:
        parsed = make_url(normalize_url(url))
    except ArgumentError:
        raise DatabaseError(f"cannot parse database URL {url!r}: expected {ACCEPTED_URLS}") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseError(f"unsupported database {backend!r} in {describe_url(url)}: expected {ACCEPTED_URLS}")
    if backend == "postgresql" and parsed.get_driver_name() != "psycopg":
        raise DatabaseError(
            f"unsupported PostgreSQL driver in {describe_url(url)}: expected {ACCEPTED_URLS} (mktows uses psycopg 3)"
        )
    return parsed


def sqlite_path(parsed: URL) -> Path | None:
    """The absolute file of a SQLite URL; None for an in-memory database."""
    db_path = parsed.database or ""
    return None if db_path in _MEMORY_PATHS else Path(db_path).expanduser().resolve()


def describe_url(url: str) -> str:
    """The database as an operator should read it: a SQLite file's absolute path, or the URL
    with its password masked."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "(unparsable URL)"
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(parsed)
        return MEMORY_URL if path is None else f"sqlite:///{path}"
    return parsed.render_as_string(hide_password=True)


class Database:
    """One database: `write()` and `read()` transactions, `migrate()` to head.

    `create=False` refuses (`DatabaseMissing`) a SQLite file or directory that is not there
    instead of creating it, for commands that must not leave an empty database behind a typo.
    """

    def __init__(self, url: str, *, echo: bool = False, create: bool = True) -> None:
        parsed = parse_url(url)
        self.url = normalize_url(url)
        self.description = describe_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.in_memory = False
        self._local = threading.local()
        kwargs: dict[str, Any] = {"echo": echo}
        self._lock: threading.Lock | threading.RLock | None
        if self.is_sqlite:
            path = sqlite_path(parsed)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if path is None:
                if not create:
                    raise DatabaseMissing(
                        f"{MEMORY_URL} is a new, empty database in every process: only `mktows serve` can use it"
                    )
                # One connection, so every thread sees the same database; one lock, so each
                # transaction has it to itself (reads included: they share the connection).
                self.in_memory = True
                kwargs["poolclass"] = StaticPool
                self._lock = threading.RLock()
            else:
                self._prepare_file(path, create)
                self._lock = _write_lock(str(path))
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
            self._lock = None
        # what state a process keeps per database is keyed by: the URL, which every connection
        # to one database shares, except in memory, where each Database is a database of its own
        self.identity = f"{self.url}#{id(self)}" if self.in_memory else self.url
        self.engine: SAEngine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            self._install_sqlite_hooks()
        else:
            # multi-row INSERT ... VALUES for plain executemany too (as psycopg2 does)
            self.engine.dialect.use_insertmanyvalues_wo_returning = True
            self._install_pg_hooks()

    @staticmethod
    def _prepare_file(path: Path, create: bool) -> None:
        if not create:
            if not path.is_file():
                raise DatabaseMissing(f"no database at {path}")
            with path.open("rb") as f:
                header = f.read(len(SQLITE_HEADER))
            if not header:
                raise DatabaseMissing(f"no mktows database at {path}: the file is empty")
            if header != SQLITE_HEADER:
                raise DatabaseError(f"{path} is not a SQLite database")
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise DatabaseError(f"cannot create the directory of SQLite database {path}: {reason}") from None
        if path.is_dir():
            raise DatabaseError(f"SQLite database {path} is a directory")

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
    def _memory_transaction(self, write: bool) -> Iterator[Connection]:
        """A transaction on the one in-memory connection. Nested in another of this thread, it
        runs inside that one (a write as a savepoint), as it cannot begin a second."""
        outer: Connection | None = getattr(self._local, "conn", None)
        if outer is not None:
            if write:
                with outer.begin_nested():
                    yield outer
            else:
                yield outer
            return
        assert self._lock is not None
        with self._lock:
            with self.engine.connect().execution_options(mktows_write=write) as conn:
                self._local.conn = conn
                try:
                    with conn.begin():
                        yield conn
                finally:
                    self._local.conn = None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction; commits on success, rolls back on any exception."""
        if self.in_memory:
            with self._memory_transaction(write=True) as conn:
                yield conn
        elif self._lock is not None:
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
        if self.in_memory:
            with self._memory_transaction(write=False) as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            if not self.is_sqlite:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def revision(self) -> str | None:
        """The schema revision this database is at; None when it holds no mktows schema."""
        with self.read() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()

    def migrate(self) -> None:
        """Upgrade the schema to head and make sure the server secret exists."""
        cfg = _alembic_config()
        with self.write() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        self.ensure_secret()

    def image(self) -> bytes:
        """The whole of an in-memory SQLite database as the bytes of a database file."""
        if not self.in_memory:
            raise DatabaseError(f"only an in-memory database has an image, not {self.description}")
        with self._memory_transaction(write=False) as conn:
            raw = conn.connection.driver_connection
            assert isinstance(raw, sqlite3.Connection)
            return raw.serialize()

    def load_image(self, image: bytes) -> None:
        """Replace an in-memory SQLite database with `image` (the bytes of a database file, as
        `image()` gives them): a copy of a migrated template in a millisecond, where running
        the migrations takes a hundred times longer."""
        if not self.in_memory:
            raise DatabaseError(f"only an in-memory database can load an image, not {self.description}")
        assert self._lock is not None
        with self._lock:
            pooled = self.engine.raw_connection()
            try:
                raw = pooled.driver_connection
                assert isinstance(raw, sqlite3.Connection)
                raw.deserialize(image)
            finally:
                pooled.close()

    def ensure_secret(self) -> None:
        """Make sure the server secret (signing stream positions) exists."""
        with self.write() as conn:
            if conn.execute(select(server_meta.c.value).where(server_meta.c.key == "hmac_secret")).first() is None:
                conn.execute(server_meta.insert().values(key="hmac_secret", value=secrets.token_hex(32)))

    def meta(self, key: str) -> str | None:
        with self.read() as conn:
            return conn.execute(select(server_meta.c.value).where(server_meta.c.key == key)).scalar()

    def dispose(self) -> None:
        self.engine.dispose()


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str | None:
    """The newest schema revision this code knows."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()
