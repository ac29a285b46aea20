"""Indexes the hot paths need so that no call reads a large table from end to end.

Lead keys that had none (SFDC account, owner and opportunity ids; the owner's email compared
ignoring case), opportunity names and Company keys and custom values compared ignoring case (externalKey
lookups, Name criteria), and the lead side of the membership tables, which a merge moves and
deleting a lead empties.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# (index, table, columns or expressions)
INDEXES: tuple[tuple[str, str, list[str | sa.TextClause]], ...] = (
    ("ix_leads_sfdc_account_id", "leads", ["sfdc_account_id"]),
    ("ix_leads_sfdc_lead_owner_id", "leads", ["sfdc_lead_owner_id"]),
    ("ix_leads_sfdc_oppty_id", "leads", ["sfdc_oppty_id"]),
    ("ix_leads_lead_owner_email_lower", "leads", [sa.text("lower(lead_owner_email)")]),
    ("ix_opportunities_name_lower", "opportunities", [sa.text("lower(name)")]),
    ("ix_opportunities_company_key_value_lower", "opportunities", [sa.text("lower(company_key_value)")]),
    ("ix_opportunity_values_field_lower", "opportunity_values", ["field_id", sa.text("lower(value)")]),
    ("ix_opportunity_role_values_field_lower", "opportunity_role_values", ["field_id", sa.text("lower(value)")]),
    ("ix_campaign_leads_lead", "campaign_leads", ["lead_id"]),
    ("ix_lead_tokens_lead", "lead_tokens", ["lead_id"]),
    ("ix_run_leads_lead", "run_leads", ["lead_id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
