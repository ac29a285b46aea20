"""Flow steps: each step's effect and activity, with the campaign's full name, readable
through getLeadActivity / getLeadChanges (docs/campaigns.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from campaign_helpers import lead_states, load, messages, request, run, run_jobs, run_row, runs_of
from engine_helpers import all_activities, attrs, changes, create, lead
from sqlalchemy import select

from mktows.engine.models import LeadInput, LeadKey, ListSelector, UpdatedAtSelector
from mktows.store.tables import program_members
from mktows.workers import Workers

INSTANCE = """\
lead_fields:
  - {name: Offer_Code, display_name: Offer Code, type: string}
channels:
  - name: Webinar
    statuses: [Invited, Registered, {name: Attended, step: 30, success: true}]
lists: [Newsletter]
programs:
  - name: Flow Program
    channel: Webinar
    tokens: {my.Offer: SPRING}
    lists: [VIP]
    emails:
      - {name: Welcome, from: team@example.com, subject: "Hi {{lead.First Name}}", text: "Code {{lead.Offer Code}}"}
      - {name: Later, from: team@example.com, subject: Later, text: later}
    campaigns:
      - name: Data
        trigger: {campaign_is_requested: [web_service_api]}
        flow:
          - {change_data_value: {field: Offer Code, value: "{{my.Offer}}-{{lead.FirstName}}"}}
          - {send_email: Welcome}
          - {change_data_value: {field: Title, value: ""}}
          - {change_data_value: {field: NumberOfEmployees, value: "{{lead.First Name}}"}}
      - name: Score
        trigger: {campaign_is_requested: [web_service_api]}
        flow: [{change_score: {change: "+10"}}, {change_score: {change: "-3"}}, {change_score: {field: Lead Score, change: "=50"}},
               {change_score: {change: "=50"}}]
      - name: Lists
        trigger: {campaign_is_requested: [web_service_api]}
        flow: [{add_to_list: VIP}, {add_to_list: VIP}, {remove_from_list: Newsletter}, {remove_from_list: Newsletter}]
      - name: Status
        trigger: {campaign_is_requested: [web_service_api]}
        flow: [{change_program_status: {status: Registered}}, {change_program_status: {status: Attended}},
               {change_program_status: {status: Invited}}]
      - name: Moment
        trigger: {campaign_is_requested: [web_service_api]}
        flow: [{interesting_moment: {type: Milestone, description: "{{lead.First Name}} got {{my.Offer}}"}}]
      - name: Waiting
        trigger: {campaign_is_requested: [web_service_api]}
        flow: [{send_email: Welcome}, {wait: {hours: 1}}, {send_email: Later}]
      - name: Caller
        trigger: {campaign_is_requested: [web_service_api]}
        flow: [{request_campaign: Flow Program.Callee}, {interesting_moment: {description: called}}]
      - name: Callee
        trigger: {campaign_is_requested: [sales_insight]}
        flow: [{send_email: Later}]
      - name: Stopper
        trigger: {campaign_is_requested: [web_service_api]}
        flow: [{remove_from_flow: [Flow Program.Waiting]}]
      - name: Quitter
        trigger: {campaign_is_requested: [web_service_api]}
        flow: [{remove_from_flow: []}, {send_email: Welcome}]
"""

CAMPAIGN = "Flow Program.{}"


@pytest.fixture
def loaded(engine):
    load(engine, INSTANCE)
    return engine


def go(engine, name: str, lead_ids: list[int]) -> int:
    run_id = request(engine, CAMPAIGN.format(name), lead_ids)
    run(engine, run_id)
    return run_id


def of(engine, lead_id: int, *types: str):
    return [a for a in all_activities(engine, lead_id) if a.type_name in types]


def test_change_data_value_renders_tokens_and_logs_the_campaign_as_reason(loaded):
    ann = create(loaded, "ann@example.com", FirstName="Ann", Title="Boss", NumberOfEmployees="5")
    before = lead(loaded, ann).updated_at
    go(loaded, "Data", [ann])
    record = lead(loaded, ann)
    assert attrs(record)["Offer_Code"] == "SPRING-Ann" and "Title" not in attrs(record)
    assert attrs(record)["NumberOfEmployees"] == "5"  # an invalid value skips the step
    assert record.updated_at > before
    page = loaded.page_leads(UpdatedAtSelector(oldest=before + timedelta(microseconds=1)))
    assert [x.id for x in page.leads] == [ann]
    # the email sees the value set by the step before it
    assert messages(loaded)[0].text == "Code SPRING-Ann"
    acts = of(loaded, ann, "Change Data Value", "Send Email")
    assert [a.type_name for a in acts][-3:] == ["Change Data Value", "Send Email", "Change Data Value"]
    cdv = acts[-3]
    reason = "Changed by Smart Campaign Flow Program.Data action Change Data Value"
    assert (cdv.asset_name, cdv.campaign) == ("Offer Code", "Flow Program.Data")
    assert cdv.attributes == [
        ("Attribute Name", "Offer Code"),
        ("Old Value", ""),
        ("New Value", "SPRING-Ann"),
        ("Reason", reason),
        ("Step ID", "1"),
        ("Choice Number", "0"),
        ("Lead ID", str(ann)),
    ]
    cleared = acts[-1]
    assert cleared.attributes[:3] == [("Attribute Name", "Job Title"), ("Old Value", "Boss"), ("New Value", "")]
    assert ("Step ID", "3") in cleared.attributes
    seen = [a for a in changes(loaded, names=["Change Data Value"]) if a.campaign == "Flow Program.Data"]
    assert len(seen) == 2


def test_change_score(loaded):
    a = create(loaded, "a@example.com")
    go(loaded, "Score", [a])
    assert attrs(lead(loaded, a))["LeadScore"] == "50"
    scores = of(loaded, a, "Change Score")
    reason = "Changed by Smart Campaign Flow Program.Score action Change Score"
    assert [s.attributes for s in scores] == [
        [("Change Value", "+10"), ("New Value", "10"), ("Old Value", "0"), ("Reason", reason), ("Lead ID", str(a))],
        [("Change Value", "-3"), ("New Value", "7"), ("Old Value", "10"), ("Reason", reason), ("Lead ID", str(a))],
        [("Change Value", "=50"), ("New Value", "50"), ("Old Value", "7"), ("Reason", reason), ("Lead ID", str(a))],
    ]  # the last step changes nothing and logs nothing
    assert {(s.asset_name, s.campaign) for s in scores} == {("Lead Score", "Flow Program.Score")}
    cdv = of(loaded, a, "Change Data Value")
    assert [dict(c.attributes)["New Value"] for c in cdv] == ["10", "7", "50"]
    assert dict(cdv[0].attributes)["Reason"] == reason


def test_list_steps_log_only_real_changes(loaded):
    a = create(loaded, "a@example.com")
    loaded.list_operation("ADDTOLIST", "MKTOLISTNAME", "Newsletter", [LeadKey("IDNUM", str(a))])
    go(loaded, "Lists", [a])
    assert [x.id for x in loaded.page_leads(ListSelector(list_name="Flow Program.VIP")).leads] == [a]
    assert loaded.page_leads(ListSelector(list_name="Newsletter")).leads == []
    acts = of(loaded, a, "Add to List", "Remove from List")
    assert [(x.type_name, x.asset_name, x.campaign) for x in acts] == [
        ("Add to List", "Newsletter", None),
        ("Add to List", "VIP", "Flow Program.Lists"),
        ("Remove from List", "Newsletter", "Flow Program.Lists"),
    ]
    assert acts[1].attributes[-1] == ("Lead ID", str(a))


def test_change_program_status_moves_forward_only(loaded):
    a = create(loaded, "a@example.com")
    go(loaded, "Status", [a])
    with loaded.db.read() as conn:
        member = conn.execute(select(program_members)).one()
    assert (member.lead_id, member.status, member.success) == (a, "Attended", True)
    acts = of(loaded, a, "Change Status in Progression")
    assert [(dict(x.attributes)["Old Status"], dict(x.attributes)["New Status"]) for x in acts] == [
        ("Not in Program", "Registered"),
        ("Registered", "Attended"),
    ]
    assert (acts[1].asset_name, acts[1].campaign) == ("Flow Program", "Flow Program.Status")
    assert dict(acts[1].attributes)["Success"] == "true" and acts[1].attributes[-1] == ("Lead ID", str(a))


def test_interesting_moment(loaded):
    a = create(loaded, "a@example.com", FirstName="Ann")
    go(loaded, "Moment", [a])
    (moment,) = of(loaded, a, "Interesting Moment")
    assert (moment.asset_name, moment.campaign) == ("Ann got SPRING", "Flow Program.Moment")
    assert moment.attributes == [
        ("Type", "Milestone"),
        ("Description", "Ann got SPRING"),
        ("Step ID", "1"),
        ("Choice Number", "0"),
        ("Lead ID", str(a)),
    ]


def test_wait_then_resume(loaded):
    a, b = create(loaded, "a@example.com"), create(loaded, "b@example.com")
    run_id = request(loaded, CAMPAIGN.format("Waiting"), [a, b])
    assert run(loaded, run_id) == "running"
    assert lead_states(loaded, run_id) == {a: ("waiting", 2), b: ("waiting", 2)}
    wakes = [j.run_at for j in run_jobs(loaded, run_id)][1:]
    assert len(wakes) == 1 and wakes[0] > loaded.now() + timedelta(minutes=59)
    assert [m.email_name for m in messages(loaded, run_id)] == ["Welcome", "Welcome"]
    loaded._clock.advance(minutes=30)
    assert run(loaded, run_id) == "running" and len(messages(loaded, run_id)) == 2
    loaded._clock.advance(minutes=31)
    assert run(loaded, run_id) == "done"
    assert [(m.lead_id, m.email_name, m.step_index) for m in messages(loaded, run_id)] == [
        (a, "Welcome", 0),
        (a, "Later", 2),
        (b, "Welcome", 0),
        (b, "Later", 2),
    ]
    assert lead_states(loaded, run_id) == {a: ("done", 3), b: ("done", 3)}
    assert "Wait" not in [x.type_name for x in all_activities(loaded, a)]


def test_request_campaign_step_starts_a_run_of_the_other_campaign(loaded):
    a = create(loaded, "a@example.com")
    go(loaded, "Caller", [a])
    (callee_run,) = runs_of(loaded, CAMPAIGN.format("Callee"))
    assert (callee_run.origin, callee_run.source, callee_run.lead_count) == ("flow", None, 1)
    api, req = of(loaded, a, "Request Campaign")
    assert (api.campaign, api.attributes[0]) == ("Flow Program.Caller", ("Source", "Web Service API"))
    assert (req.campaign, req.asset_name) == ("Flow Program.Callee", "Flow Program.Callee")
    assert req.attributes[0] == ("Source", "Marketo Flow Action")
    assert of(loaded, a, "Interesting Moment")[0].campaign == "Flow Program.Caller"
    assert run(loaded, callee_run.id) == "done"
    assert [(m.lead_id, m.campaign) for m in messages(loaded, callee_run.id)] == [(a, "Flow Program.Callee")]


def test_remove_from_flow_of_another_campaign(loaded):
    a, b = create(loaded, "a@example.com"), create(loaded, "b@example.com")
    waiting = request(loaded, CAMPAIGN.format("Waiting"), [a, b])
    run(loaded, waiting)
    go(loaded, "Stopper", [a])
    assert lead_states(loaded, waiting) == {a: ("removed", 2), b: ("waiting", 2)}
    (removed,) = of(loaded, a, "Remove from Flow")
    assert (removed.asset_name, removed.campaign) == ("Flow Program.Waiting", "Flow Program.Stopper")
    loaded._clock.advance(hours=2)
    assert run(loaded, waiting) == "done"
    assert [(m.lead_id, m.email_name) for m in messages(loaded, waiting)] == [
        (a, "Welcome"),
        (b, "Welcome"),
        (b, "Later"),
    ]
    # a lead in no running flow of that campaign: no activity
    go(loaded, "Stopper", [b])
    assert of(loaded, b, "Remove from Flow") == []


def test_remove_from_flow_defaults_to_this_campaign(loaded):
    a = create(loaded, "a@example.com")
    run_id = go(loaded, "Quitter", [a])
    assert lead_states(loaded, run_id) == {a: ("removed", 1)}
    assert run_row(loaded, run_id).status == "done" and messages(loaded) == []
    assert of(loaded, a, "Remove from Flow")[0].asset_name == "Flow Program.Quitter"


def test_leads_without_an_email_address_or_unsubscribed_get_no_email(loaded):
    nobody = loaded.sync_lead(
        LeadInput(foreign_sys_person_id="x", foreign_sys_type="CUSTOM", attributes=[("FirstName", "NoMail")]),
        return_lead=False,
    ).lead_id
    unsub = create(loaded, "u@example.com", FirstName="Unsub", Unsubscribed="true")
    go(loaded, "Data", [nobody, unsub])
    assert messages(loaded) == []
    assert of(loaded, nobody, "Send Email") == [] and of(loaded, unsub, "Send Email") == []
    assert attrs(lead(loaded, nobody))["Offer_Code"] == "SPRING-NoMail"  # the other steps still run


def test_the_wake_up_job_resumes_waiting_leads(loaded):
    a = create(loaded, "a@example.com")
    run_id = request(loaded, CAMPAIGN.format("Waiting"), [a])
    workers = Workers(loaded.db, clock=loaded.now)
    workers.run_until_idle()
    assert lead_states(loaded, run_id) == {a: ("waiting", 2)}
    workers.run_until_idle()  # the wake-up job is not due yet
    assert run_row(loaded, run_id).status == "running"
    loaded._clock.advance(hours=1)
    workers.run_until_idle()
    assert run_row(loaded, run_id).status == "done"
    assert [m.email_name for m in messages(loaded, run_id)] == ["Welcome", "Later"]
