"""Whole-database snapshots of a SQLite database, taken and loaded while the server runs (the
emulator's `/_mktows/snapshot` and `/_mktows/restore`, docs/emulator.md).

Both go through SQLite's online backup API: a snapshot is one consistent copy (one read
transaction) written as a self-contained file; loading one copies its pages over the live
database in one write. The connections the server holds are closed first, so every later call
opens the loaded state. A snapshot only loads into a database at the same schema revision.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from mktows.store.database import Database


class SnapshotError(Exception):
    """The snapshot cannot be taken or loaded; the message says why."""


def _live_file(database: Database) -> Path:
    if not database.is_sqlite:
        raise SnapshotError(
            "snapshots copy SQLite databases; for PostgreSQL use pg_dump and pg_restore (see docs/deploy.md)"
        )
    if database.in_memory:
        raise SnapshotError("an in-memory database has no file to snapshot; run with a sqlite:///PATH database")
    name = database.engine.url.database
    if not name:
        raise SnapshotError("the database has no file")
    return Path(name).expanduser().resolve()


def save(database: Database, out: str | Path) -> int:
    """Write the whole database to the new file `out`; returns its size in bytes."""
    source = _live_file(database)
    target = Path(out).expanduser().resolve()
    if target == source:
        raise SnapshotError("the snapshot must go to another file than the database")
    if not target.parent.is_dir():
        raise SnapshotError(f"no directory {target.parent}")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        src = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(partial, isolation_level=None)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")
            finally:
                dst.close()
        finally:
            src.close()
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise SnapshotError(f"copying the database failed: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size


def load(database: Database, snapshot: str | Path) -> None:
    """Replace the whole database with the snapshot file `snapshot`."""
    target = _live_file(database)
    source = Path(snapshot).expanduser().resolve()
    if not source.is_file():
        raise SnapshotError(f"no snapshot file at {source}")
    try:
        src = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True)
        try:
            wanted = database.revision()
            found = _revision(src)
            if found != wanted:
                raise SnapshotError(f"the snapshot is at schema revision {found}, the database at {wanted}")
            database.dispose()
            dst = sqlite3.connect(target, timeout=30, isolation_level=None)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise SnapshotError(f"loading the snapshot failed: {exc}") from exc
    database.dispose()


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        raise SnapshotError("the file is not a mktows snapshot (it has no schema revision)") from None
    return None if row is None else str(row[0])
