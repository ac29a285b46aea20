"""A stamp that changes with every change to the custom lead fields.

Each server process keeps the field list in memory and reloads it when the stamp it reads at
the start of a call differs from the one it loaded with, so a field added by another process
(or the instance file) is seen by the next call there, without reading the list every time.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("INSERT INTO server_meta (key, value) VALUES ('fields_version', 'initial')")


def downgrade() -> None:
    op.execute("DELETE FROM server_meta WHERE key = 'fields_version'")
