"""The console's lists and imports pages over HTTP, in process: the lists with their member
counts, a list's members page by page, an import made through the engine (its status, counters,
failed rows, list and campaign), the lead page's links to its lists, unknown ids and signing in.
The in-process server runs jobs, so an import really runs."""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from support.console import ADMIN, PASSWORD, signed_in
from support.inprocess import InProcessServer, in_process_server
from support.mailchecks import wait_for
from support.server import INSTANCE

from mktows.engine.lists.console_reads import MEMBERS_COUNTED
from mktows.engine.models import LeadInput, LeadKey
from mktows.store.tables import leads, list_members

pytestmark = pytest.mark.in_process

PROGRAM = "Lists Program"
PROGRAM_DEFINITION: dict[str, Any] = {
    "name": PROGRAM,
    "lists": ["Attendees", "Paged", "Imported", "Crowded", "Untouched", "Repeated", "Linked"],
    "campaigns": [
        {
            "name": "Import Welcome",
            "trigger": {"campaign_is_requested": ["web_service_api"]},
            "flow": [{"change_score": "+1"}],
        }
    ],
}
PAGED_MEMBERS = 120  # the members page shows 50 at a time


@pytest.fixture(scope="module")
def srv(tmp_path_factory) -> Iterator[InProcessServer]:
    instance = copy.deepcopy(INSTANCE)
    instance["programs"].append(PROGRAM_DEFINITION)
    env = {"MKTOWS_WORKERS": "1"}  # this process runs the import jobs
    with in_process_server(tmp_path_factory.mktemp("console-lists"), instance=instance, env=env) as server:
        server.engine.add_console_user(ADMIN, PASSWORD)
        yield server


def list_id(srv: InProcessServer, name: str) -> int:
    return next(i for i, n, program in srv.engine.list_names() if n == name and program == PROGRAM)


def new_leads(srv: InProcessServer, prefix: str, count: int) -> list[int]:
    records = [
        LeadInput(email=f"{prefix}{i:03d}@lists.example.com", attributes=[("FirstName", f"{prefix.title()}{i}")])
        for i in range(count)
    ]
    srv.engine.sync_leads(records)
    return [srv.engine.search_leads(f"{prefix}{i:03d}@lists.example.com").rows[0].id for i in range(count)]


def add_to_list(srv: InProcessServer, name: str, lead_ids: list[int]) -> None:
    for start in range(0, len(lead_ids), 100):
        keys = [LeadKey("IDNUM", str(i)) for i in lead_ids[start : start + 100]]
        assert srv.engine.list_operation("ADDTOLIST", "MKTOLISTNAME", f"{PROGRAM}.{name}", keys).success


def all_pages(browser: httpx.Client, url: str, row: str, next_label: str) -> list[list[str]]:
    """The `row` pattern's matches on each page, following the `next_label` link to the end."""
    pages: list[list[str]] = []
    while url:
        page = browser.get(url)
        assert page.status_code == 200, page.text[:500]
        pages.append(re.findall(row, page.text, re.S))
        found = re.search(rf'href="([^"]+)">{next_label}</a>', page.text)
        url = html.unescape(found.group(1)) if found else ""
    return pages


def test_the_pages_redirect_to_sign_in_when_signed_out(srv):
    browser = srv.browser()
    for path in (
        "/console/lists",
        f"/console/lists/{list_id(srv, 'Attendees')}",
        "/console/imports",
        "/console/imports/1",
    ):
        resp = browser.get(path)
        assert resp.status_code == 303 and resp.headers["location"].startswith("/console/login?next="), path


def test_unknown_lists_and_imports_are_not_found(srv):
    browser = signed_in(srv, "/console/lists")
    for path in ("/console/lists/999999", "/console/lists/not-a-list", "/console/imports/999999", "/console/imports/x"):
        page = browser.get(path)
        assert page.status_code == 404 and "There is no " in page.text, path


def test_the_lists_page_shows_each_list_with_its_program_and_member_count(srv):
    add_to_list(srv, "Attendees", new_leads(srv, "attendee", 3))
    browser = signed_in(srv, "/console/lists")
    pages = all_pages(
        browser,
        "/console/lists",
        r'<th scope="row"><a href="/console/lists/(\d+)">([^<]+)</a></th>\s*<td>(.*?)</td>\s*<td class="members">([^<]+)</td>',
        "Next lists",
    )
    rows = [r for page in pages for r in page]
    assert len(pages) > 1 and all(len(page) <= 50 for page in pages)
    assert len({r[0] for r in rows}) == len(rows) == len(srv.engine.list_names())  # no list twice, none missed
    shown = {(int(r[0]), r[1]): r for r in rows}
    program_link = f'<a href="/console/programs/{_program_id(srv)}">{PROGRAM}</a>'
    attendees = shown[(list_id(srv, "Attendees"), "Attendees")]
    assert attendees[2] == program_link and attendees[3] == "3"
    assert shown[(list_id(srv, "Untouched"), "Untouched")][3] == "0"
    names = [r[1] for r in rows]
    assert names == sorted(names)  # by name, then id


def _program_id(srv: InProcessServer) -> int:
    return next(p.id for p in srv.engine.program_page(limit=1000) if p.name == PROGRAM)


def test_a_lists_members_page_without_overlap_and_the_list_counts_them_all(srv):
    members = new_leads(srv, "paged", PAGED_MEMBERS)
    add_to_list(srv, "Paged", members)
    browser = signed_in(srv, "/console/lists")
    paged = list_id(srv, "Paged")
    first = browser.get(f"/console/lists/{paged}")
    assert '<td id="member-count">120</td>' in first.text
    assert f"<h1>Static list: {PROGRAM}.Paged</h1>" in first.text
    pages = all_pages(
        browser, f"/console/lists/{paged}", r'<td><a href="/console/leads/(\d+)">\d+</a></td>', "Next members"
    )
    assert [len(p) for p in pages] == [50, 50, 20]
    shown = [int(i) for page in pages for i in page]
    assert shown == sorted(members)  # by lead id, each member once
    assert "paged000@lists.example.com" in first.text and "<td>Paged0</td>" in first.text


def test_the_lists_page_stops_counting_a_crowded_list_and_its_page_counts_all(srv):
    crowded = list_id(srv, "Crowded")
    now = srv.engine.now()
    with srv.engine.db.write() as conn:  # straight into the store: the API would take minutes
        start = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM leads").scalar_one() + 1
        ids = list(range(start, start + MEMBERS_COUNTED + 1))
        conn.execute(insert(leads), [{"id": i, "created_at": now, "updated_at": now} for i in ids])
        conn.execute(insert(list_members), [{"list_id": crowded, "lead_id": i, "created_at": now} for i in ids])
    browser = signed_in(srv, "/console/lists")
    rows = [
        r
        for page in all_pages(
            browser,
            "/console/lists",
            r'<a href="/console/lists/(\d+)">.*?<td class="members">([^<]+)</td>',
            "Next lists",
        )
        for r in page
    ]
    assert (str(crowded), "more than 10,000") in rows
    assert '<td id="member-count">10,001</td>' in browser.get(f"/console/lists/{crowded}").text


def test_an_import_shows_its_status_counters_failures_list_and_campaign(srv):
    rows = ["imported.one@lists.example.com,Ada", "not an email,Bob", "", "imported.two@lists.example.com,Cy"]
    status = srv.engine.import_to_list(
        PROGRAM, "Imported", "Email,First Name,Shoe Size", rows, mode="UPSERTLEADS", campaign_name="Import Welcome"
    )
    assert status == "PROCESSING"
    imported = list_id(srv, "Imported")
    [job] = srv.engine.import_page(list_id=imported, limit=1)
    done = wait_for(
        lambda: (d := srv.engine.import_detail(job.id)) is not None and d.job.status != "PROCESSING" and d,
        30,
        f"import {job.id} to finish",
    )
    assert done.job.status == "COMPLETE"

    browser = signed_in(srv, "/console/imports")
    page = browser.get(f"/console/imports/{job.id}")
    assert page.status_code == 200
    assert f"<h1>Import {job.id} into {PROGRAM}.Imported</h1>" in page.text
    assert '<td id="import-status"><span class="status status-done">COMPLETE</span></td>' in page.text
    assert '<td id="rows-imported">2</td>' in page.text
    assert '<td id="rows-failed">1</td>' in page.text
    assert '<td id="rows-ignored">1</td>' in page.text
    assert "import-progress" not in page.text  # finished: counters, no progress figure
    assert '<tr><th scope="row">2</th><td>Invalid email address: not an email</td></tr>' in page.text
    assert "<li>Ignored column &#34;Shoe Size&#34;: it names no lead field</li>" in page.text
    assert f'<a href="/console/lists/{imported}">{PROGRAM}.Imported</a>' in page.text
    [campaign] = [c.id for c in srv.engine.campaigns_for_source("MKTOWS", f"{PROGRAM}.Import Welcome", exact=True)]
    assert f'<a href="/console/campaigns/{campaign}">{PROGRAM}.Import Welcome</a>' in page.text
    assert re.search(r'<td id="import-duration">[\d.]+ s</td>', page.text)

    listing = browser.get("/console/imports")
    row = re.search(rf'<a href="/console/imports/{job.id}">import {job.id}</a>.*?</tr>', listing.text, re.S)
    assert row, listing.text
    assert "2 imported, 1 failed, 1 ignored of 4" in row.group(0) and "status-done" in row.group(0)
    assert f'<a href="/console/lists/{imported}">{PROGRAM}.Imported</a>' in row.group(0)
    on_list = browser.get(f"/console/lists/{imported}")
    assert f'<a href="/console/imports/{job.id}">import {job.id}</a>' in on_list.text
    assert '<td id="member-count">2</td>' in on_list.text


def test_the_imports_page_pages_newest_first_and_keeps_to_one_list(srv):
    repeated = list_id(srv, "Repeated")
    for n in range(3):  # one import at a time into a list
        srv.engine.import_to_list(PROGRAM, "Repeated", "Email", [f"again{n}@lists.example.com"], mode="LISTONLY")
        [job] = srv.engine.import_page(list_id=repeated, limit=1)
        wait_for(lambda j=job: srv.engine.import_detail(j.id).job.status != "PROCESSING", 30, f"import {job.id}")
    everyone = [j.id for j in srv.engine.import_page(limit=1000)]
    assert everyone == sorted(everyone, reverse=True)
    assert [j.id for j in srv.engine.import_page(before_id=everyone[0], limit=2)] == everyone[1:3]
    browser = signed_in(srv, "/console/imports")
    page = browser.get("/console/imports", params={"list": repeated})
    shown = [int(i) for i in re.findall(r'<a href="/console/imports/(\d+)">', page.text)]
    assert shown == [j.id for j in srv.engine.import_page(list_id=repeated, limit=50)] and len(shown) == 3
    assert 'href="/console/imports" aria-current="page"' in page.text


def test_a_leads_page_links_to_its_lists(srv):
    [lead_id] = new_leads(srv, "linked", 1)
    add_to_list(srv, "Linked", [lead_id])
    browser = signed_in(srv, "/console/lists")
    page = browser.get(f"/console/leads/{lead_id}")
    assert f'List: <a href="/console/lists/{list_id(srv, "Linked")}">{PROGRAM}.Linked</a>' in page.text
