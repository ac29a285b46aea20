"""A campaign's runs in id order: the console's run history (keyset pages, newest first) and
each campaign's last run.

`ix_campaign_runs_campaign` was on `campaign_id` alone. SQLite keeps the rowid in every index,
so it already served `WHERE campaign_id = ? ORDER BY id DESC`; PostgreSQL did not, and either
sorted all of a campaign's runs or walked the primary key backwards past the runs of every
other campaign (a trigger campaign requested once a lead has as many runs as requests). With
`id` in the index both backends seek to a page.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_campaign_runs_campaign", table_name="campaign_runs")
    op.create_index("ix_campaign_runs_campaign", "campaign_runs", ["campaign_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_campaign_runs_campaign", table_name="campaign_runs")
    op.create_index("ix_campaign_runs_campaign", "campaign_runs", ["campaign_id"], unique=False)
