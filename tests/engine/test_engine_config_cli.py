"""Settings, instance files and the `mktows` CLI (run as a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect

from mktows.config import Settings
from mktows.engine import Engine
from mktows.instance import InstanceError, apply_instance, load_instance
from mktows.store.database import Database, DatabaseError, DatabaseMissing, describe_url, head_revision
from mktows.store.tables import api_users, server_meta
from mktows.testing.process import running_mktows

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
        "sqlite:///./mktows-data/mktows.db",
        "127.0.0.1",
        8080,
        30,
        True,
    )
    env = {
        "MKTOWS_DB": "postgresql://x/y",
        "MKTOWS_PORT": "9001",
        "MKTOWS_LIMITS_ENABLED": "0",
        "MKTOWS_DAILY_QUOTA": "5",
    }
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


P = "programs:\n  - name: P\n"
C = P + "    campaigns:\n      - name: C\n        trigger: {campaign_is_requested: [web_service_api]}\n"
E = P + "    emails:\n      - "
MARKETING_ERRORS = [
    ("workspaces: [A, a]\n", "workspaces[1]", "duplicate workspace 'a'"),
    ("channels:\n  - {name: W}\n", "channels[0].statuses", "is required"),
    ("channels:\n  - {name: W, statuses: []}\n", "channels[0].statuses", "at least one"),
    ("channels:\n  - {name: W, type: radio, statuses: [A]}\n", "channels[0].type", "unknown value 'radio'"),
    ("channels:\n  - {name: W, statuses: [A, {name: B, step: -1}]}\n", "channels[0].statuses[1].step", "whole number"),
    (
        "channels:\n  - {name: W, statuses: [{name: A, success: maybe}]}\n",
        "channels[0].statuses[0].success",
        "true or false",
    ),
    ("tag_types:\n  - {name: Channel, values: [X]}\n", "tag_types[0].name", "reserved"),
    ("tag_types:\n  - {name: R, values: [N, n]}\n", "tag_types[0].values[1]", "duplicate tag value"),
    ("programs:\n  - {name: P}\n  - {name: p}\n", "programs[1].name", "duplicate program 'p'"),
    (P + "    type: Webinar Program\n", "programs[0].type", "unknown value 'Webinar Program'"),
    (P + "    colour: red\n", "programs[0].colour", "unknown key"),
    (P + "    tags: [Region]\n", "programs[0].tags", "expected a mapping"),
    (P + "    costs: [{month: 2026-13, amount: 1}]\n", "programs[0].costs[0].month", "expected YYYY-MM"),
    (P + "    costs: [{month: January, amount: 1}]\n", "programs[0].costs[0].month", "expected YYYY-MM"),
    (P + "    costs: [{month: '2026-01', amount: lots}]\n", "programs[0].costs[0].amount", "expected a number"),
    (
        P + "    costs: [{month: '2026-01', amount: 1}, {month: '2026-01', amount: 2}]\n",
        "programs[0].costs[1].month",
        "duplicate cost month",
    ),
    (P + "    tokens: {my.Offer: a, '{{my.offer}}': b}\n", "programs[0].tokens.{{my.offer}}", "duplicate token"),
    (P + "    tokens: [Offer]\n", "programs[0].tokens", "expected a mapping"),
    (P + "    lists: [L, l]\n", "programs[0].lists[1]", "duplicate list"),
    (E + "{name: W, subject: S, text: T}\n", "programs[0].emails[0].from", "is required"),
    (E + "{name: W, from: nobody, subject: S, text: T}\n", "programs[0].emails[0].from", "not an email address"),
    (
        E + "{name: W, from: {name: N, email: x@}, subject: S, text: T}\n",
        "programs[0].emails[0].from.email",
        "not an email address",
    ),
    (
        E + "{name: W, from: a@b.c, reply_to: nope, subject: S, text: T}\n",
        "programs[0].emails[0].reply_to",
        "not an email address",
    ),
    (E + "{name: W, from: a@b.c, subject: S}\n", "programs[0].emails[0]", "html or a text body"),
    (E + "{name: W, from: a@b.c, subject: S, html: [x]}\n", "programs[0].emails[0].html", "expected text"),
    (P + "    campaigns:\n      - {name: C}\n", "programs[0].campaigns[0]", "needs a trigger"),
    (
        P + "    campaigns:\n      - {name: C, trigger: {on_visit: x}}\n",
        "programs[0].campaigns[0].trigger.on_visit",
        "unknown key",
    ),
    (
        P + "    campaigns:\n      - {name: C, trigger: {campaign_is_requested: [flow_action]}}\n",
        "programs[0].campaigns[0].trigger.campaign_is_requested[0]",
        "expected one of: web_service_api, sales_insight",
    ),
    (
        P + "    campaigns:\n      - {name: C, smart_list: [{member_of: L}]}\n",
        "programs[0].campaigns[0].smart_list[0]",
        "expected {member_of_list",
    ),
    (
        P + "    campaigns:\n      - {name: C, smart_list: [{field: F, op: like, value: x}]}\n",
        "programs[0].campaigns[0].smart_list[0].op",
        "unknown value 'like'",
    ),
    (
        P + "    campaigns:\n      - {name: C, smart_list: [{field: F, op: is_empty, value: x}]}\n",
        "programs[0].campaigns[0].smart_list[0].value",
        "takes no value",
    ),
    (
        P + "    campaigns:\n      - {name: C, smart_list: [{field: F, op: contains}]}\n",
        "programs[0].campaigns[0].smart_list[0].value",
        "is required for contains",
    ),
    (
        P + "    campaigns:\n      - {name: C, smart_list: [{field: F, op: contains, value: [a, b]}]}\n",
        "programs[0].campaigns[0].smart_list[0].value",
        "is / is_not only",
    ),
    (C + "        filter_logic: most\n", "programs[0].campaigns[0].filter_logic", "unknown value 'most'"),
    (C + "        qualification: twice\n", "programs[0].campaigns[0].qualification", "unknown value 'twice'"),
    (C + "        active: sometimes\n", "programs[0].campaigns[0].active", "true or false"),
    (
        C + "        flow: [{launch_rocket: now}]\n",
        "programs[0].campaigns[0].flow[0].launch_rocket",
        "unknown flow step",
    ),
    (C + "        flow: [send_email]\n", "programs[0].campaigns[0].flow[0]", "expected one step"),
    (C + "        flow: [{send_email: W, wait: {days: 1}}]\n", "programs[0].campaigns[0].flow[0]", "expected one step"),
    (
        C + "        flow: [{change_data_value: {value: x}}]\n",
        "programs[0].campaigns[0].flow[0].change_data_value.field",
        "is required",
    ),
    (
        C + "        flow: [{change_score: {change: lots}}]\n",
        "programs[0].campaigns[0].flow[0].change_score.change",
        "expected +N, -N or =N",
    ),
    (
        C + "        flow: [{interesting_moment: {type: Phone, description: d}}]\n",
        "programs[0].campaigns[0].flow[0].interesting_moment.type",
        "unknown value 'Phone'",
    ),
    (C + "        flow: [{wait: {weeks: 1}}]\n", "programs[0].campaigns[0].flow[0].wait.weeks", "unknown key"),
    (C + "        flow: [{wait: {minutes: 0}}]\n", "programs[0].campaigns[0].flow[0].wait", "at least one second"),
    (C + "        flow: [{wait: {minutes: 1.5}}]\n", "programs[0].campaigns[0].flow[0].wait.minutes", "whole number"),
    (
        C + "        flow: [{change_program_status: {program: P}}]\n",
        "programs[0].campaigns[0].flow[0].change_program_status.status",
        "is required",
    ),
    (
        C + "      - {name: c, trigger: {campaign_is_requested: sales_insight}}\n",
        "programs[0].campaigns[1].name",
        "duplicate campaign",
    ),
    ("smtp_url: http://mail.example.com\n", "smtp_url", "must start with smtp:// or smtps://"),
    ("smtp_url: smtp://\n", "smtp_url", "has no host"),
    ("smtp_url: smtp://host:99999\n", "smtp_url", "has a bad port"),
    ("smtp_url: smtp://host?tls=yes\n", "smtp_url", "unknown options tls"),
    ("smtp_url: smtps://host?starttls=true\n", "smtp_url", "implicit TLS"),
]


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
        *MARKETING_ERRORS,
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


@pytest.mark.slow
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
    assert (
        run_cli(
            "fields", "add", "Fav_Color", "--display-name", "Favourite colour", "--type", "string", "--db", url
        ).returncode
        == 0
    )
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


def test_database_urls_are_checked_and_described(tmp_path):
    for bad in ("mysql://root@localhost/db", "oracle://x", "not a url", "postgresql+asyncpg://u@h/d"):
        with pytest.raises(DatabaseError, match="sqlite:///PATH, sqlite:///:memory: or postgresql://"):
            Database(bad)
    assert describe_url("postgresql://u:secret@h:5433/d") == "postgresql://u:***@h:5433/d"
    assert describe_url("sqlite:///:memory:") == describe_url("sqlite://") == "sqlite:///:memory:"
    assert describe_url(f"sqlite:///{tmp_path}/a/../b.db") == f"sqlite:///{tmp_path / 'b.db'}"


def test_database_that_must_exist_is_never_created(tmp_path):
    missing = tmp_path / "nowhere" / "x.db"
    with pytest.raises(DatabaseMissing, match=f"no database at {missing}"):
        Database(f"sqlite:///{missing}", create=False)
    with pytest.raises(DatabaseMissing, match="only `mktows serve` can use it"):
        Database("sqlite:///:memory:", create=False)
    assert not missing.parent.exists()
    (tmp_path / "junk.db").write_text("hello, not a database")
    with pytest.raises(DatabaseError, match="is not a SQLite database"):
        Database(f"sqlite:///{tmp_path / 'junk.db'}", create=False)
    made = Database(f"sqlite:///{missing}")
    assert made.revision() is None  # created, but no schema yet
    made.migrate()
    assert made.revision() == head_revision()
    made.dispose()
    existing = Database(f"sqlite:///{missing}", create=False)
    assert existing.revision() == head_revision()
    existing.dispose()


def test_in_memory_database_is_fresh_quick_and_one_database_for_every_thread():
    timings = []
    for n in range(3):
        started = time.perf_counter()
        db = Database("sqlite:///:memory:")
        db.migrate()
        engine = Engine(db)
        timings.append(time.perf_counter() - started)
        assert engine.api_users() == []  # nothing left from the instance before
        engine.put_api_user(f"double_{n}", "double-key-123")
        assert [u.user_id for u in Engine(db).api_users()] == [f"double_{n}"]
        db.dispose()
    print(f"fresh in-memory database + migrate + Engine: best {min(timings) * 1000:.0f} ms of 3")
    assert min(timings) < 1.0

    db = Database("sqlite:///:memory:")
    db.migrate()
    engine = Engine(db)
    seen: list[int] = []

    def writer(n: int) -> None:
        for i in range(10):
            engine.put_api_user(f"t{n}_{i}", "thread-key-123")

    def reader() -> None:
        for _ in range(20):
            with db.read() as conn:
                seen.append(len(conn.execute(api_users.select()).all()))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(Engine(db).api_users()) == 40 and seen == sorted(seen) and len(seen) == 20

    # a failed write leaves nothing; a read inside a write of the same thread sees that write
    with pytest.raises(RuntimeError), db.write() as conn:
        conn.execute(server_meta.insert().values(key="half", value="done"))
        raise RuntimeError("abandon")
    assert db.meta("half") is None
    with db.write() as conn:
        conn.execute(server_meta.insert().values(key="whole", value="done"))
        assert db.meta("whole") == "done"
    assert db.meta("whole") == "done"
    db.dispose()


def test_serve_prints_endpoint_new_user_and_ready_line(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["serve", "--port", str(port), "--db", f"sqlite:///{tmp_path / 's.db'}"]
    with running_mktows(args, cwd=REPO) as serve:
        text = serve.output()
        assert serve.ready_match == f"http://127.0.0.1:{port}", text
        assert f"http://127.0.0.1:{port}/soap/mktows/2_9" in text
        assert all(f"/soap/mktows/{v}" in text for v in ("2_2", "2_3", "2_7", "3_1"))
        assert "API user: mktows_" in text and "encryption key:" in text
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # listening when the ready line is out


@pytest.mark.slow
def test_cli_load_applies_idempotently_and_refuses_broken_files(tmp_path):
    url = f"sqlite:///{tmp_path / 'load.db'}"
    good = REPO / "tests" / "fixtures" / "tooling-instance.yaml"
    for _ in range(2):
        done = run_cli("load", str(good), "--db", url)
        assert done.returncode == 0, done.stderr
        assert f"loaded {good}: 1 api users" in done.stdout and "2 campaigns" in done.stdout
    db = Database(url)
    engine = Engine(db)
    with db.read() as conn:
        from mktows.engine.campaigns import programs

        assert [c.full_name for c in programs.campaigns_for_source(conn, "MKTOWS", None, False)] == [
            "Seed Program.Seed Campaign"
        ]
    # shape errors are found before the database is touched; reference errors roll back
    shape = tmp_path / "shape.yaml"
    shape.write_text("programs:\n  - {name: X, costs: [{month: soon, amount: 1}]}\n")
    refused = run_cli("load", str(shape), "--db", url)
    assert refused.returncode == 2 and f"{shape}: programs[0].costs[0].month: expected YYYY-MM" in refused.stderr
    dangling = tmp_path / "dangling.yaml"
    dangling.write_text("api_users: [{user_id: late, encryption_key: k}]\nprograms:\n  - {name: New, channel: Radio}\n")
    refused = run_cli("load", str(dangling), "--db", url)
    assert refused.returncode == 2 and f"{dangling}: programs[0].channel: unknown channel 'Radio'" in refused.stderr
    assert [u.user_id for u in engine.api_users()] == ["demo_user"]
    missing = run_cli("load", str(tmp_path / "nope.yaml"), "--db", url)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    db.dispose()
