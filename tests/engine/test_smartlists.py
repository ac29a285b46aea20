"""Batch smart lists: filters as SQL over leads, all/any, and who a scheduled run selects."""

from __future__ import annotations

import pytest
from campaign_helpers import lead_states, load, messages, run, run_row, schedule
from engine_helpers import create
from sqlalchemy import select

from mktows.engine.campaigns import smartlists
from mktows.engine.leads.registry import field_registry
from mktows.engine.models import FieldInfo, LeadKey
from mktows.errors import BadParameter, ListNotFound, UnknownLeadField
from mktows.store.tables import leads

INSTANCE = """\
lead_fields:
  - {name: Tier, display_name: Customer Tier, type: string}
  - {name: Renewal, display_name: Renewal Date, type: date}
  - {name: Vip, display_name: Is VIP, type: boolean}
lists: [Members, Blocked]
programs:
  - name: Sale
    lists: [Local]
    emails: [{name: Mail, from: team@example.com, subject: Hi, text: hi}]
    campaigns:
      - name: All Of
        smart_list: [{member_of_list: Members}, {not_member_of_list: Blocked}, {field: Country, op: is, value: [FR, de]}]
        flow: [{send_email: Mail}]
      - name: Any Of
        filter_logic: any
        smart_list: [{member_of_list: Local}, {field: LeadScore, op: greater_than, value: "40"}]
        flow: [{send_email: Mail}]
      - name: Once
        qualification: once
        smart_list: [{member_of_list: Members}]
        flow: [{send_email: Mail}]
"""


@pytest.fixture
def loaded(engine):
    load(engine, INSTANCE)
    return engine


def add(engine, list_name: str, *ids: int) -> None:
    engine.list_operation("ADDTOLIST", "MKTOLISTNAME", list_name, [LeadKey("IDNUM", str(i)) for i in ids])


def selected(engine, filters: list[dict], logic: str = "all") -> list[int]:
    with engine.db.read() as conn:
        cond = smartlists.condition(conn, field_registry(conn), filters, logic, "Sale")
        return list(conn.execute(select(leads.c.id).where(cond).order_by(leads.c.id)).scalars())


@pytest.fixture
def people(loaded):
    return {
        "ann": create(
            loaded,
            "ann@acme.com",
            FirstName="Ann",
            Country="FR",
            LeadScore="50",
            Tier="Gold",
            Renewal="2026-03-01",
            Vip="true",
        ),
        "bob": create(
            loaded, "bob@example.org", FirstName="Bob", Country="de", LeadScore="9", Tier="silver", Renewal="2025-12-31"
        ),
        "cid": create(loaded, "cid@acme.com", Country="US", LeadScore="100", Vip="false"),
        "dee": create(loaded, "dee_100%@example.org"),
    }


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"field": "Country", "op": "is", "value": "fr"}, ["ann"]),
        ({"field": "Country", "op": "is", "value": ["FR", "DE"]}, ["ann", "bob"]),
        ({"field": "Country", "op": "is", "value": ["US", ""]}, ["cid", "dee"]),
        ({"field": "Country", "op": "is_not", "value": ["FR", "DE"]}, ["cid", "dee"]),
        ({"field": "Email Address", "op": "contains", "value": "ACME"}, ["ann", "cid"]),
        ({"field": "Email", "op": "contains", "value": "_100%"}, ["dee"]),  # LIKE wildcards are literal
        ({"field": "Email", "op": "not_contains", "value": "acme"}, ["bob", "dee"]),
        ({"field": "Email", "op": "starts_with", "value": "b"}, ["bob"]),
        ({"field": "Email", "op": "ends_with", "value": ".ORG"}, ["bob", "dee"]),
        ({"field": "FirstName", "op": "is_empty"}, ["cid", "dee"]),
        ({"field": "First Name", "op": "is_not_empty"}, ["ann", "bob"]),
        ({"field": "LeadScore", "op": "greater_than", "value": "9"}, ["ann", "cid"]),  # 100 > 9 as numbers
        ({"field": "Lead Score", "op": "at_least", "value": "9"}, ["ann", "bob", "cid"]),
        ({"field": "LeadScore", "op": "less_than", "value": "50"}, ["bob"]),
        ({"field": "LeadScore", "op": "at_most", "value": "50"}, ["ann", "bob"]),
        ({"field": "LeadScore", "op": "is", "value": "50.0"}, ["ann"]),
        ({"field": "Customer Tier", "op": "is", "value": "GOLD"}, ["ann"]),
        ({"field": "Tier", "op": "is_not", "value": "gold"}, ["bob", "cid", "dee"]),
        ({"field": "Renewal Date", "op": "greater_than", "value": "2026-01-01"}, ["ann"]),
        ({"field": "Renewal", "op": "at_most", "value": "2026-03-01"}, ["ann", "bob"]),
        ({"field": "Vip", "op": "is", "value": "true"}, ["ann"]),
        ({"field": "Is VIP", "op": "is", "value": "false"}, ["bob", "cid", "dee"]),  # no value is false
    ],
)
def test_field_comparisons(loaded, people, item, expected):
    assert selected(loaded, [item]) == [people[n] for n in expected]


def test_lists_and_filter_logic(loaded, people):
    add(loaded, "Members", people["ann"], people["bob"], people["cid"])
    add(loaded, "Blocked", people["bob"])
    add(loaded, "Sale.Local", people["dee"])
    members = {"member_of_list": "Members"}
    assert selected(loaded, [members]) == [people["ann"], people["bob"], people["cid"]]
    assert selected(loaded, [{"not_member_of_list": "Members"}]) == [people["dee"]]
    assert selected(loaded, [members, {"not_member_of_list": "Blocked"}]) == [people["ann"], people["cid"]]
    # a program's list by its bare name inside the program
    assert selected(loaded, [{"member_of_list": "Local"}, {"field": "Country", "op": "is", "value": "FR"}], "any") == [
        people["ann"],
        people["dee"],
    ]
    assert selected(loaded, []) == []  # no filters select nobody


def test_bad_filters(loaded):
    with pytest.raises(ListNotFound):
        selected(loaded, [{"member_of_list": "Nope"}])
    with pytest.raises(UnknownLeadField):
        selected(loaded, [{"field": "Nope", "op": "is", "value": "x"}])
    with pytest.raises(BadParameter):
        selected(loaded, [{"field": "Country", "op": "sounds_like", "value": "x"}])
    with pytest.raises(BadParameter):
        selected(loaded, [{"field": "LeadScore", "op": "greater_than", "value": "lots"}])


def test_a_scheduled_run_selects_by_smart_list_and_skips_anonymous_leads(loaded, people):
    add(loaded, "Members", people["ann"], people["bob"], people["cid"])
    add(loaded, "Blocked", people["bob"])
    run_id = schedule(loaded, "Sale.All Of")
    assert run(loaded, run_id) == "done"
    assert [m.lead_id for m in messages(loaded, run_id)] == [people["ann"]]
    anonymous = loaded.track_cookie("id:123-ABC-456&token:_mch-x")
    add(loaded, "Sale.Local", anonymous, people["dee"])
    any_run = schedule(loaded, "Sale.Any Of")
    run(loaded, any_run)
    assert sorted(lead_states(loaded, any_run)) == sorted([people["ann"], people["cid"], people["dee"]])


def test_qualification_once_in_batch_runs(loaded, people):
    add(loaded, "Members", people["ann"])
    first = schedule(loaded, "Sale.Once")
    run(loaded, first)
    add(loaded, "Members", people["bob"])
    second = schedule(loaded, "Sale.Once")
    run(loaded, second)
    assert list(lead_states(loaded, second)) == [people["bob"]]
    assert run_row(loaded, second).lead_count == 1
    assert sorted(m.lead_id for m in messages(loaded)) == [people["ann"], people["bob"]]


def test_field_names_resolve_by_api_or_display_name(loaded):
    loaded.add_lead_field(FieldInfo("Shoe_Size", "Shoe Size", "integer"))
    with loaded.db.read() as conn:
        registry = field_registry(conn)
    assert smartlists.field_named(registry, "shoe size").name == "Shoe_Size"
    assert smartlists.field_named(registry, "SHOE_SIZE").name == "Shoe_Size"
    assert smartlists.field_named(registry, "Email Address").name == "Email"
    assert smartlists.field_named(registry, "nope") is None
