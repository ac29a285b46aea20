"""The lead measurements of `run_all.py` on a built database (see build_db.py), server and floor.

Server side: a real `mktows serve` on 127.0.0.1, raw SOAP. getLead load comes from `wrk`
(one thread, 10 keep-alive connections, a Lua script rotating among pre-signed bodies), so
the load generator costs little of the 2 cores; the other calls use one keep-alive httpx
connection per client thread. Floor side: bare sqlite3 (or psycopg) plus bare lxml doing the
same work on the same rows of the same database: parse the request body, run the indexed
query, build and serialise the reply, without the API's rules (no signature, no field
registry, no exact remainingCount per page, no activities beyond New Lead).
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import build_db as B
import httpx
from lxml import etree
from soapbench import envelope

HEADERS = {"Content-Type": "text/xml; charset=UTF-8"}
KEY_TYPES = ("IDNUM", "EMAIL", "COOKIE", "SFDCLEADID")
PAGE = 1000
SYNC_BATCH = 300
INCLUDE = "".join(f"<stringItem>{f}</stringItem>" for f in B.FIELDS)
_NUM = {
    name: re.compile(rf"<{name}>([^<]*)</{name}>".encode())
    for name in ("returnCount", "remainingCount", "newStreamPosition")
}


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _field(reply: bytes, name: str) -> str:
    m = _NUM[name].search(reply)
    return m.group(1).decode() if m else ""


# --- request bodies -------------------------------------------------------------------


def key_value(key_type: str, i: int) -> str:
    return {
        "IDNUM": str(i),
        "EMAIL": B.email(i),
        "COOKIE": B.cookie(i) or "",
        "SFDCLEADID": B.sfdc_lead_id(i),
        "SFDCACCOUNTID": B.sfdc_account_id(i),
    }[key_type]


def sample_leads(size: int, key_type: str, count: int, seed: int = 7) -> list[int]:
    """Leads that have a value for the key (every lead has one, except COOKIE: one in ten)."""
    import random

    rng = random.Random(seed)
    pool = range(1, size + 1, 10) if key_type == "COOKIE" else range(1, size + 1)
    return [rng.choice(pool) for _ in range(count)]


def get_lead_body(key_type: str, value: str) -> str:
    return (
        f"<m:paramsGetLead><leadKey><keyType>{key_type}</keyType><keyValue>{escape(value)}</keyValue>"
        "</leadKey></m:paramsGetLead>"
    )


def page_body(oldest: datetime, latest: datetime | None, position: str, size: int = PAGE) -> str:
    pos = f"<streamPosition>{escape(position)}</streamPosition>" if position else ""
    end = f"<latestUpdatedAt>{latest.isoformat()}</latestUpdatedAt>" if latest else ""
    return (
        '<m:paramsGetMultipleLeads><leadSelector xsi:type="m:LastUpdateAtSelector">'
        f"<oldestUpdatedAt>{oldest.isoformat()}</oldestUpdatedAt>{end}</leadSelector>{pos}"
        f"<batchSize>{size}</batchSize><includeAttributes>{INCLUDE}</includeAttributes>"
        "</m:paramsGetMultipleLeads>"
    )


def sync_records(run: str, count: int) -> list[dict[str, str]]:
    out = []
    for j in range(count):
        v = B.values(j)
        out.append(
            {
                "Email": f"Sync{run}-{j}@New.Example.com",
                "ForeignSysPersonId": f"new-{run}-{j}",
                "SFDCLeadId": f"00Q{run}{j:09d}",
                "SFDCAccountId": f"001{run}{j // 5:09d}",
                **v,
            }
        )
    return out


def sync_body(rows: Sequence[dict[str, str]]) -> str:
    records = "".join(
        f"<leadRecord><Email>{escape(r['Email'])}</Email><ForeignSysPersonId>{r['ForeignSysPersonId']}"
        "</ForeignSysPersonId><ForeignSysType>CUSTOM</ForeignSysType><leadAttributeList>"
        + "".join(
            f"<attribute><attrName>{k}</attrName><attrValue>{escape(v)}</attrValue></attribute>"
            for k, v in r.items()
            if k not in ("Email", "ForeignSysPersonId")
        )
        + "</leadAttributeList></leadRecord>"
        for r in rows
    )
    return f"<m:paramsSyncMultipleLeads><leadRecordList>{records}</leadRecordList></m:paramsSyncMultipleLeads>"


# --- checking that the built rows read as synced ones -----------------------------------


def verify(built: B.Built, url_or_tmp: str) -> None:
    """getLead by every key type on a few leads, each reply checked field by field."""
    own = not url_or_tmp.startswith("http")
    proc = None
    if own:
        from soapbench import bench_user_yaml, start_server, stop_server

        work = Path(tempfile.mkdtemp(dir=url_or_tmp))
        proc, url = start_server(built.url, work, bench_user_yaml())
    else:
        url = url_or_tmp
    try:
        with httpx.Client(timeout=60, headers=HEADERS) as client:
            for i in (1, built.size // 2 + 1, built.size - 9):
                for key_type in (*KEY_TYPES, "SFDCACCOUNTID"):
                    if key_type == "COOKIE" and B.cookie(i) is None:
                        continue
                    reply = client.post(url, content=envelope(get_lead_body(key_type, key_value(key_type, i))))
                    assert reply.status_code == 200, reply.text[:600]
                    records = etree.fromstring(reply.content).findall(".//leadRecord")
                    record = next(r for r in records if r.findtext("Id") == str(i))
                    got = {a.findtext("attrName"): a.findtext("attrValue") for a in record.iter("attribute")}
                    want = B.values(i) | {"SFDCLeadId": B.sfdc_lead_id(i), "SFDCAccountId": B.sfdc_account_id(i)}
                    assert record.findtext("Email") == B.email(i), (key_type, i)
                    assert record.findtext("ForeignSysPersonId") == f"crm-{i}", (key_type, i)
                    assert got == want, (key_type, i, got, want)
                    assert len(records) == (1 if key_type != "SFDCACCOUNTID" else len(records)), (key_type, i)
            first = client.post(url, content=envelope(page_body(built.start - timedelta(days=1), None, "")))
            assert (
                int(_field(first.content, "remainingCount")) + int(_field(first.content, "returnCount")) == built.leads
            ), first.content[-400:]
    finally:
        if proc is not None:
            stop_server(proc)
            shutil.rmtree(work, ignore_errors=True)
    print(
        f"verified {built.url}: getLead by IDNUM, EMAIL, COOKIE, SFDCLEADID, SFDCACCOUNTID and a full "
        "LastUpdateAtSelector count read the built rows as synced ones"
    )


# --- getLead under load (wrk) -----------------------------------------------------------

LUA = r"""
bodies = { %s }
n = #bodies
i = math.random(n)
bad = 0
headers = {["Content-Type"] = "text/xml; charset=UTF-8"}
request = function()
  i = i %% n + 1
  return wrk.format("POST", nil, headers, bodies[i])
end
response = function(status, hdrs, body)
  if status ~= 200 or not string.find(body, "<count>1</count>", 1, true) then bad = bad + 1 end
end
threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local b = 0
  for _, t in ipairs(threads) do b = b + t:get("bad") end
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, ' ..
    '"errors": %%d, "bad": %%d}\n', summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout, b))
end
"""


def wrk_get_lead(
    url: str, size: int, key_type: str, seconds: int, connections: int, workdir: Path, server_pid: int
) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required: apt-get install -y wrk")
    bodies = [
        envelope(get_lead_body(key_type, key_value(key_type, i))).decode() for i in sample_leads(size, key_type, 1000)
    ]
    script = workdir / f"getlead-{key_type}.lua"
    script.write_text(LUA % ",\n".join(f"[==[{b}]==]" for b in bodies))
    before = rss_kb(server_pid)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout}\n{out.stderr}")
    r = json.loads(line[len("WRKJSON ") :])
    if r["errors"] or r["bad"]:
        raise RuntimeError(f"getLead {key_type}: {r['errors']} errors, {r['bad']} replies without exactly one lead")
    calls = r["requests"] / (r["duration_us"] / 1e6)
    return {
        "calls_per_s": calls,
        "p50_ms": r["p50_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "ms_per_call": 1000 / calls,
        "requests": r["requests"],
        "rss_growth_mb": (rss_kb(server_pid) - before) / 1024,
    }


def probe_get_lead(url: str, size: int, key_type: str, calls: int = 20, budget_s: float = 20) -> dict[str, Any]:
    """A few sequential getLead calls (for key types too slow to load-test)."""
    times = []
    with httpx.Client(timeout=120, headers=HEADERS) as client:
        began = time.perf_counter()
        for i in sample_leads(size, key_type, calls, seed=11):
            t0 = time.perf_counter()
            reply = client.post(url, content=envelope(get_lead_body(key_type, key_value(key_type, i))))
            assert reply.status_code == 200, reply.text[:600]
            times.append(time.perf_counter() - t0)
            if time.perf_counter() - began > budget_s:
                break
    return {
        "calls": len(times),
        "p50_ms": statistics.median(times) * 1000,
        "ms_per_call": statistics.median(times) * 1000,
    }


# --- getMultipleLeads --------------------------------------------------------------------


def stream(
    url: str,
    oldest: datetime,
    latest: datetime | None,
    *,
    max_pages: int,
    max_seconds: float,
    pid: int | None = None,
    client: httpx.Client | None = None,
) -> dict[str, Any]:
    """Page a LastUpdateAtSelector stream to its end or to the caps; per-page times and RSS."""
    own = client is None
    client = client or httpx.Client(timeout=300, headers=HEADERS)
    times, leads, position, rss, remaining = [], 0, "", [], -1
    began = time.perf_counter()
    try:
        while len(times) < max_pages and time.perf_counter() - began < max_seconds:
            body = envelope(page_body(oldest, latest, position))
            t0 = time.perf_counter()
            reply = client.post(url, content=body)
            times.append(time.perf_counter() - t0)
            assert reply.status_code == 200, reply.text[:600]
            leads += int(_field(reply.content, "returnCount"))
            remaining = int(_field(reply.content, "remainingCount"))
            if pid is not None:
                rss.append(rss_kb(pid))
            if remaining == 0:
                break
            position = _field(reply.content, "newStreamPosition")
    finally:
        if own:
            client.close()
    total = time.perf_counter() - began
    return {
        "pages": len(times),
        "leads": leads,
        "seconds": total,
        "leads_per_s": leads / total if total else 0,
        "first_page_ms": times[0] * 1000,
        "last_page_ms": times[-1] * 1000,
        "median_page_ms": statistics.median(times) * 1000,
        "remaining": remaining,
        "rss_kb": rss,
    }


def tail_start(built: B.Built, leads_from_end: int) -> datetime:
    """An oldestUpdatedAt that leaves about `leads_from_end` leads of the built ones after it."""
    sql = "SELECT updated_at FROM leads WHERE id <= {n} ORDER BY updated_at DESC, id DESC LIMIT 1 OFFSET {k}"
    query = sql.format(n=built.leads, k=max(leads_from_end - 1, 0))
    if built.url.startswith("sqlite:///"):
        db = sqlite3.connect(built.url[len("sqlite:///") :])
        value = db.execute(query).fetchone()[0]
        db.close()
        return datetime.fromisoformat(value).replace(tzinfo=B.UTC)
    import psycopg

    with psycopg.connect(B.pg_dsn(built.url)) as db:
        return db.execute(query).fetchone()[0]


def windows(built: B.Built) -> list[tuple[datetime, datetime]]:
    """The vendor's advice: ten windows of 30 days (the window limit), newest 300 days."""
    first = built.end - timedelta(days=300)
    return [(first + timedelta(days=30 * k), first + timedelta(days=30 * (k + 1))) for k in range(10)]


def parallel_windows(url: str, built: B.Built, max_pages: int, max_seconds: float) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def one(w: tuple[datetime, datetime]) -> None:
        r = stream(url, w[0], w[1], max_pages=max_pages, max_seconds=max_seconds)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=one, args=(w,)) for w in windows(built)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    leads = sum(r["leads"] for r in results)
    pages = sum(r["pages"] for r in results)
    return {
        "leads": leads,
        "pages": pages,
        "seconds": wall,
        "leads_per_s": leads / wall,
        "complete": all(r["remaining"] == 0 for r in results),
        "median_page_ms": statistics.median(ms for r in results for ms in [r["median_page_ms"]]),
    }


# --- syncMultipleLeads -------------------------------------------------------------------


def sync(url: str, count: int) -> dict[str, Any]:
    rows = sync_records(str(int(time.time()) % 100000), count)
    bodies = [sync_body(rows[i : i + SYNC_BATCH]) for i in range(0, count, SYNC_BATCH)]
    times = []
    with httpx.Client(timeout=300, headers=HEADERS) as client:
        began = time.perf_counter()
        for body in bodies:
            t0 = time.perf_counter()
            reply = client.post(url, content=envelope(body))
            times.append(time.perf_counter() - t0)
            assert reply.status_code == 200, reply.text[:600]
            assert reply.content.count(b"<status>CREATED</status>") == body.count("<leadRecord>"), reply.content[:600]
        seconds = time.perf_counter() - began
    return {
        "leads": count,
        "seconds": seconds,
        "leads_per_s": count / seconds,
        "ms_per_call": statistics.median(times) * 1000,
    }


# --- the floors --------------------------------------------------------------------------


class Bare:
    """Bare sqlite3 or psycopg on the built database, with `?` placeholders either way."""

    def __init__(self, built: B.Built) -> None:
        self.sqlite = built.url.startswith("sqlite:///")
        if self.sqlite:
            self.db: Any = sqlite3.connect(built.url[len("sqlite:///") :], isolation_level=None, timeout=60)
            self.db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
        else:
            import psycopg

            self.db = psycopg.connect(B.pg_dsn(built.url), autocommit=True)

    def q(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        if not self.sqlite:
            sql = sql.replace("?", "%s")
        return list(self.db.execute(sql, params).fetchall())

    def ins(self, sql: str, params: Sequence[Any]) -> int:
        if self.sqlite:
            return int(self.db.execute(sql, params).lastrowid)
        return int(self.db.execute(sql.replace("?", "%s") + " RETURNING id", params).fetchone()[0])

    def many(self, sql: str, rows: list[tuple]) -> None:
        if self.sqlite:
            self.db.executemany(sql, rows)
        else:
            self.db.cursor().executemany(sql.replace("?", "%s"), rows)

    def close(self) -> None:
        self.db.close()


LEAD_COLS = "id, email, foreign_sys_person_id, foreign_sys_type, sfdc_lead_id, sfdc_account_id, updated_at"
KEY_SQL = {
    "IDNUM": "id = ?",
    "EMAIL": "email_lower = ?",
    "SFDCLEADID": "sfdc_lead_id = ?",
    "COOKIE": "id IN (SELECT lead_id FROM cookies WHERE cookie = ?)",
}


def _render(bare: Bare, rows: list[tuple], names: Sequence[str] | None, root_tag: str) -> bytes:
    """Lead records of `rows` with their values (one IN query), as the reply would carry them."""
    marks = ",".join("?" * len(rows))
    sql = f"SELECT lead_id, name, value FROM lead_values WHERE lead_id IN ({marks})"
    params: list[Any] = [r[0] for r in rows]
    if names:
        sql += f" AND name IN ({','.join('?' * len(names))})"
        params += list(names)
    by_lead: dict[int, list[tuple[str, str]]] = {}
    for lead, name, value in bare.q(sql, params) if rows else []:
        by_lead.setdefault(lead, []).append((name, value))
    root = etree.Element(root_tag)
    for lead_id, mail, fspi, fst, sfdc, account, _ in rows:
        record = etree.SubElement(root, "leadRecord")
        etree.SubElement(record, "Id").text = str(lead_id)
        etree.SubElement(record, "Email").text = mail
        etree.SubElement(record, "ForeignSysPersonId").text = fspi
        etree.SubElement(record, "ForeignSysType").text = fst
        attributes = etree.SubElement(record, "leadAttributeList")
        for name, value in sorted(by_lead.get(lead_id, []) + [("SFDCLeadId", sfdc), ("SFDCAccountId", account)]):
            attribute = etree.SubElement(attributes, "attribute")
            etree.SubElement(attribute, "attrName").text = name
            etree.SubElement(attribute, "attrType").text = "string"
            etree.SubElement(attribute, "attrValue").text = value
    return etree.tostring(root)


def floor_get_lead(built: B.Built, key_type: str, seconds: float = 3.0) -> dict[str, Any]:
    bare = Bare(built)
    bodies = [
        envelope(get_lead_body(key_type, key_value(key_type, i))) for i in sample_leads(built.size, key_type, 1000)
    ]
    calls, began = 0, time.perf_counter()
    try:
        while time.perf_counter() - began < seconds:
            for body in bodies[calls % len(bodies) :][:100]:
                key = etree.fromstring(body).find(".//leadKey")
                value = key.findtext("keyValue")
                kt = key.findtext("keyType")
                value = value.lower() if kt == "EMAIL" else int(value) if kt == "IDNUM" else value
                rows = bare.q(f"SELECT {LEAD_COLS} FROM leads WHERE {KEY_SQL[kt]}", (value,))
                assert len(rows) == 1
                _render(bare, rows, None, "leadRecordList")
                calls += 1
    finally:
        bare.close()
    elapsed = time.perf_counter() - began
    return {"calls_per_s": calls / elapsed, "ms_per_call": elapsed / calls * 1000}


def floor_stream(
    built: B.Built, oldest: datetime, latest: datetime | None, *, max_pages: int, max_seconds: float
) -> dict[str, Any]:
    """Keyset pages by (updated_at, id) with the same window and fields, rendered as XML."""
    bare = Bare(built)
    fmt: Callable[[datetime], Any] = (
        (lambda d: d.astimezone(B.UTC).replace(tzinfo=None).isoformat(" ", "microseconds"))
        if bare.sqlite
        else (lambda d: d)
    )
    hi = latest or datetime.now(B.UTC)
    last: tuple[Any, int] = (fmt(oldest), 0)
    times, leads, began = [], 0, time.perf_counter()
    names = [f for f in B.VALUE_FIELDS]
    try:
        while len(times) < max_pages and time.perf_counter() - began < max_seconds:
            t0 = time.perf_counter()
            body = envelope(page_body(oldest, latest, ""))
            etree.fromstring(body).find(".//leadSelector")
            rows = bare.q(
                f"SELECT {LEAD_COLS} FROM leads WHERE updated_at >= ? AND updated_at <= ? "
                "AND (updated_at > ? OR (updated_at = ? AND id > ?)) ORDER BY updated_at, id LIMIT ?",
                (fmt(oldest), fmt(hi), last[0], last[0], last[1], PAGE),
            )
            _render(bare, rows, names, "leadRecordList")
            times.append(time.perf_counter() - t0)
            leads += len(rows)
            if len(rows) < PAGE:
                break
            last = (rows[-1][6], rows[-1][0])
    finally:
        bare.close()
    total = time.perf_counter() - began
    return {
        "pages": len(times),
        "leads": leads,
        "seconds": total,
        "leads_per_s": leads / total,
        "first_page_ms": times[0] * 1000,
        "last_page_ms": times[-1] * 1000,
        "median_page_ms": statistics.median(times) * 1000,
    }


def floor_sync(built: B.Built, count: int) -> dict[str, Any]:
    """Parse the same kind of bodies; per call, one transaction: look the records up by foreign
    id and by email (one query each), insert the leads, their values and their New Lead
    activities (SQLite: executemany; PostgreSQL: one multi-row INSERT RETURNING the new ids,
    then COPY)."""
    rows = sync_records("9" + str(int(time.time()) % 10000), count)
    bodies = [envelope(sync_body(rows[i : i + SYNC_BATCH])) for i in range(0, count, SYNC_BATCH)]
    bare = Bare(built)
    now = datetime.now(B.UTC)
    when = now.replace(tzinfo=None).isoformat(" ", "microseconds") if bare.sqlite else now
    columns = {"SFDCLeadId": 0, "SFDCAccountId": 1}
    insert_lead = (
        "INSERT INTO leads (email, email_lower, foreign_sys_person_id, foreign_sys_type, sfdc_lead_id, "
        "sfdc_account_id, workspace, partition, anonymous, created_at, updated_at) "
        "VALUES (?, ?, ?, 'CUSTOM', ?, ?, 'Default', 'Default', ?, ?, ?)"
    )
    began = time.perf_counter()
    try:
        for body in bodies:
            leads, values = [], []
            for record in etree.fromstring(body).iter("leadRecord"):
                mail, fspi = record.findtext("Email"), record.findtext("ForeignSysPersonId")
                cols: list[str | None] = [None, None]
                vals = []
                for a in record.iter("attribute"):
                    name, value = a.findtext("attrName"), a.findtext("attrValue")
                    if name in columns:
                        cols[columns[name]] = value
                    else:
                        vals.append((name, value))
                leads.append((mail, mail.lower(), fspi, cols[0], cols[1], False, when, when))
                values.append(vals)
            bare.db.execute("BEGIN")
            fspis, mails = [r[2] for r in leads], [r[1] for r in leads]
            if bare.sqlite:
                found = bare.q(
                    f"SELECT id FROM leads WHERE foreign_sys_person_id IN ({','.join('?' * len(fspis))})", fspis
                )
                found += bare.q(f"SELECT id FROM leads WHERE email_lower IN ({','.join('?' * len(mails))})", mails)
                ids = [int(bare.db.execute(insert_lead, r).lastrowid) for r in leads]
            else:
                found = bare.q("SELECT id FROM leads WHERE foreign_sys_person_id = ANY(?)", (fspis,))
                found += bare.q("SELECT id FROM leads WHERE email_lower = ANY(?)", (mails,))
                head, tail = insert_lead.split("VALUES ")
                sql = (
                    head + "VALUES " + ", ".join([tail.replace("?", "%s")] * len(leads)) + " RETURNING id, email_lower"
                )
                by_mail = dict((m, i) for i, m in bare.db.execute(sql, [v for r in leads for v in r]).fetchall())
                ids = [by_mail[r[1]] for r in leads]
            assert not found and len(ids) == len(leads)
            value_rows = [(lead, n, v) for lead, vals in zip(ids, values, strict=True) for n, v in vals]
            activity_rows = [(lead, when, "NewLead", "New Lead", "", f'[["Lead ID","{lead}"]]') for lead in ids]
            if bare.sqlite:
                bare.many("INSERT INTO lead_values (lead_id, name, value) VALUES (?, ?, ?)", value_rows)
                bare.many(
                    "INSERT INTO activities (lead_id, created_at, type_code, type_name, asset_name, attributes) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    activity_rows,
                )
            else:
                with bare.db.cursor().copy("COPY lead_values (lead_id, name, value) FROM STDIN") as cp:
                    for row in value_rows:
                        cp.write_row(row)
                with bare.db.cursor().copy(
                    "COPY activities (lead_id, created_at, type_code, type_name, asset_name, attributes) FROM STDIN"
                ) as cp:
                    for row in activity_rows:
                        cp.write_row(row)
            bare.db.execute("COMMIT")
    finally:
        bare.close()
    seconds = time.perf_counter() - began
    return {
        "leads": count,
        "seconds": seconds,
        "leads_per_s": count / seconds,
        "ms_per_call": seconds / len(bodies) * 1000,
    }


def chunked(items: Sequence[Any], n: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
