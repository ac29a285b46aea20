"""The web console and the landing page over HTTP, in process: sign-in, sessions and CSRF,
the lead search and a lead's page, editing a field, the outbox. (The browser tests drive the
same pages in a real Chromium.)"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from support.console import ADMIN, PASSWORD, csrf_of, signed_in
from support.inprocess import InProcessServer, in_process_server
from support.smtp import outbox_message
from support.soap import assert_fault, call, success

from mktows.engine.campaigns.outbox import queue_email
from mktows.engine.models import LeadInput, LeadKey

pytestmark = pytest.mark.in_process


@pytest.fixture(scope="module")
def srv(tmp_path_factory) -> Iterator[InProcessServer]:
    with in_process_server(tmp_path_factory.mktemp("console"), env={"MKTOWS_WORKERS": "0"}) as server:
        server.engine.add_console_user(ADMIN, PASSWORD)
        for i in range(120):
            attrs = [("FirstName", f"Ada{i}"), ("LastName", "Lovelace")]
            server.engine.sync_lead(
                LeadInput(email=f"ada{i:03d}@console.example.com", attributes=attrs), return_lead=False
            )
        yield server


def test_the_landing_page_names_each_endpoint_its_wsdl_and_the_health(srv):
    page = srv.browser().get("/")
    assert page.status_code == 200
    assert f'href="{srv.base_url}/soap/mktows/2_9?WSDL"' in page.text
    assert f'href="{srv.base_url}/soap/mktows/2_2?WSDL"' in page.text
    assert "Ready: every check passes." in page.text
    assert 'href="/console/leads"' in page.text


def test_nothing_is_shown_without_signing_in_and_a_wrong_password_is_refused(srv):
    browser = srv.browser()
    for path in ("/console/leads", "/console/leads/1", "/console/outbox", "/console/outbox.json"):
        resp = browser.get(path)
        assert resp.status_code == 303 and resp.headers["location"].startswith("/console/login?next="), path
    form = browser.get("/console/login")
    wrong = browser.post("/console/login", data={"name": ADMIN, "password": "nope nope nope", "csrf": csrf_of(form)})
    assert wrong.status_code == 401 and "Wrong name or password." in wrong.text
    forged = srv.browser().post("/console/login", data={"name": ADMIN, "password": PASSWORD, "csrf": "made-up"})
    assert forged.status_code == 403  # no matching cookie: another site cannot sign a browser in
    assert "mktows_console" not in forged.cookies


def test_a_post_without_the_sessions_csrf_token_changes_nothing(srv):
    browser = signed_in(srv)
    lead_id = srv.engine.search_leads("ada000@console.example.com").rows[0].id
    resp = browser.post(f"/console/leads/{lead_id}/field", data={"field": "LastName", "value": "Forged", "csrf": "x"})
    assert resp.status_code == 403
    [lead] = srv.engine.get_leads(LeadKey("IDNUM", str(lead_id)))
    assert ("LastName", "Lovelace") in [(a.name, a.value) for a in lead.attributes]


def test_the_lead_search_pages_and_finds_by_email_prefix_and_id(srv):
    browser = signed_in(srv)
    first = browser.get("/console/leads")
    assert first.status_code == 200 and first.text.count('href="/console/leads/') == 50
    older = re.search(r'href="(/console/leads\?q=&amp;before=\d+)"', first.text)
    assert older, "no link to the next page"
    second = browser.get(older.group(1).replace("&amp;", "&"))
    assert second.text.count('href="/console/leads/') == 50
    assert set(re.findall(r"ada\d{3}@", first.text)).isdisjoint(re.findall(r"ada\d{3}@", second.text))
    found = browser.get("/console/leads", params={"q": "ADA01"})  # prefix, case ignored
    assert sorted(set(re.findall(r"ada(\d{3})@", found.text))) == [f"{i:03d}" for i in range(10, 20)]
    lead_id = srv.engine.search_leads("ada007@console.example.com").rows[0].id
    by_id = browser.get("/console/leads", params={"q": str(lead_id)})
    assert "ada007@console.example.com" in by_id.text


def _all_pages(browser, query: str) -> list[list[str]]:
    """The lead ids of each page of a search, following its next-page links."""
    pages, url = [], "/console/leads?" + urlencode({"q": query})
    while url:
        page = browser.get(url)
        pages.append(re.findall(r'<td><a href="/console/leads/(\d+)">', page.text))
        found = re.search(r'href="(/console/leads\?[^"]*after=[^"]+)">Next page', page.text)
        url = html.unescape(found.group(1)) if found else ""
    return pages


def test_the_lead_search_finds_by_the_beginning_of_a_first_or_last_name(srv):
    browser = signed_in(srv)
    pages = _all_pages(browser, "loveL")  # every lead's last name, case ignored
    assert [len(p) for p in pages] == [50, 50, 20]
    assert len({i for p in pages for i in p}) == 120
    # "ada1" begins emails ada1xx@ and first names Ada1, Ada10..Ada19, Ada100..Ada119: one row a lead per page
    ids = {srv.engine.search_leads(f"ada{i:03d}@").rows[0].id: i for i in range(120)}
    pages = _all_pages(browser, "ada1")
    assert all(len(p) == len(set(p)) for p in pages)
    assert {ids[int(i)] for p in pages for i in p} == {1} | set(range(10, 20)) | set(range(100, 120))


def test_editing_a_field_logs_a_change_data_value_activity_shown_on_the_lead_page(srv, caplog):
    caplog.set_level(logging.INFO, logger="mktows.console")
    browser = signed_in(srv)
    lead_id = srv.engine.search_leads("ada042@console.example.com").rows[0].id
    page = browser.get(f"/console/leads/{lead_id}")
    assert page.status_code == 200 and "Ada42" in page.text and "New Lead" in page.text
    resp = browser.post(
        f"/console/leads/{lead_id}/field", data={"field": "LastName", "value": "Byron", "csrf": csrf_of(page)}
    )
    assert resp.status_code == 303 and resp.headers["location"].endswith("?saved=LastName")
    page = browser.get(resp.headers["location"])
    assert "Change Data Value" in page.text and "Byron" in page.text
    # the reason names the console user, as getLeadActivity reports it
    history = srv.engine.lead_activity(LeadKey("IDNUM", str(lead_id)), batch_size=100).activities
    [change] = [a for a in history if a.type_name == "Change Data Value"]
    assert ("Reason", f"Changed by console user {ADMIN}") in change.attributes
    assert f"Changed by console user {ADMIN}" in page.text
    # and the server's log says who sent which form
    lines = [r for r in caplog.records if r.name == "mktows.console" and r.getMessage() == "console change"]
    assert lines[0].fields == {"user": ADMIN, "path": f"/console/leads/{lead_id}/field", "status": 303}
    bad = browser.post(
        f"/console/leads/{lead_id}/field", data={"field": "NoSuchField", "value": "1", "csrf": csrf_of(page)}
    )
    assert "?error=" in bad.headers["location"]
    assert "Not saved:" in browser.get(bad.headers["location"]).text


def test_signing_out_ends_the_session_for_that_cookie(srv):
    browser = signed_in(srv)
    page = browser.get("/console/leads")
    cookie = browser.cookies.get("mktows_console")
    resp = browser.post("/console/logout", data={"csrf": csrf_of(page)})
    assert resp.status_code == 303
    replay = srv.browser()
    replay.cookies.set("mktows_console", cookie, path="/console")
    assert replay.get("/console/leads").status_code == 303  # the old cookie opens nothing


def test_the_outbox_searches_shows_a_sandboxed_html_part_releases_and_deletes(srv):
    with srv.engine.db.write() as conn:
        kept = queue_email(
            conn, outbox_message(1, subject="Quarterly offer", html="<p>Hi <script>alert(1)</script></p>")
        )
        gone = queue_email(conn, outbox_message(2, subject="Other news"))
        conn.exec_driver_sql("UPDATE outbox SET status = 'captured'")
    browser = signed_in(srv)
    listing = browser.get("/console/outbox", params={"q": "quarterly"})
    assert "Quarterly offer" in listing.text and "Other news" not in listing.text
    data = browser.get("/console/outbox.json", params={"q": "quarterly"}).json()
    assert [m["id"] for m in data["messages"]] == [kept]
    page = browser.get(f"/console/outbox/{kept}")
    assert f'<iframe title="The message\'s HTML part" sandbox src="/console/outbox/{kept}/html">' in page.text
    html = browser.get(f"/console/outbox/{kept}/html")
    assert html.headers["content-security-policy"].startswith("sandbox; default-src 'none'")
    released = browser.post(f"/console/outbox/{kept}/release", data={"csrf": csrf_of(page)})
    assert "released" in released.headers["location"]
    assert browser.get(f"/console/outbox/{kept}.json").json()["status"] == "queued"
    deleted = browser.post(f"/console/outbox/{gone}/delete", data={"csrf": csrf_of(page)})
    assert "deleted" in deleted.headers["location"]
    assert browser.get(f"/console/outbox/{gone}").status_code == 404


def test_the_charts_count_calls_and_faults_of_the_api_leads_and_emails(srv):
    endpoint = srv.endpoint("2_9")
    for _ in range(3):
        success(call(endpoint, "<ns1:paramsListMObjects/>"), "listMObjects")
    assert_fault(
        call(
            endpoint,
            "<ns1:paramsGetLead><leadKey><keyType>IDNUM</keyType><keyValue>999999</keyValue></leadKey></ns1:paramsGetLead>",
        ),
        20103,
    )
    srv.app.state.call_stats.flush()  # as the server does every few seconds
    page = signed_in(srv).get("/console/charts")
    assert page.status_code == 200
    assert page.text.count('<svg viewBox="0 0 720 240" role="img"') == 4
    assert "listMObjects: 3" in page.text and "getLead: 1" in page.text
    assert "20103: 1" in page.text
    assert "leads: 120" in page.text  # every lead of the module, made today
    [leads_chart] = re.findall(r"<caption>Leads created per day</caption>.*?</table>", page.text, re.S)
    assert leads_chart.count("<td>") == 30


def test_the_pages_of_a_search_follow_the_email_order_and_hold_each_lead_once(srv):
    browser = signed_in(srv)
    seen: list[str] = []
    url = "/console/leads?q=ada0"  # and the first name Ada0, which sorts before (and is) ada000@
    for _ in range(5):
        page = browser.get(url.replace("&amp;", "&"))
        seen += re.findall(r"ada(\d{3})@console", page.text)
        following = re.search(r'href="(/console/leads\?q=ada0&amp;after=[^"]+)"', page.text)
        if following is None:
            break
        url = following.group(1)
    assert seen == [f"{i:03d}" for i in range(100)]
