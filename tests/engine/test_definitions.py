"""Applying the instance file's marketing definitions (docs/campaigns.md): idempotent, all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from mktows.engine.campaigns import catalog, clones
from mktows.engine.campaigns import programs as prog
from mktows.engine.models import ProgressionStatus
from mktows.instance import InstanceError, apply_instance, parse_instance
from mktows.store.tables import (
    api_users,
    campaigns,
    channels,
    emails,
    program_costs,
    program_tags,
    programs,
    static_lists,
    tag_types,
    workspaces,
)

# an instance file exactly as outside tooling writes it
TOOLING_YAML = (Path(__file__).resolve().parents[1] / "fixtures" / "tooling-instance.yaml").read_text()

FULL_YAML = """\
lead_fields:
  - {name: Tier, display_name: Customer Tier, type: string}
  - {name: Visits, type: integer}
workspaces: [Default, {name: EMEA, description: Europe}]
channels:
  - {name: Webinar, type: webinar, statuses: [Invited, Registered, Attended]}
  - name: Content
    statuses:
      - {name: Engaged, step: 20, success: true}
      - {name: Reached, step: 10}
tag_types:
  - {name: Region, values: [North, South]}
lists: [Newsletter, Seed List]
campaigns:
  - name: Global Trigger
    trigger: {campaign_is_requested: [sales_insight, web_service_api]}
    flow:
      - {send_email: Seed Program.Welcome}
      - {change_program_status: {status: registered, program: seed program}}
programs:
  - name: Seed Program
    type: marketing event
    channel: webinar
    workspace: emea
    folder: /Webinars/ 2026 /
    description: The seed
    tags: {region: north}
    costs: [{month: "2026-01", amount: 3000, note: venue}, {month: 2026-02, amount: "12.50"}]
    tokens: {"{{my.Offer}}": "10% off", my.Banner: "<b>Big</b>", Plain: 5}
    lists: [Seed List, VIP]
    emails:
      - name: Welcome
        from: Seed Team <team@example.com>
        reply_to: replies@example.com
        subject: "Hello {{lead.First Name:default=friend}}"
        html: "<p>{{my.Offer}}</p>"
      - {name: Reminder, from: team@example.com, subject: Soon, text: "See you"}
    campaigns:
      - name: Seed Campaign
        description: Requested by the API
        trigger: {campaign_is_requested: web_service_api}
        qualification: once
        flow:
          - {send_email: Welcome}
          - {change_data_value: {field: Customer Tier, value: "gold {{my.Offer}}"}}
          - {change_data_value: {field: job title, value: ""}}
          - {change_score: {change: 10}}
          - {change_score: {field: visits, change: "-2"}}
          - {add_to_list: VIP}
          - {remove_from_list: Newsletter}
          - {change_program_status: {status: attended}}
          - {interesting_moment: {type: milestone, description: "Got {{my.Offer}}"}}
          - {wait: {minutes: 1, seconds: 5}}
          - {request_campaign: Global Trigger}
          - {remove_from_flow: [Seed Batch]}
          - {remove_from_flow: null}
      - name: Seed Batch
        smart_list:
          - {member_of_list: VIP}
          - {not_member_of_list: Seed Program.Seed List}
          - {member_of_list: Seed List}
          - {field: first name, op: starts with, value: A}
          - {field: Visits, op: at_least, value: 3}
          - {field: Tier, op: is, value: [gold, silver]}
          - {field: Email, op: is_not_empty}
        filter_logic: any
        active: false
        flow: [{send_email: Reminder}, {request_campaign: Seed Program.Seed Campaign}]
"""


def load(engine, text: str, source: str = "inst.yaml"):
    inst = parse_instance(yaml.safe_load(text), source)
    apply_instance(engine, inst)
    return inst


def count(engine, table) -> int:
    with engine.db.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


ALL = (api_users, workspaces, channels, tag_types, programs, program_costs, static_lists, emails, campaigns)


def snapshot(engine) -> dict[str, int]:
    return {t.name: count(engine, t) for t in ALL}


def test_tooling_yaml_loads_as_is_and_reloading_changes_nothing(engine):
    inst = load(engine, TOOLING_YAML)
    assert inst.smtp_url == "smtp://127.0.0.1:2525"
    first = snapshot(engine)
    assert first == {
        "api_users": 1,
        "workspaces": 1,
        "channels": 1,
        "tag_types": 0,
        "programs": 1,
        "program_costs": 0,
        "static_lists": 1,
        "emails": 1,
        "campaigns": 2,
    }
    load(engine, TOOLING_YAML)
    assert snapshot(engine) == first
    with engine.db.read() as conn:
        program = prog.find_program(conn, "seed PROGRAM")
        assert (program.name, program.channel, program.workspace, program.type) == (
            "Seed Program",
            "Webinar",
            "Default",
            "Marketing Program",
        )
        assert program.tokens == [("Offer", "10% off"), ("HoldoutToken", "original")]
        trigger = prog.find_campaign(conn, "Seed Program", "seed campaign")
        assert (trigger.kind, trigger.sources, trigger.flow) == ("trigger", ["MKTOWS"], [{"send_email": "Welcome"}])
        batch = prog.find_campaign(conn, None, "Seed Program.Seed Batch")
        assert (batch.kind, batch.smart_list) == ("batch", [{"member_of_list": "Seed Program.Seed List"}])
        email = prog.find_email(conn, program.id, "welcome")
        assert (email.from_name, email.from_email, email.subject) == (
            "Seed Team",
            "team@example.com",
            "Hello {{lead.First Name:default=friend}}",
        )
        assert [s.name for s in catalog.channel_statuses(conn, "webinar")] == ["Invited", "Registered", "Attended"]
        assert prog.program_list_id(conn, "SEED PROGRAM", "seed list") > 0


def test_full_example_stores_canonical_references(engine):
    load(engine, FULL_YAML)
    with engine.db.read() as conn:
        program = prog.find_program(conn, "Seed Program")
        assert (program.type, program.channel, program.workspace) == ("Marketing Event", "Webinar", "EMEA")
        assert program.tags == [("Region", "North")]
        assert program.tokens == [("Offer", "10% off"), ("Banner", "<b>Big</b>"), ("Plain", "5")]
        assert program.description == "The seed"
        row = conn.execute(select(programs.c.folder).where(programs.c.id == program.id)).scalar_one()
        assert row == "Webinars/2026"
        costs = conn.execute(
            select(program_costs.c.month, program_costs.c.amount, program_costs.c.note).order_by(program_costs.c.month)
        ).all()
        assert [tuple(c) for c in costs] == [("2026-01-01", "3000", "venue"), ("2026-02-01", "12.5", None)]
        assert conn.execute(select(workspaces.c.description).where(workspaces.c.name == "EMEA")).scalar() == "Europe"
        content = catalog.channel_statuses(conn, "Content")
        assert content == [ProgressionStatus("Reached", 10, False), ProgressionStatus("Engaged", 20, True)]
        assert conn.execute(select(channels.c.kind).where(channels.c.name == "Webinar")).scalar() == "webinar"

        welcome = prog.find_email(conn, None, "Seed Program.Welcome")
        assert (welcome.from_name, welcome.reply_to, welcome.text) == ("Seed Team", "replies@example.com", "")
        reminder = prog.find_email(conn, program.id, "Reminder")
        assert (reminder.from_name, reminder.from_email, reminder.html) == (None, "team@example.com", "")

        seed = prog.find_campaign(conn, "Seed Program", "Seed Campaign")
        assert seed.qualification == "once" and seed.description == "Requested by the API"
        assert seed.flow == [
            {"send_email": "Welcome"},
            {"change_data_value": {"field": "Tier", "value": "gold {{my.Offer}}"}},
            {"change_data_value": {"field": "Title", "value": ""}},
            {"change_score": {"field": "LeadScore", "change": "+10"}},
            {"change_score": {"field": "Visits", "change": "-2"}},
            {"add_to_list": "Seed Program.VIP"},
            {"remove_from_list": "Newsletter"},
            {"change_program_status": {"status": "Attended"}},
            {"interesting_moment": {"type": "Milestone", "description": "Got {{my.Offer}}"}},
            {"wait": {"seconds": 65}},
            {"request_campaign": "Global Trigger"},
            {"remove_from_flow": ["Seed Program.Seed Batch"]},
            {"remove_from_flow": []},
        ]
        batch = prog.find_campaign(conn, "Seed Program", "Seed Batch")
        assert (batch.kind, batch.filter_logic, batch.active) == ("batch", "any", False)
        assert batch.smart_list == [
            {"member_of_list": "Seed Program.VIP"},
            {"not_member_of_list": "Seed Program.Seed List"},
            {"member_of_list": "Seed List"},  # the global list wins a bare name, as in listOperation
            {"field": "FirstName", "op": "starts_with", "value": "A"},
            {"field": "Visits", "op": "at_least", "value": "3"},
            {"field": "Tier", "op": "is", "value": ["gold", "silver"]},
            {"field": "Email", "op": "is_not_empty"},
        ]
        assert batch.flow == [{"send_email": "Reminder"}, {"request_campaign": "Seed Program.Seed Campaign"}]
        top = prog.find_campaign(conn, None, "global trigger")
        assert (top.program_id, top.full_name, top.sources) == (None, "Global Trigger", ["SALES", "MKTOWS"])
        assert top.flow == [
            {"send_email": "Seed Program.Welcome"},
            {"change_program_status": {"status": "Registered", "program": "Seed Program"}},
        ]


def test_reload_updates_in_place_merges_and_never_deletes(engine):
    load(engine, FULL_YAML)
    before = snapshot(engine)
    changed = (
        FULL_YAML.replace("name: Seed Program", "name: SEED program")
        .replace('"{{my.Offer}}": "10% off"', '"{{my.Offer}}": "20% off", my.Extra: new')
        .replace("subject: Soon", "subject: Later")
        .replace('[{month: "2026-01", amount: 3000, note: venue}, ', '[{month: "2026-01", amount: 3100}, ')
        .replace("values: [North, South]", "values: [East]")
        .replace("tags: {region: north}", "tags: {region: east}")
    )
    load(engine, changed)
    after = snapshot(engine)
    assert after == before
    with engine.db.read() as conn:
        program = prog.find_program(conn, "seed program")
        assert program.name == "SEED program"
        assert program.tokens == [("Offer", "20% off"), ("Banner", "<b>Big</b>"), ("Plain", "5"), ("Extra", "new")]
        assert program.tags == [("Region", "East")]
        assert prog.find_email(conn, program.id, "reminder").subject == "Later"
        assert json.loads(conn.execute(select(tag_types.c.tag_values)).scalar_one()) == ["North", "South", "East"]
        assert conn.execute(
            select(program_costs.c.amount, program_costs.c.note).where(program_costs.c.month == "2026-01-01")
        ).one() == ("3100", None)
        # lists follow the program's new spelling
        assert {r.program_name for r in conn.execute(select(static_lists.c.program_name)) if r.program_name} == {
            "SEED program"
        }
        assert prog.program_list_id(conn, "Seed Program", "VIP") > 0
    # a file that names only some objects deletes nothing
    load(engine, "channels:\n  - {name: Other, statuses: [A]}\n")
    assert count(engine, programs) == 1 and count(engine, campaigns) == 3 and count(engine, channels) == 3


def test_a_file_may_refer_to_what_an_earlier_file_loaded(engine):
    load(engine, TOOLING_YAML)
    load(
        engine,
        """\
programs:
  - name: Second
    channel: Webinar
    campaigns:
      - name: Follow Up
        smart_list: [{member_of_list: Seed Program.Seed List}]
        flow: [{send_email: Seed Program.Welcome}, {request_campaign: Seed Program.Seed Campaign},
               {change_program_status: {status: Attended, program: Seed Program}}]
""",
    )
    with engine.db.read() as conn:
        follow = prog.find_campaign(conn, "Second", "Follow Up")
        assert follow.flow[0] == {"send_email": "Seed Program.Welcome"}
        # the bare name is unique in the instance: it resolves to the program's list
        assert prog.list_reference(conn, "seed list")[1] == "Seed Program.Seed List"


BROKEN = [
    ("programs:\n  - {name: P, channel: Podcast}\n", "programs[0].channel", "unknown channel 'Podcast'"),
    (
        "tag_types: [{name: Region, values: [North]}]\nprograms:\n  - {name: P, tags: {Region: West}}\n",
        "programs[0].tags.Region",
        "not a value of tag type",
    ),
    ("programs:\n  - {name: P, tags: {Colour: Red}}\n", "programs[0].tags.Colour", "unknown tag type"),
    ("programs:\n  - {name: P, workspace: Mars}\n", "programs[0].workspace", "unknown workspace"),
    ("lists: [{name: L, program: Nowhere}]\n", "lists[0].program", "unknown program 'Nowhere'"),
    (
        "programs:\n  - name: P\n    campaigns:\n      - {name: C, smart_list: [{member_of_list: Ghost}]}\n",
        "programs[0].campaigns[0].smart_list[0].member_of_list",
        "Ghost",
    ),
    (
        "programs:\n  - name: P\n    campaigns:\n      - {name: C, smart_list: [{field: Shoe Size, op: is, value: 9}]}\n",
        "programs[0].campaigns[0].smart_list[0].field",
        "unknown lead field 'Shoe Size'",
    ),
    (
        "programs:\n  - name: P\n    campaigns:\n      - {name: C, smart_list: [{field: LeadScore, op: at_least, value: lots}]}\n",
        "programs[0].campaigns[0].smart_list[0].value",
        "not a number",
    ),
    (
        "programs:\n  - name: P\n    campaigns:\n"
        "      - {name: C, trigger: {campaign_is_requested: [web_service_api]}, flow: [{send_email: Welcome}]}\n",
        "programs[0].campaigns[0].flow[0].send_email",
        "unknown email 'Welcome'",
    ),
    (
        "programs:\n  - name: P\n    campaigns:\n      - name: C\n        trigger: {campaign_is_requested: mktows}\n"
        "        flow: [{change_data_value: {field: InferredCompany, value: x}}]\n",
        "programs[0].campaigns[0].flow[0].change_data_value.field",
        "read-only",
    ),
    (
        "programs:\n  - name: P\n    campaigns:\n      - name: C\n        trigger: {campaign_is_requested: mktows}\n"
        "        flow: [{change_data_value: {field: DateOfBirth, value: someday}}]\n",
        "programs[0].campaigns[0].flow[0].change_data_value.value",
        "Invalid date",
    ),
    (
        "programs:\n  - name: P\n    campaigns:\n      - name: C\n        trigger: {campaign_is_requested: mktows}\n"
        "        flow: [{change_score: {field: FirstName, change: 1}}]\n",
        "programs[0].campaigns[0].flow[0].change_score.field",
        "not an integer or score",
    ),
    (
        "channels: [{name: W, statuses: [Invited]}]\nprograms:\n  - name: P\n    channel: W\n    campaigns:\n"
        "      - name: C\n        trigger: {campaign_is_requested: mktows}\n        flow: [{change_program_status: Won}]\n",
        "programs[0].campaigns[0].flow[0].change_program_status.status",
        "not a status of channel",
    ),
    (
        "programs:\n  - name: P\n    campaigns:\n      - name: C\n        trigger: {campaign_is_requested: mktows}\n"
        "        flow: [{change_program_status: Invited}]\n",
        "programs[0].campaigns[0].flow[0].change_program_status",
        "has no channel",
    ),
    (
        "programs:\n  - name: P\n    campaigns:\n      - name: C\n        trigger: {campaign_is_requested: mktows}\n"
        "        flow: [{request_campaign: B}]\n      - {name: B, smart_list: [{field: Email, op: is_empty}]}\n",
        "programs[0].campaigns[0].flow[0].request_campaign",
        "batch campaign",
    ),
    (
        "campaigns:\n  - name: C\n    trigger: {campaign_is_requested: mktows}\n    flow: [{remove_from_flow: [Nope.X]}]\n",
        "campaigns[0].flow[0].remove_from_flow[0]",
        "unknown campaign",
    ),
    (
        "programs:\n  - {name: A, lists: [Same]}\n  - {name: B, lists: [Same]}\n"
        "campaigns:\n  - {name: C, smart_list: [{member_of_list: Same}]}\n",
        "campaigns[0].smart_list[0].member_of_list",
        "ambiguous",
    ),
]


@pytest.mark.parametrize(("text", "where", "what"), BROKEN)
def test_dangling_references_name_the_path_and_apply_nothing(engine, text, where, what):
    before = snapshot(engine)
    with pytest.raises(InstanceError) as err:
        load(engine, "api_users: [{user_id: someone, encryption_key: k}]\n" + text, "broken.yaml")
    message = str(err.value)
    assert message.startswith(f"broken.yaml: {where}: "), message
    assert what in message
    assert snapshot(engine) == before


# --- programs: tags as rows, archived / CRM id / event dates ----------------------------------

TAGGED = """\
tag_types:
  - {name: Region, values: [North, South]}
  - {name: Product Line, values: [Core, Cloud]}
programs:
  - {name: Tagged, tags: {product line: core, region: north}}
"""


def tag_rows(engine) -> list[tuple[str, str, str]]:
    with engine.db.read() as conn:
        rows = conn.execute(
            select(programs.c.name, program_tags.c.tag_type, program_tags.c.tag_value)
            .join(programs, programs.c.id == program_tags.c.program_id)
            .order_by(programs.c.name, program_tags.c.tag_type)
        )
        return [tuple(r) for r in rows]


def test_program_tags_are_rows_that_merge_by_type_and_clones_copy(engine):
    load(engine, TAGGED)
    assert tag_rows(engine) == [("Tagged", "Product Line", "Core"), ("Tagged", "Region", "North")]
    with engine.db.read() as conn:  # the catalogue's spelling, in the catalogue's order of types
        assert prog.find_program(conn, "tagged").tags == [("Region", "North"), ("Product Line", "Core")]
    # a reload sets the types it names and keeps the others
    load(engine, TAGGED.replace("{product line: core, region: north}", "{Product Line: Cloud}"))
    assert tag_rows(engine) == [("Tagged", "Product Line", "Cloud"), ("Tagged", "Region", "North")]
    # a new spelling of a tag type's name reaches the programs' tags
    load(engine, "tag_types:\n  - {name: REGION, values: [North]}\n")
    with engine.db.read() as conn:
        assert prog.find_program(conn, "Tagged").tags == [("REGION", "North"), ("Product Line", "Cloud")]
    with engine.db.write() as conn:
        source = prog.find_program(conn, "Tagged")
        clone = clones.clone_program(conn, source, "Tagged Copy", engine.now())
    assert clone.tags == source.tags
    assert tag_rows(engine) == [
        ("Tagged", "Product Line", "Cloud"),
        ("Tagged", "REGION", "North"),
        ("Tagged Copy", "Product Line", "Cloud"),
        ("Tagged Copy", "REGION", "North"),
    ]
    # tags go with their program
    with engine.db.write() as conn:
        conn.execute(programs.delete().where(programs.c.name == "Tagged Copy"))
    assert [r[0] for r in tag_rows(engine)] == ["Tagged", "Tagged"]


def test_archived_crm_id_and_event_dates_are_stored_and_clones_start_live(engine):
    load(
        engine,
        """\
programs:
  - {name: Show, type: marketing event, archived: true, crm_id: 701-X, start_date: 2026-05-04,
     end_date: "2026-05-06 18:00"}
  - {name: Plain}
""",
    )
    with engine.db.read() as conn:
        show = conn.execute(select(programs).where(programs.c.name == "Show")).one()
        plain = conn.execute(select(programs).where(programs.c.name == "Plain")).one()
    assert (show.archived, show.crm_id) == (True, "701-X")
    assert (show.starts_at.isoformat(), show.ends_at.isoformat()) == (
        "2026-05-04T00:00:00+00:00",
        "2026-05-06T18:00:00+00:00",
    )
    assert (plain.archived, plain.crm_id, plain.starts_at) == (False, None, None)
    # a reload that leaves the keys out keeps them; one that gives them changes them
    load(engine, "programs:\n  - {name: Show}\n")
    load(engine, "programs:\n  - {name: Plain, archived: true}\n")
    with engine.db.read() as conn:
        assert conn.execute(
            select(programs.c.name, programs.c.archived, programs.c.crm_id).order_by(programs.c.name)
        ).all() == [("Plain", True, None), ("Show", True, "701-X")]
    with engine.db.write() as conn:
        clone = clones.clone_program(conn, prog.find_program(conn, "Show"), "Show Copy", engine.now())
        copy = conn.execute(select(programs).where(programs.c.id == clone.id)).one()
    assert (copy.archived, copy.crm_id, copy.starts_at) == (False, None, show.starts_at)


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("programs:\n  - {name: P, start_date: 2026-01-01}\n", "programs[0].start_date", "only event programs"),
        (
            "programs:\n  - {name: P, type: Marketing Program, end_date: 2026-01-01}\n",
            "programs[0].end_date",
            "only event programs",
        ),
        (
            "programs:\n  - {name: P, type: Marketing Event, start_date: soon}\n",
            "programs[0].start_date",
            "expected YYYY-MM-DD",
        ),
        (
            "programs:\n  - {name: P, type: Marketing Event, start_date: 2026-01-02, end_date: 2026-01-01}\n",
            "programs[0].end_date",
            "before start_date",
        ),
        ("programs:\n  - {name: P, archived: maybe}\n", "programs[0].archived", "true or false"),
        ("programs:\n  - {name: P, crm_id: ''}\n", "programs[0].crm_id", "non-empty"),
    ],
)
def test_bad_program_keys_name_the_path(engine, text, where, what):
    with pytest.raises(InstanceError) as err:
        load(engine, text, "bad.yaml")
    assert str(err.value).startswith(f"bad.yaml: {where}: ") and what in str(err.value), str(err.value)
    assert count(engine, programs) == 0
