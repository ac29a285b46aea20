"""Program, campaign, email and list lookups and program cloning."""

from __future__ import annotations

import pytest
import yaml
from engine_helpers import create
from sqlalchemy import func, insert, select

from mktows.engine.campaigns import catalog, clones
from mktows.engine.campaigns import programs as prog
from mktows.engine.models import LeadKey, ProgressionStatus
from mktows.errors import BadParameter, CampaignNotFound, ListNotFound
from mktows.instance import apply_instance, parse_instance
from mktows.store.tables import list_members, program_costs

INSTANCE = """\
channels:
  - {name: Webinar, statuses: [Invited, {name: Attended, step: 30, success: true}, {name: Registered, step: 20}]}
tag_types: [{name: Region, values: [North]}]
lists: [Global List]
campaigns:
  - {name: Outside, trigger: {campaign_is_requested: [web_service_api]}}
  - {name: Zed Sales, trigger: {campaign_is_requested: [sales_insight]}}
programs:
  - name: ER Demo
    channel: Webinar
    tags: {Region: North}
    costs: [{month: "2026-01", amount: 100}]
    tokens: {my.Offer: "10% off"}
    lists: [Seed List, VIP]
    emails:
      - {name: Welcome, from: team@example.com, subject: Hi, text: "Hi {{my.Offer}}"}
    campaigns:
      - name: Triggered Campaign
        description: the sample
        trigger: {campaign_is_requested: [web_service_api, sales_insight]}
        flow: [{send_email: Welcome}, {add_to_list: VIP}, {request_campaign: ER Demo.Other Trigger},
               {change_program_status: {status: Attended, program: ER Demo}}, {remove_from_flow: [Other Trigger]}]
      - {name: Other Trigger, trigger: {campaign_is_requested: web_service_api}}
      - {name: Inactive, active: false, trigger: {campaign_is_requested: web_service_api}}
      - name: Batch
        smart_list: [{member_of_list: Seed List}, {not_member_of_list: Global List}]
        flow: [{send_email: ER Demo.Welcome}]
  - name: Q1.2026 Webinar
    campaigns:
      - {name: Triggered Campaign, trigger: {campaign_is_requested: [web_service_api]}}
"""


@pytest.fixture
def loaded(engine):
    apply_instance(engine, parse_instance(yaml.safe_load(INSTANCE), "programs.yaml"))
    return engine


def test_find_program_is_case_insensitive_and_faults_20113(loaded):
    with loaded.db.read() as conn:
        program = prog.find_program(conn, "  er demo ")
        assert (program.name, program.channel, program.tokens, program.tags) == (
            "ER Demo",
            "Webinar",
            [("Offer", "10% off")],
            [("Region", "North")],
        )
        assert prog.program_by_id(conn, program.id).name == "ER Demo"
        with pytest.raises(CampaignNotFound) as err:
            prog.find_program(conn, "Nope")
        assert err.value.code == 20113
        with pytest.raises(CampaignNotFound):
            prog.program_by_id(conn, 999999)


def test_find_campaign_by_program_and_name_or_dotted_full_name(loaded):
    with loaded.db.read() as conn:
        by_pair = prog.find_campaign(conn, "ER DEMO", "triggered campaign")
        assert (by_pair.full_name, by_pair.description) == ("ER Demo.Triggered Campaign", "the sample")
        assert prog.find_campaign(conn, "ER Demo", "ER Demo.Triggered Campaign").id == by_pair.id
        assert prog.find_campaign(conn, None, "er demo.triggered campaign").id == by_pair.id
        dotted = prog.find_campaign(conn, None, "Q1.2026 Webinar.Triggered Campaign")
        assert dotted.program_name == "Q1.2026 Webinar" and dotted.id != by_pair.id
        outside = prog.find_campaign(conn, None, "outside")
        assert (outside.program_id, outside.full_name) == (None, "Outside")
        assert prog.campaign_by_id(conn, outside.id).name == "Outside"
        for program_name, name in [
            ("ER Demo", "Nope"),
            ("Nope", "Batch"),
            (None, "Batch"),
            ("Q1.2026 Webinar", "Batch"),
        ]:
            with pytest.raises(CampaignNotFound):
                prog.find_campaign(conn, program_name, name)
        with pytest.raises(CampaignNotFound):
            prog.campaign_by_id(conn, 999999)


def test_campaigns_for_source_filters_sorts_and_matches_full_names(loaded):
    with loaded.db.read() as conn:
        names = [c.full_name for c in prog.campaigns_for_source(conn, "MKTOWS", None, False)]
        assert names == [
            "ER Demo.Other Trigger",
            "ER Demo.Triggered Campaign",
            "Outside",
            "Q1.2026 Webinar.Triggered Campaign",
        ]
        assert [c.full_name for c in prog.campaigns_for_source(conn, "sales", None, False)] == [
            "ER Demo.Triggered Campaign",
            "Zed Sales",
        ]
        assert [c.full_name for c in prog.campaigns_for_source(conn, "MKTOWS", "TRIGGERED", False)] == [
            "ER Demo.Triggered Campaign",
            "Q1.2026 Webinar.Triggered Campaign",
        ]
        assert [c.full_name for c in prog.campaigns_for_source(conn, "MKTOWS", "ER Demo.Triggered Campaign", True)] == [
            "ER Demo.Triggered Campaign"
        ]
        assert prog.campaigns_for_source(conn, "MKTOWS", "er demo.triggered campaign", True) == []
        assert prog.campaigns_for_source(conn, "MKTOWS", "Batch", False) == []  # batch campaigns never qualify
        assert prog.campaigns_for_source(conn, "MKTOWS", "Inactive", False) == []


def test_campaigns_for_source_orders_same_names_by_id(loaded):
    now = loaded.now()
    apply_instance(
        loaded,
        parse_instance(
            yaml.safe_load(
                "programs:\n  - name: Dup\n    campaigns:\n      - {name: Same, trigger: {campaign_is_requested: mktows}}\n"
            ),
            "x",
        ),
    )
    with loaded.db.write() as conn:
        # a second top-level campaign literally named "Dup.Same" (names are not unique in Marketo)
        from mktows.store.tables import campaigns

        conn.execute(
            insert(campaigns).values(
                name="Dup.Same",
                name_lower="dup.same",
                kind="trigger",
                sources='["MKTOWS"]',
                created_at=now,
                updated_at=now,
            )
        )
    with loaded.db.read() as conn:
        found = prog.campaigns_for_source(conn, "MKTOWS", "Dup.Same", True)
        assert [c.full_name for c in found] == ["Dup.Same", "Dup.Same"]
        assert found[0].id < found[1].id


def test_find_email_in_program_or_anywhere_by_program_dot_email(loaded):
    with loaded.db.read() as conn:
        program = prog.find_program(conn, "ER Demo")
        email = prog.find_email(conn, program.id, "WELCOME")
        assert (email.program_id, email.from_email, email.text) == (program.id, "team@example.com", "Hi {{my.Offer}}")
        assert prog.find_email(conn, None, "ER Demo.Welcome").id == email.id
        assert prog.email_by_id(conn, email.id).name == "Welcome"
        other = prog.find_program(conn, "Q1.2026 Webinar")
        assert prog.find_email(conn, other.id, "ER Demo.Welcome").id == email.id
        with pytest.raises(BadParameter):
            prog.find_email(conn, other.id, "Welcome")


def test_program_lists_and_list_references(loaded):
    with loaded.db.read() as conn:
        list_id = prog.program_list_id(conn, "er demo", "SEED LIST")
        assert prog.list_reference(conn, "ER Demo.Seed List") == (list_id, "ER Demo.Seed List")
        assert prog.list_reference(conn, "seed list") == (list_id, "ER Demo.Seed List")
        assert prog.list_reference(conn, "global list")[1] == "Global List"
        with pytest.raises(ListNotFound) as err:
            prog.program_list_id(conn, "ER Demo", "Global List")
        assert err.value.code == 20111
        with pytest.raises(CampaignNotFound):
            prog.program_list_id(conn, "Nope", "Seed List")
        with pytest.raises(ListNotFound):
            prog.list_reference(conn, "Nope")


def test_channel_statuses_in_step_order(loaded):
    with loaded.db.read() as conn:
        assert catalog.channel_statuses(conn, "WEBINAR") == [
            ProgressionStatus("Invited", 10, False),
            ProgressionStatus("Registered", 20, False),
            ProgressionStatus("Attended", 30, True),
        ]
        assert catalog.channel_statuses(conn, "Unknown") == []
        assert catalog.channel_statuses(conn, None) == []


def test_clone_program_copies_assets_and_rewires_local_references(loaded):
    lead_id = create(loaded, "ann@example.com")
    loaded.list_operation("ADDTOLIST", "MKTOLISTNAME", "ER Demo.Seed List", [LeadKey("IDNUM", str(lead_id))])
    now = loaded.now()
    with loaded.db.write() as conn:
        source = prog.find_program(conn, "ER Demo")
        seed_list = prog.program_list_id(conn, "ER Demo", "Seed List")
        assert (
            conn.execute(
                select(func.count()).select_from(list_members).where(list_members.c.list_id == seed_list)
            ).scalar_one()
            == 1
        )
        clone = clones.clone_program(conn, source, "ER Demo Copy", now)
    with loaded.db.read() as conn:
        assert (clone.name, clone.channel, clone.tokens, clone.tags, clone.workspace) == (
            "ER Demo Copy",
            "Webinar",
            [("Offer", "10% off")],
            [("Region", "North")],
            "Default",
        )
        assert clone.id != source.id
        copy_list = prog.program_list_id(conn, "ER Demo Copy", "Seed List")
        assert copy_list != seed_list
        assert (
            conn.execute(
                select(func.count()).select_from(list_members).where(list_members.c.list_id == copy_list)
            ).scalar_one()
            == 0
        )
        assert (
            conn.execute(
                select(func.count()).select_from(program_costs).where(program_costs.c.program_id == clone.id)
            ).scalar_one()
            == 1
        )
        assert prog.find_email(conn, clone.id, "Welcome").program_id == clone.id
        trig = prog.find_campaign(conn, "ER Demo Copy", "Triggered Campaign")
        assert trig.sources == ["MKTOWS", "SALES"] and trig.description == "the sample"
        assert trig.flow == [
            {"send_email": "Welcome"},
            {"add_to_list": "ER Demo Copy.VIP"},
            {"request_campaign": "ER Demo Copy.Other Trigger"},
            {"change_program_status": {"status": "Attended", "program": "ER Demo Copy"}},
            {"remove_from_flow": ["ER Demo Copy.Other Trigger"]},
        ]
        batch = prog.find_campaign(conn, "ER Demo Copy", "Batch")
        assert batch.smart_list == [{"member_of_list": "ER Demo Copy.Seed List"}, {"not_member_of_list": "Global List"}]
        assert batch.flow == [{"send_email": "Welcome"}]  # stored as a bare name: its own program's email
        # the original is untouched
        original = prog.find_campaign(conn, "ER Demo", "Batch")
        assert original.smart_list == [{"member_of_list": "ER Demo.Seed List"}, {"not_member_of_list": "Global List"}]
        assert len(prog.campaigns_for_source(conn, "MKTOWS", "ER Demo", False)) == 4


def test_clone_program_refuses_a_taken_name(loaded):
    with loaded.db.write() as conn:
        source = prog.find_program(conn, "ER Demo")
        for taken in ("er demo", "Q1.2026 WEBINAR", " "):
            with pytest.raises(BadParameter) as err:
                clones.clone_program(conn, source, taken, loaded.now())
            assert err.value.code == 20110
