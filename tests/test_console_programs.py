"""The console's programs, emails and campaigns pages over HTTP, in process: the lists, a
program's page and its My Tokens form, an email's page and its preview for a lead (compared with
the message a real send of that email to that lead puts in the outbox), a campaign's page with
its runs, requesting and scheduling it, and the statements those pages send (each served by an
index). The in-process server runs jobs, so a requested campaign really runs."""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from markupsafe import escape
from sqlalchemy import event, update
from support.console import ADMIN, PASSWORD, csrf_of, signed_in
from support.inprocess import InProcessServer, in_process_server
from support.mailchecks import wait_for
from support.server import INSTANCE

from mktows.engine.campaigns import console_reads, outbox
from mktows.engine.campaigns.outbox import OutboxEntry
from mktows.engine.models import LeadInput, LeadKey
from mktows.instance import apply_instance, load_instance
from mktows.store.tables import campaign_runs

pytestmark = pytest.mark.in_process

PROGRAM = "Console Program"
PROGRAM_DEFINITION: dict[str, Any] = {
    "name": PROGRAM,
    "channel": "Webinar",
    "folder": "Console/2026",
    "tags": {"Region": "South"},
    "costs": [{"month": "2026-04", "amount": 1500, "note": "Catering"}],
    "tokens": {"my.Offer": "10% off", "my.Signature": "The <b>console</b> team"},
    "lists": ["Console Attendees"],
    "emails": [
        {
            "name": "Welcome",
            "from": {"name": "{{my.Offer}} Team", "email": "team@console.example.com"},
            "reply_to": "replies@console.example.com",
            "subject": "Hello {{lead.First Name:default=friend}}: {{my.Offer}}",
            "html": "<p>Hi {{lead.First Name}} {{lead.LastName}}, {{my.Offer}} from {{program.Name}}</p>"
            "<p>{{my.Signature}} ({{campaign.Name:default=no campaign}})</p>",
            "text": "Hi {{lead.First Name}} ({{lead.Email Address}}): {{my.Offer}} via {{campaign.Name}}"
            " {{my.Missing:default=nothing more}}",
        }
    ],
    "campaigns": [
        {
            "name": "Send Welcome",
            "description": "Welcome whoever is requested",
            "trigger": {"campaign_is_requested": ["web_service_api"]},
            "flow": [{"send_email": "Welcome"}, {"change_score": "+5"}],
        },
        {
            "name": "Weekly Batch",
            "smart_list": [
                {"member_of_list": "Console Attendees"},
                {"field": "LastName", "op": "is_not", "value": ["Nobody", "Noone"]},
            ],
            "flow": [{"send_email": "Welcome"}, {"wait": {"hours": 1, "minutes": 30}}],
        },
        {
            "name": "Sales Only",
            "trigger": {"campaign_is_requested": ["sales_insight"]},
            "flow": [{"send_email": "Welcome"}],
        },
    ],
}
FIRST_NAME = 'Zoë <b>"Ace"</b> & co'  # escaped in HTML bodies, as is in text and subject


@pytest.fixture(scope="module")
def srv(tmp_path_factory) -> Iterator[InProcessServer]:
    instance = copy.deepcopy(INSTANCE)
    instance["programs"].append(PROGRAM_DEFINITION)
    env = {"MKTOWS_WORKERS": "2"}  # the default: this process runs the campaign and delivery jobs
    with in_process_server(tmp_path_factory.mktemp("console-programs"), instance=instance, env=env) as server:
        server.engine.add_console_user(ADMIN, PASSWORD)
        yield server


def ids(srv: InProcessServer) -> dict[str, int]:
    detail = srv.engine.program_detail(_program_id(srv, PROGRAM))
    assert detail is not None
    found = {f"campaign:{c.campaign.name}": c.campaign.id for c in detail.campaigns}
    found.update({f"email:{m.name}": m.id for m in detail.emails})
    found["program"] = detail.program.id
    return found


def _program_id(srv: InProcessServer, name: str) -> int:
    return next(p.id for p in srv.engine.program_page(limit=1000) if p.name == name)


def new_lead(srv: InProcessServer, email: str, **attrs: str) -> int:
    values = {"FirstName": FIRST_NAME, "LastName": "O'Hara", **attrs}
    srv.engine.sync_lead(LeadInput(email=email, attributes=list(values.items())), return_lead=False)
    return srv.engine.search_leads(email).rows[0].id


def post(browser: httpx.Client, page: httpx.Response, url: str, data: dict[str, Any]) -> httpx.Response:
    return browser.post(url, data={**data, "csrf": csrf_of(page)})


def follow(browser: httpx.Client, resp: httpx.Response) -> httpx.Response:
    assert resp.status_code == 303, resp.text[:500]
    return browser.get(resp.headers["location"])


def message_for(srv: InProcessServer, to: str) -> OutboxEntry:
    found = wait_for(lambda: outbox.list_messages(srv.engine.db, query=to), 30, f"the message to {to}")
    [entry] = found
    full = outbox.get_message(srv.engine.db, entry.id)
    assert full is not None
    return full


# --- programs ---------------------------------------------------------------------------


def test_the_programs_list_shows_channel_tags_and_costs(srv):
    browser = signed_in(srv, "/console/programs")
    page = browser.get("/console/programs")
    assert page.status_code == 200
    assert f'<a href="/console/programs/{ids(srv)["program"]}">{PROGRAM}</a>' in page.text
    assert "Webinar" in page.text and "Region: South" in page.text and "Console/2026" in page.text
    assert "2026-04: 1500 (Catering)" in page.text
    assert "Region: EMEA; Product Line: Cloud" in page.text  # EMEA Blog, another program
    assert "<caption>Programs by name</caption>" in page.text and '<th scope="col">Channel</th>' in page.text
    assert 'href="/console/programs" aria-current="page"' in page.text


def test_programs_and_campaigns_page_by_keyset(srv):
    names = [p.name for p in srv.engine.program_page(limit=1000)]
    assert names == sorted(names, key=str.lower) and PROGRAM in names
    first = srv.engine.program_page(limit=3)
    second = srv.engine.program_page(after=first[-1].name, limit=3)
    assert [p.name for p in first + second] == names[:6]
    everyone = [c.campaign.id for c in srv.engine.campaign_page(limit=1000)]
    assert everyone == sorted(everyone) and len(everyone) >= 3
    page = srv.engine.campaign_page(after_id=everyone[0], limit=2)
    assert [c.campaign.id for c in page] == everyone[1:3]


def test_a_programs_page_shows_its_lists_emails_campaigns_and_tokens(srv):
    browser = signed_in(srv, "/console/programs")
    found = ids(srv)
    page = browser.get(f"/console/programs/{found['program']}")
    assert page.status_code == 200
    assert "Console Program.Console Attendees" in page.text
    assert f'<a href="/console/emails/{found["email:Welcome"]}">Welcome</a>' in page.text
    for name in ("Send Welcome", "Weekly Batch", "Sales Only"):
        assert f'<a href="/console/campaigns/{found["campaign:" + name]}">{name}</a>' in page.text
    assert '<label for="token-1"><code>{{my.Offer}}</code></label>' in page.text
    assert '<textarea id="token-2" name="value" rows="2">\nThe &lt;b&gt;console&lt;/b&gt; team</textarea>' in page.text
    assert "<code>mktows load FILE</code>" in page.text and "<code>--instance FILE</code>" in page.text


def test_editing_my_tokens_saves_them_and_shows_them(srv):
    browser = signed_in(srv, "/console/programs")
    program_id = _program_id(srv, "Spring Webinar")  # my.Speaker: Ada Lovelace
    page = browser.get(f"/console/programs/{program_id}")
    assert "Ada Lovelace" in page.text
    resp = post(
        browser,
        page,
        f"/console/programs/{program_id}/tokens",
        {
            "name": ["Speaker"],
            "value": ["Grace <i>Hopper</i>"],
            "new_name": "my.Room",
            "new_value": "Hall 2\r\nLevel 1",
        },
    )
    page = follow(browser, resp)
    assert "My Tokens saved (2)." in page.text
    assert "\nGrace &lt;i&gt;Hopper&lt;/i&gt;</textarea>" in page.text and "\nHall 2\nLevel 1</textarea>" in page.text
    detail = srv.engine.program_detail(program_id)
    assert detail is not None and detail.tokens == [("Speaker", "Grace <i>Hopper</i>"), ("Room", "Hall 2\nLevel 1")]
    taken = post(browser, page, f"/console/programs/{program_id}/tokens", {"new_name": "{{my.room}}", "new_value": "x"})
    assert "Not saved: The program already has a My Token" in follow(browser, taken).text
    unknown = post(browser, page, f"/console/programs/{program_id}/tokens", {"name": ["Nope"], "value": ["x"]})
    assert "Not saved: The program has no My Token" in follow(browser, unknown).text
    detail = srv.engine.program_detail(program_id)
    assert detail is not None and detail.tokens == [("Speaker", "Grace <i>Hopper</i>"), ("Room", "Hall 2\nLevel 1")]
    # what the page says: loading the instance file again puts back the values it declares
    apply_instance(srv.engine, load_instance(srv.settings.instance_file))
    detail = srv.engine.program_detail(program_id)
    assert detail is not None and detail.tokens == [("Speaker", "Ada Lovelace"), ("Room", "Hall 2\nLevel 1")]


# --- emails -----------------------------------------------------------------------------


def test_the_email_page_shows_its_templates_and_who_sends_it(srv):
    browser = signed_in(srv, "/console/programs")
    found = ids(srv)
    page = browser.get(f"/console/emails/{found['email:Welcome']}")
    assert page.status_code == 200
    assert "{{my.Offer}} Team &lt;team@console.example.com&gt;" in page.text
    assert "replies@console.example.com" in page.text
    assert "Hello {{lead.First Name:default=friend}}: {{my.Offer}}" in page.text
    assert "&lt;p&gt;Hi {{lead.First Name}} {{lead.LastName}}" in page.text  # the HTML template, as text
    assert "<code>{{my.Signature}}</code>" in page.text  # tokens used
    for name in ("Send Welcome", "Weekly Batch", "Sales Only"):
        assert f'<a href="/console/campaigns/{found["campaign:" + name]}">{PROGRAM}.{name}</a>' in page.text
    assert '<label for="lead">Lead id or email</label>' in page.text


def test_the_preview_is_the_message_a_real_send_puts_in_the_outbox(srv):
    found = ids(srv)
    email = "preview.and.send@console.example.com"
    lead_id = new_lead(srv, email)
    browser = signed_in(srv, "/console/programs")
    campaign = found["campaign:Send Welcome"]
    page = browser.get(f"/console/emails/{found['email:Welcome']}", params={"lead": email, "campaign": campaign})
    assert page.status_code == 200 and "No preview" not in page.text
    frame = re.search(r'<iframe title="Preview of the email\'s HTML for lead \d+" sandbox src="([^"]+)">', page.text)
    assert frame, page.text
    preview_html = browser.get(html.unescape(frame.group(1)))
    policy = preview_html.headers["content-security-policy"]
    assert policy == "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"

    campaign_page = browser.get(f"/console/campaigns/{campaign}")
    requested = follow(browser, post(browser, campaign_page, f"/console/campaigns/{campaign}/request", {"lead": email}))
    notice = re.search(r"Requested for lead [^:]+: run (\d+)\.", requested.text)
    assert notice, requested.text
    sent = message_for(srv, email)
    assert sent.lead_id == lead_id and sent.campaign == f"{PROGRAM}.Send Welcome"
    assert int(notice.group(1)) in [r.id for r in srv.engine.campaign_run_page(campaign, limit=5)]

    # the page's preview, part by part, is what the run queued
    assert f'<td id="preview-subject">{escape(sent.subject)}</td>' in page.text  # as Jinja escapes
    assert f'<pre id="preview-text">{escape(sent.text)}</pre>' in page.text
    assert preview_html.text == sent.html
    # and so is the engine's, headers included
    preview = srv.engine.preview_email(found["email:Welcome"], LeadKey("IDNUM", str(lead_id)), campaign_id=campaign)
    m = preview.message
    assert (m.to_addr, m.from_name, m.from_addr, m.reply_to) == (
        sent.to_addr,
        sent.from_name,
        sent.from_addr,
        sent.reply_to,
    )
    assert (m.subject, m.text, m.html) == (sent.subject, sent.text, sent.html)
    # the lead's own values and the program's tokens are in it
    assert sent.subject == f"Hello {FIRST_NAME}: 10% off"
    assert sent.text == f"Hi {FIRST_NAME} ({email}): 10% off via Send Welcome nothing more"
    assert sent.html == (
        f"<p>Hi {html.escape(FIRST_NAME)} O&#x27;Hara, 10% off from {PROGRAM}</p>"
        "<p>The <b>console</b> team (Send Welcome)</p>"
    )
    assert sent.from_name == "10% off Team"


def test_a_preview_follows_token_edits_and_needs_no_campaign(srv):
    found = ids(srv)
    email = "preview.tokens@console.example.com"
    lead_id = new_lead(srv, email, FirstName="Ada")
    srv.engine.set_program_tokens(found["program"], [("Offer", "20% off")])
    try:
        browser = signed_in(srv, "/console/programs")
        page = browser.get(f"/console/emails/{found['email:Welcome']}", params={"lead": str(lead_id), "campaign": ""})
        assert '<td id="preview-subject">Hello Ada: 20% off</td>' in page.text
        assert f'<pre id="preview-text">Hi Ada ({email}): 20% off via  nothing more</pre>' in page.text
        frame = browser.get(f"/console/emails/{found['email:Welcome']}/preview", params={"lead": email, "campaign": ""})
        assert "(no campaign)</p>" in frame.text  # {{campaign.Name:default=...}} without a campaign
    finally:
        srv.engine.set_program_tokens(found["program"], [("Offer", "10% off")])


def test_an_unknown_lead_or_a_lead_a_send_skips_is_a_message_not_an_error(srv):
    browser = signed_in(srv, "/console/programs")
    email_id = ids(srv)["email:Welcome"]
    unknown = browser.get(f"/console/emails/{email_id}", params={"lead": "nobody@console.example.com"})
    assert unknown.status_code == 200
    assert 'role="alert">No preview: No lead found with EMAIL = nobody@console.example.com' in unknown.text
    garbage = browser.get(f"/console/emails/{email_id}", params={"lead": "not a lead"})
    assert "No preview: &#39;not a lead&#39; is neither a lead id nor an email address." in garbage.text
    assert browser.get(f"/console/emails/{email_id}/preview", params={"lead": "999999999"}).status_code == 404
    lead_id = new_lead(srv, "unsubscribed@console.example.com", Unsubscribed="true")
    skipped = browser.get(f"/console/emails/{email_id}", params={"lead": str(lead_id)})
    assert f"A send would skip lead {lead_id}: it is unsubscribed." in skipped.text
    assert '<td id="preview-subject">Hello' in skipped.text


# --- campaigns --------------------------------------------------------------------------


def test_the_campaigns_list_shows_program_kind_qualification_and_runs(srv):
    browser = signed_in(srv, "/console/programs")
    found = ids(srv)
    page = browser.get("/console/campaigns")
    assert page.status_code == 200
    row = re.search(
        rf'<a href="/console/campaigns/{found["campaign:Weekly Batch"]}">Weekly Batch</a>.*?</tr>', page.text, re.S
    )
    assert row, page.text
    assert f'<a href="/console/programs/{found["program"]}">{PROGRAM}</a>' in row.group(0)
    assert "<td>batch</td>" in row.group(0) and "<td>every time</td>" in row.group(0)
    assert "<caption>Smart campaigns, oldest first</caption>" in page.text


def test_a_campaigns_page_shows_its_smart_list_flow_and_runs_with_progress(srv):
    browser = signed_in(srv, "/console/programs")
    found = ids(srv)
    batch = browser.get(f"/console/campaigns/{found['campaign:Weekly Batch']}")
    assert batch.status_code == 200
    assert "Leads matching all of these filters:" in batch.text
    assert "<li>Member of list Console Program.Console Attendees</li>" in batch.text
    assert "<li>LastName is not Nobody or Noone</li>" in batch.text
    assert f'<strong>Send email</strong>: <a href="/console/emails/{found["email:Welcome"]}">Welcome</a>' in batch.text
    assert "<strong>Wait</strong>: 1 hour 30 minutes" in batch.text
    assert '<input id="run-at" name="run_at" type="datetime-local">' in batch.text

    trigger_id = found["campaign:Send Welcome"]
    email = "progress@console.example.com"
    new_lead(srv, email)
    page = browser.get(f"/console/campaigns/{trigger_id}")
    assert "Trigger: Campaign is Requested, from Web Service API." in page.text
    assert "<strong>Change score</strong>: LeadScore +5" in page.text
    done = follow(browser, post(browser, page, f"/console/campaigns/{trigger_id}/request", {"lead": email}))
    run_id = re.search(r"run (\d+)\.", done.text).group(1)  # type: ignore[union-attr]

    def finished() -> str | None:
        text = browser.get(f"/console/campaigns/{trigger_id}").text
        row = re.search(rf'<th scope="row">{run_id}</th>.*?</tr>', text, re.S)
        return row.group(0) if row and "status-done" in row.group(0) else None

    row = wait_for(finished, 30, f"run {run_id} to finish")
    assert "1 of 1 lead done" in row and "request (Web Service API)" in row
    assert row.count("<time ") == 3  # due, started, finished


def test_a_campaigns_runs_page_by_keyset_newest_first(srv):
    sales = ids(srv)["campaign:Sales Only"]
    new_lead(srv, "pages@console.example.com")
    made = [
        srv.engine.request_campaign("SALES", [LeadKey("EMAIL", "pages@console.example.com")], campaign_id=sales)
        for _ in range(22)
    ]
    browser = signed_in(srv, "/console/programs")
    first = browser.get(f"/console/campaigns/{sales}")
    shown = [int(i) for i in re.findall(r'<th scope="row">(\d+)</th>', first.text)]
    assert shown == sorted(made, reverse=True)[:20]
    older = re.search(r'href="(/console/campaigns/\d+\?before=\d+)">Older runs</a>', first.text)
    assert older, first.text
    second = browser.get(older.group(1))
    assert [int(i) for i in re.findall(r'<th scope="row">(\d+)</th>', second.text)] == sorted(made, reverse=True)[20:]
    assert "Older runs" not in second.text and f'href="/console/campaigns/{sales}">Newest runs</a>' in second.text


def test_requesting_and_scheduling_run_the_api_rules_and_show_faults(srv):
    browser = signed_in(srv, "/console/programs")
    found = ids(srv)
    sales, batch, trigger = found["campaign:Sales Only"], found["campaign:Weekly Batch"], found["campaign:Send Welcome"]
    new_lead(srv, "faults@console.example.com")
    page = browser.get(f"/console/campaigns/{sales}")
    refused = follow(
        browser, post(browser, page, f"/console/campaigns/{sales}/request", {"lead": "faults@console.example.com"})
    )
    assert 'role="alert">Campaign Console Program.Sales Only cannot be requested from Web Service API' in refused.text
    unknown = follow(
        browser, post(browser, page, f"/console/campaigns/{trigger}/request", {"lead": "ghost@console.example.com"})
    )
    assert 'role="alert">No lead found with EMAIL = ghost@console.example.com' in unknown.text
    not_batch = follow(browser, post(browser, page, f"/console/campaigns/{trigger}/schedule", {"when": "now"}))
    assert "is a trigger campaign; scheduleCampaign runs batch campaigns" in not_batch.text
    no_time = follow(browser, post(browser, page, f"/console/campaigns/{batch}/schedule", {"when": "at", "run_at": ""}))
    assert "Give a date and time" in no_time.text
    not_trigger = follow(
        browser, post(browser, page, f"/console/campaigns/{batch}/request", {"lead": "faults@console.example.com"})
    )
    assert "it is a batch campaign" in not_trigger.text


def test_scheduling_a_batch_run_shows_it_as_the_next_run(srv):
    browser = signed_in(srv, "/console/programs")
    batch = ids(srv)["campaign:Weekly Batch"]
    page = browser.get(f"/console/campaigns/{batch}")
    resp = post(browser, page, f"/console/campaigns/{batch}/schedule", {"when": "at", "run_at": "2099-05-01T09:30"})
    page = follow(browser, resp)
    run_id = re.search(r"Run (\d+) scheduled for 2099-05-01 09:30 UTC\.", page.text)
    assert run_id, page.text
    assert re.search(
        rf'<td id="next-run">run {run_id.group(1)} at <time datetime="2099-05-01T09:30:00[^"]*">2099-05-01 09:30:00 UTC</time></td>',
        page.text,
    )
    row = re.search(rf'<th scope="row">{run_id.group(1)}</th>.*?</tr>', page.text, re.S)
    assert row and "status-scheduled" in row.group(0) and "leads chosen when it starts" in row.group(0)
    listing = browser.get("/console/campaigns").text
    assert "2099-05-01 09:30:00 UTC" in listing
    now = follow(browser, post(browser, page, f"/console/campaigns/{batch}/schedule", {"when": "now"}))
    assert re.search(r"Run \d+ scheduled to run now\.", now.text)
    runs = srv.engine.campaign_run_page(batch, limit=10)
    assert [r.origin for r in runs[:2]] == ["schedule", "schedule"] and runs[1].id == int(run_id.group(1))
    assert [r.id for r in srv.engine.campaign_run_page(batch, before_id=runs[0].id, limit=1)] == [runs[1].id]


# --- what is refused ---------------------------------------------------------------------


def test_posts_without_the_csrf_token_change_nothing(srv):
    browser = signed_in(srv, "/console/programs")
    found = ids(srv)
    trigger, batch = found["campaign:Send Welcome"], found["campaign:Weekly Batch"]

    def state() -> tuple[object, ...]:
        detail = srv.engine.program_detail(found["program"])
        assert detail is not None
        runs = [[r.id for r in srv.engine.campaign_run_page(c, limit=100)] for c in (trigger, batch)]
        return detail.tokens, runs

    before = state()
    new_lead(srv, "forged@console.example.com")
    for url, data in (
        (f"/console/programs/{found['program']}/tokens", {"name": ["Offer"], "value": ["forged"]}),
        (f"/console/campaigns/{trigger}/request", {"lead": "forged@console.example.com"}),
        (f"/console/campaigns/{batch}/schedule", {"when": "now"}),
    ):
        assert browser.post(url, data=data).status_code == 403, url
        assert browser.post(url, data={**data, "csrf": "made-up"}).status_code == 403, url
    assert state() == before
    assert not outbox.list_messages(srv.engine.db, query="forged@console.example.com")


def test_unknown_ids_are_404_and_nothing_shows_without_signing_in(srv):
    browser = signed_in(srv, "/console/programs")
    for path in (
        "/console/programs/999999",
        "/console/programs/abc",
        "/console/emails/999999",
        "/console/emails/999999/preview?lead=1",
        "/console/campaigns/999999",
        "/console/campaigns/0",
    ):
        assert browser.get(path).status_code == 404, path
    page = browser.get("/console/programs")
    for path in (
        "/console/programs/999999/tokens",
        "/console/campaigns/999999/request",
        "/console/campaigns/999999/schedule",
    ):
        assert post(browser, page, path, {"lead": "1", "when": "now"}).status_code == 404, path
    anonymous = srv.browser()
    for path in ("/console/programs", "/console/campaigns", f"/console/emails/{ids(srv)['email:Welcome']}"):
        resp = anonymous.get(path)
        assert resp.status_code == 303 and resp.headers["location"].startswith("/console/login?next="), path


# --- the statements behind the pages ------------------------------------------------------

# Tables that grow with the instance (leads, what they do, what campaigns do to them).
LARGE = ("leads", "lead_values", "activities", "run_leads", "campaign_runs", "outbox", "campaign_leads", "lead_tokens")


class Rollback(Exception):
    pass


def test_every_statement_of_the_pages_reaches_large_tables_through_an_index(srv):
    """SQLite's plan of each statement the pages' engine calls send: no large table is read
    from end to end (a SCAN of it), no temporary B-tree sorts a campaign's runs, and a running
    run counts its leads still to go on the (run, status) index."""
    found = ids(srv)
    engine = srv.engine
    trigger, batch = found["campaign:Send Welcome"], found["campaign:Weekly Batch"]
    lead_id = new_lead(srv, "plans@console.example.com")
    run_id = engine.request_campaign("MKTOWS", [LeadKey("EMAIL", "plans@console.example.com")], campaign_id=trigger)
    sent: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(engine.db.engine, "before_cursor_execute", record)
    try:
        engine.program_page(limit=51)
        engine.program_page(after=PROGRAM, limit=51)
        engine.program_detail(found["program"])
        engine.email_detail(found["email:Welcome"])
        for key in (LeadKey("EMAIL", "plans@console.example.com"), LeadKey("IDNUM", str(lead_id))):
            engine.preview_email(found["email:Welcome"], key, campaign_id=trigger)
        engine.campaign_page(limit=51)
        engine.campaign_page(after_id=1, limit=51)
        engine.campaign_detail(trigger)
        engine.campaign_detail(batch)
        for campaign in (trigger, batch):
            engine.campaign_run_page(campaign, limit=21)
            engine.campaign_run_page(campaign, before_id=run_id + 1, limit=21)
        with pytest.raises(Rollback), engine.db.write() as conn:  # the run as it is while it runs
            conn.execute(update(campaign_runs).where(campaign_runs.c.id == run_id).values(status="running"))
            [running] = console_reads.run_page(conn, trigger, before_id=run_id + 1, limit=1)
            assert running.id == run_id and running.status == "running"
            raise Rollback
    finally:
        event.remove(engine.db.engine, "before_cursor_execute", record)
    problems, counted = [], []
    raw = engine.db.engine.raw_connection()
    try:
        for sql, params in sent:
            plan = [row[3] for row in raw.cursor().execute("EXPLAIN QUERY PLAN " + sql, params or ()).fetchall()]
            scans = [line for line in plan if re.match(rf"SCAN ({'|'.join(LARGE)})\b", line)]
            sorted_runs = "ORDER BY campaign_runs.id" in sql and any("TEMP B-TREE" in line for line in plan)
            if scans or sorted_runs:
                problems.append(f"{sql}\n  {params}\n  " + "\n  ".join(plan))
            if "FROM run_leads" in sql:
                counted += plan
    finally:
        raw.close()
    assert not problems, "\n\n".join(problems)
    assert any("USING COVERING INDEX ix_run_leads_status (run_id=? AND status=?)" in line for line in counted), counted
