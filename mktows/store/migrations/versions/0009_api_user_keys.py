"""API users: a strict-input flag and a previous key that keeps working until a set time.

A key rotation keeps the old key valid for an overlap period, so an integration can move to the
new key without a minute in which its calls fail. `strict` makes the server refuse, for that
user, what Marketo silently ignored (unknown or mis-cased elements, keys past the limit).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mktows.store.tables import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_users") as batch:
        batch.add_column(sa.Column("strict", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("previous_key", sa.Text(), nullable=True))
        batch.add_column(sa.Column("previous_key_expires_at", UTCDateTime(), nullable=True))
        batch.alter_column("encryption_key", type_=sa.Text(), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("api_users") as batch:
        batch.drop_column("previous_key_expires_at")
        batch.drop_column("previous_key")
        batch.drop_column("strict")
