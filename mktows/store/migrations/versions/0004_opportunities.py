"""Opportunities, their person roles and the custom fields of both (syncMObjects without a CRM).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mktows.store.tables import ExactDecimal, UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "opportunities",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=True),
        sa.Column("close_date", sa.Date(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("expected_revenue", ExactDecimal(), nullable=True),
        sa.Column("external_created_date", UTCDateTime(), nullable=True),
        sa.Column("fiscal", sa.String(length=255), nullable=True),
        sa.Column("fiscal_quarter", sa.Integer(), nullable=True),
        sa.Column("fiscal_year", sa.Integer(), nullable=True),
        sa.Column("forecast_category_name", sa.String(length=255), nullable=True),
        sa.Column("is_closed", sa.Boolean(), nullable=True),
        sa.Column("is_won", sa.Boolean(), nullable=True),
        sa.Column("last_activity_date", sa.Date(), nullable=True),
        sa.Column("lead_source", sa.String(length=255), nullable=True),
        sa.Column("next_step", sa.String(length=255), nullable=True),
        sa.Column("probability", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Float(), nullable=True),
        sa.Column("stage", sa.String(length=255), nullable=True),
        sa.Column("type", sa.String(length=255), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("company_key_name", sa.String(length=255), nullable=True),
        sa.Column("company_key_value", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_opportunities_company_id", "opportunities", ["company_id"], unique=False)
    op.create_table(
        "opportunity_roles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=255), nullable=True),
        sa.Column("is_primary", sa.Boolean(), nullable=True),
        sa.Column("external_created_date", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("opportunity_id", "lead_id", name="uq_opportunity_roles_opportunity_lead"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_opportunity_roles_lead", "opportunity_roles", ["lead_id"], unique=False)
    op.create_table(
        "mobject_fields",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("object_name", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("name_lower", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("data_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("external_key", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("object_name", "name_lower", name="uq_mobject_fields_object_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "opportunity_values",
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["field_id"], ["mobject_fields.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("opportunity_id", "field_id", name="pk_opportunity_values"),
    )
    op.create_index("ix_opportunity_values_field", "opportunity_values", ["field_id"], unique=False)
    op.create_table(
        "opportunity_role_values",
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["role_id"], ["opportunity_roles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["field_id"], ["mobject_fields.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("role_id", "field_id", name="pk_opportunity_role_values"),
    )
    op.create_index("ix_opportunity_role_values_field", "opportunity_role_values", ["field_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_opportunity_role_values_field", table_name="opportunity_role_values")
    op.drop_table("opportunity_role_values")
    op.drop_index("ix_opportunity_values_field", table_name="opportunity_values")
    op.drop_table("opportunity_values")
    op.drop_table("mobject_fields")
    op.drop_index("ix_opportunity_roles_lead", table_name="opportunity_roles")
    op.drop_table("opportunity_roles")
    op.drop_index("ix_opportunities_company_id", table_name="opportunities")
    op.drop_table("opportunities")
