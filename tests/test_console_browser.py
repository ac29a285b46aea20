"""The web console in a real headless Chromium (Debian's package, driven by Playwright) against
a real `mktows serve` on a SQLite file: a user follows the landing page to the console, signs
in, finds a lead made through SOAP, changes one of its fields, edits a program's My Token,
previews the program's email for that lead, requests the campaign that sends it for the lead,
finds the message in the outbox and the send on the lead's page, reads a captured message,
looks at a list import made through SOAP, the list it filled and the API users, and signs out. Every page visited is screenshotted at 1280x800 and 375 px wide (into
$MKTOWS_ARTIFACTS, else tests/artifacts/console/), must not scroll sideways at 375 px, and
must have no serious or critical axe-core violation.

docs/images/console-leads.png, the README's picture of the console, is a copy of lead-desktop.png.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from support.browser import PageChecks, artifacts_dir, chromium, new_context
from support.clients import LeadApi, make_zeep_client
from support.server import REPO_ROOT, Server, running_server
from support.smtp import outbox_message
from support.soap import TEST_KEY, TEST_USER

from mktows.engine.campaigns.outbox import get_message, queue_email
from mktows.store.database import Database

ADMIN, PASSWORD = "ops", "correct horse battery staple"
EMAIL = "grace.hopper@browser.example.com"
OTHER_EMAIL = "ada.lovelace@browser.example.com"
SUBJECT = "Your invitation, Grace"
MESSAGE_HTML = (
    "<h1>Hello Grace</h1><p>Join us at the <b>Harbor Conference</b>.</p>"
    "<script>document.body.append('the script ran')</script>"
)
MESSAGE_TEXT = "Hello Grace\nJoin us at the Harbor Conference.\n.a line that starts with a dot"
PROGRAM = "Harbor Conference"
INVITATION_SUBJECT = "{{lead.First Name}}, {{my.Offer}} at the {{program.Name}}"
INSTANCE = {
    "api_users": [{"user_id": TEST_USER, "encryption_key": TEST_KEY}],
    "lead_fields": [{"name": "Favorite_Language", "display_name": "Favorite Language", "type": "string"}],
    "channels": [{"name": "Webinar", "type": "webinar", "statuses": [{"name": "Invited", "step": 10}]}],
    "programs": [
        {
            "name": PROGRAM,
            "channel": "Webinar",
            "tokens": {"my.Offer": "10% off"},
            "lists": ["Attendees"],
            "emails": [
                {
                    "name": "Invitation",
                    "from": {"name": "Harbor Team", "email": "team@browser.example.com"},
                    "subject": INVITATION_SUBJECT,
                    "html": "<p>Dear {{lead.First Name}}, enjoy <b>{{my.Offer}}</b>.</p>",
                    "text": "Dear {{lead.First Name}}, enjoy {{my.Offer}}.",
                }
            ],
            "campaigns": [
                {
                    "name": "Send Invitation",
                    "trigger": {"campaign_is_requested": ["web_service_api"]},
                    "flow": [{"send_email": "Invitation"}],
                }
            ],
        }
    ],
}
NEW_SUBJECT = f"Amazing Grace, 25% off at the {PROGRAM}"  # after the field edit and the token edit
CAPTURE_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def console(tmp_path_factory, mktows_session_start) -> Iterator[dict[str, Any]]:
    """The server (no SMTP server configured: messages are captured), a console user, two
    leads made through SOAP and one captured message to the first."""
    workdir = tmp_path_factory.mktemp("console-browser")
    db_url = f"sqlite:///{workdir / 'mktows.db'}"
    with running_server(mktows_session_start, db_url, workdir, instance=INSTANCE) as srv:
        add_console_user(db_url)
        api = LeadApi("zeep", make_zeep_client(srv.endpoint("2_9")), "2_9")
        lead_id = api.create_lead(EMAIL, {"FirstName": "Grace", "LastName": "Hopper", "Favorite_Language": "COBOL"})
        api.create_lead(OTHER_EMAIL, {"FirstName": "Ada", "LastName": "Lovelace"})
        outbox_id = captured_message(srv, lead_id)
        api.call(
            "importToList",
            programName=PROGRAM,
            listName="Attendees",
            importFileHeader="Email,Company",
            importFileRows={"stringItem": [f"{EMAIL},Navy", "not an address,Nobody"]},
            importListMode="UPSERTLEADS",
            clearList=False,
        )
        yield {"server": srv, "base": srv.base_url, "lead_id": lead_id, "outbox_id": outbox_id}


def add_console_user(db_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mktows", "admins", "add", ADMIN, "--password-stdin", "--db", db_url],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"console user: {ADMIN}" in done.stdout


def captured_message(srv: Server, lead_id: int) -> int:
    """Queue one message as a campaign would; the server's delivery job, with no SMTP server
    configured, marks it captured."""
    db = Database(srv.db_url, create=False)
    try:
        with db.write() as conn:
            outbox_id = queue_email(
                conn,
                outbox_message(  # of a run far from the campaign's: a message a run sends is sent once
                    1,
                    to_addr=EMAIL,
                    subject=SUBJECT,
                    html=MESSAGE_HTML,
                    text=MESSAGE_TEXT,
                    lead_id=lead_id,
                    run_id=10_000,
                ),
            )
        assert outbox_id is not None
        deadline = time.monotonic() + CAPTURE_TIMEOUT
        while (entry := get_message(db, outbox_id)) is not None and entry.status != "captured":
            assert time.monotonic() < deadline, f"message still {entry.status} after {CAPTURE_TIMEOUT:.0f}s"
            time.sleep(0.1)
        assert entry is not None
        return outbox_id
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def reload_until(page: Any, locator: Any, timeout: float = CAPTURE_TIMEOUT) -> None:
    """Reload the page until `locator` shows: what the server's jobs do lands in the database
    after the page was served."""
    deadline = time.monotonic() + timeout
    while locator.count() == 0:
        assert time.monotonic() < deadline, f"not shown after {timeout:.0f}s of reloads:\n{page.inner_text('main')}"
        time.sleep(0.3)
        page.reload()


def test_a_user_signs_in_and_follows_a_lead_through_tokens_preview_campaign_and_outbox(console, browser):
    from playwright.sync_api import expect

    base, lead_id, outbox_id = console["base"], console["lead_id"], console["outbox_id"]
    out = artifacts_dir()
    checks = PageChecks(out)
    context = new_context(browser, bypass_csp=True)  # axe-core is injected as an inline script
    page = context.new_page()
    try:
        # The landing page names the endpoints and links to the console.
        page.goto(base + "/")
        expect(page.get_by_role("heading", level=1)).to_have_text("mktows: a Marketo SOAP API server")
        expect(page.get_by_role("link", name="WSDL for 2_9")).to_have_attribute("href", f"{base}/soap/mktows/2_9?WSDL")
        expect(page.get_by_text("Ready: every check passes.")).to_be_visible()
        checks.check(page, "landing")

        # The console asks for a sign-in first, and refuses a wrong password.
        page.get_by_role("link", name="The console").click()
        expect(page).to_have_url(f"{base}/console/login?next=/console/leads")
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the console")
        expect(page.get_by_label("Name", exact=True)).to_be_focused()  # autofocus
        checks.check(page, "sign-in")
        page.get_by_label("Name", exact=True).fill(ADMIN)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text("Wrong name or password.")
        page.get_by_label("Name", exact=True).fill(ADMIN)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{base}/console/leads")
        expect(page.get_by_role("banner")).to_contain_text(ADMIN)
        expect(page.get_by_role("navigation", name="Console").get_by_role("link", name="Leads")).to_have_attribute(
            "aria-current", "page"
        )

        # The lead search by the beginning of an email finds that lead and no other.
        page.get_by_role("searchbox", name="Find a lead").fill("GRACE.hop")
        page.get_by_role("button", name="Search").click()
        expect(page).to_have_url(re.compile(r"/console/leads\?q=GRACE\.hop$"))
        results = page.get_by_role("table", name=re.compile(r"GRACE\.hop"))  # the caption names the search
        expect(results.get_by_role("row")).to_have_count(2)  # the header and one lead
        expect(results.get_by_role("row").nth(1)).to_contain_text(f"{lead_id} {EMAIL} Grace Hopper")
        expect(page.get_by_text(OTHER_EMAIL)).to_have_count(0)
        checks.check(page, "leads")

        # The lead's page: fields, and the activity SOAP made.
        results.get_by_role("link", name=str(lead_id), exact=True).click()
        expect(page).to_have_url(f"{base}/console/leads/{lead_id}")
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Lead {lead_id}: {EMAIL}")
        fields = page.get_by_role("region", name="Fields")
        expect(fields.get_by_role("row", name="FirstName Grace", exact=True)).to_be_visible()
        expect(fields.get_by_role("row", name="Favorite_Language COBOL", exact=True)).to_be_visible()
        activity = page.get_by_role("region", name="Activity")
        expect(activity.get_by_role("listitem").filter(has_text="New Lead")).to_have_count(1)

        # Changing a field with the form: saved, shown, and logged as a Change Data Value.
        page.get_by_label("Field", exact=True).select_option(label="First Name (FirstName)")
        page.get_by_label("New value").fill("Amazing Grace")
        page.get_by_role("button", name="Save").click()
        expect(page).to_have_url(f"{base}/console/leads/{lead_id}?saved=FirstName")
        expect(page.get_by_role("status")).to_have_text("FirstName saved.")
        expect(fields.get_by_role("row", name="FirstName Amazing Grace", exact=True)).to_be_visible()
        change = activity.get_by_role("listitem").filter(has_text="Change Data Value").filter(has_text="First Name")
        expect(change).to_have_count(1)
        expect(change).to_contain_text("Amazing Grace")
        expect(change).to_contain_text(f"Changed by console user {ADMIN}")
        checks.check(page, "lead")

        # The program: its My Token edited in the form, saved to the database.
        nav = page.get_by_role("navigation", name="Console")
        nav.get_by_role("link", name="Programs").click()
        page.get_by_role("link", name=PROGRAM, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(PROGRAM)
        offer = page.get_by_label("{{my.Offer}}")
        expect(offer).to_have_value("10% off")
        offer.fill("25% off")
        page.get_by_role("button", name="Save My Tokens").click()
        expect(page.get_by_role("status")).to_contain_text("saved")
        expect(page.get_by_label("{{my.Offer}}")).to_have_value("25% off")
        checks.check(page, "program")

        # The email's preview for the lead: the new token and the edited first name, nothing sent.
        page.get_by_role("link", name="Invitation", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Invitation")
        page.get_by_label("Lead id or email").fill(EMAIL)
        page.get_by_role("button", name="Preview").click()
        expect(page.locator("#preview-subject")).to_have_text(NEW_SUBJECT)
        expect(page.locator("#preview-text")).to_have_text("Dear Amazing Grace, enjoy 25% off.")
        preview = page.get_by_title(f"Preview of the email's HTML for lead {lead_id}").content_frame
        expect(preview.locator("b")).to_have_text("25% off")
        checks.check(page, "email-preview")

        # The campaign that sends it, requested for the lead from its page.
        page.get_by_role("link", name=f"{PROGRAM}.Send Invitation").first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Smart campaign: {PROGRAM}.Send Invitation")
        page.get_by_label("Lead id or email").fill(EMAIL)
        page.get_by_role("button", name="Request the campaign for this lead").click()
        expect(page.get_by_role("status")).to_have_text(f"Requested for lead {EMAIL}: run 1.")
        runs = page.get_by_role("table", name=re.compile("Runs of"))
        expect(runs.get_by_role("row")).to_have_count(2)  # the header and the run
        checks.check(page, "campaign")

        # The outbox: no SMTP server, so the messages wait there, captured: the invitation the
        # campaign sent (once its run and delivery jobs are done) and the earlier message.
        nav.get_by_role("link", name="Outbox").click()
        expect(page).to_have_url(f"{base}/console/outbox")
        expect(page.get_by_role("heading", level=1)).to_have_text("Email outbox")
        expect(page.get_by_role("main")).to_contain_text("none configured: messages are captured here")
        table = page.get_by_role("table", name="Messages, newest first")
        sent = table.get_by_role("row").filter(has_text=NEW_SUBJECT)
        reload_until(page, sent.filter(has_text="captured"))
        expect(sent).to_contain_text(EMAIL)
        row = table.get_by_role("row").filter(has_text=SUBJECT)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(EMAIL)
        expect(row).to_contain_text("captured")
        checks.check(page, "outbox")

        # The lead's page shows the send among its activity.
        page.goto(f"{base}/console/leads/{lead_id}")
        send = page.get_by_role("region", name="Activity").get_by_role("listitem").filter(has_text="Send Email")
        expect(send).to_have_count(1)
        expect(send).to_contain_text("Invitation")
        page.goto(f"{base}/console/outbox")

        # The message: headers, its HTML in a frame that runs nothing, its text part.
        row.get_by_role("link", name=SUBJECT).click()
        expect(page).to_have_url(f"{base}/console/outbox/{outbox_id}")
        expect(page.get_by_role("heading", level=1)).to_have_text(SUBJECT)
        headers = page.get_by_role("table", name="Headers and delivery")
        expect(headers.get_by_role("row", name=f"To {EMAIL}")).to_be_visible()
        expect(headers.get_by_role("row", name="Status captured")).to_be_visible()
        expect(headers.get_by_role("link", name=f"lead {lead_id}")).to_have_attribute(
            "href", f"/console/leads/{lead_id}"
        )
        expect(page.get_by_role("button", name="Release to the SMTP server")).to_be_visible()
        expect(page.get_by_role("button", name="Delete")).to_be_visible()
        frame_element = page.get_by_title("The message's HTML part")
        expect(frame_element).to_have_attribute("sandbox", "")
        frame = frame_element.content_frame
        expect(frame.get_by_role("heading", name="Hello Grace")).to_be_visible()
        expect(frame.locator("body")).to_contain_text("Join us at the Harbor Conference.")
        expect(frame.get_by_text("the script ran")).to_have_count(0)
        text_part = page.get_by_role("region", name="Text")
        expect(text_part).to_contain_text("Join us at the Harbor Conference.")
        expect(text_part).to_contain_text(".a line that starts with a dot")
        checks.check(page, "message")

        # The list the import filled, the import's counters, and the API user who sent it.
        nav.get_by_role("link", name="Imports").click()
        imports = page.get_by_role("table", name="Imports, newest first")
        reload_until(page, imports.get_by_role("row").filter(has_text="COMPLETE"))
        imports.get_by_role("row").filter(has_text="COMPLETE").get_by_role("link").first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Import \d+ into .*Attendees"))
        expect(page.locator("#rows-imported")).to_have_text("1")
        expect(page.locator("#rows-failed")).to_have_text("1")
        failed = page.get_by_role("table", name=re.compile("The first rows that failed"))
        expect(failed.get_by_role("row", name="2 Invalid email address: not an address")).to_be_visible()
        checks.check(page, "import")
        nav.get_by_role("link", name="Lists").click()
        lists = page.get_by_role("table", name="Static lists by name")
        lists.get_by_role("link", name=re.compile("Attendees")).click()
        members = page.get_by_role("table", name=re.compile("Members of .*Attendees"))
        expect(members.get_by_role("row")).to_have_count(2)  # the header and Grace
        expect(members).to_contain_text(EMAIL)
        checks.check(page, "list")
        nav.get_by_role("link", name="API users").click()
        users = page.get_by_role("table", name=re.compile("API users by id"))
        expect(users.get_by_role("row").filter(has_text=TEST_USER)).to_have_count(1)
        checks.check(page, "api-users")

        # Signing out ends the session: the console asks for a sign-in again.
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(f"{base}/console/login")
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the console")
        page.goto(base + "/console/leads")
        expect(page).to_have_url(f"{base}/console/login?next=/console/leads")
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    finally:
        context.close()
    print(f"screenshots: {out}")
    checks.assert_clean()


def test_the_consoles_pages_run_no_inline_script(console, browser):
    """What the story's context bypasses to inject axe-core: the browser itself refuses an
    inline script on a console page (and runs one where the policy is bypassed)."""
    inject = """() => {
      const s = document.createElement("script");
      s.textContent = "window.inlineRan = true";
      document.head.append(s);
      return window.inlineRan === true;
    }"""
    for bypass, expected in ((False, False), (True, True)):
        context = new_context(browser, bypass_csp=bypass)
        try:
            page = context.new_page()
            page.goto(console["base"] + "/console/login")
            assert page.evaluate(inject) is expected, f"bypass_csp={bypass}"
        finally:
            context.close()


def test_the_page_checks_catch_an_unlabelled_field_and_a_page_too_wide_for_a_phone(browser, tmp_path):
    """The checks every console page gets can fail: axe-core finds a field without a label and
    an image without a text alternative, and a 600 px wide block makes the page scroll sideways."""
    checks = PageChecks(tmp_path)
    context = new_context(browser)
    try:
        page = context.new_page()
        page.set_content(
            '<!doctype html><html lang="en"><head><title>Bad page</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
            '<body><main><h1>Bad page</h1><input id="q"><img src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7">'
            '<div style="width: 600px">wide</div></main></body></html>'
        )
        checks.check(page, "bad")
    finally:
        context.close()
    rules = {(v.rule, v.impact) for v in checks.violations}
    assert {("label", "critical"), ("image-alt", "critical")} <= rules, rules
    assert any("scrolls sideways" in p and "div" in p for p in checks.problems), checks.problems
    assert (tmp_path / "bad-desktop.png").exists() and (tmp_path / "bad-375px.png").exists()
    with pytest.raises(AssertionError, match="axe critical: bad"):
        checks.assert_clean()
