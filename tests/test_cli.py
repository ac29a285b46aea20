"""What an operator meets on the command line: errors as one line, no database created by a
typo, the start banner and log line, shutting down on SIGTERM, and serving behind a proxy.

Commands run as real `python -m mktows` subprocesses; servers as real `mktows serve`
processes (tests/support/server.py), most of them on an in-memory database.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
from lxml import etree
from support.server import REPO_ROOT, running_server, running_worker
from support.soap import DEFAULT_HEADERS, TEST_USER, WSDL_NS, auth_header_xml, call, envelope, success, text
from typer.testing import CliRunner

from mktows.cli import app
from mktows.engine.campaigns.outbox import STATUSES

MEMORY = "sqlite:///:memory:"
ACCEPTED = "sqlite:///PATH, sqlite:///:memory: or postgresql://"
SOAP_ADDRESS = "{http://schemas.xmlsoap.org/wsdl/soap/}address"


def run_all(commands: dict[str, list[str]], cwd: Path = REPO_ROOT, env: dict[str, str] | None = None) -> dict:
    """Run `mktows` commands side by side (each a process of its own): name -> (out, err, code)."""
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "mktows", *args],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, args in commands.items()
    }
    return {name: (*proc.communicate(timeout=120), proc.returncode) for name, proc in procs.items()}


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def sync_lead_body(email: str) -> str:
    return (
        f"<ns1:paramsSyncLead><leadRecord><Email>{email}</Email></leadRecord>"
        "<returnLead>false</returnLead></ns1:paramsSyncLead>"
    )


def get_lead_body(email: str) -> str:
    return (
        "<ns1:paramsGetLead><leadKey><keyType>EMAIL</keyType>"
        f"<keyValue>{email}</keyValue></leadKey></ns1:paramsGetLead>"
    )


# --------------------------------------------------------------------------- the database a command opens


def test_commands_that_only_read_or_write_never_create_a_database(tmp_path):
    missing = tmp_path / "typo" / "mktows.db"
    url = f"sqlite:///{missing}"
    commands = {
        "users list": ["users", "list", "--db", url],
        "outbox": ["outbox", "--db", url],
        "outbox list": ["outbox", "list", "--db", url],
        "outbox show": ["outbox", "show", "1", "--db", url],
        "users add": ["users", "add", "alice", "--db", url],
        "fields add": ["fields", "add", "Shoe_Size", "--db", url],
        "lists add": ["lists", "add", "VIPs", "--db", url],
        "lists list": ["lists", "list", "--db", url],
        "fields list": ["fields", "list", "--db", url],
        "campaigns status": ["campaigns", "status", "--db", url],
        "users remove": ["users", "remove", "alice", "--db", url],
        "worker": ["worker", "--db", url],
    }
    done = run_all(commands)
    for name, (out, err, code) in done.items():
        assert code == 2, (name, out, err)
        line = one_error_line(err)
        assert line == f"error: no database at {missing} (create it with `mktows migrate --db sqlite:///{missing}`)"
    assert not missing.parent.exists()
    # a relative path is reported where it resolved to; the in-memory database holds nothing here
    done = run_all(
        {"relative": ["users", "list", "--db", "sqlite:///x/y.db"], "memory": ["outbox", "--db", MEMORY]}, cwd=tmp_path
    )
    assert f"no database at {tmp_path / 'x' / 'y.db'}" in done["relative"][1]
    assert "only `mktows serve` can use it" in one_error_line(done["memory"][1])
    assert done["memory"][2] == 2


def test_an_empty_file_is_not_taken_for_a_database(tmp_path):
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    (out, err, code) = run_all({"list": ["users", "list", "--db", f"sqlite:///{empty}"]})["list"]
    assert code == 2 and "no mktows database at" in one_error_line(err) and str(empty) in err
    assert empty.read_bytes() == b""


def test_a_job_engine_sqlite_cannot_run_is_refused_before_anything_is_created(tmp_path):
    url = f"sqlite:///{tmp_path / 'mktows.db'}"
    done = run_all(
        {
            "migrate": ["migrate", "--db", url, "--job-engine", "procrastinate"],
            "worker": ["worker", "--db", url, "--job-engine", "procrastinate"],
            "unknown": ["migrate", "--db", url, "--job-engine", "celery"],
        }
    )
    needs = "error: the procrastinate job engine needs PostgreSQL; SQLite runs the built-in workers"
    assert one_error_line(done["migrate"][1]) == needs
    assert one_error_line(done["worker"][1]) == needs
    assert one_error_line(done["unknown"][1]).endswith(
        "'celery' is not accepted: expected one of builtin, procrastinate"
    )
    assert {code for _, _, code in done.values()} == {2}
    assert not (tmp_path / "mktows.db").exists()


def test_a_worker_process_runs_the_builtin_engine_and_stops_on_sigterm(tmp_path):
    url = f"sqlite:///{tmp_path / 'mktows.db'}"
    (out, err, code) = run_all({"migrate": ["migrate", "--db", url]})["migrate"]
    assert code == 0 and "job engine: builtin" in out, err
    with running_worker(url) as worker:
        assert worker.engine == "builtin"
        worker.proc.send_signal(signal.SIGTERM)
        assert worker.proc.wait(20) == 0
    assert "mktows worker stopped" in worker.output()


def test_a_wrong_database_url_is_one_line_and_exit_code_2(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    nowhere = f"mktows_nowhere_{uuid.uuid4().hex[:8]}"
    commands = {
        "driver": ["migrate", "--db", "mysql://root@127.0.0.1/mktows"],
        "unparsable": ["migrate", "--db", "not a url"],
        "directory": ["migrate", "--db", f"sqlite:///{blocker}/sub/x.db"],
        "postgresql": ["migrate", "--db", f"postgresql://postgres:pw@127.0.0.1:5432/{nowhere}"],
        "serve": ["serve", "--port", "0", "--db", "mysql://root@127.0.0.1/mktows"],
    }
    done = run_all(commands)
    for name, (_, err, code) in done.items():
        assert code == 2, (name, err)
        one_error_line(err)
    assert "unsupported database 'mysql'" in done["driver"][1] and ACCEPTED in done["driver"][1]
    assert "MySQLdb" not in done["driver"][1]
    assert "cannot parse database URL 'not a url'" in done["unparsable"][1] and ACCEPTED in done["unparsable"][1]
    assert f"cannot create the directory of SQLite database {blocker}/sub/x.db" in done["directory"][1]
    pg = done["postgresql"][1]
    assert f"cannot open database postgresql://postgres:***@127.0.0.1:5432/{nowhere}" in pg and "pw@" not in pg
    # the server's own reason: no such database, or (no PostgreSQL here) no connection at all
    assert "does not exist" in pg or "connection" in pg
    assert "mktows endpoint" not in done["serve"][0]


# --------------------------------------------------------------------------- serve refuses to start


def test_serve_checks_host_and_port_before_it_creates_anything(tmp_path):
    db = tmp_path / "never.db"
    url = f"sqlite:///{db}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_all(
            {
                "in use": ["serve", "--port", str(port), "--db", url],
                "range": ["serve", "--port", "99999", "--db", url],
                "host": ["serve", "--host", "no-such-host.invalid", "--port", "0", "--db", url],
                "format": ["serve", "--log-format", "xml", "--db", url],
            }
        )
        done |= run_all({"level": ["serve", "--db", url]}, env={"MKTOWS_LOG_LEVEL": "loud"})
        done |= run_all({"proxies": ["serve", "--db", url]}, env={"MKTOWS_FORWARDED_ALLOW_IPS": "10.0.0.1,proxy"})
    for name, (out, err, code) in done.items():
        assert code == 2, (name, out, err)
        one_error_line(err)
        assert "mktows ready" not in out and "mktows endpoint" not in out, (name, out)
    assert done["in use"][1] == f"error: port {port} on 127.0.0.1 is in use\n"
    assert "port 99999 is out of range: expected 1 to 65535, or 0 for any free port" in done["range"][1]
    assert "cannot listen on 'no-such-host.invalid'" in done["host"][1]
    assert "--log-format 'xml' is not accepted: expected one of auto, json, human" in done["format"][1]
    assert "MKTOWS_LOG_LEVEL: expected one of debug, info, warning, error" in done["level"][1]
    assert "MKTOWS_FORWARDED_ALLOW_IPS: 'proxy' is not an IP address" in done["proxies"][1]
    assert not db.exists()


# --------------------------------------------------------------------------- list commands, choices, version


def test_list_commands_have_a_header_and_json_and_outbox_status_is_checked(tmp_path):
    url = f"sqlite:///{tmp_path / 'lists.db'}"
    migrated = run_all({"migrate": ["migrate", "--db", url]})["migrate"]
    assert migrated[2] == 0 and migrated[0] == f"database migrated: {url}\njob engine: builtin\n", migrated
    added = run_all({"add": ["users", "add", "alice", "--key", "alice-key-123", "--db", url]})["add"]
    assert added[2] == 0, added
    done = run_all(
        {
            "users": ["users", "list", "--db", url],
            "users json": ["users", "list", "--json", "--db", url],
            "outbox": ["outbox", "--db", url],
            "outbox json": ["outbox", "list", "--json", "--db", url],
            "bogus": ["outbox", "--status", "bogus", "--db", url],
            "bogus list": ["outbox", "list", "--status", "bogus", "--db", url],
        }
    )
    assert done["users"][0].splitlines() == ["USER_ID\tENABLED\tSTRICT\tPREVIOUS_KEY_UNTIL", "alice\tTrue\tFalse\t"]
    assert json.loads(done["users json"][0]) == [
        {"user_id": "alice", "enabled": True, "strict": False, "previous_key_until": None}
    ]
    assert done["outbox"][0].splitlines() == ["ID\tSTATUS\tTO\tSUBJECT\tCREATED"]
    assert json.loads(done["outbox json"][0]) == []
    for name in ("bogus", "bogus list"):
        _, err, code = done[name]
        assert code == 2
        assert one_error_line(err) == f"error: --status 'bogus' is not accepted: expected one of {', '.join(STATUSES)}"


LISTED_INSTANCE = {
    "lead_fields": [{"name": "Shoe_Size", "display_name": "Shoe Size", "type": "integer"}],
    "programs": [
        {
            "name": "Listing Program",
            "lists": ["Guests"],
            "emails": [{"name": "Hello", "from": {"email": "a@b.example"}, "subject": "Hi", "text": "Hi"}],
            "campaigns": [
                {"name": "Welcome", "trigger": {"campaign_is_requested": ["web_service_api"]}, "flow": []},
                {"name": "Weekly", "smart_list": [{"member_of_list": "Guests"}], "flow": [{"send_email": "Hello"}]},
            ],
        }
    ],
}


def test_fields_lists_and_campaigns_are_listed_from_the_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'listed.db'}"
    instance = tmp_path / "instance.json"
    instance.write_text(json.dumps(LISTED_INSTANCE))
    loaded = run_all({"load": ["load", str(instance), "--db", url]})["load"]
    assert loaded[2] == 0, loaded
    done = run_all(
        {
            name: [*args, "--json", "--db", url]
            for name, args in {
                "fields": ["fields", "list"],
                "lists": ["lists", "list"],
                "campaigns": ["campaigns", "status"],
            }.items()
        }
        | {"lists text": ["lists", "list", "--db", url]}
    )
    fields = {f["name"]: f for f in json.loads(done["fields"][0])}
    assert fields["Shoe_Size"] == {
        "name": "Shoe_Size",
        "display_name": "Shoe Size",
        "type": "integer",
        "custom": True,
        "read_only": False,
    }
    assert fields["Email"]["custom"] is False
    [guests] = json.loads(done["lists"][0])
    assert guests["name"] == "Listing Program.Guests" and guests["members"] == 0 and guests["more_members"] is False
    assert done["lists text"][0].splitlines()[0] == "ID\tNAME\tMEMBERS\tMORE_MEMBERS\tCREATED"
    campaigns = {c["name"]: c for c in json.loads(done["campaigns"][0])}
    assert campaigns["Listing Program.Welcome"]["next_run_at"] == "when requested"
    weekly = campaigns["Listing Program.Weekly"]
    assert (weekly["kind"], weekly["state"], weekly["last_run"], weekly["next_run_at"]) == (
        "batch",
        "active",
        None,
        None,
    )


def test_version_and_help_show_defaults():
    done = run_all({"version": ["--version"]})["version"]
    assert done[2] == 0 and done[0] == f"mktows {version('mktows')}\n"
    runner = CliRunner()

    def help_text(*args: str) -> str:
        """The help as words, without the frame drawn around it."""
        return " ".join(runner.invoke(app, [*args, "--help"]).output.replace("│", " ").split())

    serve_help = help_text("serve")
    for default in ("default 127.0.0.1", "default 8080", "default info", "default auto"):
        assert default in serve_help, default
    assert "defaultsqlite:///./mktows-data/mktows.db" in serve_help.replace(" ", "")
    outbox_help = help_text("outbox", "list")
    assert "[default: 50]" in outbox_help and ", ".join(STATUSES) in outbox_help


# --------------------------------------------------------------------------- a server on an in-memory database


@pytest.fixture(scope="module")
def memory_server(tmp_path_factory, mktows_session_start):
    with running_server(
        mktows_session_start,
        MEMORY,
        tmp_path_factory.mktemp("memory"),
        env={"MKTOWS_LOG_FORMAT": "json", "MKTOWS_SHUTDOWN_GRACE_SECONDS": "7"},
    ) as srv:
        yield srv


def test_serve_on_an_in_memory_database_answers_calls(memory_server):
    email = f"memory-{uuid.uuid4().hex[:8]}@example.test"
    success(call(memory_server.endpoint("2_9"), sync_lead_body(email)), "syncLead")
    found = success(call(memory_server.endpoint("2_9"), get_lead_body(email)), "getLead")
    assert text(found, ".//leadRecord/Email") == email


def test_banner_and_start_up_log_line_name_the_configuration(memory_server):
    out = memory_server.output()
    assert "database: sqlite:///:memory:\n" in out
    assert "logs: json lines on stderr, level info\n" in out
    starting = [json.loads(line) for line in out.splitlines() if '"mktows starting"' in line]
    assert len(starting) == 1, out
    entry = starting[0]
    assert entry["database"] == MEMORY and entry["host"] == "127.0.0.1"
    assert entry["port"] == memory_server.port and entry["workers"] == 2
    assert entry["shutdown_grace_seconds"] == 7 and entry["forwarded_allow_ips"] == "127.0.0.1"
    assert entry["smtp"] is None and "smtp_url" not in entry and "db_url" not in entry


def test_wsdl_address_follows_a_trusted_proxy(memory_server):
    url = memory_server.wsdl_url("2_9")
    plain = httpx.get(url, timeout=30)
    assert _soap_address(plain) == memory_server.endpoint("2_9")
    proxied = httpx.get(url, headers={"Host": "api.example.com", "X-Forwarded-Proto": "https"}, timeout=30)
    assert _soap_address(proxied) == "https://api.example.com/soap/mktows/2_9"


def _soap_address(resp: httpx.Response) -> str:
    assert resp.status_code == 200, resp.text[:500]
    found = etree.fromstring(resp.content).find(f".//{{{WSDL_NS}}}port/{SOAP_ADDRESS}")
    assert found is not None
    return str(found.get("location"))


def test_untrusted_proxy_headers_are_ignored_and_a_file_database_is_named_by_its_path(tmp_path, mktows_start):
    db = tmp_path / "named.db"
    relative = os.path.relpath(db, tmp_path / "srv")  # the server runs in its directory
    env = {"MKTOWS_FORWARDED_ALLOW_IPS": "192.0.2.10", "MKTOWS_WORKERS": "0"}
    with running_server(mktows_start, f"sqlite:///{relative}", tmp_path / "srv", env=env) as srv:
        resp = httpx.get(
            srv.wsdl_url("2_9"), headers={"Host": "api.example.com", "X-Forwarded-Proto": "https"}, timeout=30
        )
        assert _soap_address(resp) == "http://api.example.com/soap/mktows/2_9"
        assert f"database: sqlite:///{db}\n" in srv.output()


def test_banner_masks_the_postgresql_password(tmp_path, mktows_start):
    from support.pg import temporary_database

    with temporary_database("mktows_cli") as url:
        secret_url = url.replace("@", ":not-this-secret@", 1)
        with running_server(mktows_start, secret_url, tmp_path, env={"MKTOWS_WORKERS": "0"}) as srv:
            out = srv.output()
        assert "database: " + secret_url.replace(":not-this-secret@", ":***@") + "\n" in out
        assert "not-this-secret" not in out


# --------------------------------------------------------------------------- SIGTERM


def _partial_request(port: int, body: bytes, sent: int) -> socket.socket:
    """A SOAP POST whose headers and first `sent` body bytes are on the wire: a call in flight."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        f"POST /soap/mktows/2_9 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in DEFAULT_HEADERS.items())
        + f"Content-Length: {len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode("ascii") + body[:sent])
    return sock


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_sigterm_lets_calls_in_flight_finish_refuses_new_ones_and_exits_0(tmp_path, mktows_start):
    grace = 4
    env = {"MKTOWS_SHUTDOWN_GRACE_SECONDS": str(grace), "MKTOWS_LOG_FORMAT": "json"}
    with running_server(mktows_start, MEMORY, tmp_path, env=env) as srv:
        email = f"late-{uuid.uuid4().hex[:8]}@example.test"
        body = envelope(sync_lead_body(email), auth_header_xml(TEST_USER))
        finishing = _partial_request(srv.port, body, len(body) // 2)
        stalled = _partial_request(srv.port, body, 10)  # never completes: cut off after the grace
        time.sleep(0.3)  # both requests are in the server's hands
        srv.proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        deadline = signalled + grace / 2
        while not _refused(srv.port):
            assert time.monotonic() < deadline, "still accepting connections after SIGTERM"
            time.sleep(0.05)
        finishing.sendall(body[len(body) // 2 :])
        answer = _read_all(finishing)
        finishing.close()
        code = srv.proc.wait(grace + 5)
        took = time.monotonic() - signalled
        stalled.close()
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), answer[:500]
        length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
        assert len(payload) == length and b"successSyncLead" in payload and b"CREATED" in payload
        assert code == 0, srv.output()
        assert took < grace + 3, took
        assert '"mktows stopping"' in srv.output() and '"mktows stopped"' in srv.output()
