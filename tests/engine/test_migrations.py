"""The migrations build exactly the schema `store/tables.py` declares, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mktows.store.database import Database
from mktows.store.tables import metadata


def test_migrated_schema_matches_the_tables(database: Database) -> None:
    with database.read() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == [], f"tables.py and the migrations disagree: {differences}"
