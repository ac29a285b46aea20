"""The console's lead search by the beginning of a first or last name.

A partial index on the lower-case values of FirstName and LastName only, with the lead id,
so a name prefix is one range of it, read in order, and keyset pages seek within it. Other
fields' values are left out, so syncs writing them pay nothing for it.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

NAMES = "name IN ('FirstName', 'LastName')"


def upgrade() -> None:
    op.create_index(
        "ix_lead_values_names_lower",
        "lead_values",
        [sa.text("lower(value)"), "lead_id"],
        unique=False,
        sqlite_where=sa.text(NAMES),
        postgresql_where=sa.text(NAMES),
    )


def downgrade() -> None:
    op.drop_index("ix_lead_values_names_lower", table_name="lead_values")
