"""`mktows backup`: a consistent copy of a live SQLite database.

The copy is taken with SQLite's online backup API inside one read transaction, so it is the
database as of one commit while the server keeps writing (WAL: readers never block the
writer). It is written beside the target under a temporary name, checked with
`PRAGMA integrity_check`, switched to a rollback journal (one self-contained file), synced
and only then renamed into place: an interrupted backup never leaves a half file under the
name asked for. To restore, stop the server, put the copy where `--db` points, start it.

PostgreSQL has its own tool for this; the command refuses and names it (`pg_dump`, whose
version must match the server's, which is why it is not run from here).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from mktows.store.database import normalize_url


class BackupError(Exception):
    """The backup cannot be made; the message says why and what to do instead."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size: int  # bytes of the copy
    pages: int


def postgresql_hint(db_url: str, out: str) -> str:
    """The commands that back up and restore a PostgreSQL database instead."""
    url = make_url(normalize_url(db_url)).set(drivername="postgresql")
    plain = url.render_as_string(hide_password=False)
    return (
        "mktows backup copies SQLite databases; back up PostgreSQL with its own tools: "
        f"pg_dump --format=custom --file {out} '{plain}'  "
        f"(restore into an empty database: pg_restore --no-owner --dbname '<new database URL>' {out})"
    )


def sqlite_file(db_url: str) -> Path:
    """The file of a `sqlite:///PATH` URL; BackupError for anything else."""
    url = make_url(normalize_url(db_url))
    if url.get_backend_name() != "sqlite":
        raise BackupError(f"not a SQLite database URL: {url.render_as_string(hide_password=True)}")
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory database has nothing on disk to back up")
    return Path(url.database).expanduser().resolve()


def backup(db_url: str, out: str | Path) -> BackupReport:
    """Copy the database at `db_url` to the new file `out`."""
    if make_url(normalize_url(db_url)).get_backend_name() == "postgresql":
        raise BackupError(postgresql_hint(db_url, str(out)))
    return backup_sqlite(sqlite_file(db_url), Path(out))


def backup_sqlite(source: Path, out: Path) -> BackupReport:
    if not source.is_file():
        raise BackupError(f"no database file at {source}")
    out = out.expanduser().resolve()
    if out.exists():
        raise BackupError(f"{out} exists; choose a new file name")
    if out == source:
        raise BackupError("the backup must go to another file than the database")
    if not out.parent.is_dir():
        raise BackupError(f"no directory {out.parent}")
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        pages = _copy(source, partial)
        _sync(partial)
        os.replace(partial, out)
        _sync(out.parent)
    finally:
        partial.unlink(missing_ok=True)
    return BackupReport(out, out.stat().st_size, pages)


def _copy(source: Path, target: Path) -> int:
    """One-step online backup (a single read transaction), checked, as a rollback-journal file."""
    src = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        dst = sqlite3.connect(target, isolation_level=None)
        try:
            src.backup(dst)  # pages=-1: all pages in one step, so one consistent snapshot
            dst.execute("PRAGMA journal_mode=DELETE")
            problems = [str(r[0]) for r in dst.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError("the copy failed its integrity check: " + "; ".join(problems[:5]))
            return int(dst.execute("PRAGMA page_count").fetchone()[0])
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"copying {source} failed: {exc}") from exc
    finally:
        src.close()


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
