"""Leads/s and emails/s of the scaled-out form: API processes and workers over one PostgreSQL.

    .venv/bin/python bench/scale_out.py [--db postgresql://postgres@127.0.0.1:5432/test]
        [--leads 20000] [--batch 250] [--clients 4] [--concurrency 2] [--configs 1,2]
        [--out docs/benchmarks.md] [--note TEXT]

For each configuration (`--configs 1,2`: one API process and one worker, then two of each),
on a fresh PostgreSQL database created on the server `--db` names and dropped afterwards:
`mktows migrate --job-engine procrastinate`, the API processes (`mktows serve`,
MKTOWS_WORKERS=0, any free port on 127.0.0.1) and the workers (`mktows worker --concurrency
N`), all with MKTOWS_MAX_CONCURRENCY=1000 and the default profile's absent quota and rate.

- syncMultipleLeads: N new leads (Email, FirstName, LastName, Company) in calls of `--batch`,
  signed bodies built with lxml beforehand, sent by `--clients` threads (one keep-alive
  connection each to every API process), call i to API process i mod P; timed from the
  first call to the last answer.
- importToList (LISTONLY) of the same leads into the campaign's list, polled with
  getImportToListStatus on the other API process until COMPLETE.
- scheduleCampaign of a batch campaign whose flow sends one email to that list; timed from
  its answer until the SMTP sink (`fast`, its own process: bench/smtp_sink.py) counted N
  messages, and until the run was `done` (every lead through the flow).

The bound in the same run, on a fresh database of the same server with no mktows process
running: bare lxml parsing the same request bodies, bare psycopg writing their rows into a
plain table (ids from one sequence query, then COPY, one transaction per body) and lxml
serialising a reply of one status per lead; one connection, one thread. Every figure's
ratio is the bound's leads/s divided by it. For emails, bare smtplib sending N pre-rendered
messages to the same sink over MKTOWS_SMTP_CONNECTIONS' default connections is given too.

Every wait has a time limit; the processes are stopped and the databases dropped in
`finally`. The machine has 2 cores: both configurations share them with PostgreSQL, the
sink and this client, so the figures show what a second process costs or gains there, not
scaling. `--out` replaces this benchmark's section of docs/benchmarks.md (or adds it at the
end); `--note` adds a sentence to its machine note.
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import yaml
from email_throughput import Sink, run_bare
from lxml import etree
from soapbench import KEY, TNS, USER, VERSION, envelope, replace_section
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
HEADERS = {"Content-Type": "text/xml; charset=UTF-8"}
PROGRAM, LIST, EMAIL, CAMPAIGN = "Scale Bench", "Recipients", "Scale Mail", "Scale Batch"
SMTP_CONNECTIONS = 4  # MKTOWS_SMTP_CONNECTIONS' default: connections one delivery drain keeps open
IMPORT_ROWS = 10_000  # rows per importToList call (one import at a time per list)
LIMITS = {"MKTOWS_MAX_CONCURRENCY": "1000"}
READY = re.compile(r"mktows ready on (http://\S+)")
WORKER_READY = re.compile(r"mktows worker: (\S+) job engine")
SECTION = "## Several API processes and workers (`bench/scale_out.py`)"
CREATED = b"<status>CREATED</status>"


# --- the request bodies (lxml) ----------------------------------------------------------


def lead_rows(count: int) -> list[tuple[str, str, str, str]]:
    """(Email, FirstName, LastName, Company) of lead i."""
    return [(f"scale-{i}@bench.example.com", f"First{i}", f"Last{i}", f"Company {i % 97}") for i in range(count)]


def _body(name: str) -> etree._Element:
    return etree.Element(f"{{{TNS}}}{name}", nsmap={"m": TNS})


def _text(parent: etree._Element, name: str, value: str) -> etree._Element:
    child = etree.SubElement(parent, name)
    child.text = value
    return child


def _str(element: etree._Element) -> str:
    return etree.tostring(element, encoding="unicode")


def sync_body(rows: Sequence[tuple[str, str, str, str]]) -> str:
    root = _body("paramsSyncMultipleLeads")
    records = etree.SubElement(root, "leadRecordList")
    for email, first, last, company in rows:
        record = etree.SubElement(records, "leadRecord")
        _text(record, "Email", email)
        attributes = etree.SubElement(record, "leadAttributeList")
        for name, value in (("FirstName", first), ("LastName", last), ("Company", company)):
            attribute = etree.SubElement(attributes, "attribute")
            _text(attribute, "attrName", name)
            _text(attribute, "attrValue", value)
    return _str(root)


def sync_envelopes(rows: list[tuple[str, str, str, str]], batch: int) -> list[bytes]:
    """Signed envelopes, one per call; signed now, so build them just before they are sent."""
    return [envelope(sync_body(rows[i : i + batch])) for i in range(0, len(rows), batch)]


def import_body(emails: Sequence[str]) -> str:
    root = _body("paramsImportToList")
    _text(root, "programName", PROGRAM)
    _text(root, "importFileHeader", "Email Address")
    items = etree.SubElement(root, "importFileRows")
    for email in emails:
        _text(items, "stringItem", email)
    _text(root, "importListMode", "LISTONLY")
    _text(root, "listName", LIST)
    _text(root, "clearList", "false")
    return _str(root)


def import_status_body() -> str:
    root = _body("paramsGetImportToListStatus")
    _text(root, "programName", PROGRAM)
    _text(root, "listName", LIST)
    return _str(root)


def schedule_body() -> str:
    root = _body("paramsScheduleCampaign")
    _text(root, "programName", PROGRAM)
    _text(root, "campaignName", CAMPAIGN)
    return _str(root)


def instance_yaml(smtp_port: int) -> str:
    return yaml.safe_dump(
        {
            "api_users": [{"user_id": USER, "encryption_key": KEY}],
            "smtp_url": f"smtp://127.0.0.1:{smtp_port}",
            "programs": [
                {
                    "name": PROGRAM,
                    "lists": [LIST],
                    "emails": [
                        {
                            "name": EMAIL,
                            "from": {"name": "Bench", "email": "bench@example.com"},
                            "subject": "Hello {{lead.First Name:default=friend}}",
                            "html": "<p>Hi {{lead.First Name}}, from {{lead.Company}}</p>",
                            "text": "Hi {{lead.First Name}}, from {{lead.Company}}",
                        }
                    ],
                    "campaigns": [
                        {"name": CAMPAIGN, "smart_list": [{"member_of_list": LIST}], "flow": [{"send_email": EMAIL}]}
                    ],
                }
            ],
        },
        sort_keys=False,
    )


# --- databases and processes ------------------------------------------------------------


@contextmanager
def fresh_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new database on the server of `server_url` (its URL); dropped on exit, even on failure."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Process:
    """`python -m mktows ARGS` with its output read continuously (the tail kept for errors)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], ready: re.Pattern[str]) -> None:
        self.name = name
        self._pattern = ready
        self.found: str | None = None
        self._seen = threading.Event()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mktows", *args],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **LIMITS, **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        self.tail: collections.deque[str] = collections.deque(maxlen=60)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.tail.append(line)
            if self.found is None and (m := self._pattern.search(line)):
                self.found = m.group(1)
                self._seen.set()
        self._seen.set()

    def wait_ready(self, limit: float) -> str:
        """The first group of the first line the ready pattern matches, within `limit` seconds."""
        self._seen.wait(limit)
        if self.found is None:
            raise SystemExit(f"{self.name} was not ready within {limit:.0f} s\n{self.output()}")
        return self.found

    def output(self) -> str:
        return f"--- {self.name} (last lines) ---\n" + "".join(self.tail)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._reader.join(10)


# --- one configuration --------------------------------------------------------------------


@dataclass
class Figures:
    processes: int
    sync_s: float
    import_s: float
    flow_s: float
    emails_s: float


def post(client: httpx.Client, url: str, body: bytes) -> bytes:
    reply = client.post(url, content=body, headers=HEADERS)
    if reply.status_code != 200:
        raise SystemExit(f"{url} answered {reply.status_code}: {reply.text[:800]}")
    return reply.content


def sync_leads(urls: list[str], bodies: list[bytes], clients: int) -> tuple[float, int]:
    """All bodies from `clients` threads, call i to urls[i % len(urls)]: seconds, leads created."""
    local = threading.local()
    opened: list[httpx.Client] = []
    lock = threading.Lock()

    def call(i: int) -> int:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=120)
            with lock:
                opened.append(client)
        return post(client, urls[i % len(urls)], bodies[i]).count(CREATED)

    try:
        with ThreadPoolExecutor(clients) as pool:
            began = time.perf_counter()
            created = sum(pool.map(call, range(len(bodies))))
            return time.perf_counter() - began, created
    finally:
        for client in opened:
            client.close()


def wait_until(check: Callable[[], bool], limit: float, what: str, interval: float = 0.05) -> None:
    began = time.perf_counter()
    while not check():
        if time.perf_counter() - began > limit:
            raise SystemExit(f"{what}: not within {limit:.0f} s")
        time.sleep(interval)


def import_leads(client: httpx.Client, urls: list[str], emails: list[str]) -> float:
    """importToList LISTONLY in calls of IMPORT_ROWS rows, each polled on the next API process
    until COMPLETE; seconds from the first call to the last COMPLETE."""
    began = time.perf_counter()
    for n, start in enumerate(range(0, len(emails), IMPORT_ROWS)):
        part = emails[start : start + IMPORT_ROWS]
        reply = etree.fromstring(post(client, urls[n % len(urls)], envelope(import_body(part))))
        if reply.findtext(".//importStatus") not in ("PROCESSING", "COMPLETE"):
            raise SystemExit(f"importToList answered {etree.tostring(reply)[:800]!r}")
        poll = urls[(n + 1) % len(urls)]

        def complete(poll: str = poll, part: list[str] = part) -> bool:
            status = etree.fromstring(post(client, poll, envelope(import_status_body())))
            if status.findtext(".//status") == "FAILED":
                raise SystemExit(f"the import failed: {etree.tostring(status)[:800]!r}")
            if status.findtext(".//status") != "COMPLETE":
                return False
            if status.findtext(".//rowsImported") != str(len(part)):
                raise SystemExit(f"the import took {status.findtext('.//rowsImported')} rows of {len(part)}")
            return True

        wait_until(complete, 600, "the import", 0.1)
    return time.perf_counter() - began


def outbox_states(conn: psycopg.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())


def run_campaign(client: httpx.Client, url: str, db_url: str, sink: Sink, leads: int) -> tuple[float, float]:
    """scheduleCampaign, then seconds until the run is done and until the sink has `leads` more."""
    pg_url = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        before = sink.count()
        reply = post(client, url, envelope(schedule_body()))
        began = time.perf_counter()
        if b"<success>true</success>" not in reply:
            raise SystemExit(f"scheduleCampaign answered {reply[:800]!r}")
        flow_done: list[float] = []

        def finished() -> bool:
            if not flow_done:
                status = conn.execute("SELECT status FROM campaign_runs ORDER BY id DESC LIMIT 1").fetchone()
                if status is not None and status[0] == "failed":
                    raise SystemExit("the campaign run failed")
                if status is not None and status[0] == "done":
                    flow_done.append(time.perf_counter() - began)
            return bool(flow_done) and sink.count() >= before + leads

        wait_until(finished, max(300.0, leads / 20), f"{leads} messages at the sink", 0.02)
        delivered = time.perf_counter() - began
        # the sink counts a message at its dot; the sender marks it `sent` just after
        settle_by = time.perf_counter() + 60
        while (states := outbox_states(conn)) != {"sent": leads}:
            if time.perf_counter() > settle_by:
                raise SystemExit(f"the outbox shows {states} a minute after the sink had every message")
            time.sleep(0.1)
        if sink.count() != before + leads:
            raise SystemExit(f"the sink counted {sink.count() - before} messages, not {leads}: duplicates")
    return flow_done[0], delivered


def run_configuration(args: argparse.Namespace, processes: int, sink: Sink, work: Path) -> Figures:
    print(f"\n{label(processes)}: ", end="", flush=True)
    with ExitStack() as stack:
        db_url = stack.enter_context(fresh_database(args.db, "mktows_scale_bench"))
        migrate = subprocess.run(
            [sys.executable, "-m", "mktows", "migrate", "--db", db_url, "--job-engine", "procrastinate"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if migrate.returncode != 0 or "job engine: procrastinate" not in migrate.stdout:
            raise SystemExit(f"mktows migrate failed:\n{migrate.stdout}{migrate.stderr}")
        instance = work / f"instance-{processes}.yaml"
        instance.write_text(instance_yaml(sink.port), encoding="utf-8")
        started: list[Process] = []
        stack.callback(lambda: [p.stop() for p in reversed(started)])
        urls: list[str] = []
        for n in range(processes):
            api = Process(
                f"api {n + 1}",
                ["serve", "--host", "127.0.0.1", "--port", "0", "--db", db_url, "--instance", str(instance)],
                {"MKTOWS_WORKERS": "0"},
                READY,
            )
            started.append(api)
            urls.append(f"{api.wait_ready(90)}/soap/mktows/{VERSION}")
            if not any("jobs: procrastinate job engine, none run here" in line for line in api.tail):
                raise SystemExit(f"api {n + 1} does not follow the procrastinate engine\n{api.output()}")
        for n in range(processes):
            worker = Process(
                f"worker {n + 1}", ["worker", "--db", db_url, "--concurrency", str(args.concurrency)], {}, WORKER_READY
            )
            started.append(worker)
            if (engine := worker.wait_ready(90)) != "procrastinate":
                raise SystemExit(f"worker {n + 1} runs the {engine} job engine\n{worker.output()}")
        try:
            rows = lead_rows(args.leads)
            bodies = sync_envelopes(rows, args.batch)
            sync_s, created = sync_leads(urls, bodies, args.clients)
            if created != args.leads:
                raise SystemExit(f"syncMultipleLeads created {created} leads of {args.leads}")
            print(f"sync {args.leads / sync_s:,.0f} leads/s", end="", flush=True)
            with httpx.Client(timeout=120) as client:
                import_s = import_leads(client, urls, [r[0] for r in rows])
                print(f", import {args.leads / import_s:,.0f} leads/s", end="", flush=True)
                flow_s, mail_s = run_campaign(client, urls[-1], db_url, sink, args.leads)
            print(
                f", flow {args.leads / flow_s:,.0f} leads/s, delivery {args.leads / mail_s:,.0f} emails/s", flush=True
            )
        except BaseException:
            print("\n" + "\n".join(p.output() for p in started), file=sys.stderr)
            raise
    return Figures(processes, sync_s, import_s, flow_s, mail_s)


# --- the bound ----------------------------------------------------------------------------


def run_floor(args: argparse.Namespace) -> float:
    """Seconds for bare lxml + psycopg to take the same bodies: parse, write, answer."""
    with fresh_database(args.db, "mktows_scale_floor") as db_url:
        pg_url = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(pg_url) as conn:
            conn.execute(
                "CREATE TABLE floor_leads (id bigserial PRIMARY KEY, email text NOT NULL, first_name text,"
                " last_name text, company text, created_at timestamptz NOT NULL DEFAULT now())"
            )
            conn.commit()
            bodies = sync_envelopes(lead_rows(args.leads), args.batch)
            began = time.perf_counter()
            written = 0
            for body in bodies:
                rows = []
                for record in etree.fromstring(body).iter("leadRecord"):
                    values = {a.findtext("attrName"): a.findtext("attrValue") for a in record.iter("attribute")}
                    rows.append(
                        (
                            record.findtext("Email"),
                            values.get("FirstName"),
                            values.get("LastName"),
                            values.get("Company"),
                        )
                    )
                ids = [
                    r[0]
                    for r in conn.execute(
                        "SELECT nextval('floor_leads_id_seq') FROM generate_series(1, %s)", (len(rows),)
                    ).fetchall()
                ]
                with conn.cursor().copy(
                    "COPY floor_leads (id, email, first_name, last_name, company) FROM STDIN"
                ) as cp:
                    for lead_id, row in zip(ids, rows, strict=True):
                        cp.write_row((lead_id, *row))
                conn.commit()
                result = _body("successSyncMultipleLeads")
                statuses = etree.SubElement(etree.SubElement(result, "result"), "syncStatusList")
                for lead_id in ids:
                    status = etree.SubElement(statuses, "syncStatus")
                    _text(status, "leadId", str(lead_id))
                    _text(status, "status", "CREATED")
                    etree.SubElement(status, "error")
                written += len(etree.tostring(result))
            seconds = time.perf_counter() - began
            count = conn.execute("SELECT count(*) FROM floor_leads").fetchone()
            assert count is not None and count[0] == args.leads and written > 0
    return seconds


# --- report -------------------------------------------------------------------------------


def label(processes: int) -> str:
    return f"{processes} API process{'es' if processes > 1 else ''} + {processes} worker{'s' if processes > 1 else ''}"


def cell(rate: float, floor: float) -> str:
    return f"{rate:,.0f} ({floor / rate:.1f}x)"


def table(results: list[Figures], leads: int, floor_s: float, smtp_s: float) -> list[str]:
    """The results as Markdown table lines; (Nx): how many times faster the bound was."""
    floor, smtp = leads / floor_s, leads / smtp_s
    lines = [
        "| configuration | syncMultipleLeads, leads/s | importToList, leads/s | campaign flow, leads/s "
        "| delivered, emails/s |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results:
        emails = leads / r.emails_s
        lines.append(
            f"| {label(r.processes)} | {cell(leads / r.sync_s, floor)} | {cell(leads / r.import_s, floor)} | "
            f"{cell(leads / r.flow_s, floor)} | {cell(emails, floor)[:-1]}; smtplib {smtp / emails:.1f}x) |"
        )
    lines.append(f"| bound: bare lxml + psycopg, same bodies | {floor:,.0f} | | | |")
    lines.append(f"| bare smtplib, same sink, {SMTP_CONNECTIONS} connections | | | | {smtp:,.0f} |")
    return lines


def comparison(results: list[Figures]) -> str:
    """The last configuration's figures against the first's, as a sentence."""
    if len(results) < 2:
        return ""
    a, b = results[0], results[-1]
    pairs = (
        ("syncMultipleLeads", a.sync_s / b.sync_s),
        ("importToList", a.import_s / b.import_s),
        ("the campaign flow", a.flow_s / b.flow_s),
        ("delivery", a.emails_s / b.emails_s),
    )
    return f"The rate of {label(b.processes)} over that of {label(a.processes)}: " + ", ".join(
        f"{name} {ratio:.2f}" for name, ratio in pairs
    )


def machine(args: argparse.Namespace, load_before: float, load_after: float) -> str:
    """What ran where, and how busy the machine was (1-minute load average)."""
    with psycopg.connect(args.db, connect_timeout=10) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    pg = row[0].split()[0] if row else "?"
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL {pg} on 127.0.0.1, "
        f"lxml {'.'.join(map(str, etree.LXML_VERSION[:3]))}; 1-minute load average {load_before:.2f} when the "
        f"run began, {load_after:.2f} at its end (its own processes included)"
    )


def machine_paragraph(note: str) -> str:
    return textwrap.fill(
        f"**Machine.** {note} Both configurations share the 2 cores with PostgreSQL, the SMTP sink and the"
        " client: a second API process or worker brings no core of its own, so the table shows what the"
        " scaled-out form costs or gains on one small machine, not how it scales, and no scaling target is set."
        " Runs minutes apart differ by up to 2x on this machine, the bound's figure included: compare"
        " figures within one run.",
        width=96,
    )


def write_section(
    path: Path, command: str, note: str, lines: list[str], compared: str, args: argparse.Namespace
) -> None:
    """Replace the section (up to the next `## ` heading), or add it at the end."""
    n = f"{args.leads:,}"
    machine_note = machine_paragraph(note)
    reading = textwrap.fill(
        (f"{compared}. " if compared else "")
        + "A campaign run is one job, which one worker takes, and so is each importToList call: a"
        " second worker does not share a run's flow or an import; it can take delivery jobs beside them,"
        " on the same cores. A second API process lets two interpreters parse and apply"
        " syncMultipleLeads calls at once where one runs Python code one thread at a time.",
        width=96,
    )
    body = (
        f"""{SECTION}

```sh
{command}
```

Each configuration gets a fresh PostgreSQL database (created on the `--db` server, dropped
afterwards) set to the procrastinate job engine by `mktows migrate --job-engine procrastinate`;
the API processes run `mktows serve` with `MKTOWS_WORKERS=0` (they run no jobs) and the jobs
run in `mktows worker --concurrency {args.concurrency}` processes; every process has
`MKTOWS_MAX_CONCURRENCY=1000` and, as the default profile does, no quota and no rate limit.
Then, against real processes on 127.0.0.1:

- syncMultipleLeads: {n} new leads (Email and three fields) in calls of {args.batch}, the
  signed bodies built with lxml beforehand, sent by {args.clients} client threads, call i to
  API process i mod P; from the first call to the last answer.
- importToList (`LISTONLY`) of the same leads into the campaign's list, {IMPORT_ROWS:,} rows a
  call, polled with getImportToListStatus on the other API process until `COMPLETE`: the
  workers do the work.
- scheduleCampaign of a batch campaign whose flow sends one email to that list. "Campaign
  flow" is the time from its answer until the run is `done` (every lead selected, rendered,
  logged and in the outbox); "delivered" until the SMTP sink (the `fast` one of
  `bench/smtp_sink.py`, a process of its own that only acknowledges and counts) has all
  {n} messages. Each worker delivers over its own {SMTP_CONNECTIONS} SMTP connections.

The bound, measured in the same run with no mktows process running: bare lxml parses the
same request bodies, bare psycopg writes their rows into a plain table of a fresh database on
the same server (ids from one sequence query, then `COPY`, one transaction per body) and lxml
serialises a reply with one status per lead; one connection, one thread, no dedupe, no
activities, no signature. In parentheses after each figure: how many times faster the bound was
(its leads/s divided by the figure). For delivery, bare smtplib sending as many pre-rendered
messages to the same sink over {SMTP_CONNECTIONS} connections is a second bound, and its ratio follows.

{machine_note}

| run ({datetime.now(UTC):%Y-%m-%d}, {n} leads) |{lines[0].split("|", 2)[2]}
"""
        + "\n".join(lines[1:])
        + f"""

{reading}
"""
    )
    replace_section(path, SECTION, body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test", help="any database of the server")
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=250, help="leads per syncMultipleLeads call")
    parser.add_argument("--clients", type=int, default=4, help="client threads sending syncMultipleLeads")
    parser.add_argument("--concurrency", type=int, default=2, help="jobs one worker runs at once")
    parser.add_argument("--configs", default="1,2", help="API processes (and as many workers) per configuration")
    parser.add_argument("--out", type=Path, help="write the section of docs/benchmarks.md")
    parser.add_argument("--note", default="", help="a sentence added to the machine note (e.g. other jobs running)")
    args = parser.parse_args()
    if not args.db.startswith("postgresql"):
        parser.error("--db must be a postgresql:// URL (procrastinate needs PostgreSQL)")
    configs = [int(c) for c in args.configs.split(",")]
    load_before = os.getloadavg()[0]
    print(f"{args.leads:,} leads, batches of {args.batch}, {args.clients} client threads; load {load_before:.2f}")
    results: list[Figures] = []
    sink = Sink("fast")
    try:
        with tempfile.TemporaryDirectory(prefix="mktows-scale-") as tmp:
            for processes in configs:
                results.append(run_configuration(args, processes, sink, Path(tmp)))
        floor_s = run_floor(args)
        smtp_s = run_bare(args.leads, SMTP_CONNECTIONS, sink)
    finally:
        sink.stop()
    load_after = os.getloadavg()[0]
    lines = table(results, args.leads, floor_s, smtp_s)
    note = machine(args, load_before, load_after) + "." + (f" {args.note}" if args.note else "")
    print(f"\n{note}\n(Nx): how many times faster the bound was than the figure\n")
    print("\n".join(lines))
    compared = comparison(results)
    if compared:
        print(f"\n{compared}")
    if args.out:
        command = shlex.join([".venv/bin/python", "bench/scale_out.py", *sys.argv[1:]])
        write_section(args.out, command, note, lines, compared, args)
        print(f"\nwrote the section to {args.out}")


if __name__ == "__main__":
    main()
