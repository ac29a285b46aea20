"""Call counters shared by every server process on one database.

The daily quota and the rolling rate limit must hold for a tenant however many `mktows serve`
processes answer its calls, so their counts live in the database: one row per quota day, one
per wall-clock second of the rate window.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_counters",
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "slot"),
    )


def downgrade() -> None:
    op.drop_table("call_counters")
