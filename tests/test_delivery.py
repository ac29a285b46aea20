"""Email delivery against a real SMTP server (aiosmtpd on 127.0.0.1), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update
from support.mailchecks import UNCONFIRMED_PREFIX
from support.pg import backends, migrated_database, migrated_sqlite_file
from support.server import free_port
from support.smtp import SmtpSink, outbox_message, smtp_sink

from mktows.config import Settings
from mktows.delivery import deliver, smtp
from mktows.engine.campaigns.outbox import Message, list_messages, queue_email, status_counts
from mktows.runtime import jobs
from mktows.store.database import Database
from mktows.store.tables import activities, outbox
from mktows.store.tables import jobs as jobs_table
from mktows.workers import Workers

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with migrated_database("mktows_dlv") as url:
        yield url


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory) -> Path:
    return migrated_sqlite_file(tmp_path_factory.mktemp("dlv"))


@pytest.fixture(params=backends())
def db(request, tmp_path) -> Iterator[Database]:
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), tmp_path / "mktows.db")
        database = Database(f"sqlite:///{tmp_path / 'mktows.db'}")
    else:
        database = Database(request.getfixturevalue("pg_url"))
        with database.write() as conn:
            conn.execute(text("TRUNCATE outbox, jobs, activities RESTART IDENTITY"))
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as s:
        yield s


@pytest.fixture(autouse=True)
def capture_by_default() -> Iterator[None]:
    deliver.configure(None)
    yield
    deliver.configure(None)


def queue(database: Database, *messages: Message) -> list[int | None]:
    with database.write() as conn:
        return [queue_email(conn, m) for m in messages]


def rows(database: Database) -> list[Any]:
    with database.read() as conn:
        return conn.execute(select(outbox).order_by(outbox.c.id)).all()


def activity_rows(database: Database) -> list[Any]:
    with database.read() as conn:
        return conn.execute(select(activities).order_by(activities.c.id)).all()


class FakeClock:
    def __init__(self) -> None:
        self.current = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.current


def test_captured_when_no_smtp_server(db: Database, sink: SmtpSink) -> None:
    ids = queue(db, outbox_message(1), outbox_message(2, lead_id=None))
    Workers(db).run_until_idle()
    assert [(r.id, r.status) for r in rows(db)] == [(ids[0], "captured"), (ids[1], "captured")]
    assert sink.messages == []
    assert activity_rows(db) == []


def test_queue_rolls_back_with_the_callers_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as conn:
        queue_email(conn, outbox_message(1))
        raise RuntimeError("step failed")
    assert rows(db) == []
    with db.read() as conn:
        assert conn.execute(select(jobs_table)).all() == []


def test_same_run_lead_and_step_queues_once(db: Database) -> None:
    first, again, next_step = queue(
        db, outbox_message(1), outbox_message(1, subject="other"), outbox_message(1, step_index=1)
    )
    assert first is not None and next_step is not None and again is None
    assert [r.subject for r in rows(db)] == ["Hello Ada 1", "Hello Ada 1"]


def test_one_job_covers_the_messages_of_one_transaction(db: Database) -> None:
    queue(db, *(outbox_message(n) for n in range(20)))
    with db.read() as conn:
        assert len(conn.execute(select(jobs_table)).all()) == 1


def test_sent_message_has_the_right_headers_and_both_bodies(db: Database, sink: SmtpSink) -> None:
    deliver.configure(sink.url)
    (outbox_id,) = queue(db, outbox_message(1))
    Workers(db).run_until_idle()
    (got,) = sink.wait_for(1)
    (row,) = rows(db)
    assert (row.id, row.status, row.attempts, row.error) == (outbox_id, "sent", 1, None)
    assert row.sent_at is not None
    msg = got.message
    assert got.mail_from == "team@example.com" and got.rcpt_tos == ["lead1@example.test"]
    assert msg["From"].addresses[0].display_name == "Séed Team"
    assert msg["From"].addresses[0].addr_spec == "team@example.com"
    assert str(msg["To"]) == "lead1@example.test"
    assert str(msg["Reply-To"]) == "replies@example.com"
    assert str(msg["Subject"]) == "Hello Ada 1"
    assert str(msg["Message-ID"]) == row.message_id and row.message_id.endswith("@mktows>")
    assert msg["Date"].datetime is not None
    assert msg.get_content_type() == "multipart/alternative"
    assert msg.get_body(("plain",)).get_content().rstrip("\n") == "Hi Ada 1: 10% off\n.a line that starts with a dot"
    assert msg.get_body(("html",)).get_content().rstrip("\n") == "<p>Hi <b>Ada</b> 1: 10% off</p>"
    (act,) = activity_rows(db)
    assert (act.lead_id, act.type_name, act.asset_name, act.campaign) == (
        1001,
        "Email Delivered",
        "Seed Program.Welcome",
        "Seed Program.Seed Campaign",
    )
    assert json.loads(act.attributes) == [["Message Id", row.message_id], ["Lead ID", "1001"]]


def test_non_ascii_subject_and_bodies_survive(db: Database, sink: SmtpSink) -> None:
    deliver.configure(sink.url)
    long_line = "ü" * 1200
    queue(
        db,
        outbox_message(
            1,
            subject="Grüße, Zoë — 10 % Rabatt",
            text=long_line,
            html=f"<p>{long_line}</p>",
            from_name=None,
            reply_to=None,
        ),
    )
    Workers(db).run_until_idle()
    msg = sink.wait_for(1)[0].message
    assert str(msg["Subject"]) == "Grüße, Zoë — 10 % Rabatt"
    assert str(msg["From"]) == "team@example.com" and msg["Reply-To"] is None
    assert msg.get_body(("plain",)).get_content().rstrip("\n") == long_line
    assert msg.get_body(("html",)).get_content().rstrip("\n") == f"<p>{long_line}</p>"


def test_permanent_failure_bounces_and_logs_email_bounced(db: Database, sink: SmtpSink) -> None:
    deliver.configure(sink.url)
    sink.reject("lead2@example.test", "550 5.1.1 No such user")
    queue(db, outbox_message(1), outbox_message(2), outbox_message(3))
    Workers(db).run_until_idle()
    assert sorted(m.rcpt_tos[0] for m in sink.wait_for(2)) == ["lead1@example.test", "lead3@example.test"]
    statuses = {r.to_addr: (r.status, r.error) for r in rows(db)}
    assert statuses["lead2@example.test"] == ("bounced", "550 5.1.1 No such user")
    assert statuses["lead1@example.test"][0] == statuses["lead3@example.test"][0] == "sent"
    bounced = [a for a in activity_rows(db) if a.type_name == "Email Bounced"]
    assert [(a.lead_id, a.campaign, a.asset_name) for a in bounced] == [
        (1002, "Seed Program.Seed Campaign", "Seed Program.Welcome")
    ]
    assert json.loads(bounced[0].attributes) == [
        ["Details", "550 5.1.1 No such user"],
        ["Email", "lead2@example.test"],
        ["Lead ID", "1002"],
    ]
    assert Counter(a.type_name for a in activity_rows(db)) == {"Email Delivered": 2, "Email Bounced": 1}


def test_temporary_failure_is_retried_after_backoff_and_sent_once(db: Database, sink: SmtpSink) -> None:
    deliver.configure(sink.url, retry_base_seconds=60)
    sink.reject("lead1@example.test", "451 4.3.0 Mailbox busy, try later", times=1)
    queue(db, outbox_message(1), outbox_message(2))
    clock = FakeClock()
    workers = Workers(db, clock=clock)
    workers.run_until_idle()
    first, second = rows(db)
    assert (first.status, first.attempts, first.error) == ("queued", 1, "451 4.3.0 Mailbox busy, try later")
    assert second.status == "sent"
    workers.run_until_idle()  # the retry is not due yet
    assert rows(db)[0].status == "queued"
    clock.current += timedelta(seconds=61)
    workers.run_until_idle()
    first = rows(db)[0]
    assert (first.status, first.attempts, first.error) == ("sent", 2, None)
    assert [m.rcpt_tos[0] for m in sink.messages].count("lead1@example.test") == 1
    assert Counter(a.type_name for a in activity_rows(db)) == {"Email Delivered": 2}


def test_temporary_failures_give_up_after_max_attempts(db: Database, sink: SmtpSink) -> None:
    deliver.configure(sink.url, retry_base_seconds=0, max_attempts=3)
    sink.reject("lead1@example.test", "452 4.2.2 Mailbox full")
    queue(db, outbox_message(1))
    Workers(db).run_until_idle()
    (row,) = rows(db)
    assert (row.status, row.attempts, row.error) == ("failed", 3, "452 4.2.2 Mailbox full")
    assert [a.type_name for a in activity_rows(db)] == ["Email Bounced Soft"]
    assert sink.messages == []


def test_one_connection_carries_many_messages(db: Database, sink: SmtpSink) -> None:
    deliver.configure(sink.url, batch_size=7, connections=1)
    queue(db, *(outbox_message(n) for n in range(25)))
    Workers(db).run_until_idle()
    assert len(sink.wait_for(25)) == 25
    assert sink.connections == 1
    assert status_counts(db) == {"sent": 25}


def test_several_connections_deliver_every_message_exactly_once(db: Database, sink: SmtpSink) -> None:
    deliver.configure(sink.url, batch_size=10, connections=4)
    total = 103  # rounds of 4 and a short last one
    queue(db, *(outbox_message(n) for n in range(total)))
    Workers(db).run_until_idle()
    received = Counter(m.rcpt_tos[0] for m in sink.wait_for(total))
    assert set(received) == {f"lead{n}@example.test" for n in range(total)}
    assert max(received.values()) == 1
    assert sink.connections == 4
    by_session = Counter(m.session for m in sink.messages)
    assert min(by_session.values()) >= total // 4  # each connection carried its share
    assert status_counts(db) == {"sent": total}
    assert all(r.attempts == 1 and r.error is None and r.sent_at is not None for r in rows(db))
    delivered = [a for a in activity_rows(db) if a.type_name == "Email Delivered"]
    assert sorted(a.lead_id for a in delivered) == [1000 + n for n in range(total)]


def test_bounces_and_retries_are_per_message_across_connections(db: Database, sink: SmtpSink) -> None:
    deliver.configure(sink.url, connections=3, retry_base_seconds=60)
    sink.reject("lead1@example.test", "550 5.1.1 No such user")
    sink.reject("lead4@example.test", "451 4.3.0 Try again later", times=1)
    sink.reject("lead5@example.test", "550 5.7.1 Refused")
    queue(db, *(outbox_message(n) for n in range(8)))
    clock = FakeClock()
    workers = Workers(db, clock=clock)
    workers.run_until_idle()
    state = {r.to_addr: (r.status, r.attempts, r.error) for r in rows(db)}
    assert state["lead1@example.test"] == ("bounced", 1, "550 5.1.1 No such user")
    assert state["lead5@example.test"] == ("bounced", 1, "550 5.7.1 Refused")
    assert state["lead4@example.test"] == ("queued", 1, "451 4.3.0 Try again later")
    assert {state[f"lead{n}@example.test"][0] for n in (0, 2, 3, 6, 7)} == {"sent"}
    clock.current += timedelta(seconds=61)
    workers.run_until_idle()
    received = Counter(m.rcpt_tos[0] for m in sink.messages)
    assert sorted(received) == sorted(f"lead{n}@example.test" for n in (0, 2, 3, 4, 6, 7))
    assert max(received.values()) == 1
    assert Counter(a.type_name for a in activity_rows(db)) == {"Email Delivered": 6, "Email Bounced": 2}


def test_a_job_arriving_during_a_drain_leaves_its_rows_to_it(db: Database, sink: SmtpSink) -> None:
    """Several delivery jobs of one process: one drain, never more connections than configured."""
    deliver.configure(sink.url, batch_size=5, connections=2)
    for part in range(5):  # five transactions, five delivery jobs (none is young and unclaimed)
        queue(db, *(outbox_message(n) for n in range(part * 20, part * 20 + 20)))
        with db.write() as conn:
            conn.execute(update(jobs_table).values(created_at=datetime.now(UTC) - timedelta(minutes=1)))
    workers = Workers(db, threads=4, poll_seconds=0.01)
    workers.start()
    try:
        sink.wait_for(100, timeout=60)
        deadline = time.monotonic() + 30
        while status_counts(db) != {"sent": 100} and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        workers.stop()
    received = Counter(m.rcpt_tos[0] for m in sink.messages)
    assert len(received) == 100 and max(received.values()) == 1
    assert sink.connections <= 2
    assert status_counts(db) == {"sent": 100}


def test_unreachable_server_keeps_messages_queued_for_later(db: Database) -> None:
    port = free_port()  # nothing listens there yet
    deliver.configure(f"smtp://127.0.0.1:{port}?timeout=2", retry_base_seconds=60)
    queue(db, outbox_message(1), outbox_message(2), outbox_message(3))
    clock = FakeClock()
    workers = Workers(db, clock=clock)
    workers.run_until_idle(timeout=60)
    assert {r.status for r in rows(db)} == {"queued"}  # nothing bounced or failed for a server outage
    assert all("cannot connect" in (r.error or "") for r in rows(db) if r.attempts)
    with smtp_sink(port=port) as sink:
        clock.current += timedelta(minutes=10)
        workers.run_until_idle()
        assert sorted(m.rcpt_tos[0] for m in sink.wait_for(3)) == [f"lead{n}@example.test" for n in (1, 2, 3)]
    assert status_counts(db) == {"sent": 3}


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_tls_and_login(db: Database, tls: str) -> None:
    with smtp_sink(tls=tls, login=("mailer", "s3cret")) as sink:
        url = sink.url + ("&" if "?" in sink.url else "?") + f"cafile={sink.cafile}"
        deliver.configure(url)
        queue(db, outbox_message(1))
        Workers(db).run_until_idle()
        (got,) = sink.wait_for(1)
        assert got.authenticated
        assert str(got.message["Subject"]) == "Hello Ada 1"


def test_tls_certificate_is_verified(db: Database) -> None:
    with smtp_sink(tls="implicit") as sink:
        deliver.configure(sink.url + "?timeout=5", retry_base_seconds=3600)
        queue(db, outbox_message(1))
        Workers(db).run_until_idle()
        (row,) = rows(db)
        assert row.status == "queued" and "CERTIFICATE_VERIFY_FAILED" in row.error
        assert sink.messages == []


def test_rows_of_a_dead_worker_are_settled_never_sent_twice(db: Database, sink: SmtpSink) -> None:
    """`sending` (maybe accepted) becomes sent-unconfirmed; `claimed` (not handed over) is sent."""
    deliver.configure(sink.url)
    queue(db, outbox_message(1), outbox_message(2))
    dead = "gone-host:1:cafe:0.0"  # holds no job lease
    with db.write() as conn:
        conn.execute(
            update(outbox).where(outbox.c.to_addr == "lead1@example.test").values(status="sending", error=dead)
        )
        conn.execute(
            update(outbox).where(outbox.c.to_addr == "lead2@example.test").values(status="claimed", error=dead)
        )
    Workers(db).run_until_idle()
    first, second = rows(db)
    assert first.status == "sent" and first.error.startswith("delivery unconfirmed")
    assert (second.status, second.error) == ("sent", None)
    assert [m.rcpt_tos[0] for m in sink.wait_for(1)] == ["lead2@example.test"]
    assert Counter(a.type_name for a in activity_rows(db)) == {"Email Delivered": 2}


def test_rows_held_by_a_live_lease_are_left_alone(db: Database, sink: SmtpSink) -> None:
    deliver.configure(sink.url)
    queue(db, outbox_message(1))
    alive = "other-host:1:cafe:0.0"
    with db.write() as conn:
        conn.execute(update(outbox).values(status="sending", error=alive))
        jobs.enqueue(conn, "test.other", {})
        conn.execute(
            update(jobs_table)
            .where(jobs_table.c.kind == "test.other")
            .values(status="running", locked_by=alive, locked_until=datetime.now(UTC) + timedelta(minutes=5))
        )
        jobs.enqueue(conn, deliver.DELIVER, {})
    Workers(db).run_until_idle()
    assert [(r.status, r.error) for r in rows(db)] == [("sending", alive)]
    assert sink.messages == []


SENDER = """
import sys, time
from mktows.delivery import deliver, smtp
from mktows.workers import Workers
from mktows.store.database import Database
deliver.configure(sys.argv[2])
Workers(Database(sys.argv[1]), threads=2, poll_seconds=0.05).start()
time.sleep(600)
"""
# Runs the due jobs to the end, as a restarted server would, then exits.
RESUMER = """
import sys
from mktows.delivery import deliver
from mktows.workers import Workers
from mktows.store.database import Database
deliver.configure(sys.argv[2])
database = Database(sys.argv[1])
Workers(database).run_until_idle(timeout=120)
database.dispose()
"""


@pytest.mark.slow
def test_killed_sender_resumes_and_every_recipient_gets_exactly_one(db: Database, sink: SmtpSink) -> None:
    """SIGKILL a process sending over 4 connections: each message arrives once, nobody is skipped."""
    total = 2000
    queue(db, *(outbox_message(n) for n in range(total // 2)))
    queue(db, *(outbox_message(n) for n in range(total // 2, total)))  # two jobs: both worker threads take one
    proc = subprocess.Popen(
        [sys.executable, "-c", SENDER, db.url, sink.url], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    try:
        sink.wait_for(total // 4, timeout=60)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert len(sink.messages) < total, "the sender finished before it was killed"
    assert sink.connections == 4
    # another process resumes (this one runs the SMTP sink: sending from here as well would
    # share one interpreter between both ends of every connection)
    subprocess.run(
        [sys.executable, "-c", RESUMER, db.url, sink.url],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
        timeout=180,
    )
    received = Counter(m.rcpt_tos[0] for m in sink.messages)
    assert max(received.values()) == 1, "a recipient got the same message twice"
    # at most once: a kill while a round was in SMTP's hands leaves that round (at most one
    # message per connection) marked "delivery unconfirmed", never sent again
    lost = {m.to_addr for m in list_messages(db, limit=total)} - set(received)
    unconfirmed = {m.to_addr for m in list_messages(db, limit=total) if (m.error or "").startswith(UNCONFIRMED_PREFIX)}
    assert lost <= unconfirmed, "a message was lost without a word"
    assert len(lost) <= 4, f"{len(lost)} messages lost to one kill"
    assert status_counts(db) == {"sent": total}
    assert Counter(a.type_name for a in activity_rows(db)) == {"Email Delivered": total}


@pytest.mark.slow
def test_two_sender_processes_share_the_outbox_without_duplicates(db: Database, sink: SmtpSink) -> None:
    """Claims are safe across processes (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one writer)."""
    total = 1200
    for part in range(4):
        queue(db, *(outbox_message(n) for n in range(part * total // 4, (part + 1) * total // 4)))
        with db.write() as conn:  # one job per transaction, so both processes find work
            conn.execute(update(jobs_table).values(created_at=datetime.now(UTC) - timedelta(minutes=1)))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SENDER, db.url, sink.url], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}
        )
        for _ in range(2)
    ]
    try:
        sink.wait_for(total, timeout=120)
        deadline = time.monotonic() + 30
        while status_counts(db) != {"sent": total} and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
    received = Counter(m.rcpt_tos[0] for m in sink.messages)
    assert len(received) == total and max(received.values()) == 1
    assert status_counts(db) == {"sent": total}
    assert Counter(a.type_name for a in activity_rows(db)) == {"Email Delivered": total}


def test_fast_layout_matches_the_email_package() -> None:
    """Plain ASCII messages skip the email package; the bytes are the same (but the boundary)."""
    base: dict[str, Any] = dict(
        to_addr="r1@x.test",
        from_addr="a@b.com",
        from_name="Bench Team",
        reply_to="r@b.com",
        subject="Hello R1",
        text="Hi R1: 10% off\n.dot line",
        html="<p>Hi R1: 10% off</p>",
        message_id="<abc@mktows>",
        date=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    variants: dict[str, list[Any]] = {
        "from_name": [None, "Bench", "A. B", "Bench, Team", "José", "a  b", " a", "=?utf-8?q?x?="],
        "reply_to": [None],
        "subject": ["", "x" * 69, "x" * 70, "Grüße", "a  b", " lead", "tab\there", "=?utf-8?b?aGk=?=", 'q "x" (y)'],
        "text": ["", "\n", "a\r\nb\rc\n", "x" * 78, "x" * 79, "ü", "line\n\n\nend\n\n", ".\n..", "From x\n"],
        "html": ["", "<p>" + "y" * 80 + "</p>"],
        "to_addr": ["odd addr@x", "a..b@x.test", '"q"@x.test'],
        "message_id": ["<a b@c>", "no-brackets@x"],
    }
    fast = 0
    for name, values in [("base", [None]), *variants.items()]:
        for value in values:
            args = dict(base) if name == "base" else {**base, name: value}
            parts = smtp.MessageParts(**args)
            got, want = smtp.build_message(parts), smtp.email_package_message(parts)
            assert re.sub(rb"={15}\d+==", b"B", got) == re.sub(rb"={15}\d+==", b"B", want), (name, value)
            fast += smtp._fast_message(parts) is not None
    assert fast >= 10  # the fast layout was taken (and checked) for the plain cases


def test_outbox_command_lists_and_shows(db: Database, tmp_path: Path) -> None:
    ids = queue(db, outbox_message(1), outbox_message(2, subject="Second subject"))
    Workers(db).run_until_idle()
    env = {**os.environ, "MKTOWS_DB": db.url}
    run = [sys.executable, "-m", "mktows", "outbox"]
    # The five commands only read: they run side by side, each in a process of its own.
    commands = {
        "listed": run,
        "limited": [*run, "list", "--status", "captured", "--limit", "1"],
        "sent": [*run, "--status", "sent"],
        "shown": [*run, "show", str(ids[0])],
        "missing": [*run, "show", "999999"],
    }
    procs = {
        name: subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, cmd in commands.items()
    }
    done = {name: (*proc.communicate(timeout=120), proc.returncode) for name, proc in procs.items()}
    for name in ("listed", "limited", "sent", "shown"):
        assert done[name][2] == 0, (name, done[name][1])
    listed, limited, sent, shown = (done[name][0] for name in ("listed", "limited", "sent", "shown"))
    header, *rows = listed.splitlines()
    assert header.split("\t") == ["ID", "STATUS", "TO", "SUBJECT", "CREATED"]
    lines = [line.split("\t") for line in rows]
    assert [line[:4] for line in lines] == [
        [str(ids[1]), "captured", "lead2@example.test", "Second subject"],
        [str(ids[0]), "captured", "lead1@example.test", "Hello Ada 1"],
    ]
    assert lines[0][4].startswith(str(datetime.now(UTC).year))
    assert limited.splitlines() == listed.splitlines()[:2]
    assert sent == header + "\n"
    assert "From: Séed Team <team@example.com>" in shown
    assert "Reply-To: replies@example.com" in shown
    assert "Subject: Hello Ada 1" in shown
    assert "Status: captured" in shown
    assert "Hi Ada 1: 10% off\n.a line that starts with a dot" in shown
    assert "<p>Hi <b>Ada</b> 1: 10% off</p>" in shown
    _, missing_err, missing_code = done["missing"]
    assert missing_code == 2 and "no outbox message 999999" in missing_err


def test_list_messages_filters_by_status(db: Database) -> None:
    queue(db, outbox_message(1), outbox_message(2))
    assert [m.status for m in list_messages(db)] == ["queued", "queued"]
    assert list_messages(db, status="sent") == []


def test_smtp_connections_setting() -> None:
    assert deliver.configure_from(Settings.from_env({}), None).connections == 4
    assert deliver.configure_from(Settings.from_env({"MKTOWS_SMTP_CONNECTIONS": "8"}), None).connections == 8
    for bad in ("0", "four"):
        with pytest.raises(ValueError, match="MKTOWS_SMTP_CONNECTIONS"):
            Settings.from_env({"MKTOWS_SMTP_CONNECTIONS": bad})
