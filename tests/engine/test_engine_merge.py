"""mergeLeads (docs/leads.md, mergeLeads)."""

from __future__ import annotations

import pytest
from engine_helpers import all_activities, attrs, counts, create, lead

from mktows.engine.models import LeadInput, LeadKey, ListSelector
from mktows.errors import BadParameter, LeadNotFound


def test_merge_fills_blanks_moves_history_and_deletes_losers(engine):
    winner = create(engine, "w@example.com", FirstName="Win")
    loser1 = engine.sync_lead(
        LeadInput(
            foreign_sys_person_id="L1",
            foreign_sys_type="CUSTOM",
            attributes=[("FirstName", "Lose"), ("LastName", "One"), ("SFDCLeadId", "00Q9")],
        ),
        return_lead=False,
    ).lead_id
    loser2 = create(engine, "l2@example.com", LastName="Two", City="Oslo")
    engine.add_list("M")
    engine.list_operation("ADDTOLIST", "MKTOLISTNAME", "M", [LeadKey("IDNUM", str(loser2))])
    engine.sync_lead(LeadInput(id=loser1), return_lead=False, cookie="loser-cookie")
    out = engine.merge_leads([("IDNUM", str(winner))], [[("IDNUM", str(loser1))], [("EMAIL", "L2@example.com")]])
    assert (out.merged, out.winner_id, out.loser_ids, out.error) == (True, winner, [loser1, loser2], None)
    merged = lead(engine, winner)
    assert (merged.email, merged.foreign_sys_person_id) == ("w@example.com", "L1")
    assert attrs(merged) == {"FirstName": "Win", "LastName": "One", "City": "Oslo", "SFDCLeadId": "00Q9"}
    for gone in (loser1, loser2):
        with pytest.raises(LeadNotFound):
            lead(engine, gone)
    assert [x.id for x in engine.page_leads(ListSelector(list_name="M")).leads] == [winner]
    assert [x.id for x in engine.get_leads(LeadKey("COOKIE", "loser-cookie"))] == [winner]
    history = all_activities(engine, winner)
    assert [x.type_name for x in history].count("New Lead") == 3
    assert history[-1].type_name == "Merge Leads"
    assert history[-1].attributes == [
        ("Merge IDs", f"{loser1},{loser2}"),
        ("Master Updated", "true"),
        ("Lead ID", str(winner)),
    ]


def test_key_list_with_several_attributes_is_one_lead_and_conditions(engine):
    a, b, c = (create(engine, f"{n}@example.com") for n in "abc")
    before = counts(engine)
    ruby = engine.merge_leads([("IDNUM", str(a))], [[("IDNUM", str(b)), ("IDNUM", str(c))]])
    assert not ruby.merged and "no lead found" in ruby.error
    assert counts(engine) == before
    anded = engine.merge_leads([("IDNUM", str(a))], [[("IDNUM", str(b)), ("EMAIL", "b@example.com")]])
    assert anded.merged and anded.loser_ids == [b]


def test_merge_failures_change_nothing(engine):
    a = create(engine, "a@example.com")
    engine.sync_leads([LeadInput(email="twin@example.com")] * 2, dedup=False)
    before = counts(engine)
    cases = [
        ([("IDNUM", "999")], [[("IDNUM", str(a))]]),
        ([("IDNUM", str(a))], [[("IDNUM", "999")]]),
        ([("IDNUM", str(a))], [[("EMAIL", "twin@example.com")]]),
        ([("IDNUM", str(a))], [[("IDNUM", str(a))]]),
        ([("IDNUM", str(a))], [[("COOKIE", "x")]]),
    ]
    for winner, losers in cases:
        out = engine.merge_leads(winner, losers)
        assert not out.merged and out.error, (winner, losers)
    assert counts(engine) == before
    with pytest.raises(BadParameter):
        engine.merge_leads([("IDNUM", str(a))], [[("IDNUM", str(i))] for i in range(101)])
