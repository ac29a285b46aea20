"""Build the databases of tests/fixtures/previous-release/ with the code of the previous release.

    .venv/bin/python scripts/make-previous-release-fixture.py [COMMIT]

It extracts COMMIT (default: the previous release, whose last migration is 0008) with
`git archive` into a temporary directory, starts that code's `mktows serve` on a fresh
SQLite file and on a throw-away PostgreSQL database (127.0.0.1:5432), and writes through the
SOAP API what a tenant holds: leads with custom field values and changes, a static list with
members, a program with My Tokens whose campaign sent email (captured in the outbox: no SMTP
server), an import, and so jobs. Then it stores:

- `mktows-0008.db`: the SQLite file (rollback journal, 1 KiB pages, vacuumed: small);
- `mktows-0008.sql`: a plain `pg_dump` of the PostgreSQL database;
- `expected.json`: what the calls wrote, as the client saw it, for tests/test_upgrade.py.

The server and the calls are the same for both backends, so the two databases hold the same
tenant (the ids may differ; expected.json keeps them per backend).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.server import free_port  # noqa: E402
from support.soap import auth_header_xml, call, success  # noqa: E402

PREVIOUS_RELEASE = "d05b2e4"
OUT = REPO / "tests" / "fixtures" / "previous-release"
USER, KEY = "upgrade_user", "upgrade-secret-key-0008"
PROGRAM, CAMPAIGN, EMAIL = "Upgrade Program", "Welcome Request", "Welcome"
STATIC_LIST, PROGRAM_LIST = "Upgrade List", "Imported"
TOKEN = ("my.Greeting", "Hello from release 0008")

INSTANCE: dict[str, Any] = {
    "api_users": [{"user_id": USER, "encryption_key": KEY}],
    "lead_fields": [
        {"name": "Favorite_Color", "display_name": "Favorite Color", "type": "string"},
        {"name": "Shoe_Size", "display_name": "Shoe Size", "type": "integer"},
    ],
    "lists": [STATIC_LIST],
    "programs": [
        {
            "name": PROGRAM,
            "tokens": {TOKEN[0]: TOKEN[1]},
            "lists": [PROGRAM_LIST],
            "emails": [
                {
                    "name": EMAIL,
                    "from": {"name": "Upgrade", "email": "team@example.com"},
                    "subject": "{{my.Greeting}}, {{lead.First Name:default=friend}}",
                    "text": "{{my.Greeting}}, {{lead.First Name:default=friend}}",
                    "html": "<p>{{my.Greeting}}, {{lead.First Name:default=friend}}</p>",
                }
            ],
            "campaigns": [
                {
                    "name": CAMPAIGN,
                    "trigger": {"campaign_is_requested": ["web_service_api"]},
                    "flow": [{"send_email": EMAIL}],
                }
            ],
        }
    ],
}

LEADS = [
    (
        "ada@upgrade.example.com",
        {"FirstName": "Ada", "LastName": "Lovelace", "Favorite_Color": "green", "Shoe_Size": "38"},
    ),
    (
        "alan@upgrade.example.com",
        {"FirstName": "Alan", "LastName": "Turing", "Favorite_Color": "blue", "Shoe_Size": "44"},
    ),
    ("grace@upgrade.example.com", {"FirstName": "Grace", "LastName": "Hopper", "Favorite_Color": "red"}),
    ("édith@upgrade.example.com", {"FirstName": "Édith", "LastName": "Clarke", "Shoe_Size": "39"}),
]
CHANGE = ("grace@upgrade.example.com", {"Favorite_Color": "navy"})  # a Change Data Value activity
IMPORTED = [("kathleen@upgrade.example.com", "Kathleen"), ("ada@upgrade.example.com", "Ada")]


def signed(endpoint: str, body: str, op: str) -> Any:
    return success(call(endpoint, body, header_xml=auth_header_xml(USER, KEY)), op)


def record(email: str, attrs: dict[str, str]) -> str:
    cells = "".join(
        f"<attribute><attrName>{n}</attrName><attrValue>{v}</attrValue></attribute>" for n, v in attrs.items()
    )
    return f"<leadRecord><Email>{email}</Email><leadAttributeList>{cells}</leadAttributeList></leadRecord>"


def write_tenant(endpoint: str, wait_jobs: Any) -> dict[str, Any]:
    """The calls a client of the previous release made; returns what it was told."""
    body = "".join(record(e, a) for e, a in LEADS)
    result = signed(
        endpoint,
        f"<ns1:paramsSyncMultipleLeads><leadRecordList>{body}</leadRecordList>"
        "<dedupEnabled>true</dedupEnabled></ns1:paramsSyncMultipleLeads>",
        "syncMultipleLeads",
    )
    ids = {e: int(s.findtext("leadId")) for (e, _), s in zip(LEADS, result.iter("syncStatus"), strict=True)}
    time.sleep(1.1)  # the change a second later than the creation
    signed(
        endpoint,
        f"<ns1:paramsSyncLead>{record(*CHANGE)}<returnLead>false</returnLead></ns1:paramsSyncLead>",
        "syncLead",
    )
    members = [ids[e] for e, _ in LEADS[:3]]
    keys = "".join(f"<leadKey><keyType>IDNUM</keyType><keyValue>{i}</keyValue></leadKey>" for i in members)
    signed(
        endpoint,
        "<ns1:paramsListOperation><listOperation>ADDTOLIST</listOperation>"
        f"<listKey><keyType>MKTOLISTNAME</keyType><keyValue>{STATIC_LIST}</keyValue></listKey>"
        f"<listMemberList>{keys}</listMemberList><strict>true</strict></ns1:paramsListOperation>",
        "listOperation",
    )
    mailed = [ids[e] for e, _ in LEADS[:2]]
    keys = "".join(f"<leadKey><keyType>IDNUM</keyType><keyValue>{i}</keyValue></leadKey>" for i in mailed)
    signed(
        endpoint,
        f"<ns1:paramsRequestCampaign><source>MKTOWS</source><leadList>{keys}</leadList>"
        f"<programName>{PROGRAM}</programName><campaignName>{CAMPAIGN}</campaignName></ns1:paramsRequestCampaign>",
        "requestCampaign",
    )
    rows = "".join(f"<stringItem>{e},{f}</stringItem>" for e, f in IMPORTED)
    signed(
        endpoint,
        f"<ns1:paramsImportToList><programName>{PROGRAM}</programName>"
        "<importFileHeader>Email Address,First Name</importFileHeader>"
        f"<importFileRows>{rows}</importFileRows><importListMode>UPSERTLEADS</importListMode>"
        f"<listName>{PROGRAM_LIST}</listName><clearList>false</clearList></ns1:paramsImportToList>",
        "importToList",
    )
    wait_jobs()
    return {"lead_ids": ids, "static_list_members": members, "mailed": mailed}


class OldServer:
    """The previous release's `mktows serve`, run from its extracted tree."""

    def __init__(self, code: Path, db_url: str, workdir: Path) -> None:
        instance = workdir / "instance.yaml"
        instance.write_text(yaml.safe_dump(INSTANCE, sort_keys=False, allow_unicode=True), encoding="utf-8")
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": str(code), "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        env.pop("PYTHONPYCACHEPREFIX", None)
        cmd = [sys.executable, "-m", "mktows", "serve", "--port", str(self.port), "--db", db_url]
        self.proc = subprocess.Popen(
            [*cmd, "--instance", str(instance)],
            cwd=code,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if "mktows ready on" in line:
                return
        raise RuntimeError(f"the previous release's server did not start (exit {self.proc.wait()})")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/soap/mktows/2_9"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def wait_for(done: Any) -> None:
    deadline = time.monotonic() + 60
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError("the jobs of the previous release did not finish")
        time.sleep(0.2)


def build_sqlite(code: Path, work: Path) -> dict[str, Any]:
    path = work / "old.db"
    server = OldServer(code, f"sqlite:///{path}", work)
    try:

        def idle() -> bool:
            conn = sqlite3.connect(path)
            try:
                return bool(conn.execute("SELECT count(*) FROM jobs WHERE status != 'done'").fetchone()[0] == 0)
            finally:
                conn.close()

        told = write_tenant(server.endpoint, lambda: wait_for(idle))
    finally:
        server.stop()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA page_size=1024")
    conn.execute("VACUUM")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    shutil.copyfile(path, OUT / "mktows-0008.db")
    return told


def build_postgresql(code: Path, work: Path) -> dict[str, Any]:
    name = f"mktows_prev_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(host="127.0.0.1", user="postgres", dbname="test", autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        server = OldServer(code, url, work)
        try:

            def idle() -> bool:
                with psycopg.connect(url) as conn:
                    row = conn.execute("SELECT count(*) FROM jobs WHERE status != 'done'").fetchone()
                    return row is not None and row[0] == 0

            told = write_tenant(server.endpoint, lambda: wait_for(idle))
        finally:
            server.stop()
        dump = subprocess.run(
            ["pg_dump", "--no-owner", "--no-privileges", "-h", "127.0.0.1", "-U", "postgres", name],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        # the dump's header names the server's version; keep the file the same across runs otherwise
        dump = re.sub(r"^-- Dumped (from|by) .*\n", "", dump, flags=re.MULTILINE)
        (OUT / "mktows-0008.sql").write_text(dump, encoding="utf-8")
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    return told


def main() -> None:
    commit = sys.argv[1] if len(sys.argv) > 1 else PREVIOUS_RELEASE
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mktows-prev-") as tmp:
        code = Path(tmp) / "code"
        code.mkdir()
        archive = subprocess.run(["git", "archive", commit], cwd=REPO, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
        (Path(tmp) / "sqlite").mkdir()
        (Path(tmp) / "postgresql").mkdir()
        told = {
            "sqlite": build_sqlite(code, Path(tmp) / "sqlite"),
            "postgresql": build_postgresql(code, Path(tmp) / "postgresql"),
        }
    values = {e: dict(a) for e, a in LEADS}
    values[CHANGE[0]].update(CHANGE[1])
    expected = {
        "release": commit,
        "user": {"id": USER, "key": KEY},
        "program": PROGRAM,
        "campaign": CAMPAIGN,
        "token": {"name": TOKEN[0], "value": TOKEN[1]},
        "static_list": STATIC_LIST,
        "program_list": PROGRAM_LIST,
        "leads": values,
        "changed": {"email": CHANGE[0], "field": "Favorite Color", "old": "red", "new": "navy"},
        "imported": dict(IMPORTED),
        "backends": told,
    }
    (OUT / "expected.json").write_text(json.dumps(expected, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for f in sorted(OUT.iterdir()):
        print(f"{f.relative_to(REPO)}: {f.stat().st_size} bytes")


if __name__ == "__main__":
    main()
