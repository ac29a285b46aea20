"""The request log's kept bytes as one running total, so that keeping the log within its size
bound no longer sums the whole log.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_log_total",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("stored_bytes", sa.BigInteger(), nullable=False),
    )
    op.execute(
        "INSERT INTO request_log_total (id, stored_bytes) SELECT 1, COALESCE(SUM(stored_bytes), 0) FROM request_log"
    )


def downgrade() -> None:
    op.drop_table("request_log_total")
