"""The request log (each SOAP call's request and response, when it is switched on) and the
first answers kept for idempotent retries.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "request_log",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("version", sa.String(8), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False, server_default=""),
        sa.Column("client", sa.String(64), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("fault_code", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("request_size", sa.Integer(), nullable=False),
        sa.Column("response_size", sa.Integer(), nullable=False),
        sa.Column("request_body", sa.LargeBinary(), nullable=False),
        sa.Column("response_body", sa.LargeBinary(), nullable=False),
        sa.Column("stored_bytes", sa.Integer(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_request_log_request_id", "request_log", ["request_id", "id"])
    op.create_index("ix_request_log_at", "request_log", ["at"])
    op.create_index("ix_request_log_operation_id", "request_log", ["operation", "id"])
    op.create_index("ix_request_log_user_id_id", "request_log", ["user_id", "id"])
    op.create_index("ix_request_log_fault_code_id", "request_log", ["fault_code", "id"])
    op.create_table(
        "idempotent_calls",
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", "operation", "digest"),
    )
    op.create_index("ix_idempotent_calls_created_at", "idempotent_calls", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotent_calls")
    op.drop_table("request_log")
