"""Build a migrated mktows database of N synthetic leads, fast, and keep it cached.

    .venv/bin/python bench/build_db.py --size 100000 [--db sqlite|postgresql://...] [--force] [--verify]

The schema comes from `Database(url).migrate()`; the rows go straight into the tables the engine
writes (`leads`, `lead_values`, `cookies`, `static_lists`, `list_members`, `activities`,
`lead_fields`, `api_users`) in the same shapes as `SyncBatch.flush`, `write_activities` and
`add_members` write them, so the API reads them exactly as if they had been synced:
SQLite with raw `sqlite3.executemany` (journal off, synchronous OFF, secondary indexes dropped
during the load and recreated from the migration's own DDL); PostgreSQL with `COPY`.

Each lead has 10 fields: four `leads` columns (Email, ForeignSysPersonId with its
ForeignSysType, SFDCLeadId, SFDCAccountId) and six name/value rows (FirstName, LastName,
Company, City and the custom fields Bench_Segment and Bench_Score). One lead in ten has a
Munchkin cookie; half are in the list `Bench Newsletter`, one in ten in `Bench Webinar`.
Activities: `New Lead` at creation, `Change Data Value` (City) at the last update,
`Add to List` per membership, with ids in time order as a live server would assign them.
`updated_at` is spread over the 330 days before the build, so LastUpdateAtSelector windows
select a proportional slice.

SQLite databases are cached as `bench/.data/leads-<N>.db`; PostgreSQL ones are the database
`mktows_bench_<N>` on the server given. A JSON sidecar (`bench/.data/*.json`) records what was
built (time anchor, row counts, last activity id) so reruns reuse it and a benchmark can undo
its own writes (`reset`).
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
FORMAT = 3  # bump when the generated data changes, so caches rebuild
SEED = 20261202
DAY_US = 86_400_000_000
SPAN_DAYS = 330
LISTS = ("Bench Newsletter", "Bench Webinar")
CUSTOM_FIELDS = (("Bench_Segment", "Bench Segment", "string"), ("Bench_Score", "Bench Score", "integer"))
# the 10 fields of every lead, as getMultipleLeads' includeAttributes names them
FIELDS = (
    "Email",
    "ForeignSysPersonId",
    "SFDCLeadId",
    "SFDCAccountId",
    "FirstName",
    "LastName",
    "Company",
    "City",
    "Bench_Segment",
    "Bench_Score",
)
VALUE_FIELDS = ("FirstName", "LastName", "Company", "City", "Bench_Segment", "Bench_Score")
CITIES = (
    "Paris",
    "Lyon",
    "Berlin",
    "Munich",
    "London",
    "Leeds",
    "Madrid",
    "Austin",
    "Boston",
    "Denver",
    "Osaka",
    "Lagos",
    "Quito",
    "Perth",
    "Oslo",
    "Porto",
    "Turin",
    "Ghent",
    "Graz",
    "Cork",
)
SEGMENTS = ("Enterprise", "Mid-Market", "SMB", "Partner", "Public")
FIRST = ("Ann", "Bob", "Chen", "Dana", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jo", "Kai", "Lea", "Max", "Nia")
LAST = ("Smith", "Garcia", "Novak", "Okafor", "Tanaka", "Dubois", "Rossi", "Kowalski", "Silva", "Berg")


# --- what lead i looks like (also used by the benchmarks to pick keys and check replies) ----


def email(i: int) -> str:
    return f"Lead{i}@Bench{i % 97}.Example.com"


def cookie(i: int) -> str | None:
    return f"id:561-HYG-937&token:_mch-bench.example.com-{i}-{i * 7919 % 100003}" if i % 10 == 1 else None


def sfdc_lead_id(i: int) -> str:
    return f"00Q{i:015d}"


def sfdc_account_id(i: int) -> str:
    return f"001{i // 5:015d}"  # five leads per account


def values(i: int) -> dict[str, str]:
    return {
        "FirstName": f"{FIRST[i % len(FIRST)]}{i}",
        "LastName": LAST[i % len(LAST)],
        "Company": f"Company {i % 5003}",
        "City": CITIES[i % len(CITIES)],
        "Bench_Segment": SEGMENTS[i % len(SEGMENTS)],
        "Bench_Score": str(i % 1000),
    }


def memberships(i: int) -> list[int]:
    """1-based ids of the lists lead i belongs to (lists are created in LISTS order)."""
    return [k + 1 for k, keep in enumerate((i % 2 == 0, i % 10 == 3)) if keep]


@dataclass
class Built:
    """The sidecar: what a cached database holds."""

    format: int
    size: int
    url: str
    anchor: str  # every updated_at is in (anchor - SPAN_DAYS, anchor]
    leads: int
    values: int
    activities: int
    cookies: int
    members: int
    seconds: float

    @property
    def end(self) -> datetime:
        return datetime.fromisoformat(self.anchor)

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=SPAN_DAYS)


def sidecar_path(size: int, db: str) -> Path:
    tag = "sqlite" if db == "sqlite" else "pg"
    return DATA / f"{tag}-{size}.json"


def database_url(size: int, db: str) -> str:
    """`sqlite` -> the cached file; a PostgreSQL server URL -> its `mktows_bench_<size>` database."""
    if db == "sqlite":
        return f"sqlite:///{DATA / f'leads-{size}.db'}"
    base = db.rsplit("/", 1)[0] if db.count("/") >= 3 else db.rstrip("/")
    return f"{base}/mktows_bench_{size}"


def pg_dsn(url: str) -> str:
    """A libpq DSN for psycopg from a SQLAlchemy-style URL."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


# --- the rows -------------------------------------------------------------------------


def timeline(size: int, anchor_us: int) -> tuple[list[int], list[int]]:
    """(created_us, updated_us) per lead (index 0 is lead 1): ids increase with creation time."""
    rng = random.Random(SEED)
    first = anchor_us - SPAN_DAYS * DAY_US
    step = (SPAN_DAYS - 1) * DAY_US // max(size, 1)
    created, updated = [], []
    for i in range(size):
        c = first + i * step + rng.randrange(max(step, 1))
        created.append(c)
        updated.append(c + rng.randrange(1, max(2, min(30 * DAY_US, anchor_us - c))))
    return created, updated


def stamp(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def activity_events(created: list[int], updated: list[int]) -> Iterator[tuple[int, int, int]]:
    """(time_us, kind, lead) in time order: 0 New Lead, 1 Add to List (one per list), 2 Change Data Value."""
    news = ((c, 0, i + 1) for i, c in enumerate(created))
    adds = ((c + 1_000_000 + k, 1, i + 1) for i, c in enumerate(created) for k in range(len(memberships(i + 1))))
    changes = sorted((u, 2, i + 1) for i, u in enumerate(updated))
    return heapq.merge(news, adds, changes)


def activity_row(seq_per_lead: dict[int, int], when: str, day: str, kind: int, lead: int) -> tuple:
    lead_s = str(lead)
    if kind == 0:
        attrs = (
            f'[["Source Type","Web service API"],["Source Info","Web service API"],'
            f'["Created Date","{day}"],["Lead ID","{lead_s}"]]'
        )
        return (lead, when, "NewLead", "New Lead", "", None, attrs)
    if kind == 1:
        k = seq_per_lead.get(lead, 0)
        seq_per_lead[lead] = k + 1
        list_id = memberships(lead)[k]
        if k + 1 == len(memberships(lead)):
            del seq_per_lead[lead]
        attrs = f'[["List ID","{list_id}"],["Lead ID","{lead_s}"]]'
        return (lead, when, "AddToList", "Add to List", LISTS[list_id - 1], None, attrs)
    city = CITIES[lead % len(CITIES)]
    old = CITIES[(lead + 7) % len(CITIES)]
    attrs = (
        f'[["Attribute Name","City"],["Old Value","{old}"],["New Value","{city}"],'
        f'["Reason","SOAP API"],["Lead ID","{lead_s}"]]'
    )
    return (lead, when, "ChangeDataValue", "Change Data Value", "City", None, attrs)


def migrate(url: str) -> None:
    sys.path.insert(0, str(HERE.parent))
    from mktows.store.database import Database

    database = Database(url)
    database.migrate()
    database.dispose()


# --- SQLite -------------------------------------------------------------------------


def _sqlite_text(us: int) -> str:
    return stamp(us).replace(tzinfo=None).isoformat(" ", "microseconds")


def build_sqlite(size: int, path: Path, anchor_us: int, log) -> dict[str, int]:  # type: ignore[no-untyped-def]
    tmp = path.with_suffix(".building")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    migrate(f"sqlite:///{tmp}")
    db = sqlite3.connect(tmp, isolation_level=None)
    db.execute("PRAGMA journal_mode=DELETE")
    db.executescript(
        "PRAGMA synchronous=OFF; PRAGMA journal_mode=OFF; PRAGMA cache_size=-1000000;"
        "PRAGMA temp_store=MEMORY; PRAGMA foreign_keys=OFF;"
    )
    tables = ("leads", "lead_values", "cookies", "list_members", "activities")
    indexes = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN "
        f"({','.join('?' * len(tables))})",
        tables,
    ).fetchall()
    for name, _ in indexes:
        db.execute(f"DROP INDEX {name}")
    built = _sqlite_text(anchor_us)
    db.execute("BEGIN")
    db.execute(
        "INSERT OR REPLACE INTO api_users (user_id, encryption_key, enabled, created_at) VALUES (?, ?, 1, ?)",
        ("bench_user", "bench-secret-key1", built),
    )
    db.executemany(
        "INSERT OR REPLACE INTO lead_fields VALUES (?, ?, ?, ?, NULL, 0, ?)",
        [(n, n.lower(), d, t, built) for n, d, t in CUSTOM_FIELDS],
    )
    db.executemany(
        "INSERT INTO static_lists (id, name, program_name, created_at) VALUES (?, ?, NULL, ?)",
        [(k + 1, name, built) for k, name in enumerate(LISTS)],
    )
    created, updated = timeline(size, anchor_us)
    log(f"  timeline ready; inserting {size:,} leads")
    db.executemany(
        "INSERT INTO leads (id, email, email_lower, foreign_sys_person_id, foreign_sys_type, sfdc_lead_id, "
        "sfdc_contact_id, sfdc_account_id, sfdc_lead_owner_id, sfdc_oppty_id, lead_owner_email, workspace, "
        "partition, anonymous, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, 'CUSTOM', ?, NULL, ?, NULL, NULL, NULL, 'Default', 'Default', 0, ?, ?)",
        (
            (
                i,
                email(i),
                email(i).lower(),
                f"crm-{i}",
                sfdc_lead_id(i),
                sfdc_account_id(i),
                _sqlite_text(created[i - 1]),
                _sqlite_text(updated[i - 1]),
            )
            for i in range(1, size + 1)
        ),
    )
    db.executemany(
        "INSERT INTO lead_values VALUES (?, ?, ?)",
        ((i, n, v) for i in range(1, size + 1) for n, v in sorted(values(i).items())),
    )
    db.executemany(
        "INSERT INTO cookies VALUES (?, ?, ?)",
        ((c, i, _sqlite_text(created[i - 1])) for i in range(1, size + 1) if (c := cookie(i))),
    )
    db.executemany(
        "INSERT INTO list_members VALUES (?, ?, ?)",
        ((k, i, _sqlite_text(created[i - 1] + 1_000_000)) for i in range(1, size + 1) for k in memberships(i)),
    )
    log("  leads, values, cookies and lists in; activities next")
    pending: dict[int, int] = {}

    def activity_rows() -> Iterator[tuple]:
        for when_us, kind, lead in activity_events(created, updated):
            when = _sqlite_text(when_us)
            yield activity_row(pending, when, when[:10], kind, lead)

    db.executemany(
        "INSERT INTO activities (lead_id, created_at, type_code, type_name, asset_name, campaign, "
        "attributes) VALUES (?, ?, ?, ?, ?, ?, ?)",
        activity_rows(),
    )
    db.execute("COMMIT")
    log("  rows in; recreating indexes")
    for _, sql in indexes:
        db.execute(sql)
    counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    counts["last_activity"] = db.execute("SELECT max(id) FROM activities").fetchone()[0]
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    tmp.replace(path)
    return counts


# --- PostgreSQL ---------------------------------------------------------------------


def build_postgres(size: int, url: str, anchor_us: int, log) -> dict[str, int]:  # type: ignore[no-untyped-def]
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(pg_dsn(server + "/postgres"), autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            admin.execute(f'CREATE DATABASE "{name}"')
    migrate(url)
    with psycopg.connect(pg_dsn(url)) as db:
        tables = ("leads", "lead_values", "cookies", "list_members", "activities", "static_lists")
        db.execute("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE")
        indexes = db.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%s) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            (list(tables),),
        ).fetchall()
        for index, _ in indexes:
            db.execute(f'DROP INDEX "{index}"')
        built = stamp(anchor_us)
        db.execute(
            "INSERT INTO api_users (user_id, encryption_key, enabled, created_at) VALUES (%s, %s, true, %s)"
            " ON CONFLICT (user_id) DO UPDATE "
            "SET encryption_key = excluded.encryption_key",
            ("bench_user", "bench-secret-key1", built),
        )
        for n, d, t in CUSTOM_FIELDS:
            db.execute(
                "INSERT INTO lead_fields VALUES (%s, %s, %s, %s, NULL, false, %s) ON CONFLICT (name) DO NOTHING",
                (n, n.lower(), d, t, built),
            )
        for k, list_name in enumerate(LISTS):
            db.execute(
                "INSERT INTO static_lists (id, name, program_name, created_at) VALUES (%s, %s, NULL, %s)",
                (k + 1, list_name, built),
            )
        created, updated = timeline(size, anchor_us)
        log(f"  timeline ready; copying {size:,} leads")

        def copy(sql: str, rows: Iterator[tuple]) -> None:
            with db.cursor().copy(sql) as cp:
                for row in rows:
                    cp.write_row(row)

        copy(
            "COPY leads (id, email, email_lower, foreign_sys_person_id, foreign_sys_type, sfdc_lead_id, "
            "sfdc_account_id, workspace, partition, anonymous, created_at, updated_at) FROM STDIN",
            (
                (
                    i,
                    email(i),
                    email(i).lower(),
                    f"crm-{i}",
                    "CUSTOM",
                    sfdc_lead_id(i),
                    sfdc_account_id(i),
                    "Default",
                    "Default",
                    False,
                    stamp(created[i - 1]),
                    stamp(updated[i - 1]),
                )
                for i in range(1, size + 1)
            ),
        )
        copy(
            "COPY lead_values (lead_id, name, value) FROM STDIN",
            ((i, n, v) for i in range(1, size + 1) for n, v in sorted(values(i).items())),
        )
        copy(
            "COPY cookies (cookie, lead_id, created_at) FROM STDIN",
            ((c, i, stamp(created[i - 1])) for i in range(1, size + 1) if (c := cookie(i))),
        )
        copy(
            "COPY list_members (list_id, lead_id, created_at) FROM STDIN",
            ((k, i, stamp(created[i - 1] + 1_000_000)) for i in range(1, size + 1) for k in memberships(i)),
        )
        log("  leads, values, cookies and lists in; activities next")
        pending: dict[int, int] = {}

        def activity_rows() -> Iterator[tuple]:
            for n, (when_us, kind, lead) in enumerate(activity_events(created, updated), start=1):
                when = stamp(when_us)
                yield (n, *activity_row(pending, when, when.date().isoformat(), kind, lead))  # type: ignore[arg-type]

        copy(
            "COPY activities (id, lead_id, created_at, type_code, type_name, asset_name, campaign, attributes) "
            "FROM STDIN",
            activity_rows(),
        )
        log("  rows in; recreating indexes")
        for _, sql in indexes:
            db.execute(sql)
        for table in ("leads", "activities", "static_lists"):
            db.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables[:5]}
        counts["last_activity"] = db.execute("SELECT max(id) FROM activities").fetchone()[0]
        db.commit()
    with psycopg.connect(pg_dsn(url), autocommit=True) as db:
        db.execute("VACUUM ANALYZE")  # the steady state autovacuum keeps a live database in
    return counts


# --- entry points -------------------------------------------------------------------


def ensure(size: int, db: str = "sqlite", *, force: bool = False, log=print) -> Built:  # type: ignore[no-untyped-def]
    """The cached database of `size` leads, built when missing or stale."""
    DATA.mkdir(parents=True, exist_ok=True)
    url = database_url(size, db)
    side = sidecar_path(size, db)
    if not force and side.exists():
        built = Built(**json.loads(side.read_text()))
        if built.format == FORMAT and built.url == url and _present(built):
            return built
    log(f"building {size:,} leads into {url}")
    anchor = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    anchor_us = int((anchor - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 1_000_000
    began = time.perf_counter()
    side.unlink(missing_ok=True)
    if db == "sqlite":
        counts = build_sqlite(size, DATA / f"leads-{size}.db", anchor_us, log)
    else:
        counts = build_postgres(size, url, anchor_us, log)
    seconds = time.perf_counter() - began
    built = Built(
        FORMAT,
        size,
        url,
        anchor.isoformat(),
        counts["leads"],
        counts["lead_values"],
        counts["last_activity"],
        counts["cookies"],
        counts["list_members"],
        round(seconds, 1),
    )
    side.write_text(json.dumps(asdict(built), indent=1))
    log(f"built {size:,} leads in {seconds:.1f} s ({counts})")
    return built


def _present(built: Built) -> bool:
    if built.url.startswith("sqlite:///"):
        return Path(built.url[len("sqlite:///") :]).exists()
    import psycopg

    try:
        with psycopg.connect(pg_dsn(built.url), connect_timeout=5) as db:
            return db.execute("SELECT max(id) FROM leads WHERE id <= %s", (built.leads,)).fetchone()[0] == built.leads
    except psycopg.Error:
        return False


OBJECT_TABLES = (
    "opportunity_role_values",
    "opportunity_roles",
    "opportunity_values",
    "opportunities",
    "custom_object_keys",
    "custom_object_records",
)


def reset(built: Built) -> None:
    """Undo what a benchmark wrote: leads after the built ones, later activities, every object."""
    n, a = built.leads, built.activities
    statements = [
        ("DELETE FROM lead_values WHERE lead_id > ?", (n,)),
        ("DELETE FROM cookies WHERE lead_id > ?", (n,)),
        ("DELETE FROM list_members WHERE lead_id > ?", (n,)),
        ("DELETE FROM activities WHERE id > ?", (a,)),
        *((f"DELETE FROM {t}", ()) for t in OBJECT_TABLES),
        ("DELETE FROM leads WHERE id > ?", (n,)),
    ]
    if built.url.startswith("sqlite:///"):
        db = sqlite3.connect(built.url[len("sqlite:///") :], isolation_level=None, timeout=60)
        db.execute("BEGIN IMMEDIATE")
        for sql, params in statements:
            db.execute(sql, params)
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        return
    import psycopg

    with psycopg.connect(pg_dsn(built.url)) as db:
        for sql, params in statements:
            db.execute(sql.replace("?", "%s"), params)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, action="append", help="leads (repeatable); default 10000")
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL server URL (postgresql://...)")
    parser.add_argument("--force", action="store_true", help="rebuild even when cached")
    parser.add_argument("--verify", action="store_true", help="start a server on it and check getLead")
    args = parser.parse_args()
    for size in args.size or [10_000]:
        built = ensure(size, args.db, force=args.force)
        print(
            f"{built.url}: {built.leads:,} leads, {built.values:,} values, {built.activities:,} activities, "
            f"{built.cookies:,} cookies, {built.members:,} list members (built in {built.seconds} s)"
        )
        if args.verify:
            sys.path.insert(0, str(HERE))
            from leadbench import verify

            verify(built, os.environ.get("TMPDIR", "/tmp"))


if __name__ == "__main__":
    main()
