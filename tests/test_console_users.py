"""The console's API users page over HTTP, in process: a user made there signs real SOAP calls
with the key shown once, a rotation keeps the replaced key for its overlap and then only the new
one works, a disabled user's calls fault with 20013 until it is enabled again, and each user's
calls and limit refusals today add up to the calls made (on a server started with a low rate
limit for the last)."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator

import httpx
import pytest
from support.console import ADMIN, PASSWORD, csrf_of, signed_in
from support.inprocess import InProcessServer, in_process_server
from support.soap import TEST_USER, assert_fault, auth_header_xml, call, success

pytestmark = pytest.mark.in_process

LIST_MOBJECTS = "<ns1:paramsListMObjects/>"
UNKNOWN_LEAD = (
    "<ns1:paramsGetLead><leadKey><keyType>IDNUM</keyType><keyValue>999999</keyValue></leadKey></ns1:paramsGetLead>"
)


@pytest.fixture(scope="module")
def srv(tmp_path_factory) -> Iterator[InProcessServer]:
    with in_process_server(tmp_path_factory.mktemp("console-users"), env={"MKTOWS_WORKERS": "0"}) as server:
        server.engine.add_console_user(ADMIN, PASSWORD)
        yield server


def _signed(srv: InProcessServer, user_id: str, key: str, body: str = LIST_MOBJECTS) -> httpx.Response:
    return call(srv.endpoint("2_9"), body, header_xml=auth_header_xml(user_id, key))


def _works(srv: InProcessServer, user_id: str, key: str) -> None:
    success(_signed(srv, user_id, key), "listMObjects")


def _shown_key(page: httpx.Response) -> str:
    found = re.search(r'<input id="new-key" value="([^"]+)" readonly', page.text)
    assert found, page.text[:2000]
    return html.unescape(found.group(1))


def _row(page: httpx.Response, user_id: str) -> str:
    """The user's row of the list."""
    found = re.search(rf'<th scope="row"><code>{re.escape(user_id)}</code></th>(.*?)</tr>', page.text, re.S)
    assert found, f"no row for {user_id}"
    return found.group(1)


def _create(srv: InProcessServer, browser: httpx.Client, user_id: str) -> str:
    """The key the console shows for a user it creates."""
    listing = browser.get("/console/users")
    made = browser.post("/console/users/add", data={"user_id": user_id, "csrf": csrf_of(listing)})
    assert made.status_code == 200, made.text[:2000]
    return _shown_key(made)


def test_a_user_made_in_the_console_signs_calls_with_the_key_shown_once(srv):
    browser = signed_in(srv)
    listing = browser.get("/console/users")
    assert listing.status_code == 200 and 'aria-current="page">API users</a>' in listing.text
    assert TEST_USER in listing.text and "test-secret-key1" not in listing.text  # no stored key is listed
    made = browser.post("/console/users/add", data={"user_id": "  console_made  ", "csrf": csrf_of(listing)})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    key = _shown_key(made)
    assert "shown this once and cannot be shown again" in made.text
    assert re.fullmatch(r"[A-Za-z0-9]{24}", key) and key not in str(made.url)
    _works(srv, "console_made", key)
    again = browser.get("/console/users")
    assert "console_made" in _row(again, "console_made") and key not in again.text

    resent = browser.post("/console/users/add", data={"user_id": "console_made", "csrf": csrf_of(listing)})
    assert resent.status_code == 303 and "error=" in resent.headers["location"]
    assert "API user console_made exists" in browser.get(resent.headers["location"]).text
    _works(srv, "console_made", key)  # the form sent twice replaced nothing

    for bad in ("", "x" * 256):
        refused = browser.post("/console/users/add", data={"user_id": bad, "csrf": csrf_of(listing)})
        assert refused.status_code == 303 and "Not%20created" in refused.headers["location"]
    assert not any(u.user_id == "x" * 256 for u in srv.engine.api_user_rows())


def test_a_rotation_keeps_the_replaced_key_for_its_overlap_and_then_only_the_new_one(srv):
    browser = signed_in(srv)
    old = _create(srv, browser, "rotated_user")
    listing = browser.get("/console/users")
    state = re.search(r'name="key_state" value="([^"]+)"', _row(listing, "rotated_user"))
    assert state
    form = {"user_id": "rotated_user", "overlap": "2s", "key_state": html.unescape(state.group(1))}
    rotated = browser.post("/console/users/rotate", data={**form, "csrf": csrf_of(listing)})
    assert rotated.status_code == 200
    new = _shown_key(rotated)
    assert new != old and "The replaced key keeps working until" in rotated.text
    _works(srv, "rotated_user", new)
    _works(srv, "rotated_user", old)  # the overlap: both keys work
    assert "accepted until" in _row(browser.get("/console/users"), "rotated_user")

    # the same form again (a reload) would end the key the first rotation kept: it is refused
    resent = browser.post("/console/users/rotate", data={**form, "csrf": csrf_of(listing)})
    assert resent.status_code == 303 and "rotated%20since" in resent.headers["location"]
    _works(srv, "rotated_user", new)

    [row] = [u for u in srv.engine.api_user_rows() if u.user_id == "rotated_user"]
    assert row.previous_key_until is not None
    time.sleep(max(0.0, (row.previous_key_until - srv.engine.now()).total_seconds()) + 0.2)
    assert_fault(_signed(srv, "rotated_user", old), 20014)
    _works(srv, "rotated_user", new)
    assert "accepted until" not in _row(browser.get("/console/users"), "rotated_user")


def test_a_disabled_user_faults_with_20013_until_it_is_enabled_again(srv):
    browser = signed_in(srv)
    key = _create(srv, browser, "revoked_user")
    _works(srv, "revoked_user", key)
    listing = browser.get("/console/users")
    assert "Disable revoked_user</button>" in _row(listing, "revoked_user")
    off = browser.post(
        "/console/users/enabled", data={"user_id": "revoked_user", "enabled": "0", "csrf": csrf_of(listing)}
    )
    assert off.status_code == 303
    assert "its calls fault with 20013" in browser.get(off.headers["location"]).text
    assert_fault(_signed(srv, "revoked_user", key), 20013)
    listing = browser.get("/console/users")
    assert "disabled" in _row(listing, "revoked_user") and "Enable revoked_user</button>" in listing.text
    on = browser.post(
        "/console/users/enabled", data={"user_id": "revoked_user", "enabled": "1", "csrf": csrf_of(listing)}
    )
    assert on.status_code == 303
    _works(srv, "revoked_user", key)
    unknown = browser.post(
        "/console/users/enabled", data={"user_id": "nobody", "enabled": "0", "csrf": csrf_of(listing)}
    )
    assert "no%20API%20user%20nobody" in unknown.headers["location"]


def test_each_users_calls_today_are_the_calls_it_made(srv):
    browser = signed_in(srv)
    key = _create(srv, browser, "counted_user")
    srv.app.state.call_stats.flush()  # the other tests' calls
    before = re.search(r'id="calls-anonymous">(\d+)<', browser.get("/console/users").text)
    assert before
    for _ in range(4):
        _works(srv, "counted_user", key)
    assert_fault(_signed(srv, "counted_user", key, UNKNOWN_LEAD), 20103)
    assert_fault(_signed(srv, "counted_user", key + "x"), 20014)  # counts under no user
    srv.app.state.call_stats.flush()  # as the server does every few seconds
    page = browser.get("/console/users")
    row = _row(page, "counted_user")
    assert '<td class="calls">5</td>' in row and '<td class="refused">0, 0, 0</td>' in row
    assert f'id="calls-anonymous">{int(before.group(1)) + 1}<' in page.text
    assert 'id="quota">none<' in page.text and 'id="rate">none<' in page.text  # the self-hosted default


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(srv):
    browser = signed_in(srv)
    forged = browser.post("/console/users/add", data={"user_id": "forged_user"})
    assert forged.status_code == 403
    assert browser.post("/console/users/add", data={"user_id": "forged_user", "csrf": "x"}).status_code == 403
    assert "forged_user" not in [u.user_id for u in srv.engine.api_user_rows()]
    off = browser.post("/console/users/enabled", data={"user_id": TEST_USER, "enabled": "0"})
    assert off.status_code == 403
    rotate = browser.post("/console/users/rotate", data={"user_id": TEST_USER, "overlap": "0"})
    assert rotate.status_code == 403
    [row] = [u for u in srv.engine.api_user_rows() if u.user_id == TEST_USER]
    assert row.enabled and row.previous_key_until is None


def test_rate_limit_refusals_show_for_the_instance_and_the_user(tmp_path):
    env = {
        "MKTOWS_WORKERS": "0",
        "MKTOWS_DAILY_QUOTA": "1000",
        "MKTOWS_RATE_LIMIT_CALLS": "3",
        "MKTOWS_RATE_LIMIT_SECONDS": "60",
    }
    with in_process_server(tmp_path, env=env) as limited:
        limited.engine.add_console_user(ADMIN, PASSWORD)
        browser = signed_in(limited)
        key = _create(limited, browser, "hasty_user")
        for _ in range(3):
            _works(limited, "hasty_user", key)
        for _ in range(2):
            assert_fault(_signed(limited, "hasty_user", key), 20023)
        limited.app.state.call_stats.flush()
        page = browser.get("/console/users")
        assert 'id="quota">3 of 1000 calls used<' in page.text
        assert 'id="rate">3 of 3 calls in the last 60 seconds<' in page.text
        assert 'id="refused-20023">2<' in page.text and 'id="refused-20015">0<' in page.text
        row = _row(page, "hasty_user")
        assert '<td class="calls">5</td>' in row and '<td class="refused">0, 2, 0</td>' in row
