"""Campaign runs: requestCampaign, scheduleCampaign and the resumable `campaign.run` job
(docs/campaigns.md)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from campaign_helpers import (
    campaign,
    lead_states,
    load,
    messages,
    per_step_counts,
    request,
    run,
    run_jobs,
    run_row,
    runs_of,
    schedule,
)
from engine_helpers import all_activities, counts, create
from sqlalchemy import event as sa_event
from sqlalchemy import insert, select

from mktows.engine.campaigns import flow, programs
from mktows.engine.campaigns import runs as campaigns
from mktows.engine.campaigns.outbox import Message, queue_email
from mktows.engine.leads.registry import field_registry
from mktows.engine.models import LeadKey
from mktows.errors import CampaignNotFound
from mktows.store.tables import campaign_leads, lead_tokens, run_leads, static_lists
from mktows.store.tables import jobs as jobs_table
from mktows.workers import Workers

INSTANCE = """\
channels:
  - {name: Webinar, statuses: [Invited, Registered, Attended]}
lists: [Seed List]
programs:
  - name: Seed Program
    channel: Webinar
    tokens: {my.Offer: "10% off", my.HoldoutToken: original}
    lists: [Import List]
    emails:
      - name: Welcome
        from: {name: Seed Team, email: team@example.com}
        reply_to: replies@example.com
        subject: "Hello {{lead.First Name:default=friend}}"
        html: "<p>Hi {{lead.First Name:default=friend}}: {{my.Offer}} ({{my.HoldoutToken}}) {{my.Missing:default=none}}</p>"
        text: "Hi {{lead.FirstName:default=friend}}: {{my.Offer}} ({{my.HoldoutToken}}) {{campaign.Name}} {{program.Name}}"
    campaigns:
      - name: Seed Campaign
        trigger: {campaign_is_requested: [web_service_api]}
        flow: [{send_email: Welcome}]
      - name: Sales Only
        trigger: {campaign_is_requested: [sales_insight]}
        flow: [{send_email: Welcome}]
      - name: Once
        trigger: {campaign_is_requested: [web_service_api, sales_insight]}
        qualification: once
        flow: [{send_email: Welcome}]
      - name: Paused
        active: false
        trigger: {campaign_is_requested: [web_service_api]}
        flow: [{send_email: Welcome}]
      - name: Seed Batch
        smart_list: [{member_of_list: Import List}]
        flow: [{send_email: Welcome}]
"""


@pytest.fixture
def loaded(engine):
    load(engine, INSTANCE)
    return engine


def test_request_needs_an_active_trigger_campaign_with_that_source(loaded):
    lead = create(loaded, "a@example.com")
    before = counts(loaded)
    cases = [
        ("Seed Program.Seed Batch", "MKTOWS", "batch campaign"),
        ("Seed Program.Paused", "MKTOWS", "not active"),
        ("Seed Program.Seed Campaign", "SALES", "allows Web Service API, not Sales Insight"),
        ("Seed Program.Sales Only", "MKTOWS", "allows Sales Insight, not Web Service API"),
    ]
    for name, source, why in cases:
        with pytest.raises(CampaignNotFound) as err:
            request(loaded, name, [lead], source=source)
        assert err.value.code == 20113 and why in err.value.detail and name in err.value.detail
    assert counts(loaded) == before and runs_of(loaded, "Seed Program.Seed Campaign") == []
    assert request(loaded, "Seed Program.Sales Only", [lead], source="SALES") > 0


def test_request_logs_and_sends_one_personalised_message_per_lead(loaded):
    ann = create(loaded, "ann@example.com", FirstName="Ann <b>")
    bob = create(loaded, "bob@example.com", FirstName="Bob")
    anon = create(loaded, "nameless@example.com")
    overrides = [("{{my.HoldoutToken}}", "overridden")]
    run_id = request(loaded, "seed program.seed campaign", [ann, bob, anon, bob], tokens=overrides)
    row = run_row(loaded, run_id)
    assert (row.origin, row.source, row.status, row.lead_count) == ("request", "MKTOWS", "scheduled", 3)
    assert json.loads(row.tokens) == [["HoldoutToken", "overridden"]]
    assert [j.status for j in run_jobs(loaded, run_id)] == ["queued"]

    assert run(loaded, run_id) == "done"
    done = run_row(loaded, run_id)
    assert done.status == "done" and done.started_at is not None and done.finished_at is not None
    sent = messages(loaded, run_id)
    assert [(m.lead_id, m.to_addr, m.step_index) for m in sent] == [
        (ann, "ann@example.com", 0),
        (bob, "bob@example.com", 0),
        (anon, "nameless@example.com", 0),
    ]
    first = sent[0]
    assert (first.subject, first.from_name, first.from_addr, first.reply_to) == (
        "Hello Ann <b>",
        "Seed Team",
        "team@example.com",
        "replies@example.com",
    )
    assert first.html == "<p>Hi Ann &lt;b&gt;: 10% off (overridden) none</p>"
    assert first.text == "Hi Ann <b>: 10% off (overridden) Seed Campaign Seed Program"
    assert (first.campaign, first.email_name) == ("Seed Program.Seed Campaign", "Welcome")
    assert sent[2].subject == "Hello friend"
    # the override lived for this run only
    with loaded.db.read() as conn:
        assert programs.find_program(conn, "Seed Program").tokens == [
            ("Offer", "10% off"),
            ("HoldoutToken", "original"),
        ]
    again = request(loaded, "Seed Program.Seed Campaign", [bob])
    run(loaded, again)
    assert messages(loaded, again)[0].html.startswith("<p>Hi Bob: 10% off (original)")

    acts = [a for a in all_activities(loaded, bob) if a.type_name in ("Request Campaign", "Send Email")]
    assert [a.type_name for a in acts] == ["Request Campaign", "Send Email"] * 2
    req, send = acts[0], acts[1]
    assert (req.campaign, req.asset_name) == ("Seed Program.Seed Campaign", "Seed Program.Seed Campaign")
    assert req.attributes == [
        ("Source", "Web Service API"),
        ("Campaign ID", str(campaign(loaded, "Seed Program.Seed Campaign").id)),
        ("Lead ID", str(bob)),
    ]
    assert (send.campaign, send.asset_name) == ("Seed Program.Seed Campaign", "Welcome")
    assert send.attributes == [
        ("Mailing ID", str(first.email_id)),
        ("Step ID", "1"),
        ("Choice Number", "0"),
        ("Lead ID", str(bob)),
    ]


def test_qualification_once_and_every_time(loaded):
    lead = create(loaded, "q@example.com")
    first = request(loaded, "Seed Program.Once", [lead])
    second = request(loaded, "Seed Program.Once", [lead], source="SALES")
    assert run_row(loaded, second).lead_count == 0
    for run_id in (first, second):
        assert run(loaded, run_id) == "done"
    assert len(messages(loaded)) == 1
    # every request is logged, even when the lead does not enter the flow again
    assert [a.type_name for a in all_activities(loaded, lead)].count("Request Campaign") == 2
    for _ in range(2):
        run(loaded, request(loaded, "Seed Program.Seed Campaign", [lead]))
    assert len(messages(loaded)) == 3
    with loaded.db.read() as conn:
        history = {r.campaign_id: r.runs for r in conn.execute(select(campaign_leads))}
    assert history == {
        campaign(loaded, "Seed Program.Once").id: 1,
        campaign(loaded, "Seed Program.Seed Campaign").id: 2,
    }


def test_schedule_needs_an_active_batch_campaign(loaded):
    for name in ("Seed Program.Seed Campaign", "Seed Program.Paused"):
        with pytest.raises(CampaignNotFound) as err:
            schedule(loaded, name)
        assert err.value.code == 20113


def test_scheduled_run_selects_its_leads_when_it_starts(loaded):
    early = create(loaded, "early@example.com")
    loaded.list_operation("ADDTOLIST", "MKTOLISTNAME", "Seed Program.Import List", [_id(early)])
    run_at = loaded.now() + timedelta(hours=1)
    run_id = schedule(loaded, "Seed Program.Seed Batch", run_at=run_at, tokens=[("my.Offer", "call")])
    assert [j.run_at for j in run_jobs(loaded, run_id)] == [run_at]
    late = create(loaded, "late@example.com")
    loaded.list_operation("ADDTOLIST", "MKTOLISTNAME", "Seed Program.Import List", [_id(late)])
    assert run(loaded, run_id) == "scheduled"  # not due: nothing happens early
    assert lead_states(loaded, run_id) == {} and messages(loaded) == []
    loaded._clock.advance(hours=1)
    assert run(loaded, run_id) == "done"
    assert sorted(m.lead_id for m in messages(loaded, run_id)) == [early, late]
    assert "call" in messages(loaded, run_id)[0].html
    row = run_row(loaded, run_id)
    assert (row.origin, row.lead_count, row.status) == ("schedule", 2, "done")


def test_per_recipient_tokens_beat_the_call_and_are_consumed_by_the_run(loaded):
    a, b = create(loaded, "a@example.com"), create(loaded, "b@example.com")
    loaded.list_operation("ADDTOLIST", "MKTOLISTNAME", "Seed Program.Import List", [_id(a), _id(b)])
    batch = campaign(loaded, "Seed Program.Seed Batch")
    with loaded.db.write() as conn:  # what importToList binds for the campaign's next run
        list_id = programs.program_list_id(conn, "Seed Program", "Import List")
        conn.execute(
            insert(lead_tokens).values(
                campaign_id=batch.id,
                lead_id=a,
                list_id=list_id,
                created_at=loaded.now(),
                tokens=json.dumps([["my.HoldoutToken", "row value"], ["Offer", "row offer"]]),
            )
        )
    run_id = schedule(loaded, "Seed Program.Seed Batch", tokens=[("{{my.HoldoutToken}}", "call value")])
    assert run(loaded, run_id) == "done"
    by_lead = {m.lead_id: m.text for m in messages(loaded, run_id)}
    assert by_lead[a].startswith("Hi friend: row offer (row value)")
    assert by_lead[b].startswith("Hi friend: 10% off (call value)")
    with loaded.db.read() as conn:
        assert conn.execute(select(lead_tokens)).all() == []
        bound = conn.execute(select(run_leads.c.tokens).where(run_leads.c.lead_id == a)).scalar_one()
        assert json.loads(bound)[0][1] == "row value"
        assert programs.find_program(conn, "Seed Program").tokens == [
            ("Offer", "10% off"),
            ("HoldoutToken", "original"),
        ]
    # the next run is back to the call / program values
    rerun = schedule(loaded, "Seed Program.Seed Batch")
    run(loaded, rerun)
    assert {m.lead_id: m.text for m in messages(loaded, rerun)}[a].startswith("Hi friend: 10% off (original)")


def test_an_interrupted_run_resumes_without_repeating_or_skipping(loaded):
    ids = [create(loaded, f"r{i}@example.com", FirstName=f"R{i}") for i in range(25)]
    run_id = request(loaded, "Seed Program.Seed Campaign", ids)
    # a pass stopped after one chunk (a worker killed between transactions)
    assert run(loaded, run_id, chunk_leads=10, max_chunks=1) == "running"
    assert len(messages(loaded, run_id)) == 10
    # a crash inside a chunk: its transaction never commits
    with pytest.raises(RuntimeError), loaded.db.write() as conn:
        plan = flow.compile_plan(conn, field_registry(conn), run_id, campaign(loaded, "Seed Program.Seed Campaign"), [])
        rows = campaigns._due_leads(conn, run_id, loaded.now(), 10)
        assert flow.execute_chunk(conn, field_registry(conn), plan, rows, loaded.now()).processed == 10
        raise RuntimeError("worker killed")
    assert len(messages(loaded, run_id)) == 10
    assert run(loaded, run_id, chunk_leads=10) == "done"
    assert run(loaded, run_id) == "done"  # a job that runs again does nothing
    assert sorted(m.lead_id for m in messages(loaded, run_id)) == ids
    assert set(per_step_counts(loaded).values()) == {1}
    for lead_id in ids:
        assert [a.type_name for a in all_activities(loaded, lead_id)].count("Send Email") == 1


def test_the_job_runs_through_the_workers(loaded):
    lead = create(loaded, "w@example.com")
    run_id = request(loaded, "Seed Program.Seed Campaign", [lead])
    Workers(loaded.db, clock=loaded.now).run_until_idle()
    assert run_row(loaded, run_id).status == "done"
    assert [m.lead_id for m in messages(loaded, run_id)] == [lead]
    assert all(j.status == "done" for j in run_jobs(loaded, run_id))


def test_a_run_whose_smart_list_no_longer_resolves_fails(loaded):
    run_id = schedule(loaded, "Seed Program.Seed Batch")
    with loaded.db.write() as conn:
        conn.execute(static_lists.delete())
    assert run(loaded, run_id) == "failed"
    assert run_row(loaded, run_id).finished_at is not None
    assert run(loaded, run_id) == "failed"


def _id(lead_id: int) -> LeadKey:
    return LeadKey("IDNUM", str(lead_id))


def test_a_chunk_stores_its_messages_with_one_insert_and_one_delivery_job(loaded):
    ids = [create(loaded, f"b{i}@example.com", FirstName=f"B{i}") for i in range(30)]
    run_id = request(loaded, "Seed Program.Seed Campaign", ids)
    inserts: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO OUTBOX"):
            inserts.append(len(parameters) if executemany else 1)

    sa_event.listen(loaded.db.engine, "before_cursor_execute", count)
    try:
        assert run(loaded, run_id, chunk_leads=200) == "done"
    finally:
        sa_event.remove(loaded.db.engine, "before_cursor_execute", count)
    assert len(inserts) == 1  # one statement for the chunk (executemany or multi-row VALUES)
    sent = messages(loaded, run_id)
    assert [m.lead_id for m in sent] == ids
    assert [m.subject for m in sent] == [f"Hello B{i}" for i in range(30)]
    assert len({m.message_id for m in sent}) == 30
    with loaded.db.read() as conn:
        delivery = conn.execute(select(jobs_table).where(jobs_table.c.kind == "email.deliver")).all()
    assert len(delivery) == 1


def test_a_lead_whose_message_exists_gets_no_second_one_nor_a_second_send_email(loaded):
    ids = [create(loaded, f"e{i}@example.com", FirstName=f"E{i}") for i in range(3)]
    run_id = request(loaded, "Seed Program.Seed Campaign", ids)
    with loaded.db.write() as conn:  # as if an earlier pass had queued lead 1's message
        queue_email(
            conn,
            Message(
                to_addr="e1@example.com",
                from_addr="team@example.com",
                from_name=None,
                reply_to=None,
                subject="earlier",
                html="",
                text="",
                lead_id=ids[1],
                run_id=run_id,
                step_index=0,
            ),
        )
    assert run(loaded, run_id) == "done"
    sent = {m.lead_id: m.subject for m in messages(loaded, run_id)}
    assert sent == {ids[0]: "Hello E0", ids[1]: "earlier", ids[2]: "Hello E2"}
    assert set(per_step_counts(loaded).values()) == {1}
    assert [[a.type_name for a in all_activities(loaded, i)].count("Send Email") for i in ids] == [1, 0, 1]
