"""Query helpers shared by the engine: portable expressions the backends execute well.

`in_values` matters on PostgreSQL: `col IN ($1, ..., $300)` becomes a non-constant array
that the server compares linearly per row, while `col = ANY($1)` with one array
parameter is a constant it hashes (a 300-key lookup over 10,000 leads: ~100 ms vs ~2 ms).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Connection, String, Table, bindparam, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.sqltypes import NullType
from sqlalchemy.sql.visitors import InternalTraversal


class InValues(ColumnElement[bool]):
    """`column IN values`, rendered as `= ANY(array)` on PostgreSQL.

    The values travel as bound parameters (one expanding list, one array; each dialect
    renders the one it uses), so the statement's compiled form is cached like any other
    and only the values change from call to call.
    """

    type = Boolean()
    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("as_list", InternalTraversal.dp_clauseelement),
        ("as_array", InternalTraversal.dp_clauseelement),
    ]
    # a comparison, not a boolean value: without this SQLite gets `(col IN (...)) = 1`,
    # which no index serves, so every key lookup scanned the whole table
    _is_implicitly_boolean = True

    def __init__(self, column: ColumnElement[Any], values: Sequence[Any]) -> None:
        self.column = column
        values = list(values)
        item_type = column.type if not isinstance(column.type, NullType) else String()  # e.g. func.lower(col)
        self.as_list = bindparam(None, values, type_=item_type, expanding=True)
        self.as_array = bindparam(None, values, type_=postgresql.ARRAY(item_type))


@compiles(InValues)
def _compile_in(element: InValues, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.in_(element.as_list), **kw)


@compiles(InValues, "postgresql")
def _compile_any(element: InValues, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} = ANY({compiler.process(element.as_array, **kw)})"


def in_values(column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    return InValues(column, values)


# Any 64-bit number that nothing else uses as an advisory lock key ("mktowsLD").
LEAD_WRITES_LOCK = 0x6D6B746F77734C44


# Values per IN list: well under SQLite's parameter limit, and a statement size both backends plan fast.
IN_LIST_SIZE = 500


def chunks(items: Sequence[Any], size: int = IN_LIST_SIZE) -> Iterator[Sequence[Any]]:
    """`items` in consecutive slices of at most `size`, for statements with one IN list each."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def plain_rows(conn: Connection, statement: Executable) -> Sequence[tuple[Any, ...]]:
    """The driver's own tuples, for hot paths that read thousands of rows whose columns need
    no conversion (integers and text): building a result row object per row costs as much
    as the database's work."""
    result = conn.execute(statement)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def serialize_lead_writes(conn: Connection) -> None:
    """Hold the instance-wide lead write lock until this transaction ends.

    Leads are matched by keys no unique index can hold (an email may belong to several
    leads), so two transactions that each find "no lead with this email" would both create
    one. On PostgreSQL, every transaction that creates, updates or merges leads takes this
    advisory lock first, across all server processes, and reads after it: the second sees
    what the first committed, and with one lock there is no order to deadlock on. SQLite
    already has one writer at a time (`BEGIN IMMEDIATE`).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(LEAD_WRITES_LOCK)))


def bulk_insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows that all name the same columns: one DBAPI executemany on SQLite, one
    COPY on PostgreSQL.

    What `conn.execute(insert(table), rows)` does, without its per-row parameter processing
    (which cost more than the database's own work for the thousands of value and activity
    rows a sync writes): the statement is compiled once and each column's bind processing
    (e.g. UTC datetimes) is applied directly.
    """
    if not rows:
        return
    sql, order, processors, positional = _bulk_plan(table, tuple(rows[0]), conn.dialect)
    # the rows of one write mostly share a value per processed column (its "now"): converted once
    last: list[tuple[Any, Any]] = [(object(), None) for _ in processors]

    def values(row: dict[str, Any]) -> list[Any]:
        out = [row[c] for c in order]
        for k, (i, process) in enumerate(processors):
            given = out[i]
            seen, converted = last[k]
            if given is not seen:
                converted = process(given)
                last[k] = (given, converted)
            out[i] = converted
        return out

    if conn.dialect.name == "postgresql":
        # COPY: one stream for all the rows. An executemany is a statement per row, and a
        # multi-row INSERT of thousands of parameters costs more to parse than to run.
        quote = conn.dialect.identifier_preparer.quote
        columns = ", ".join(quote(c) for c in order)
        with conn.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f"COPY {quote(table.name)} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(values(row))
        return
    if positional:
        conn.exec_driver_sql(sql, [tuple(values(row)) for row in rows])
    else:
        conn.exec_driver_sql(sql, [dict(zip(order, values(row), strict=True)) for row in rows])


@lru_cache(maxsize=256)
def _bulk_plan(
    table: Table, columns: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[str, ...], tuple[tuple[int, Any], ...], bool]:
    """The compiled INSERT of `columns`, its parameter order and bind processors, made once
    per table, columns and dialect (compiling costs more than a small insert itself)."""
    compiled = insert(table).values({c: bindparam(c) for c in columns}).compile(dialect=dialect)
    order = tuple(compiled.positiontup or ()) if compiled.positional else columns
    # the dialect's own type, as SQLAlchemy binds it (ExactDecimal is an integer on SQLite)
    processors = tuple(
        (i, p) for i, c in enumerate(order) if (p := table.c[c].type.dialect_impl(dialect).bind_processor(dialect))
    )
    return compiled.string, order, processors, bool(compiled.positional)


def insert_returning_ids(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows and return their new ids, in row order.

    The ids are taken first and the rows inserted with them by `bulk_insert`. PostgreSQL:
    from the table's sequence (safe under concurrent writers). SQLite cannot order
    RETURNING, so SQLAlchemy would insert row by row; under the single-writer lock the
    next ids of the AUTOINCREMENT sequence are free (never reusing ids of deleted rows).
    """
    if not rows:
        return []
    id_col = table.c.id
    if conn.dialect.name == "postgresql":
        ids = sorted(conn.execute(_NEXT_IDS, {"table": table.name, "n": len(rows)}).scalars())
    else:
        seq = conn.execute(text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": table.name}).scalar() or 0
        top = conn.execute(select(func.max(id_col))).scalar() or 0
        start = max(int(seq), int(top)) + 1
        ids = list(range(start, start + len(rows)))
    bulk_insert(conn, table, [dict(row, id=i) for row, i in zip(rows, ids, strict=True)])
    return ids


# n fresh ids from a PostgreSQL table's id sequence, in one round trip
_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")


def upsert(conn: Connection, table: Table) -> Any:
    """`INSERT` of the connection's dialect, which has `on_conflict_do_nothing` / `_do_update`
    (SQLite and PostgreSQL spell them the same)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
