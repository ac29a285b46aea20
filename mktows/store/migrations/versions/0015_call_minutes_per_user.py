"""The per-minute call counts by API user as well, for the console's API users page.

`call_minutes` gains `user_id` (the authenticated caller; '' for a call that failed
authentication or came before it) and it joins the primary key, between the minute and the
operation, so a day's rows are still one range of it. The rows counted before keep their
counts, under ''.

SQLite cannot change a table's primary key: the rows are copied into a table built with the
new key, which then takes the old one's name (what batch mode does, without its reflection of
the old key). PostgreSQL adds the column (every row gets '') and rebuilds the key in place.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TABLE = "call_minutes"
PRIMARY_KEY = "call_minutes_pkey"  # PostgreSQL's name for the key 0012 made
OLD_KEY = ["minute", "operation", "fault_code"]
NEW_KEY = ["minute", "user_id", "operation", "fault_code"]


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _rebuild_on_sqlite(key: list[str], copied: str) -> None:
    """The table again with primary key `key` (and a user_id column when the key has it),
    holding the rows `copied` selects from the old one."""
    columns: list[sa.Column[Any]] = [sa.Column("minute", sa.BigInteger(), nullable=False)]
    if "user_id" in key:
        columns.append(sa.Column("user_id", sa.String(255), nullable=False, server_default=""))
    columns += [
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("fault_code", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
    ]
    op.create_table("call_minutes_rebuilt", *columns, sa.PrimaryKeyConstraint(*key, name=PRIMARY_KEY))
    names = ", ".join(c.name for c in columns)
    op.execute(f"INSERT INTO call_minutes_rebuilt ({names}) {copied}")
    op.drop_table(TABLE)
    op.rename_table("call_minutes_rebuilt", TABLE)


def upgrade() -> None:
    if _sqlite():
        _rebuild_on_sqlite(NEW_KEY, "SELECT minute, '', operation, fault_code, count FROM call_minutes")
        return
    op.add_column(TABLE, sa.Column("user_id", sa.String(255), nullable=False, server_default=""))
    op.drop_constraint(PRIMARY_KEY, TABLE, type_="primary")
    op.create_primary_key(PRIMARY_KEY, TABLE, NEW_KEY)


def downgrade() -> None:
    # each minute, operation and fault code gets back one row: the sum of its users' counts
    summed = "SELECT minute, operation, fault_code, SUM(count) FROM call_minutes GROUP BY minute, operation, fault_code"
    if _sqlite():
        _rebuild_on_sqlite(OLD_KEY, summed)
        return
    op.execute(f"CREATE TEMPORARY TABLE call_minutes_summed (minute, operation, fault_code, count) AS {summed}")
    op.execute("DELETE FROM call_minutes")
    op.drop_constraint(PRIMARY_KEY, TABLE, type_="primary")
    op.drop_column(TABLE, "user_id")
    op.create_primary_key(PRIMARY_KEY, TABLE, OLD_KEY)
    op.execute("INSERT INTO call_minutes SELECT minute, operation, fault_code, count FROM call_minutes_summed")
    op.execute("DROP TABLE call_minutes_summed")
