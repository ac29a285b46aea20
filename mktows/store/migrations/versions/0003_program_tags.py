"""Program tags as rows (one per tag type), so getMObjects can filter programs by tag in SQL.

Creates `program_tags`, copies each program's JSON `programs.tags` into it and drops the
column.

The drop never recreates `programs` (`recreate="never"`: a plain `ALTER TABLE ... DROP
COLUMN`, SQLite 3.35 or later). Recreating it, Alembic's SQLite default, would DROP the old
table, and with `PRAGMA foreign_keys=ON` (set on every connection; it cannot be switched
off inside the migration's transaction) that drop cascades to the program's costs, emails,
campaigns, members and tags.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_programs = sa.table("programs", sa.column("id", sa.Integer), sa.column("tags", sa.Text))
_program_tags = sa.table(
    "program_tags",
    sa.column("program_id", sa.Integer),
    sa.column("tag_type", sa.String),
    sa.column("tag_value", sa.String),
)


def upgrade() -> None:
    op.create_table(
        "program_tags",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("tag_type", sa.String(length=255), nullable=False),
        sa.Column("tag_value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("program_id", "tag_type", name="pk_program_tags"),
    )
    op.create_index("ix_program_tags_type_value", "program_tags", ["tag_type", "tag_value"], unique=False)
    conn = op.get_bind()
    rows = []
    for program_id, raw in conn.execute(sa.select(_programs.c.id, _programs.c.tags)):
        by_type = {str(t).lower(): (str(t), str(v)) for t, v in json.loads(raw or "[]")}  # last value wins
        rows += [{"program_id": program_id, "tag_type": t, "tag_value": v} for t, v in by_type.values()]
    if rows:
        conn.execute(sa.insert(_program_tags), rows)
    with op.batch_alter_table("programs", recreate="never") as batch_op:
        batch_op.drop_column("tags")


def downgrade() -> None:
    with op.batch_alter_table("programs", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("tags", sa.Text(), nullable=False, server_default="[]"))
    conn = op.get_bind()
    tags: dict[int, list[list[str]]] = {}
    query = sa.select(_program_tags.c.program_id, _program_tags.c.tag_type, _program_tags.c.tag_value)
    for program_id, tag_type, tag_value in conn.execute(query.order_by(_program_tags.c.program_id)):
        tags.setdefault(program_id, []).append([tag_type, tag_value])
    for program_id, pairs in tags.items():
        conn.execute(sa.update(_programs).where(_programs.c.id == program_id).values(tags=json.dumps(pairs)))
    op.drop_index("ix_program_tags_type_value", table_name="program_tags")
    op.drop_table("program_tags")
