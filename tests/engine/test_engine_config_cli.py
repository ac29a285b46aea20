"""Settings, instance files and the `mktows` CLI (run as a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from mktows.config import InstanceError, Settings, apply_instance, load_instance
from mktows.engine import Engine
from mktows.store.database import Database

REPO = Path(__file__).resolve().parents[2]

DEMO = """\
api_users:
  - {user_id: demo_user, encryption_key: demo-secret-key}
lead_fields:
  - {name: Seed_Custom_Field, display_name: Seed Custom Field, type: string}
lists: [Seed List]
"""


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mktows", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_settings_defaults_env_and_flags():
    s = Settings.from_env({})
    assert (s.db_url, s.host, s.port, s.max_window_days, s.limits_enabled) == (
        "sqlite:///./mktows-data/mktows.db", "127.0.0.1", 8080, 30, True,
    )
    env = {"MKTOWS_DB": "postgresql://x/y", "MKTOWS_PORT": "9001", "MKTOWS_LIMITS_ENABLED": "0", "MKTOWS_DAILY_QUOTA": "5"}
    s = Settings.from_env(env, port=9100, host=None)
    assert (s.db_url, s.port, s.limits_enabled, s.daily_quota) == ("postgresql://x/y", 9100, False, 5)
    with pytest.raises(ValueError, match="MKTOWS_PORT"):
        Settings.from_env({"MKTOWS_PORT": "eighty"})


def test_demo_instance_loads_and_applies_idempotently(tmp_path, engine):
    path = tmp_path / "instance.yaml"
    path.write_text(DEMO + "channels: []\nsmtp_url: smtp://localhost:25\n")
    inst = load_instance(path)
    apply_instance(engine, inst)
    apply_instance(engine, inst)
    assert [u.user_id for u in engine.api_users()] == ["demo_user"]
    assert engine.api_user("demo_user").encryption_key == "demo-secret-key"
    assert [f.name for f in engine.lead_fields() if f.custom] == ["Seed_Custom_Field"]
    assert [name for _, name, _ in engine.list_names()] == ["Seed List"]
    path.write_text(DEMO.replace("demo-secret-key", "rotated-key-2"))
    apply_instance(engine, load_instance(path))
    assert engine.api_user("demo_user").encryption_key == "rotated-key-2"


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("colours: [red]\n", "colours", "unknown top-level key"),
        ("lead_fields:\n  - {name: X, type: strng}\n", "lead_fields[0].type", "unknown type"),
        ("lead_fields:\n  - {name: FirstName, type: string}\n", "lead_fields[0].name", "standard field"),
        ("api_users:\n  - {user_id: u}\n", "api_users[0].encryption_key", "is required"),
        ("api_users: {user_id: u}\n", "api_users", "expected a list"),
        ("lists: [[nested]]\n", "lists[0]", "non-empty string"),
        ("api_users: [\n", "invalid YAML", ""),
    ],
)
def test_instance_errors_name_file_path_and_problem(tmp_path, text, where, what):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InstanceError) as err:
        load_instance(path)
    message = str(err.value)
    assert str(path) in message and where in message and what in message


def test_missing_instance_file(tmp_path):
    with pytest.raises(InstanceError, match="cannot read"):
        load_instance(tmp_path / "nope.yaml")


def test_cli_migrate_users_fields_lists(tmp_path):
    url = f"sqlite:///{tmp_path / 'sub' / 'cli.db'}"
    done = run_cli("migrate", "--db", url)
    assert done.returncode == 0, done.stderr
    db = Database(url)
    assert {"leads", "lead_values", "activities", "static_lists"} <= set(inspect(db.engine).get_table_names())
    given = run_cli("users", "add", "alice", "--key", "alice-key-123", "--db", url)
    assert given.returncode == 0 and "alice-key-123" in given.stdout
    generated = run_cli("users", "add", "bob", env={"MKTOWS_DB": url})
    assert generated.returncode == 0, generated.stderr
    key = generated.stdout.split("encryption key:")[1].strip()
    assert len(key) >= 20 and any(c.isdigit() for c in key) and any(c.isalpha() for c in key)
    engine = Engine(db)
    assert engine.api_user("bob").encryption_key == key
    assert engine.api_user("alice").encryption_key == "alice-key-123"
    assert run_cli("fields", "add", "Fav_Color", "--display-name", "Favourite colour", "--type", "string", "--db", url).returncode == 0
    bad = run_cli("fields", "add", "Shoe", "--type", "colour", "--db", url)
    assert bad.returncode != 0 and "colour" in bad.stderr
    assert run_cli("lists", "add", "VIPs", "--db", url).returncode == 0
    assert [f.display_name for f in engine.lead_fields() if f.name == "Fav_Color"] == ["Favourite colour"]
    assert [name for _, name, _ in engine.list_names()] == ["VIPs"]
    db.dispose()


def test_database_settings(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'deep' / 'dir' / 'x.db'}")
    db.migrate()
    db.migrate()  # idempotent
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    secret = db.meta("hmac_secret")
    db.migrate()
    assert secret and db.meta("hmac_secret") == secret
    db.dispose()
    assert Database("postgresql://u@h/d").url.startswith("postgresql+psycopg://")


def test_serve_prints_endpoint_new_user_and_ready_line(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mktows", "serve", "--port", str(port), "--db", f"sqlite:///{tmp_path / 's.db'}"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "mktows ready on" in line:
                break
        text = "".join(lines)
        assert f"mktows ready on http://127.0.0.1:{port}" in text, text
        assert f"http://127.0.0.1:{port}/soap/mktows/2_9" in text
        assert all(f"/soap/mktows/{v}" in text for v in ("2_2", "2_3", "2_7", "3_1"))
        assert "API user: mktows_" in text and "encryption key:" in text
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # listening when the ready line is out
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
