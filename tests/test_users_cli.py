"""`mktows users` against a running server (its own `mktows serve` process and database): adding never replaces a live key, a rotation keeps the
old key working for its overlap, and with a master key the database file holds no key while
calls still authenticate; a server that cannot read its keys says so in one line at start."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet
from support.server import running_server
from support.soap import TEST_KEY, TEST_USER, assert_fault, auth_header_xml, call, success

REPO = Path(__file__).resolve().parents[1]
LIST_MOBJECTS = "<ns1:paramsListMObjects/>"


def users_cli(db_url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mktows", "users", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MKTOWS_DB": db_url, **(env or {})},
    )


def signed_call(app, user: str, key: str):
    return call(app.endpoint("2_9"), LIST_MOBJECTS, header_xml=auth_header_xml(user, key))


def works(app, user: str, key: str) -> None:
    success(signed_call(app, user, key), "listMObjects")


def refused(app, user: str, key: str) -> None:
    assert_fault(signed_call(app, user, key), 20014)


def test_add_refuses_an_existing_user_and_rotation_overlaps_the_old_key(tmp_path, mktows_start):
    with running_server(mktows_start, f"sqlite:///{tmp_path / 'mktows.db'}", tmp_path) as app:
        assert users_cli(app.db_url, "add", "rot_user", "--key", "key-A-1111").returncode == 0
        again = users_cli(app.db_url, "add", "rot_user", "--key", "key-X-9999")
        assert again.returncode == 2 and again.stdout == ""
        assert again.stderr == "error: API user rot_user exists; use --rotate to change its key\n"
        works(app, "rot_user", "key-A-1111")
        refused(app, "rot_user", "key-X-9999")

        rotated = users_cli(app.db_url, "add", "rot_user", "--rotate", "--key", "key-B-2222", "--overlap", "1h")
        assert rotated.returncode == 0, rotated.stderr
        lines = rotated.stdout.splitlines()
        assert lines[:2] == ["API user: rot_user", "encryption key: key-B-2222"]
        shown_until = lines[2].removeprefix("previous key: works until ")
        until = datetime.fromisoformat(shown_until)
        assert abs(until - (datetime.now(UTC) + timedelta(hours=1))) < timedelta(minutes=1)
        works(app, "rot_user", "key-B-2222")
        works(app, "rot_user", "key-A-1111")  # the overlap: both keys work
        listed = users_cli(app.db_url, "list", "--json")
        assert listed.returncode == 0, listed.stderr
        row = next(u for u in json.loads(listed.stdout) if u["user_id"] == "rot_user")
        assert row == {"user_id": "rot_user", "enabled": True, "strict": False, "previous_key_until": shown_until}
        assert "key-" not in listed.stdout  # never a key

        ended = users_cli(app.db_url, "add", "rot_user", "--rotate", "--key", "key-C-3333", "--overlap", "0")
        assert ended.returncode == 0, ended.stderr
        assert ended.stdout.splitlines()[2] == "previous key: ended"
        works(app, "rot_user", "key-C-3333")
        refused(app, "rot_user", "key-A-1111")
        refused(app, "rot_user", "key-B-2222")


def _answers(app, user: str, key: str, code: int | None, timeout: float = 5.0) -> None:
    """The server answers `user`'s calls with `code` (None: success) within `timeout`: it
    reads users again at most a second after another process changed them."""
    deadline = time.monotonic() + timeout
    while True:
        resp = signed_call(app, user, key)
        fault = resp.status_code != 200
        if (code is None and not fault) or (code is not None and fault):
            break
        assert time.monotonic() < deadline, resp.text[:300]
        time.sleep(0.1)
    if code is None:
        success(resp, "listMObjects")
    else:
        assert_fault(resp, code)


def test_disable_enable_and_remove_reach_a_running_server(tmp_path, mktows_start):
    with running_server(mktows_start, f"sqlite:///{tmp_path / 'mktows.db'}", tmp_path) as app:
        assert users_cli(app.db_url, "add", "ops_user", "--key", "ops-key-1111").returncode == 0
        works(app, "ops_user", "ops-key-1111")
        disabled = users_cli(app.db_url, "disable", "ops_user")
        assert (disabled.returncode, disabled.stdout) == (0, "API user ops_user: disabled\n")
        _answers(app, "ops_user", "ops-key-1111", 20013)
        assert users_cli(app.db_url, "enable", "ops_user").stdout == "API user ops_user: enabled\n"
        _answers(app, "ops_user", "ops-key-1111", None)
        assert users_cli(app.db_url, "remove", "ops_user").stdout == "API user ops_user: removed\n"
        _answers(app, "ops_user", "ops-key-1111", 20014)
        again = users_cli(app.db_url, "remove", "ops_user")
        assert (again.returncode, again.stdout, again.stderr) == (2, "", "error: no API user ops_user\n")
        listed = json.loads(users_cli(app.db_url, "list", "--json").stdout)
        assert "ops_user" not in [u["user_id"] for u in listed]


def test_master_key_keeps_keys_out_of_the_database_file(tmp_path, mktows_start):
    master = Fernet.generate_key().decode()
    with running_server(
        mktows_start, f"sqlite:///{tmp_path / 'mktows.db'}", tmp_path, env={"MKTOWS_MASTER_KEY": master}
    ) as app:
        added = users_cli(
            app.db_url, "add", "sealed_user", "--key", "sealed-key-7777", env={"MKTOWS_MASTER_KEY": master}
        )
        assert added.returncode == 0, added.stderr
        works(app, TEST_USER, TEST_KEY)
        works(app, "sealed_user", "sealed-key-7777")
        database = tmp_path / "mktows.db"
        with sqlite3.connect(database) as conn:
            stored = dict(conn.execute("SELECT user_id, encryption_key FROM api_users"))
        assert all(value.startswith("fernet:") for value in stored.values()), stored
        on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("mktows.db*"))  # with the journal files
        assert TEST_KEY.encode() not in on_disk and b"sealed-key-7777" not in on_disk

        for env, message in [
            ({"MKTOWS_MASTER_KEY": ""}, "error: API user keys are encrypted; set MKTOWS_MASTER_KEY"),
            (
                {"MKTOWS_MASTER_KEY": Fernet.generate_key().decode()},
                "error: MKTOWS_MASTER_KEY does not decrypt the key of API user",
            ),
        ]:
            started = subprocess.run(
                [sys.executable, "-m", "mktows", "serve", "--port", "1", "--db", app.db_url],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=60,
                env={**os.environ, **env},
            )
            assert started.returncode == 2
            assert started.stderr.startswith(message) and len(started.stderr.splitlines()) == 1, started.stderr
