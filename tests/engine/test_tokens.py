"""Token syntax and rendering (docs/campaigns.md): pure functions, no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mktows.engine.campaigns.tokens import (
    TokenContext,
    campaign_token_values,
    lead_token_values,
    merge_tokens,
    program_token_values,
    render,
    system_token_values,
    token_name,
    tokens_in,
)
from mktows.engine.leads.fields import Field, FieldRegistry
from mktows.engine.models import CampaignInfo, Lead, LeadAttribute, ProgramInfo

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("{{my.Offer}}", "Offer"),
        ("my.Offer", "Offer"),
        ("Offer", "Offer"),
        ("{{ my.other token }}", "other token"),
        ("{{MY.Mixed Case}}", "Mixed Case"),
        ("  my.Spaced  ", "Spaced"),
    ],
)
def test_token_name_normalizes_every_spelling(raw, name):
    assert token_name(raw) == name


def test_render_replaces_each_namespace_case_insensitively():
    ctx = TokenContext(
        lead={"FirstName": "Ann", "First Name": "Ann"},
        my={"Offer": "10% off", "other token": "x"},
        company={"Name": "Acme"},
        program={"Name": "Seed Program"},
        campaign={"Name": "Seed Campaign"},
        system={"date": "2026-03-04"},
    )
    template = (
        "{{lead.first name}}/{{lead.FIRSTNAME}}/{{my.offer}}/{{my.Other Token}}/{{company.name}}/"
        "{{program.Name}}/{{campaign.name}}/{{system.Date}}"
    )
    assert render(template, ctx, html=False) == "Ann/Ann/10% off/x/Acme/Seed Program/Seed Campaign/2026-03-04"


def test_defaults_apply_to_missing_and_empty_values_and_may_hold_punctuation():
    ctx = TokenContext(lead={"FirstName": ""}, my={})
    assert render("Hi {{lead.FirstName:default=friend}}", ctx, html=False) == "Hi friend"
    assert render("{{lead.Nope:default=dear customer, hello!}}", ctx, html=False) == "dear customer, hello!"
    assert render("[{{my.Missing:default=}}]", ctx, html=False) == "[]"
    assert render("{{my.X:default=a}b}}", ctx, html=False) == "a}b"
    assert render("[{{lead.Unknown}}][{{my.Unknown}}][{{system.nope}}]", ctx, html=False) == "[][][]"


def test_lead_values_are_escaped_in_html_but_my_and_program_tokens_are_not():
    ctx = TokenContext(
        lead={"FirstName": "<b>Ann & Co</b>"},
        company={"Name": "A<B"},
        my={"Banner": "<img src='x.png'>"},
        program={"Description": "<i>desc</i>"},
    )
    template = "{{lead.FirstName}} {{company.Name}} {{my.Banner}} {{program.Description}}"
    assert render(template, ctx, html=True) == "&lt;b&gt;Ann &amp; Co&lt;/b&gt; A&lt;B <img src='x.png'> <i>desc</i>"
    assert render(template, ctx, html=False) == "<b>Ann & Co</b> A<B <img src='x.png'> <i>desc</i>"


def test_unknown_namespaces_and_plain_braces_are_left_alone():
    ctx = TokenContext(my={"A": "1"})
    assert render("{{foo.bar}} {{ my.A }} {{nodot}} {x}", ctx, html=False) == "{{foo.bar}} 1 {{nodot}} {x}"
    assert render("no tokens at all", ctx, html=True) == "no tokens at all"


def test_adjacent_tokens_and_multiline_templates():
    ctx = TokenContext(my={"A": "1", "B": "2"})
    assert render("{{my.A}}{{my.B}}\n{{my.A}}", ctx, html=False) == "12\n1"


def test_tokens_in_lists_known_tokens():
    assert tokens_in("{{lead.First Name:default=x}} {{my.Offer}} {{foo.bar}}") == [
        ("lead", "First Name"),
        ("my", "Offer"),
    ]


def test_merge_tokens_precedence_per_recipient_over_call_over_program():
    program = [("Offer", "10% off"), ("HoldoutToken", "original"), ("Other", "o")]
    call = [("{{my.offer}}", "20% off"), ("{{my.HoldoutToken}}", "call")]
    recipient = {"my.holdouttoken": "mine"}
    merged = merge_tokens(program, call, recipient)
    assert merged == {"Offer": "20% off", "HoldoutToken": "mine", "Other": "o"}
    assert program == [("Offer", "10% off"), ("HoldoutToken", "original"), ("Other", "o")]  # untouched
    assert merge_tokens(program) == {"Offer": "10% off", "HoldoutToken": "original", "Other": "o"}
    assert merge_tokens([], [("{{my.New Token}}", "n")], None) == {"New Token": "n"}
    ctx = TokenContext(my=merged)
    assert render("{{my.Offer}} {{my.holdouttoken}}", ctx, html=True) == "20% off mine"


def test_lead_token_values_map_api_and_display_names():
    registry = FieldRegistry([Field("Seed_Custom_Field", "Seed Custom Field", "string", custom=True)])
    lead = Lead(
        id=7,
        email="ann@example.com",
        foreign_sys_person_id=None,
        foreign_sys_type=None,
        attributes=[LeadAttribute("FirstName", "string", "Ann"), LeadAttribute("Seed_Custom_Field", "string", "v")],
        created_at=NOW,
        updated_at=NOW,
    )
    values = lead_token_values(lead, registry)
    ctx = TokenContext(lead=values)
    assert (
        render(
            "{{lead.First Name}} {{lead.FirstName}} {{lead.Email Address}} {{lead.Email}} {{lead.Seed Custom Field}} "
            "{{lead.seed_custom_field}} {{lead.Id}} {{lead.Last Name:default=-}}",
            ctx,
            html=False,
        )
        == "Ann Ann ann@example.com ann@example.com v v 7 -"
    )


def test_program_campaign_and_system_values():
    program = ProgramInfo(
        id=3,
        name="Seed Program",
        type="Marketing Program",
        channel="Webinar",
        workspace="Default",
        tokens=[],
        description="About",
    )
    campaign = CampaignInfo(
        id=9,
        program_id=3,
        program_name="Seed Program",
        name="Seed Campaign",
        description="",
        kind="trigger",
        sources=["MKTOWS"],
        smart_list=[],
        filter_logic="all",
        flow=[],
        qualification="every_time",
        active=True,
    )
    ctx = TokenContext(
        program=program_token_values(program),
        campaign=campaign_token_values(campaign),
        system=system_token_values(NOW),
    )
    template = (
        "{{program.Name}}|{{program.Id}}|{{program.Channel}}|{{program.Type}}|{{program.Description}}|"
        "{{campaign.Name}}|{{campaign.Id}}|{{campaign.Full Name}}|{{system.date}}|{{system.time}}|{{system.dateTime}}"
    )
    assert render(template, ctx, html=False) == (
        "Seed Program|3|Webinar|Marketing Program|About|Seed Campaign|9|Seed Program.Seed Campaign|"
        "2026-03-04|05:06|2026-03-04 05:06:07"
    )
