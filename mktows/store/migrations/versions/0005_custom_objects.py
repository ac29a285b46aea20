"""Custom object types declared in the instance file and their records.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mktows.store.tables import BigId, UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "custom_object_types",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("name_lower", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name_lower"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "custom_object_records",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("key_text", sa.Text(), nullable=False),
        sa.Column("field_values", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["type_id"], ["custom_object_types.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("type_id", "key_text", name="uq_custom_object_records_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_custom_object_records_type_id", "custom_object_records", ["type_id", "id"], unique=False)
    op.create_index("ix_custom_object_records_lead", "custom_object_records", ["lead_id"], unique=False)
    op.create_table(
        "custom_object_keys",
        sa.Column("record_id", BigId, nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["custom_object_records.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["type_id"], ["custom_object_types.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("record_id", "field", name="pk_custom_object_keys"),
    )
    op.create_index(
        "ix_custom_object_keys_lookup", "custom_object_keys", ["type_id", "field", "value", "record_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_custom_object_keys_lookup", table_name="custom_object_keys")
    op.drop_table("custom_object_keys")
    op.drop_index("ix_custom_object_records_lead", table_name="custom_object_records")
    op.drop_index("ix_custom_object_records_type_id", table_name="custom_object_records")
    op.drop_table("custom_object_records")
    op.drop_table("custom_object_types")
