"""Upgrading from the previous release: its databases migrate and every record reads back.

tests/fixtures/previous-release/ holds a SQLite file and a plain `pg_dump` that the previous
release's own server wrote through the SOAP API (scripts/make-previous-release-fixture.py
builds them; expected.json is what its client was told). Each test takes a copy, runs
`mktows migrate`, serves it with this release, and reads everything back through the API with
the old API user's key: leads with their custom values and their activities, the static list,
the import, the outbox, and the program's My Token in a fresh email.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from lxml import etree
from sqlalchemy import text
from support.pg import backends, temporary_database
from support.server import REPO_ROOT, Server, running_server
from support.soap import assert_fault, auth_header_xml, call, success

from mktows.store.database import MIGRATIONS_DIR, Database

FIXTURES = Path(__file__).parent / "fixtures" / "previous-release"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
USER, KEY = EXPECTED["user"]["id"], EXPECTED["user"]["key"]
PREVIOUS_HEAD = "0008"


def head_revision() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def revision(db_url: str) -> str:
    db = Database(db_url)
    try:
        with db.read() as conn:
            return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())
    finally:
        db.dispose()


def mktows(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mktows", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )


@contextlib.contextmanager
def previous_release_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A copy of the previous release's database for `backend` (its URL)."""
    if backend == "sqlite":
        path = tmp_path / "upgraded.db"
        shutil.copyfile(FIXTURES / "mktows-0008.db", path)
        yield f"sqlite:///{path}"
        return
    if shutil.which("psql") is None:
        pytest.skip("psql (PostgreSQL's client) is not installed to load the dump")
    with temporary_database("mktows_up") as url:
        loaded = subprocess.run(
            ["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(FIXTURES / "mktows-0008.sql")],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert loaded.returncode == 0, loaded.stderr[-3000:]
        yield url


def signed(srv: Server, body: str, op: str) -> etree._Element:
    return success(call(srv.endpoint("2_9"), body, header_xml=auth_header_xml(USER, KEY)), op)


def lead_by_email(srv: Server, email: str) -> etree._Element:
    body = f"<ns1:paramsGetLead><leadKey><keyType>EMAIL</keyType><keyValue>{email}</keyValue></leadKey></ns1:paramsGetLead>"
    result = signed(srv, body, "getLead").find("result")
    assert result.findtext("count") == "1", f"{email}: {etree.tostring(result)[:500]!r}"
    return result.find("leadRecordList/leadRecord")


def attributes(record: etree._Element) -> dict[str, str]:
    return {a.findtext("attrName"): a.findtext("attrValue") for a in record.iter("attribute")}


def activity_records(srv: Server, lead_id: int) -> list[tuple[str, dict[str, str]]]:
    body = (
        f"<ns1:paramsGetLeadActivity><leadKey><keyType>IDNUM</keyType><keyValue>{lead_id}</keyValue></leadKey>"
        "<batchSize>100</batchSize></ns1:paramsGetLeadActivity>"
    )
    found = signed(srv, body, "getLeadActivity").iter("activityRecord")
    return [
        (
            r.findtext("activityType") or "",
            {a.findtext("attrName"): a.findtext("attrValue") for a in r.iter("attribute")},
        )
        for r in found
    ]


def list_member_ids(srv: Server, name: str) -> set[int]:
    body = (
        '<ns1:paramsGetMultipleLeads><leadSelector xsi:type="ns1:StaticListSelector">'
        f"<staticListName>{name}</staticListName></leadSelector><batchSize>100</batchSize>"
        "</ns1:paramsGetMultipleLeads>"
    )
    return {int(r.findtext("Id")) for r in signed(srv, body, "getMultipleLeads").iter("leadRecord")}


@pytest.mark.parametrize("backend", backends())
def test_previous_release_database_migrates_and_reads_back(backend, tmp_path, mktows_start):
    told = EXPECTED["backends"][backend]
    with previous_release_database(backend, tmp_path) as db_url:
        assert revision(db_url).startswith(PREVIOUS_HEAD), "the fixture is not the previous release's schema"
        done = mktows("migrate", "--db", db_url)
        assert done.returncode == 0, done.stderr
        assert revision(db_url) == head_revision()
        again = mktows("migrate", "--db", db_url)
        assert again.returncode == 0 and revision(db_url) == head_revision(), again.stderr

        # the instance file re-declares the list the old release made: applied on top, no duplicate
        with running_server(
            mktows_start, db_url, tmp_path / "serve", instance={"lists": [EXPECTED["static_list"]]}
        ) as srv:
            check_leads_and_activities(srv, told)
            check_lists_and_import(srv, told)
            check_api_user(srv)
            check_token_and_outbox(srv, told, db_url)
            check_new_writes_continue(srv, told)


def check_leads_and_activities(srv: Server, told: dict) -> None:
    for email, values in EXPECTED["leads"].items():
        record = lead_by_email(srv, email)
        assert int(record.findtext("Id")) == told["lead_ids"][email]
        got = attributes(record)
        for name, value in values.items():
            assert got.get(name) == value, f"{email} {name}: {got.get(name)!r}, was {value!r}"
    changed = EXPECTED["changed"]
    acts = activity_records(srv, told["lead_ids"][changed["email"]])
    types = [t for t, _ in acts]
    assert types.count("New Lead") == 1 and "Add to List" in types, types
    [cdv] = [a for t, a in acts if t == "Change Data Value"]
    assert (cdv["Attribute Name"], cdv["Old Value"], cdv["New Value"]) == (
        changed["field"],
        changed["old"],
        changed["new"],
    )
    for lead_id in told["mailed"]:
        types = [t for t, _ in activity_records(srv, lead_id)]
        assert "Request Campaign" in types and "Send Email" in types, types


def check_lists_and_import(srv: Server, told: dict) -> None:
    assert list_member_ids(srv, EXPECTED["static_list"]) == set(told["static_list_members"])
    body = (
        f"<ns1:paramsGetImportToListStatus><programName>{EXPECTED['program']}</programName>"
        f"<listName>{EXPECTED['program_list']}</listName></ns1:paramsGetImportToListStatus>"
    )
    status = signed(srv, body, "getImportToListStatus").find("result")
    imported = EXPECTED["imported"]
    assert (status.findtext("status"), status.findtext("rowsImported")) == ("COMPLETE", str(len(imported)))
    members = list_member_ids(srv, EXPECTED["program_list"])
    for email, first in imported.items():
        record = lead_by_email(srv, email)
        assert int(record.findtext("Id")) in members and attributes(record)["FirstName"] == first


def check_api_user(srv: Server) -> None:
    """The old user's key still signs calls; a wrong key is still refused."""
    body = "<ns1:paramsGetLead><leadKey><keyType>IDNUM</keyType><keyValue>1</keyValue></leadKey></ns1:paramsGetLead>"
    signed(srv, body, "getLead")
    assert_fault(call(srv.endpoint("2_9"), body, header_xml=auth_header_xml(USER, KEY + "x")), 20014)


def outbox(db_url: str, greeting: str) -> list[dict]:
    """The outbox messages whose subject holds `greeting`, newest first (`mktows outbox list --json`)."""
    listed = mktows("outbox", "list", "--json", "--db", db_url)
    assert listed.returncode == 0, listed.stderr
    return [m for m in json.loads(listed.stdout) if greeting in m["subject"]]


def check_token_and_outbox(srv: Server, told: dict, db_url: str) -> None:
    """The old messages are in the outbox; a new run of the old campaign renders the old My Token."""
    greeting = EXPECTED["token"]["value"]
    old = outbox(db_url, greeting)
    assert sorted(m["to"] for m in old) == sorted(e for e, i in told["lead_ids"].items() if i in told["mailed"])
    lead_id = told["lead_ids"]["alan@upgrade.example.com"]
    body = (
        f"<ns1:paramsRequestCampaign><source>MKTOWS</source><leadList><leadKey><keyType>IDNUM</keyType>"
        f"<keyValue>{lead_id}</keyValue></leadKey></leadList><programName>{EXPECTED['program']}</programName>"
        f"<campaignName>{EXPECTED['campaign']}</campaignName></ns1:paramsRequestCampaign>"
    )
    assert signed(srv, body, "requestCampaign").findtext("result/success") == "true"
    deadline = time.monotonic() + 30
    while len(messages := outbox(db_url, greeting)) == len(old) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert len(messages) == len(old) + 1, messages
    newest = messages[0]
    assert (newest["to"], newest["subject"]) == ("alan@upgrade.example.com", f"{greeting}, Alan"), newest
    shown = mktows("outbox", "show", str(newest["id"]), "--db", db_url)
    assert f"<p>{greeting}, Alan</p>" in shown.stdout, shown.stdout


def check_new_writes_continue(srv: Server, told: dict) -> None:
    """A lead created after the upgrade gets a new id (the id sequences came through)."""
    body = (
        "<ns1:paramsSyncLead><leadRecord><Email>after-upgrade@upgrade.example.com</Email></leadRecord>"
        "<returnLead>false</returnLead></ns1:paramsSyncLead>"
    )
    new_id = int(signed(srv, body, "syncLead").findtext("result/leadId"))
    assert new_id > max(told["lead_ids"].values())
