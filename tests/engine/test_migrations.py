"""The migrations build exactly the schema `store/tables.py` declares, on both backends."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, text

from mktows.store.database import Database
from mktows.store.tables import metadata


# SQLAlchemy cannot reflect SQLite indexes on expressions (it warns and leaves them out);
# the second test checks that those exist, by name and table.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_migrated_schema_matches_the_tables(database: Database) -> None:
    with database.read() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == [], f"tables.py and the migrations disagree: {differences}"


def test_expression_indexes_match_the_tables(database: Database) -> None:
    """Every index on an expression that tables.py declares exists, on the same table."""
    declared = {
        index.name: index.table.name  # type: ignore[union-attr]
        for table in metadata.tables.values()
        for index in table.indexes
        if not all(isinstance(e, Column) for e in index.expressions)
    }
    assert declared, "tables.py declares no index on an expression"
    with database.read() as conn:
        if database.is_sqlite:
            query = text("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'")
        else:
            query = text("SELECT indexname, tablename FROM pg_indexes WHERE schemaname = current_schema()")
        present = dict(conn.execute(query).all())
    assert {name: present.get(name) for name in declared} == declared
