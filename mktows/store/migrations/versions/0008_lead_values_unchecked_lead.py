"""Lead values without a foreign key to their lead.

PostgreSQL checks a foreign key row by row, taking a share lock on the referenced lead for
each: a sync of 300 leads with nine values each spent more time in those 2,700 checks than in
everything else it wrote. The engine keeps the rule itself: values are written only for leads
written or read under the lead-write lock in the same transaction, and the one path that
deletes leads (a merge) deletes their values first.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_SQLITE_TABLE = """
CREATE TABLE lead_values_new (
    lead_id INTEGER NOT NULL,
    name VARCHAR(255) NOT NULL,
    value TEXT NOT NULL,
    CONSTRAINT pk_lead_values PRIMARY KEY (lead_id, name)
)
"""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":  # SQLite drops a constraint by rebuilding the table
        op.execute(_SQLITE_TABLE)
        op.execute("INSERT INTO lead_values_new (lead_id, name, value) SELECT lead_id, name, value FROM lead_values")
        op.execute("DROP TABLE lead_values")
        op.execute("ALTER TABLE lead_values_new RENAME TO lead_values")
        return
    for key in sa.inspect(bind).get_foreign_keys("lead_values"):
        if key["name"]:
            op.drop_constraint(key["name"], "lead_values", type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        raise NotImplementedError("restore a backup taken before this migration")
    op.create_foreign_key(None, "lead_values", "leads", ["lead_id"], ["id"], ondelete="CASCADE")
