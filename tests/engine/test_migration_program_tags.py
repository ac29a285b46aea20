"""Migration 0003 on a database that already holds programs: their JSON tags become rows,
and nothing that hangs off a program (costs, emails, campaigns) is lost on the way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from support.pg import backends, temporary_database

from mktows.store.database import MIGRATIONS_DIR, Database

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


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


def _table(conn: sa.Connection, name: str) -> sa.Table:
    return sa.Table(name, sa.MetaData(), autoload_with=conn)


def _seed_at_0002(db: Database) -> dict[str, int]:
    """Two programs as revision 0002 stored them, with a cost, an email and a campaign."""
    with db.write() as conn:
        workspaces, programs = _table(conn, "workspaces"), _table(conn, "programs")
        ws = conn.execute(
            sa.insert(workspaces)
            .values(name="Default", name_lower="default", created_at=NOW)
            .returning(workspaces.c.id)
        ).scalar_one()
        ids = {}
        for name, tags in (("Tagged", [["Region", "North"], ["Product Line", "Cloud"]]), ("Bare", [])):
            ids[name] = conn.execute(
                sa.insert(programs)
                .values(
                    name=name,
                    name_lower=name.lower(),
                    type="Marketing Program",
                    workspace_id=ws,
                    folder="",
                    tags=json.dumps(tags),
                    tokens="[]",
                    archived=False,
                    created_at=NOW,
                    updated_at=NOW,
                )
                .returning(programs.c.id)
            ).scalar_one()
        conn.execute(
            sa.insert(_table(conn, "program_costs")).values(program_id=ids["Tagged"], month="2026-01-01", amount="10")
        )
        conn.execute(
            sa.insert(_table(conn, "emails")).values(
                program_id=ids["Tagged"],
                name="Hi",
                name_lower="hi",
                from_email="a@example.com",
                subject="",
                html="",
                text="",
                created_at=NOW,
                updated_at=NOW,
            )
        )
        conn.execute(
            sa.insert(_table(conn, "campaigns")).values(
                program_id=ids["Tagged"],
                name="C",
                name_lower="c",
                description="",
                kind="batch",
                sources="[]",
                smart_list="[]",
                filter_logic="all",
                flow="[]",
                qualification="every_time",
                active=True,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    return ids


def _count(conn: sa.Connection, name: str) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(_table(conn, name))).scalar_one()


def test_upgrade_moves_json_tags_to_rows_and_keeps_program_children(empty_database: Database) -> None:
    db = empty_database
    _migrate(db, "0002")
    ids = _seed_at_0002(db)
    _migrate(db, "0003")
    with db.read() as conn:
        assert "tags" not in {c["name"] for c in sa.inspect(conn).get_columns("programs")}
        tags = _table(conn, "program_tags")
        rows = conn.execute(
            sa.select(tags.c.program_id, tags.c.tag_type, tags.c.tag_value).order_by(tags.c.tag_type)
        ).all()
        assert [tuple(r) for r in rows] == [
            (ids["Tagged"], "Product Line", "Cloud"),
            (ids["Tagged"], "Region", "North"),
        ]
        # dropping the column did not recreate `programs` (which would cascade-delete children on SQLite)
        assert (
            _count(conn, "programs"),
            _count(conn, "program_costs"),
            _count(conn, "emails"),
            _count(conn, "campaigns"),
        ) == (2, 1, 1, 1)

    _migrate(db, "0002", down=True)
    with db.read() as conn:
        programs = _table(conn, "programs")
        stored = dict(conn.execute(sa.select(programs.c.name, programs.c.tags)).all())
        assert sorted(json.loads(stored["Tagged"])) == [["Product Line", "Cloud"], ["Region", "North"]]
        assert json.loads(stored["Bare"]) == []
        assert "program_tags" not in sa.inspect(conn).get_table_names()
        assert _count(conn, "program_costs") == 1
