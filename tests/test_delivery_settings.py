"""The SMTP setting belongs to the instance: stored once in the database, followed by every process.

A process started with an SMTP URL stores it; a process started without one delivers with the
stored one (it does not fall back to capture); a later change made by another process is
followed within seconds. A URL's password is encrypted at rest when a master key is set.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from support.pg import backends, database_url
from support.server import REPO_ROOT, running_server
from support.smtp import SmtpSink, outbox_message, smtp_sink
from support.soap import TEST_KEY, TEST_USER

from mktows.config import Settings
from mktows.delivery import deliver
from mktows.engine.admin.key_cipher import MasterKeyError
from mktows.engine.campaigns.outbox import queue_emails
from mktows.store.database import Database
from mktows.store.tables import outbox, server_meta

INSTANCE = {"api_users": [{"user_id": TEST_USER, "encryption_key": TEST_KEY}]}
NO_SMTP = {"MKTOWS_SMTP_URL": "", "MKTOWS_MASTER_KEY": ""}


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as s:
        yield s


def statuses(database: Database) -> dict[str, str]:
    with database.read() as conn:
        return {r.to_addr: r.status for r in conn.execute(select(outbox.c.to_addr, outbox.c.status))}


def stored_value(database: Database) -> str | None:
    with database.read() as conn:
        return conn.execute(select(server_meta.c.value).where(server_meta.c.key == "smtp_url")).scalar()


def wait_until(check: object, timeout: float) -> float:
    """Seconds until `check()` holds; fails after `timeout`."""
    start = time.monotonic()
    while not check():  # type: ignore[operator]
        assert time.monotonic() - start < timeout, "the condition did not come true in time"
        time.sleep(0.1)
    return time.monotonic() - start


@pytest.mark.parametrize("backend", backends())
def test_every_process_delivers_with_the_stored_setting_and_follows_a_change(
    backend: str, tmp_path: Path, sink: SmtpSink, mktows_start
) -> None:
    with ExitStack() as stack:
        db_url = database_url(backend, tmp_path, stack, "delivery_settings")
        # process A is given the sink and runs no jobs; process B is given nothing and runs them
        a = stack.enter_context(
            running_server(
                mktows_start,
                db_url,
                tmp_path / "a",
                instance=INSTANCE,
                env={**NO_SMTP, "MKTOWS_SMTP_URL": sink.url, "MKTOWS_WORKERS": "0"},
            )
        )
        b = stack.enter_context(running_server(mktows_start, db_url, tmp_path / "b", instance=INSTANCE, env=NO_SMTP))
        port = sink.url.rpartition(":")[2]
        assert f"email: SMTP 127.0.0.1:{port}" in a.output()
        assert f"email: SMTP 127.0.0.1:{port}" in b.output()  # the instance's, not capture
        database = stack.enter_context(_database(db_url))
        with database.write() as conn:
            queue_emails(conn, [outbox_message(n) for n in range(10)])
        sink.wait_for(10, timeout=15)
        wait_until(lambda: set(statuses(database).values()) == {"sent"}, 10)

        # another process (a `load` given `none`) switches the instance back to capture
        done = subprocess.run(
            [sys.executable, "-m", "mktows", "load", str(tmp_path / "a" / "instance.yaml"), "--db", db_url],
            cwd=REPO_ROOT,
            env={**os.environ, **NO_SMTP, "MKTOWS_SMTP_URL": "none"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert stored_value(database) == "none"
        # a message every half second: within the cache's few seconds, B captures them
        start, n = time.monotonic(), 10
        while "captured" not in statuses(database).values():
            assert time.monotonic() - start < deliver.CACHE_SECONDS + 5, statuses(database)
            with database.write() as conn:
                queue_emails(conn, [outbox_message(n)])
            n += 1
            time.sleep(0.5)
        with database.write() as conn:
            queue_emails(conn, [outbox_message(k) for k in range(100, 105)])
        wait_until(
            lambda: all(statuses(database).get(f"lead{k}@example.test") == "captured" for k in range(100, 105)), 10
        )
        sent = [to for to, status in statuses(database).items() if status == "sent"]
        assert len(sink.messages) == len(sent) >= 10
        assert [s for s in statuses(database).values() if s not in ("sent", "captured")] == []
        assert b.alive()


@contextmanager
def _database(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'mktows.db'}")
    database.migrate()
    yield database
    database.dispose()
    deliver.configure(None)


def test_a_process_without_a_setting_keeps_the_stored_one(sqlite_db: Database, sink: SmtpSink) -> None:
    given = deliver.configure_from(Settings.from_env({"MKTOWS_SMTP_URL": sink.url}), None, sqlite_db)
    assert given.smtp is not None and stored_value(sqlite_db) == sink.url
    kept = deliver.configure_from(Settings.from_env({}), None, sqlite_db)
    assert kept.smtp == given.smtp and stored_value(sqlite_db) == sink.url
    assert deliver.configure_from(Settings.from_env({"MKTOWS_SMTP_URL": "NONE"}), None, sqlite_db).smtp is None
    assert stored_value(sqlite_db) == "none"


def test_the_instance_file_setting_is_stored_unless_the_environment_names_another(sqlite_db: Database) -> None:
    class Instance:
        smtp_url = "smtp://mail.example.test:2525"

    deliver.configure_from(Settings.from_env({}), Instance(), sqlite_db)
    assert stored_value(sqlite_db) == Instance.smtp_url
    deliver.configure_from(Settings.from_env({"MKTOWS_SMTP_URL": "smtp://other.example.test"}), Instance(), sqlite_db)
    assert stored_value(sqlite_db) == "smtp://other.example.test"


def test_a_bad_url_is_refused_and_nothing_is_stored(sqlite_db: Database) -> None:
    with pytest.raises(ValueError, match="smtp:// or smtps://"):
        deliver.configure_from(Settings.from_env({"MKTOWS_SMTP_URL": "http://mail.example.test"}), None, sqlite_db)
    assert stored_value(sqlite_db) is None


def test_a_password_is_encrypted_under_the_master_key_and_never_logged(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    key = Fernet.generate_key().decode()
    url = "smtp://mailer:s3cret-pw@mail.example.test:587?starttls=true"
    with caplog.at_level(logging.INFO, logger="mktows.delivery"):
        cfg = deliver.configure_from(
            Settings.from_env({"MKTOWS_SMTP_URL": url, "MKTOWS_MASTER_KEY": key}), None, sqlite_db
        )
    assert cfg.smtp is not None and cfg.smtp.password == "s3cret-pw"
    raw = stored_value(sqlite_db)
    assert raw is not None and raw.startswith("fernet:") and "s3cret" not in raw
    assert "mailer:***@mail.example.test:587" in caplog.text and "s3cret" not in caplog.text
    # another process with the master key reads it; one without gets a clear error
    other = deliver.configure_from(Settings.from_env({"MKTOWS_MASTER_KEY": key}), None, sqlite_db)
    assert other.smtp == cfg.smtp
    with pytest.raises(MasterKeyError, match="stored SMTP URL is encrypted"):
        deliver.configure_from(Settings.from_env({}), None, sqlite_db)


def test_a_new_master_key_re_encrypts_the_stored_url(sqlite_db: Database) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    url = "smtps://mailer:s3cret-pw@mail.example.test"
    deliver.configure_from(Settings.from_env({"MKTOWS_SMTP_URL": url, "MKTOWS_MASTER_KEY": old}), None, sqlite_db)
    with pytest.raises(MasterKeyError, match="does not decrypt the stored SMTP URL"):
        deliver.configure_from(Settings.from_env({"MKTOWS_MASTER_KEY": new}), None, sqlite_db)
    deliver.configure_from(
        Settings.from_env({"MKTOWS_SMTP_URL": url, "MKTOWS_MASTER_KEY": f"{new},{old}"}), None, sqlite_db
    )
    cfg = deliver.configure_from(Settings.from_env({"MKTOWS_MASTER_KEY": new}), None, sqlite_db)
    assert cfg.smtp is not None and cfg.smtp.password == "s3cret-pw"


def test_load_given_a_url_replaces_a_stored_one_it_cannot_read(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'mktows.db'}"
    key = Fernet.generate_key().decode()
    database = Database(db_url)
    database.migrate()
    deliver.configure_from(
        Settings.from_env({"MKTOWS_SMTP_URL": "smtp://u:pw@127.0.0.1:2525", "MKTOWS_MASTER_KEY": key}), None, database
    )
    database.dispose()
    deliver.configure(None)
    (tmp_path / "i.yaml").write_text(f"api_users: [{{user_id: {TEST_USER}, encryption_key: {TEST_KEY}}}]\n")
    done = subprocess.run(
        [sys.executable, "-m", "mktows", "load", str(tmp_path / "i.yaml"), "--db", db_url],
        cwd=REPO_ROOT,
        env={**os.environ, **NO_SMTP, "MKTOWS_SMTP_URL": "smtp://127.0.0.1:2526"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr  # no master key here: the stored URL is unreadable
    database = Database(db_url)
    assert stored_value(database) == "smtp://127.0.0.1:2526"
    database.dispose()


def test_load_refuses_a_bad_url_and_applies_nothing(tmp_path: Path) -> None:
    (tmp_path / "i.yaml").write_text(f"api_users: [{{user_id: {TEST_USER}, encryption_key: {TEST_KEY}}}]\n")
    done = subprocess.run(
        [sys.executable, "-m", "mktows", "load", str(tmp_path / "i.yaml"), "--db", f"sqlite:///{tmp_path / 'm.db'}"],
        cwd=REPO_ROOT,
        env={**os.environ, **NO_SMTP, "MKTOWS_SMTP_URL": "smtp://mail.example.test?tls=yes"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: SMTP: SMTP URL has unknown options tls: 'smtp://mail.example.test?tls=yes'"
    ]
    assert not (tmp_path / "m.db").exists()
