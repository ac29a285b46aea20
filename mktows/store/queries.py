"""Query helpers shared by the engine: portable expressions the backends execute well.

`in_values` matters on PostgreSQL: `col IN ($1, ..., $300)` becomes a non-constant array
that the server compares linearly per row, while `col = ANY($1)` with one array
parameter is a constant it hashes (a 300-key lookup over 10,000 leads: ~100 ms vs ~2 ms).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Connection, String, Table, bindparam, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.sqltypes import NullType


class InValues(ColumnElement[bool]):
    """`column IN values`, rendered as `= ANY(array)` on PostgreSQL."""

    type = Boolean()
    inherit_cache = False  # the rendering depends on the dialect and the value list

    def __init__(self, column: ColumnElement[Any], values: Sequence[Any]) -> None:
        self.column = column
        self.values = list(values)


@compiles(InValues)
def _compile_in(element: InValues, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.in_(element.values), **kw)


@compiles(InValues, "postgresql")
def _compile_any(element: InValues, compiler: SQLCompiler, **kw: Any) -> str:
    item_type = element.column.type
    if isinstance(item_type, NullType):  # e.g. func.lower(col)
        item_type = String()
    param = bindparam(None, element.values, type_=postgresql.ARRAY(item_type))
    return f"{compiler.process(element.column, **kw)} = ANY({compiler.process(param, **kw)})"


def in_values(column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    return InValues(column, values)


def insert_returning_ids(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows and return their new ids, in row order, with one round of executemany.

    PostgreSQL: ordered multi-row INSERT ... RETURNING. SQLite cannot order RETURNING, so
    SQLAlchemy would insert row by row; under the single-writer lock we instead take the
    next ids from the AUTOINCREMENT sequence (never reusing ids of deleted rows).
    """
    if not rows:
        return []
    id_col = table.c.id
    if conn.dialect.name != "sqlite":
        stmt = insert(table).returning(id_col, sort_by_parameter_order=True)
        return [int(i) for i in conn.execute(stmt, rows).scalars().all()]
    seq = conn.execute(text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": table.name}).scalar() or 0
    top = conn.execute(select(func.max(id_col))).scalar() or 0
    start = max(int(seq), int(top)) + 1
    ids = list(range(start, start + len(rows)))
    conn.execute(insert(table), [dict(row, id=i) for row, i in zip(rows, ids, strict=True)])
    return ids


def upsert(conn: Connection, table: Table) -> Any:
    """`INSERT` of the connection's dialect, which has `on_conflict_do_nothing` / `_do_update`
    (SQLite and PostgreSQL spell them the same)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
