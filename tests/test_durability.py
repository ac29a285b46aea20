"""SIGKILL at seeded random moments while the server writes, then restart and check.

One real `mktows serve` per restart cycle, one database per backend. In every cycle three
kinds of writes are in flight at once when the process is killed:

- syncMultipleLeads: client threads send batches of 50 leads (new ones, and updates of leads
  they created before), each lead carrying its batch's marker. A call counts as acknowledged
  once its 200 answer is read.
- importToList: an import of a few thousand rows into a list of its own, in chunks.
- a campaign run with a send-email step: scheduleCampaign on a list of its own, delivering to
  an SMTP sink in this process (which outlives the server).

After each restart: every acknowledged lead is there with its values; every batch is all there
or not at all (creates by their marker field, updates by their Change Data Value activities);
each lead has exactly one New Lead activity and its Change Data Value activities chain its
values; no activity points at a missing lead. Once an import or a run has finished (it resumes
after each restart), every row is on its list exactly once, and nobody got the email twice.
Everybody got it, except for messages the outbox marks "delivery unconfirmed": delivery is
at most once, and a kill during the commit that hands a round of messages to SMTP loses that
round (at most one message per SMTP connection and kill; counted and printed). At the end
every job is done.

The kill moments come from `random.Random(seed)`; the seed is in the test id and in every
failure message. Replay one with MKTOWS_KILL_SEED=<seed>; MKTOWS_KILLS sets the number of kills
each write path must take (default 20).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import httpx
import pytest
from lxml import etree
from sqlalchemy import func, select
from support.pg import backends, database_url
from support.server import INSTANCE, Server, running_server
from support.smtp import SmtpSink, smtp_sink
from support.soap import envelope, soap_action, success

from mktows.store.database import Database
from mktows.store.tables import activities, import_jobs, jobs, lead_values, leads, list_members, outbox, static_lists

SEED = int(os.environ.get("MKTOWS_KILL_SEED") or random.SystemRandom().randrange(1, 1_000_000))
KILLS = int(os.environ.get("MKTOWS_KILLS", "20"))
MAX_CYCLES = KILLS * 2  # a cycle whose kill found a path idle does not count for that path

PROGRAM = "Durability"
IMPORT_ROUNDS, RUN_ROUNDS = 40, 20  # lists declared for imports and campaign runs (one each)
BATCH = 50  # leads per syncMultipleLeads call
SYNC_THREADS = 3
IMPORT_ROWS = 10_000  # twenty chunks of 500: still running at most kills
RUN_LEADS = 600  # recipients of one campaign run
KILL_AFTER = (0.3, 1.3)  # seconds of writing before the SIGKILL (seeded)
DELIVERY_UNCONFIRMED = "delivery unconfirmed"
SMTP_CONNECTIONS = 4  # a kill can lose the one round in the hands of SMTP: at most this many messages
IMPORT_JOB = "list.import"
RUN_JOBS = {"campaign.run", "email.deliver"}


def import_list(n: int) -> str:
    return f"Import {n:02d}"


def send_list(n: int) -> str:
    return f"Send {n:02d}"


def instance(smtp_port: int) -> dict:
    return {
        "api_users": INSTANCE["api_users"][:1],
        "lead_fields": [
            {"name": "Dur_Batch", "display_name": "Dur Batch", "type": "string"},
            {"name": "Dur_Version", "display_name": "Dur Version", "type": "string"},
        ],
        "programs": [
            {
                "name": PROGRAM,
                "lists": [import_list(n) for n in range(IMPORT_ROUNDS)] + [send_list(n) for n in range(RUN_ROUNDS)],
                "emails": [
                    {
                        "name": "Note",
                        "from": {"name": "Durability", "email": "team@example.com"},
                        "subject": "Note for {{lead.First Name:default=friend}}",
                        "text": "Hello {{lead.First Name:default=friend}}",
                        "html": "<p>Hello {{lead.First Name:default=friend}}</p>",
                    }
                ],
                "campaigns": [
                    {
                        "name": send_list(n),
                        "smart_list": [{"member_of_list": send_list(n)}],
                        "flow": [{"send_email": "Note"}],
                    }
                    for n in range(RUN_ROUNDS)
                ],
            }
        ],
        "smtp_url": f"smtp://127.0.0.1:{smtp_port}",
    }


# --------------------------------------------------------------------------- raw calls


def post(client: httpx.Client, srv: Server, op: str, body: str) -> etree._Element:
    """One call; raises on anything but a success answer (a killed server: httpx errors)."""
    resp = client.post(srv.endpoint("2_9"), content=envelope(body), headers=soap_action(op), timeout=30)
    return success(resp, op)


def record(email: str, attrs: dict[str, str]) -> str:
    cells = "".join(
        f"<attribute><attrName>{n}</attrName><attrValue>{escape(v)}</attrValue></attribute>" for n, v in attrs.items()
    )
    return f"<leadRecord><Email>{escape(email)}</Email><leadAttributeList>{cells}</leadAttributeList></leadRecord>"


def sync_body(records: list[str]) -> str:
    return (
        f"<ns1:paramsSyncMultipleLeads><leadRecordList>{''.join(records)}</leadRecordList>"
        "<dedupEnabled>true</dedupEnabled></ns1:paramsSyncMultipleLeads>"
    )


def statuses(result: etree._Element) -> list[str]:
    return [s.findtext("status") or "" for s in result.iter("syncStatus")]


# --------------------------------------------------------------------------- the database


def rows_by_lead(conn, table, where, *cols) -> dict[int, list]:
    """Rows of `table` by lead, for the leads that match `where`."""
    out: dict[int, list] = defaultdict(list)
    query = select(table.c.lead_id, *cols).join(leads, leads.c.id == table.c.lead_id).where(where)
    for row in conn.execute(query):
        out[int(row[0])].append(tuple(row[1:]))
    return out


def attrs_of(raw: str) -> dict[str, str]:
    return {str(n): str(v) for n, v in json.loads(raw or "[]")}


# --------------------------------------------------------------------------- path (a): syncMultipleLeads


@dataclass
class Batch:
    name: str
    kind: str  # "create" or "update"
    emails: list[str]
    values: dict[str, dict[str, str]]  # email -> attributes sent
    acked: bool = False


@dataclass
class SyncLoad:
    """Client threads sending batches until the server dies; what each call sent and whether
    its answer came back."""

    rng: random.Random
    tag: str
    batches: list[Batch] = field(default_factory=list)
    by_email_updates: dict[str, list[Batch]] = field(default_factory=lambda: defaultdict(list))
    created: dict[str, Batch] = field(default_factory=dict)  # email -> its create batch
    interrupted: int = 0
    _threads: list[threading.Thread] = field(default_factory=list)
    _in_flight: list[Batch | None] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _counter: int = 0
    _errors: list[str] = field(default_factory=list)

    def start(self, srv: Server, cycle: int) -> None:
        self._in_flight = [None] * SYNC_THREADS
        seeds = [self.rng.randrange(1 << 30) for _ in range(SYNC_THREADS)]
        self._threads = [
            threading.Thread(target=self._run, args=(srv, cycle, n, random.Random(seeds[n])), daemon=True)
            for n in range(SYNC_THREADS)
        ]
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        """After the kill: wait for the threads (their calls fail) and count an interrupted call."""
        for t in self._threads:
            t.join(30)
            assert not t.is_alive(), "a client thread is stuck after the kill"
        assert not self._errors, self._errors[0]
        if any(b is not None for b in self._in_flight):
            self.interrupted += 1

    def _name(self, cycle: int, thread: int) -> str:
        with self._lock:
            self._counter += 1
            return f"{self.tag}c{cycle}t{thread}n{self._counter}"

    def _next_batch(self, cycle: int, thread: int, rng: random.Random) -> Batch:
        name = self._name(cycle, thread)
        mine = [b for b in self.batches if b.kind == "create" and b.acked and f"t{thread}n" in b.name]
        if mine and rng.random() < 0.35:
            target = rng.choice(mine)
            values = {e: {"Dur_Version": name} for e in target.emails}
            return Batch(name, "update", list(target.emails), values)
        emails = [f"{name}-{i:02d}@sync.example.com" for i in range(BATCH)]
        values = {
            e: {"FirstName": f"F{name}-{i}", "Dur_Batch": name, "Dur_Version": "v0"} for i, e in enumerate(emails)
        }
        return Batch(name, "create", emails, values)

    def _run(self, srv: Server, cycle: int, thread: int, rng: random.Random) -> None:
        with httpx.Client() as client:
            while True:
                batch = self._next_batch(cycle, thread, rng)
                with self._lock:
                    self.batches.append(batch)
                    for e in batch.emails:
                        if batch.kind == "update":
                            self.by_email_updates[e].append(batch)
                        else:
                            self.created[e] = batch
                self._in_flight[thread] = batch
                body = sync_body([record(e, batch.values[e]) for e in batch.emails])
                try:
                    result = post(client, srv, "syncMultipleLeads", body)
                except httpx.HTTPError:
                    return  # the server is gone: this call stays unacknowledged
                except AssertionError as exc:
                    self._errors.append(f"{batch.name}: {exc}")
                    return
                want = "CREATED" if batch.kind == "create" else "UPDATED"
                got = statuses(result)
                if got != [want] * BATCH:
                    self._errors.append(f"{batch.name}: {Counter(got)}")
                    return
                batch.acked = True
                self._in_flight[thread] = None

    # --- checks ---------------------------------------------------------------------------

    def check(self, conn) -> int:
        """Everything the database says about the leads of acknowledged and unknown batches."""
        mine = leads.c.email_lower.like("%@sync.example.com")
        found = conn.execute(select(leads.c.id, leads.c.email).where(mine)).all()
        ids = {r.email: int(r.id) for r in found}
        counts = Counter(r.email.lower() for r in found)
        values = rows_by_lead(conn, lead_values, mine, lead_values.c.name, lead_values.c.value)
        acts = rows_by_lead(conn, activities, mine, activities.c.id, activities.c.type_name, activities.c.attributes)
        orphans = conn.execute(
            select(func.count()).select_from(activities).where(~activities.c.lead_id.in_(select(leads.c.id)))
        ).scalar()
        assert orphans == 0, f"{orphans} activities of leads that do not exist"
        present = 0
        for batch in [b for b in self.batches if b.kind == "create"]:
            here = [e for e in batch.emails if e in ids]
            assert len(here) in (0, BATCH), f"batch {batch.name}: {len(here)} of {BATCH} leads visible"
            assert here or not batch.acked, f"acknowledged batch {batch.name} is missing"
            for e in here:
                present += 1
                assert counts[e.lower()] == 1, f"{e}: {counts[e.lower()]} leads"
                self._check_lead(e, values[ids[e]], acts[ids[e]])
        updates: dict[str, int] = Counter()
        for e in self.created:
            if e in ids:
                for _, type_name, raw in acts[ids[e]]:
                    a = attrs_of(raw)
                    if type_name == "Change Data Value" and a.get("Attribute Name") == "Dur Version":
                        updates[a["New Value"]] += 1
        for batch in [b for b in self.batches if b.kind == "update"]:
            n = updates.get(batch.name, 0)
            assert n in (0, BATCH), f"update batch {batch.name}: applied to {n} of {BATCH} leads"
            assert n or not batch.acked, f"acknowledged update batch {batch.name} left no change"
        return present

    def _check_lead(self, email: str, values: list[tuple], acts: list[tuple]) -> None:
        stored = dict(values)
        sent = self.created[email].values[email]
        for name in ("FirstName", "Dur_Batch"):
            assert stored.get(name) == sent[name], f"{email} {name}: {stored.get(name)!r}, sent {sent[name]!r}"
        types = Counter(t for _, t, _ in acts)
        assert types["New Lead"] == 1, f"{email}: {types['New Lead']} New Lead activities"
        chain = [attrs_of(raw) for _, t, raw in sorted(acts) if t == "Change Data Value"]
        assert all(a.get("Attribute Name") == "Dur Version" for a in chain), f"{email}: unexpected changes {chain}"
        sent_updates = self.by_email_updates.get(email, [])
        order = [b.name for b in sent_updates]
        applied = [a["New Value"] for a in chain]
        it = iter(order)
        assert all(v in it for v in applied), f"{email}: changes {applied} out of the order sent {order}"
        assert {b.name for b in sent_updates if b.acked} <= set(applied), f"{email}: acknowledged update lost"
        previous = "v0"
        for a in chain:
            assert a["Old Value"] == previous, f"{email}: change from {a['Old Value']!r}, value was {previous!r}"
            previous = a["New Value"]
        assert stored.get("Dur_Version") == previous, (
            f"{email}: Dur_Version {stored.get('Dur_Version')!r}, {previous!r}"
        )


# --------------------------------------------------------------------------- path (b): importToList


@dataclass
class ImportLoad:
    """Imports into lists of their own, two at a time, left to resume across kills."""

    tag: str
    outstanding: list[int] = field(default_factory=list)
    started: int = 0
    finished: int = 0
    interrupted: int = 0

    def rows(self, n: int) -> list[tuple[str, str]]:
        return [(f"{self.tag}i{n}-{i:05d}@import.example.com", f"I{n}-{i}") for i in range(IMPORT_ROWS)]

    def start(self, srv: Server, db: Database, client: httpx.Client) -> None:
        for n in [n for n in self.outstanding if self._status(db, n) == "COMPLETE"]:
            self.check_complete(db, n)
            self.finished += 1
            self.outstanding.remove(n)
        if len(self.outstanding) < 2 and self.started < IMPORT_ROUNDS:
            n, self.started = self.started, self.started + 1
            items = "".join(f"<stringItem>{e},{first}</stringItem>" for e, first in self.rows(n))
            body = (
                f"<ns1:paramsImportToList><programName>{PROGRAM}</programName>"
                "<importFileHeader>Email Address,First Name</importFileHeader>"
                f"<importFileRows>{items}</importFileRows><importListMode>UPSERTLEADS</importListMode>"
                f"<listName>{import_list(n)}</listName><clearList>false</clearList>"
                '<campaignName xsi:nil="true"/></ns1:paramsImportToList>'
            )
            assert post(client, srv, "importToList", body).findtext("result/importStatus") == "PROCESSING"
            self.outstanding.append(n)

    def after_kill(self, running: set[str]) -> None:
        if IMPORT_JOB in running:
            self.interrupted += 1

    def finish(self, db: Database) -> None:
        """On the last restart: the imports under way complete; check them."""
        for n in self.outstanding:
            wait_until(lambda n=n: self._status(db, n) == "COMPLETE", 120, f"import {n}")
            self.check_complete(db, n)
            self.finished += 1

    def _status(self, db: Database, n: int) -> str | None:
        with db.read() as conn:
            return conn.execute(
                select(import_jobs.c.status)
                .join(static_lists, static_lists.c.id == import_jobs.c.list_id)
                .where(static_lists.c.name == import_list(n), static_lists.c.program_name == PROGRAM)
                .order_by(import_jobs.c.id.desc())
            ).scalar()

    def check_complete(self, db: Database, n: int) -> None:
        rows = self.rows(n)
        with db.read() as conn:
            job = conn.execute(
                select(import_jobs)
                .join(static_lists, static_lists.c.id == import_jobs.c.list_id)
                .where(static_lists.c.name == import_list(n), static_lists.c.program_name == PROGRAM)
            ).one()
            assert (job.rows_imported, job.rows_failed, job.rows_ignored) == (IMPORT_ROWS, 0, 0), job
            members = conn.execute(
                select(leads.c.email_lower, leads.c.id)
                .join(list_members, list_members.c.lead_id == leads.c.id)
                .where(list_members.c.list_id == job.list_id)
            ).all()
            emails = Counter(r[0] for r in members)
            assert len(members) == IMPORT_ROWS and set(emails) == {e for e, _ in rows}, (
                f"import {n}: {len(members)} members for {IMPORT_ROWS} rows"
            )
            everywhere = Counter(
                r[0] for r in conn.execute(select(leads.c.email_lower).where(leads.c.email_lower.in_(list(emails))))
            )
            assert set(everywhere.values()) == {1}, f"import {n}: a row made two leads"
            ids = [r[1] for r in members]
            firsts = dict(
                conn.execute(
                    select(lead_values.c.lead_id, lead_values.c.value).where(
                        lead_values.c.name == "FirstName", lead_values.c.lead_id.in_(ids)
                    )
                ).all()
            )
            expected = {e: f for e, f in rows}
            for email, lead_id in members:
                assert firsts.get(lead_id) == expected[email], f"{email}: FirstName {firsts.get(lead_id)!r}"
            new_leads = Counter(
                r[0]
                for r in conn.execute(
                    select(activities.c.lead_id).where(
                        activities.c.type_name == "New Lead", activities.c.lead_id.in_(ids)
                    )
                )
            )
            assert set(new_leads.values()) == {1} and len(new_leads) == IMPORT_ROWS, f"import {n}: New Lead activities"
            added = Counter(
                r[0]
                for r in conn.execute(
                    select(activities.c.lead_id).where(
                        activities.c.type_name == "Add to List", activities.c.lead_id.in_(ids)
                    )
                )
            )
            assert set(added.values()) <= {1}, f"import {n}: a lead added to its list twice"


# --------------------------------------------------------------------------- path (c): a campaign run


@dataclass
class CampaignLoad:
    """One run at a time: leads put on a list of their own, then scheduleCampaign."""

    tag: str
    sink: SmtpSink
    current: int | None = None
    started: int = 0
    finished: int = 0
    interrupted: int = 0
    lost: int = 0  # messages marked "delivery unconfirmed" that never arrived

    def recipients(self, n: int) -> list[str]:
        return [f"{self.tag}r{n}-{i:04d}@send.example.com" for i in range(RUN_LEADS)]

    def arrived(self, n: int) -> Counter[str]:
        prefix = f"{self.tag}r{n}-"
        return Counter(m.rcpt_tos[0].lower() for m in list(self.sink.messages) if m.rcpt_tos[0].startswith(prefix))

    def start(self, srv: Server, db: Database, client: httpx.Client) -> None:
        if self.current is not None and self._settled(db, self.current):
            self.check_complete(db, self.current)
            self.finished += 1
            self.current = None
        if self.current is None and self.started < RUN_ROUNDS:
            n, self.started = self.started, self.started + 1
            emails = self.recipients(n)
            for part in range(0, RUN_LEADS, 300):
                chunk = emails[part : part + 300]
                result = post(
                    client, srv, "syncMultipleLeads", sync_body([record(e, {"FirstName": e[:12]}) for e in chunk])
                )
                assert set(statuses(result)) == {"CREATED"}
                ids = [s.findtext("leadId") for s in result.iter("syncStatus")]
                keys = "".join(f"<leadKey><keyType>IDNUM</keyType><keyValue>{i}</keyValue></leadKey>" for i in ids)
                body = (
                    "<ns1:paramsListOperation><listOperation>ADDTOLIST</listOperation>"
                    f"<listKey><keyType>MKTOLISTNAME</keyType><keyValue>{PROGRAM}.{send_list(n)}</keyValue></listKey>"
                    f"<listMemberList>{keys}</listMemberList><strict>true</strict></ns1:paramsListOperation>"
                )
                assert post(client, srv, "listOperation", body).findtext("result/success") == "true"
            body = (
                f"<ns1:paramsScheduleCampaign><programName>{PROGRAM}</programName>"
                f"<campaignName>{send_list(n)}</campaignName></ns1:paramsScheduleCampaign>"
            )
            assert post(client, srv, "scheduleCampaign", body).findtext("result/success") == "true"
            self.current = n

    def after_kill(self, running: set[str]) -> None:
        if running & RUN_JOBS:
            self.interrupted += 1

    def finish(self, db: Database) -> None:
        """On the last restart: the run under way delivers the rest; check it."""
        if self.current is not None:
            wait_until(lambda: self._settled(db, self.current), 120, f"campaign run {self.current}")
            self.check_complete(db, self.current)
            self.finished += 1

    def _outbox(self, db: Database, n: int) -> list:
        prefix = f"{self.tag}r{n}-"
        with db.read() as conn:
            return conn.execute(
                select(outbox.c.to_addr, outbox.c.status, outbox.c.error).where(outbox.c.to_addr.like(prefix + "%"))
            ).all()

    def _settled(self, db: Database, n: int) -> bool:
        rows = self._outbox(db, n)
        return len(rows) == RUN_LEADS and all(r.status == "sent" for r in rows)

    def check_complete(self, db: Database, n: int) -> None:
        rows = self._outbox(db, n)
        assert Counter(r.to_addr.lower() for r in rows) == Counter(self.recipients(n)), f"run {n}: outbox rows"
        got = self.arrived(n)
        twice = [e for e, c in got.items() if c > 1]
        assert not twice, f"run {n}: {len(twice)} recipients got the email twice, e.g. {twice[:3]}"
        unconfirmed = {r.to_addr.lower() for r in rows if (r.error or "").startswith(DELIVERY_UNCONFIRMED)}
        missing = set(self.recipients(n)) - set(got)
        assert missing <= unconfirmed, f"run {n}: {len(missing - unconfirmed)} recipients never got the email"
        self.lost += len(missing)


# --------------------------------------------------------------------------- the kill cycles


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as s:
        yield s


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize("seed", [SEED], ids=lambda s: f"seed={s}")
def test_sigkill_during_writes_loses_nothing_acknowledged(sink, tmp_path, backend, seed, mktows_start):
    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:6]
    sync = SyncLoad(random.Random(rng.randrange(1 << 30)), tag)
    imports, runs = ImportLoad(tag), CampaignLoad(tag, sink)
    env = {"MKTOWS_WORKERS": "3", "MKTOWS_SMTP_CONNECTIONS": str(SMTP_CONNECTIONS)}
    timings: list[float] = []
    replay = f"(replay: MKTOWS_KILL_SEED={seed})"
    cycle = 0

    def start(name: str) -> contextlib.AbstractContextManager[Server]:
        return running_server(mktows_start, db_url, tmp_path / name, instance=instance(sink.port), env=env)

    with contextlib.ExitStack() as stack:
        db_url = database_url(backend, tmp_path, stack, "mktows_dur")
        db = Database(db_url)
        stack.callback(db.dispose)
        try:
            while min(sync.interrupted, imports.interrupted, runs.interrupted) < KILLS:
                assert cycle < MAX_CYCLES, (
                    f"{cycle} kills interrupted sync {sync.interrupted}, imports {imports.interrupted}, "
                    f"runs {runs.interrupted} times"
                )
                t0 = time.monotonic()
                with start(f"c{cycle}") as srv:
                    with db.read() as conn:
                        sync.check(conn)
                    with httpx.Client() as client:
                        runs.start(srv, db, client)
                        imports.start(srv, db, client)
                    sync.start(srv, cycle)
                    time.sleep(rng.uniform(*KILL_AFTER))
                    srv.kill()
                sync.stop()
                running = jobs_running_in(db, srv.proc.pid)
                imports.after_kill(running)
                runs.after_kill(running)
                timings.append(time.monotonic() - t0)
                cycle += 1
            with start("last") as srv:  # the last restart: everything resumes and finishes
                with db.read() as conn:
                    present = sync.check(conn)
                imports.finish(db)
                runs.finish(db)
                wait_until(lambda: _open_jobs(db) == [], 60, "every job to finish")
                time.sleep(1)  # anything sent late would be a duplicate
                for n in range(runs.started):
                    assert max(runs.arrived(n).values()) == 1, f"run {n}: a late duplicate"
                _check_through_the_api(srv, sync)
                assert runs.lost <= SMTP_CONNECTIONS * runs.interrupted, f"{runs.lost} messages lost"
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nafter {cycle} kill(s) on {backend} {replay}") from None
    print(
        f"\n[durability {backend} seed={seed}] {cycle} kills in {sum(timings):.0f}s "
        f"({sum(timings) / max(cycle, 1):.1f}s a cycle); interrupted: sync {sync.interrupted}, "
        f"imports {imports.interrupted} ({imports.finished} finished), runs {runs.interrupted} "
        f"({runs.finished} finished, {runs.lost} messages lost); leads present {present}, "
        f"batches acknowledged {sum(b.acked for b in sync.batches)} of {len(sync.batches)}"
    )


def jobs_running_in(db: Database, pid: int) -> set[str]:
    """The kinds of job that the process `pid` was running (holding their lease) when it died."""
    with db.read() as conn:
        rows = conn.execute(select(jobs.c.kind, jobs.c.locked_by).where(jobs.c.status == "running")).all()
    return {r.kind for r in rows if r.locked_by and r.locked_by.split(":")[1] == str(pid)}


def _open_jobs(db: Database) -> list[tuple]:
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(select(jobs.c.kind, jobs.c.status).where(jobs.c.status != "done"))]


def _check_through_the_api(srv: Server, sync: SyncLoad) -> None:
    """A sample of acknowledged leads read back by getMultipleLeads, values included."""
    acked = [b for b in sync.batches if b.kind == "create" and b.acked]
    with httpx.Client() as client:
        for batch in acked[:: max(len(acked) // 10, 1)]:
            keys = "".join(f"<stringItem>{e}</stringItem>" for e in batch.emails)
            body = (
                '<ns1:paramsGetMultipleLeads><leadSelector xsi:type="ns1:LeadKeySelector"><keyType>EMAIL</keyType>'
                f"<keyValues>{keys}</keyValues></leadSelector><batchSize>100</batchSize></ns1:paramsGetMultipleLeads>"
            )
            result = post(client, srv, "getMultipleLeads", body)
            got = {}
            for rec in result.iter("leadRecord"):
                attrs = {a.findtext("attrName"): a.findtext("attrValue") for a in rec.iter("attribute")}
                got[rec.findtext("Email")] = attrs
            assert set(got) == set(batch.emails), f"getMultipleLeads misses leads of {batch.name}"
            for e in batch.emails:
                assert got[e].get("Dur_Batch") == batch.name and got[e].get("FirstName") == batch.values[e]["FirstName"]


# --------------------------------------------------------------------------- a graceful stop


@pytest.mark.parametrize("backend", backends())
def test_sigterm_during_an_import_exits_in_time_and_the_import_resumes(sink, tmp_path, backend, mktows_start):
    """SIGTERM while an import runs: the process exits 0 within its grace period, and the
    import, finished within the grace period or left with a lease held by a process that is
    gone, is complete after the next start, every row on its list once."""
    grace = 1
    env = {"MKTOWS_WORKERS": "1", "MKTOWS_SHUTDOWN_GRACE_SECONDS": str(grace)}
    imports = ImportLoad(uuid.uuid4().hex[:6])
    with contextlib.ExitStack() as stack:
        db_url = database_url(backend, tmp_path, stack, "mktows_term")
        db = Database(db_url)
        stack.callback(db.dispose)
        with running_server(mktows_start, db_url, tmp_path / "first", instance=instance(sink.port), env=env) as srv:
            with httpx.Client() as client:
                imports.start(srv, db, client)
            wait_until(lambda: IMPORT_JOB in jobs_running_in(db, srv.proc.pid), 30, "the import to start")
            stopped_at = time.monotonic()
            srv.proc.terminate()
            assert srv.proc.wait(grace + 10) == 0, srv.output()
            assert time.monotonic() - stopped_at < grace + 10
        with running_server(mktows_start, db_url, tmp_path / "second", instance=instance(sink.port), env=env):
            imports.finish(db)
            wait_until(lambda: _open_jobs(db) == [], 60, "every job to finish")
