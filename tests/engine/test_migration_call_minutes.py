"""Migration 0015 on a database that already holds per-minute call counts: they stay, under no
API user, and the counts per user added after it add up again when it is undone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from support.pg import backends, temporary_database

from mktows.runtime import call_stats
from mktows.store.database import MIGRATIONS_DIR, Database

BEFORE = [(100, "getLead", 0, 5), (100, "getLead", 20014, 2), (101, "syncLead", 0, 7)]


@pytest.fixture(params=backends())
def empty_database(request, tmp_path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'old.db'}")
        yield db
        db.dispose()
    else:
        with temporary_database("mktows_mig") as url:
            db = Database(url)
            yield db
            db.dispose()


def _migrate(db: Database, revision: str, *, down: bool = False) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.write() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def _rows(db: Database) -> list[tuple]:
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(sa.text("SELECT * FROM call_minutes"))]


def test_the_counts_stay_under_no_user_and_add_up_again_when_undone(empty_database: Database) -> None:
    db = empty_database
    _migrate(db, "0014")
    with db.write() as conn:
        for minute, operation, code, count in BEFORE:
            conn.execute(
                sa.text("INSERT INTO call_minutes (minute, operation, fault_code, count) VALUES (:m, :o, :c, :n)"),
                {"m": minute, "o": operation, "c": code, "n": count},
            )
    _migrate(db, "0015")
    with db.read() as conn:
        columns = ("minute", "user_id", "operation", "fault_code", "count")
        found = conn.execute(sa.text(f"SELECT {', '.join(columns)} FROM call_minutes ORDER BY 1, 3, 4")).all()
    assert [tuple(r) for r in found] == [(m, "", o, c, n) for m, o, c, n in BEFORE]

    with db.write() as conn:  # what a process adds from now on: per user, in the same minutes
        call_stats.add(conn, Counter({(100, "alice", "getLead", 0): 3, (100, "", "getLead", 0): 1}))
    with db.read() as conn:
        assert call_stats.per_user(conn, datetime.fromtimestamp(100 * 60, UTC)) == [
            ("", 0, 6 + 7),
            ("", 20014, 2),
            ("alice", 0, 3),
        ]

    _migrate(db, "0014", down=True)
    assert sorted(_rows(db)) == [(100, "getLead", 0, 9), (100, "getLead", 20014, 2), (101, "syncLead", 0, 7)]
    _migrate(db, "head")
