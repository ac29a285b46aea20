"""Initial schema: users, lead fields, leads and their values, cookies, lists, activities.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mktows.store.tables import BigId, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "api_users",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("encryption_key", sa.String(255), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "lead_fields",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("name_lower", sa.String(255), nullable=False, unique=True),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("data_type", sa.String(32), nullable=False),
        sa.Column("size", sa.Integer, nullable=True),
        sa.Column("read_only", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "leads",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(255)),
        sa.Column("email_lower", sa.String(255)),
        sa.Column("foreign_sys_person_id", sa.String(255)),
        sa.Column("foreign_sys_type", sa.String(32)),
        sa.Column("sfdc_lead_id", sa.String(64)),
        sa.Column("sfdc_contact_id", sa.String(64)),
        sa.Column("sfdc_account_id", sa.String(64)),
        sa.Column("sfdc_lead_owner_id", sa.String(64)),
        sa.Column("sfdc_oppty_id", sa.String(64)),
        sa.Column("lead_owner_email", sa.String(255)),
        sa.Column("workspace", sa.String(255), nullable=False),
        sa.Column("partition", sa.String(255), nullable=False),
        sa.Column("anonymous", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_leads_email_lower", "leads", ["email_lower"])
    op.create_index("ix_leads_foreign_sys_person_id", "leads", ["foreign_sys_person_id"])
    op.create_index("ix_leads_sfdc_lead_id", "leads", ["sfdc_lead_id"])
    op.create_index("ix_leads_sfdc_contact_id", "leads", ["sfdc_contact_id"])
    op.create_index("ix_leads_updated_at_id", "leads", ["updated_at", "id"])
    op.create_table(
        "lead_values",
        sa.Column("lead_id", sa.Integer, sa.ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("lead_id", "name", name="pk_lead_values"),
    )
    op.create_table(
        "cookies",
        sa.Column("cookie", sa.String(255), primary_key=True),
        sa.Column("lead_id", sa.Integer, sa.ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_cookies_lead_id", "cookies", ["lead_id"])
    op.create_table(
        "static_lists",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("program_name", sa.String(255)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_static_lists_name", "static_lists", ["name"])
    op.create_table(
        "list_members",
        sa.Column("list_id", sa.Integer, sa.ForeignKey("static_lists.id", ondelete="CASCADE"), nullable=False),
        sa.Column("lead_id", sa.Integer, sa.ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("list_id", "lead_id", name="pk_list_members"),
    )
    op.create_index("ix_list_members_lead_id", "list_members", ["lead_id"])
    op.create_table(
        "activities",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("lead_id", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("type_code", sa.String(64)),
        sa.Column("type_name", sa.String(128), nullable=False),
        sa.Column("asset_name", sa.String(255), nullable=False),
        sa.Column("campaign", sa.String(255)),
        sa.Column("attributes", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_activities_lead_created_id", "activities", ["lead_id", "created_at", "id"])
    op.create_index("ix_activities_created_id", "activities", ["created_at", "id"])


def downgrade() -> None:
    for name in (
        "activities",
        "list_members",
        "static_lists",
        "cookies",
        "lead_values",
        "leads",
        "lead_fields",
        "api_users",
        "server_meta",
    ):
        op.drop_table(name)
