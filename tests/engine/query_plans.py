"""Helpers for the query-plan tests: a database big enough that planners prefer indexes, the
SQL the engine sends, and the plan each backend makes of it.

A statement that scans a large table is invisible on a test database of a few rows; these
helpers fill the tables in bulk (straight into the store, not through the API, so it takes
seconds), record every statement a call sends, and explain each one with its own parameters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from sqlalchemy import Connection, event, insert, select, text, update

from mktows.engine import Engine
from mktows.engine.activities.types import ADD_TO_LIST, CHANGE_DATA_VALUE, NEW_LEAD, by_code
from mktows.instance import apply_instance, parse_instance
from mktows.store.database import Database
from mktows.store.tables import (
    activities,
    cookies,
    custom_object_keys,
    custom_object_records,
    custom_object_types,
    import_jobs,
    lead_values,
    leads,
    list_members,
    mobject_fields,
    opportunities,
    opportunity_role_values,
    opportunity_roles,
    opportunity_values,
    request_log,
    request_log_total,
    static_lists,
)

LEADS = 30_000
OWNERS = 1_000  # distinct lead owners, 30 leads each
OPPORTUNITIES = 5_000
ROLES_PER_OPPORTUNITY = 3
RECORDS = 20_000  # custom-object records, one per lead from lead 1
BIG_LIST = 2_000  # members of "Plan List"
BULK_LISTS = 10  # more lists of 3,000 members each
LOGGED_CALLS = 20_000  # request log entries, 100 bytes of bodies each
IMPORTS = 2_000  # finished imports into the bulk lists, 1 in 100 of them into "Bulk 1"
SPAN = timedelta(days=20)  # leads and activities spread over the last 20 days

# Tables that grow with the instance: a full scan of one of them fails the test. The others
# (fields, programs, lists, workspaces, channels, tag types, server_meta...) stay small.
LARGE_TABLES = frozenset(
    {
        "leads",
        "lead_values",
        "activities",
        "list_members",
        "cookies",
        "opportunities",
        "opportunity_values",
        "opportunity_roles",
        "opportunity_role_values",
        "custom_object_records",
        "custom_object_keys",
        "program_members",
        "campaign_leads",
        "run_leads",
        "lead_tokens",
        "outbox",
        "jobs",
        "import_jobs",
        "call_minutes",
        "request_log",
    }
)

INSTANCE = """\
lead_fields: [{name: Badge, type: string}]
lists: [Plan List, Tiny List]
programs:
  - {name: Plan Program A}
  - {name: Plan Program B}
opportunity_fields:
  - {name: ExternalOpportunityId, type: string, external_key: true}
  - {name: Region, type: string}
opportunity_role_fields: [{name: Influence, type: integer}]
custom_objects:
  - name: Visit
    fields:
      - {name: MKTOID, type: integer, link: Id, dedupe: true}
      - {name: rid, type: string, dedupe: true}
      - {name: city, type: string}
"""


def email(i: int) -> str:
    return f"Lead{i}@Example.com"


def owner_email(i: int) -> str:
    return f"Owner{i % OWNERS}@Example.com"


def cookie(i: int) -> str:
    return f"id:123-ABC-456&token:_mch-plan-{i}"


def sfdc(prefix: str, i: int) -> str:
    return f"{prefix}{i:012d}"


@dataclass(frozen=True)
class PlanData:
    """What the loaded database holds that the hot paths name."""

    now: datetime
    big_list_id: int
    tiny_list_id: int


def populate(engine: Engine) -> PlanData:
    """Fill the database: leads with values, cookies, list members, activities,
    opportunities with roles and custom-object records."""
    db = engine.db
    apply_instance(engine, parse_instance(yaml.safe_load(INSTANCE), "plans.yaml"))
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - SPAN
    step = SPAN / LEADS
    with db.write() as conn:
        list_ids = dict(conn.execute(text("SELECT name, id FROM static_lists")).all())
        field_ids = {
            (r.object_name, r.name): r.id
            for r in conn.execute(select(mobject_fields.c.object_name, mobject_fields.c.name, mobject_fields.c.id))
        }
        type_id = conn.execute(
            select(custom_object_types.c.id).where(custom_object_types.c.name == "Visit")
        ).scalar_one()
        lead_rows, value_rows, cookie_rows, activity_rows = [], [], [], []
        for i in range(1, LEADS + 1):
            created = start + step * i
            lead_rows.append(
                {
                    "id": i,
                    "email": email(i),
                    "email_lower": email(i).lower(),
                    "foreign_sys_person_id": f"crm-{i}" if i % 2 else None,
                    "foreign_sys_type": "CUSTOM" if i % 2 else None,
                    "sfdc_lead_id": sfdc("00Q", i),
                    "sfdc_contact_id": sfdc("003", i),
                    "sfdc_account_id": sfdc("001", i // 3),
                    "sfdc_lead_owner_id": sfdc("005", i % OWNERS),
                    "sfdc_oppty_id": sfdc("006", i),
                    "lead_owner_email": owner_email(i),
                    "workspace": "Default",
                    "partition": "Default",
                    "anonymous": False,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            value_rows += [
                {"lead_id": i, "name": "FirstName", "value": f"First{i}"},
                {"lead_id": i, "name": "LastName", "value": f"Last{i}"},
                {"lead_id": i, "name": "Company", "value": f"Company {i % 997}"},
            ]
            if i % 2 == 0:
                cookie_rows.append({"cookie": cookie(i), "lead_id": i, "created_at": created})
            activity_rows += [
                _activity(i, created, NEW_LEAD, "", [("Lead ID", str(i))]),
                _activity(
                    i,
                    created + timedelta(seconds=1),
                    CHANGE_DATA_VALUE,
                    "First Name",
                    [("Attribute Name", "First Name"), ("New Value", f"First{i}"), ("Lead ID", str(i))],
                ),
                _activity(
                    i, created + timedelta(seconds=2), by_code("VisitWebpage"), "/pricing", [("Lead ID", str(i))]
                ),
            ]
        conn.execute(insert(leads), lead_rows)
        conn.execute(insert(lead_values), value_rows)
        conn.execute(insert(cookies), cookie_rows)
        members = [
            {"list_id": list_ids["Plan List"], "lead_id": i, "created_at": start}
            for i in range(1, LEADS + 1, LEADS // BIG_LIST)
        ]
        members += [{"list_id": list_ids["Tiny List"], "lead_id": i, "created_at": start} for i in range(1, 21)]
        for n in range(1, BULK_LISTS + 1):  # other lists, so list_members is a large table
            bulk = conn.execute(
                insert(static_lists).values(name=f"Bulk {n}", created_at=start).returning(static_lists.c.id)
            ).scalar_one()
            conn.execute(
                insert(list_members),
                [{"list_id": bulk, "lead_id": i, "created_at": start} for i in range(n, LEADS + 1, 10)],
            )
        conn.execute(insert(list_members), members)
        bulk = static_lists.c.name.like("Bulk %")
        bulk_ids = list(conn.execute(select(static_lists.c.id).where(bulk).order_by(static_lists.c.id)).scalars())
        conn.execute(
            insert(import_jobs),
            [
                {
                    "list_id": bulk_ids[0] if n % 100 == 0 else bulk_ids[1 + n % (BULK_LISTS - 1)],
                    "mode": "UPSERTLEADS",
                    "clear_list": False,
                    "header": "Email",
                    "rows": json.dumps([email(i) for i in range(n, n + 10)]),
                    "status": "COMPLETE",
                    "estimated_rows": 10,
                    "rows_imported": 10,
                    "created_at": start + SPAN / IMPORTS * n,
                    "started_at": start + SPAN / IMPORTS * n,
                    "ended_at": start + SPAN / IMPORTS * n,
                }
                for n in range(1, IMPORTS + 1)
            ],
        )
        activity_rows += [
            _activity(
                m["lead_id"], now - timedelta(hours=1), ADD_TO_LIST, "Plan List", [("Lead ID", str(m["lead_id"]))]
            )
            for m in members
        ]
        conn.execute(insert(activities), activity_rows)

        opp_rows, opp_values, role_rows, role_values = [], [], [], []
        external = field_ids[("Opportunity", "ExternalOpportunityId")]
        region = field_ids[("Opportunity", "Region")]
        influence = field_ids[("OpportunityPersonRole", "Influence")]
        for o in range(1, OPPORTUNITIES + 1):
            created = start + SPAN / OPPORTUNITIES * o
            opp_rows.append(
                {
                    "id": o,
                    "name": f"Deal {o}",
                    "stage": "Prospecting",
                    "amount": o * 10,
                    "company_id": o % 700,
                    "company_key_name": "AccountNumber",
                    "company_key_value": f"ACC-{o % 700}",
                    "created_at": created,
                    "updated_at": created,
                }
            )
            opp_values += [
                {"opportunity_id": o, "field_id": external, "value": f"EXT-{o}"},
                {"opportunity_id": o, "field_id": region, "value": ("North", "South", "EMEA")[o % 3]},
            ]
            for r in range(ROLES_PER_OPPORTUNITY):
                role_id = (o - 1) * ROLES_PER_OPPORTUNITY + r + 1
                role_rows.append(
                    {
                        "id": role_id,
                        "opportunity_id": o,
                        "lead_id": (o * 7 + r * 3001) % LEADS + 1,
                        "role": "Influencer",
                        "is_primary": r == 0,
                        "created_at": created,
                        "updated_at": created,
                    }
                )
                role_values.append({"role_id": role_id, "field_id": influence, "value": str(r)})
        conn.execute(insert(opportunities), opp_rows)
        conn.execute(insert(opportunity_values), opp_values)
        conn.execute(insert(opportunity_roles), role_rows)
        conn.execute(insert(opportunity_role_values), role_values)

        record_rows, key_rows = [], []
        for n in range(1, RECORDS + 1):
            rid = f"r{n % 50}"
            record_rows.append(
                {
                    "id": n,
                    "type_id": type_id,
                    "lead_id": n,
                    "created_at": start,
                    "updated_at": start,
                    "key_text": json.dumps([str(n), rid], separators=(",", ":")),
                    "field_values": json.dumps({"city": f"City {n % 40}"}),
                }
            )
            key_rows += [
                {"record_id": n, "type_id": type_id, "field": "MKTOID", "value": str(n)},
                {"record_id": n, "type_id": type_id, "field": "rid", "value": rid},
            ]
        conn.execute(insert(custom_object_records), record_rows)
        conn.execute(insert(custom_object_keys), key_rows)
        _log_calls(conn, start, now)
        if not db.is_sqlite:
            for table in ("leads", "opportunities", "opportunity_roles", "custom_object_records"):
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
    if not db.is_sqlite:
        # statistics, and a visibility map so index-only scans cost what they will in production
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return PlanData(now=now, big_list_id=list_ids["Plan List"], tiny_list_id=list_ids["Tiny List"])


def _log_calls(conn: Connection, start: datetime, now: datetime) -> None:
    """Request log entries over the span, of a few operations, users and faults, and their
    running total of kept bytes."""
    step = (now - start) / LOGGED_CALLS
    rows = [
        {
            "at": start + step * n,
            "request_id": f"req-{n}",
            "version": "2_9",
            "operation": ("getLead", "syncLead", "getMultipleLeads")[n % 3],
            "user_id": f"log_user_{n % 20}",
            "client": "127.0.0.1",
            "status": 200 if n % 50 else 500,
            "fault_code": 0 if n % 50 else 20014,
            "duration_ms": 3.0,
            "request_size": 50,
            "response_size": 50,
            "request_body": b"q" * 50,
            "response_body": b"a" * 50,
            "stored_bytes": 100,
        }
        for n in range(LOGGED_CALLS)
    ]
    conn.execute(insert(request_log), rows)
    conn.execute(update(request_log_total).values(stored_bytes=100 * LOGGED_CALLS))


def _activity(lead_id: int, created: datetime, kind: Any, asset: str, attrs: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "created_at": created,
        "type_code": kind.code,
        "type_name": kind.name,
        "asset_name": asset,
        "campaign": None,
        "attributes": json.dumps([list(p) for p in attrs], separators=(",", ":")),
    }


# --- capturing and explaining ----------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One statement as the driver received it, with (the first of) its parameter sets."""

    sql: str
    params: Any


EXPLAINABLE = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


@contextmanager
def capture(db: Database) -> Iterator[list[Sent]]:
    """Record every statement sent through `db` while the block runs."""
    sent: list[Sent] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith(EXPLAINABLE):
            many = executemany and isinstance(parameters, (list, tuple)) and parameters
            sent.append(Sent(statement, parameters[0] if many else parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def explain(db: Database, sent: Sent, *, seq_scans: bool = True) -> list[str]:
    """The backend's plan of one statement with its own parameters, one line a node.

    `seq_scans=False` (PostgreSQL) plans as if sequential scans cost the earth, so a seq scan
    left in the plan is one that no index can replace.
    """
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if db.is_sqlite:
            cursor.execute("EXPLAIN QUERY PLAN " + sent.sql, sent.params or ())
            depth: dict[int, int] = {0: 0}
            lines = []
            for node, parent, _, detail in cursor.fetchall():
                depth[node] = depth.get(parent, 0) + 1
                lines.append("  " * (depth[node] - 1) + detail)
            return lines
        if not seq_scans:
            cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sent.sql, sent.params or None)
        return [row[0] for row in cursor.fetchall()]
    finally:
        if not db.is_sqlite:
            raw.rollback()
        raw.close()


_SQLITE_SCAN = re.compile(r"\bSCAN (\w+)")
_SQLITE_INDEXED = ("USING INDEX", "USING COVERING INDEX", "USING INTEGER PRIMARY KEY")
_PG_SCAN = re.compile(r"Seq Scan on (\w+)")
_PG_INDEX_SCAN = re.compile(r"Index (?:Only )?Scan(?: Backward)? using \w+ on (\w+)")
# `col IN (...) = 1`: SQLite compares the IN's truth value, so no index can serve it
_BOOLEAN_IN = re.compile(r"IN \([^()]*\)\)? = 1")


def _sqlite_scans(sql: str, plan: list[str]) -> list[str]:
    """SCANs of large tables. One through an index still reads the whole index (the old
    `IN (...) = 1` form planned as `SCAN leads USING COVERING INDEX ...`), so it passes only
    as an ordered walk that a LIMIT stops early: the index gives the ORDER BY (no temporary
    B-tree sorts the rows)."""
    ordered_walk = " LIMIT " in sql and not any("TEMP B-TREE FOR ORDER BY" in line for line in plan)
    found = []
    for line in plan:
        match = _SQLITE_SCAN.search(line)
        if match and match.group(1) in LARGE_TABLES:
            if not any(u in line for u in _SQLITE_INDEXED) or not ordered_walk:
                found.append(line.strip())
    return found


def _pg_nodes(plan: list[str]) -> list[tuple[str, list[str]]]:
    """(node line, its property lines) of a PostgreSQL text plan."""
    nodes: list[tuple[str, list[str]]] = []
    for n, line in enumerate(plan):
        if n == 0 or "->" in line:
            nodes.append((line.strip(), []))
        else:
            nodes[-1][1].append(line.strip())
    return nodes


def _pg_scans(plan: list[str]) -> list[str]:
    """Seq scans of large tables, and index scans of them without an index condition: a walk
    of the whole index, filtered (the primary key for an ORDER BY id) or not (the inner side of
    a merge join, which reads the index from its start until it meets the other side)."""
    found = []
    for node, props in _pg_nodes(plan):
        seq = _PG_SCAN.search(node)
        if seq and seq.group(1) in LARGE_TABLES:
            found.append(node)
            continue
        index = _PG_INDEX_SCAN.search(node)
        if index and index.group(1) in LARGE_TABLES and not any(p.startswith("Index Cond") for p in props):
            found.append(f"{node} ({'; '.join(props) or 'no condition'})")
    return found


def work(db: Database, sent: Sent) -> int:
    """What running one statement costs: SQLite virtual-machine steps (in tens), PostgreSQL
    buffers touched. Unlike a plan, it shows which bound an index seek really starts from."""
    raw = db.engine.raw_connection()
    try:
        if db.is_sqlite:
            steps = 0

            def count() -> int:
                nonlocal steps
                steps += 1
                return 0

            raw.driver_connection.set_progress_handler(count, 10)  # type: ignore[union-attr]
            try:
                raw.cursor().execute(sent.sql, sent.params or ()).fetchall()
            finally:
                raw.driver_connection.set_progress_handler(None, 0)  # type: ignore[union-attr]
            return steps
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sent.sql, sent.params or None)
        plan = cursor.fetchone()[0][0]["Plan"]
        return int(plan.get("Shared Hit Blocks", 0)) + int(plan.get("Shared Read Blocks", 0))
    finally:
        if not db.is_sqlite:
            raw.rollback()
        raw.close()


def indexes_used(db: Database, sent: list[Sent]) -> str:
    """All plans of the statements, as one text to look index names up in."""
    return "\n".join(line for s in sent for line in explain(db, s))


def problems(db: Database, sent: list[Sent]) -> list[str]:
    """A readable report of every statement that scans a large table (empty when none does).

    PostgreSQL picks a seq scan over an index when a table is small enough, as some are in a
    test; such a statement is planned again with seq scans off, and fails only when the plan
    then still scans the table, or walks an index without a condition that bounds it.
    """
    out = []
    for s in sent:
        plan = explain(db, s)
        if db.is_sqlite:
            scans = _sqlite_scans(s.sql, plan)
        elif _pg_scans(plan):
            plan = explain(db, s, seq_scans=False)
            scans = _pg_scans(plan)
        else:
            scans = []
        why = [f"full scan: {' | '.join(scans)}"] if scans else []
        if _BOOLEAN_IN.search(s.sql):
            why.append("IN (...) compared to 1, which no index serves")
        if why:
            out.append(
                f"{'; '.join(why)}\n  SQL: {s.sql}\n  params: {_short(s.params)}\n  plan:\n    " + "\n    ".join(plan)
            )
    return out


def _short(params: Any) -> str:
    shown = repr(params)
    return shown if len(shown) < 400 else shown[:400] + "..."
