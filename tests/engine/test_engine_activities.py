"""getLeadActivity and getLeadChanges: order, filters, paging by `ID:` offset."""

from __future__ import annotations

from datetime import timedelta

import pytest
from engine_helpers import create

from mktows.engine.activities.types import ACTIVITY_TYPE_ENUMS, ACTIVITY_TYPES, by_name
from mktows.engine.models import KeySelector, LeadInput, LeadKey, ListSelector, StreamPosition, UpdatedAtSelector
from mktows.errors import ActivityKeyBad, BadParameter, BadStreamPosition, LeadNotFound, ListNotFound


def _history(engine, email: str, changes: int) -> int:
    """A lead with New Lead + `changes` Change Data Value activities."""
    lead_id = create(engine, email)
    for i in range(changes):
        engine.sync_lead(LeadInput(id=lead_id, attributes=[("LeadScore", str(i + 1))]), return_lead=False)
    return lead_id


def test_activity_type_table_matches_the_wsdl_enum_order():
    assert len(ACTIVITY_TYPE_ENUMS) == 57
    assert ACTIVITY_TYPE_ENUMS[:3] == ["VisitWebpage", "FillOutForm", "ClickLink"]
    assert ACTIVITY_TYPE_ENUMS[-2:] == ["SmartCampaignTest", "SmartCampaignTestTrigger"]
    assert by_name("sync lead to sfdc").code == "PushLeadToSales"
    assert by_name("Share Content").code is None
    assert len({t.name for t in ACTIVITY_TYPES}) == len(ACTIVITY_TYPES)


def test_lead_activity_newest_first_paged_by_id_offset(engine, clock):
    lead_id = _history(engine, "h@example.com", 6)
    key = LeadKey("IDNUM", str(lead_id))
    first = engine.lead_activity(key, batch_size=3)
    assert [a.type_name for a in first.activities] == ["Change Data Value"] * 3
    assert [a.attributes[2][1] for a in first.activities] == ["6", "5", "4"]
    assert first.remaining == 4
    assert first.position.offset == f"ID:{first.activities[-1].id}"
    bound = first.position.latest_created_at
    assert bound is not None and first.position.oldest_created_at is None
    engine.sync_lead(LeadInput(id=lead_id, attributes=[("LeadScore", "99")]), return_lead=False)  # after the bound
    second = engine.lead_activity(key, batch_size=3, position=first.position)
    third = engine.lead_activity(key, batch_size=3, position=second.position)
    assert second.position.latest_created_at == bound
    assert [a.attributes[2][1] for a in second.activities] == ["3", "2", "1"]
    assert [a.type_name for a in third.activities] == ["New Lead"]
    assert (second.remaining, third.remaining) == (1, 0)
    ids = [a.id for p in (first, second, third) for a in p.activities]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 7
    assert all(a.lead_id == lead_id and a.attributes[-1] == ("Lead ID", str(lead_id)) for a in first.activities)


def test_lead_activity_ordinal_offset_is_a_skip_count(engine):
    lead_id = _history(engine, "o@example.com", 3)
    page = engine.lead_activity(LeadKey("IDNUM", str(lead_id)), position=StreamPosition(offset="1"))
    assert [a.attributes[2][1] for a in page.activities if a.type_name == "Change Data Value"] == ["2", "1"]
    with pytest.raises(BadStreamPosition):
        engine.lead_activity(LeadKey("IDNUM", str(lead_id)), position=StreamPosition(offset="bogus"))


def test_lead_activity_filters(engine):
    lead_id = _history(engine, "f@example.com", 2)
    key = LeadKey("IDNUM", str(lead_id))
    assert [a.type_name for a in engine.lead_activity(key, include_types=["NewLead"]).activities] == ["New Lead"]
    excluded = engine.lead_activity(key, exclude_types=["NewLead"])
    assert {a.type_name for a in excluded.activities} == {"Change Data Value"} and excluded.remaining == 0
    with pytest.raises(BadParameter):
        engine.lead_activity(key, include_types=["NewLead"], exclude_types=["ChangeDataValue"])
    with pytest.raises(ActivityKeyBad) as err:
        engine.lead_activity(key, include_types=["New Lead"])
    assert err.value.code == 20107


def test_lead_activity_batch_limits_and_lead_resolution(engine, clock):
    lead_id = _history(engine, "b@example.com", 120)
    page = engine.lead_activity(LeadKey("IDNUM", str(lead_id)), batch_size=500)
    assert (len(page.activities), page.remaining) == (100, 21)
    assert len(engine.lead_activity(LeadKey("IDNUM", str(lead_id))).activities) == 100
    with pytest.raises(BadParameter):
        engine.lead_activity(LeadKey("IDNUM", str(lead_id)), batch_size=0)
    with pytest.raises(LeadNotFound):
        engine.lead_activity(LeadKey("EMAIL", "none@example.com"))
    # several leads share an email: the most recently updated one is used
    engine.sync_leads([LeadInput(email="twin@example.com")] * 2, dedup=False)
    clock.advance(seconds=1)
    older_twin = engine.get_leads(LeadKey("EMAIL", "twin@example.com"))[0].id
    engine.sync_lead(LeadInput(id=older_twin, attributes=[("City", "Rome")]), return_lead=False)
    page = engine.lead_activity(LeadKey("EMAIL", "twin@example.com"))
    assert {a.lead_id for a in page.activities} == {older_twin}


def test_lead_changes_oldest_first_across_leads_with_exact_remaining(engine, clock):
    start = clock.current
    a = _history(engine, "a@example.com", 2)
    b = _history(engine, "b@example.com", 2)
    pos = StreamPosition(oldest_created_at=start)
    seen = []
    remaining = []
    while True:
        page = engine.lead_changes(pos, batch_size=4)
        seen += page.activities
        remaining.append(page.remaining)
        if page.remaining == 0:
            break
        pos = page.position
        assert pos.offset == f"ID:{page.activities[-1].id}" and pos.oldest_created_at == start
    assert remaining == [2, 0]
    assert [x.lead_id for x in seen] == [a, a, a, b, b, b]
    assert [x.id for x in seen] == sorted(x.id for x in seen)
    empty = engine.lead_changes(page.position)
    assert (empty.activities, empty.remaining, empty.position.offset) == ([], 0, page.position.offset)


def test_lead_changes_name_filter_wins_and_unknown_names_match_nothing(engine, clock):
    start = clock.current
    _history(engine, "n@example.com", 2)
    pos = StreamPosition(oldest_created_at=start)
    names = engine.lead_changes(pos, names=["change data VALUE"], include_types=["NewLead"])
    assert {x.type_name for x in names.activities} == {"Change Data Value"} and len(names.activities) == 2
    nothing = engine.lead_changes(pos, names=["Not A Type", "Share Content"])
    assert (nothing.activities, nothing.remaining) == ([], 0)
    by_enum = engine.lead_changes(pos, include_types=["NewLead"])
    assert [x.type_name for x in by_enum.activities] == ["New Lead"]
    with pytest.raises(BadParameter):
        engine.lead_changes(pos, include_types=["NewLead"], exclude_types=["ChangeDataValue"])


def test_lead_changes_selectors(engine, clock):
    start = clock.current
    a = _history(engine, "sa@example.com", 1)
    b = _history(engine, "sb@example.com", 1)
    pos = StreamPosition(oldest_created_at=start)
    keyed = engine.lead_changes(pos, selector=KeySelector("EMAIL", ["SB@example.com"]))
    assert {x.lead_id for x in keyed.activities} == {b}
    with pytest.raises(BadParameter):
        engine.lead_changes(pos, selector=KeySelector("IDNUM", [str(i) for i in range(101)]))
    engine.add_list("Sel")
    engine.list_operation("ADDTOLIST", "MKTOLISTNAME", "Sel", [LeadKey("IDNUM", str(a))], skip_activity_log=True)
    listed = engine.lead_changes(pos, selector=ListSelector(list_name="Sel"))
    assert {x.lead_id for x in listed.activities} == {a} and len(listed.activities) == 2
    with pytest.raises(ListNotFound):
        engine.lead_changes(pos, selector=ListSelector(list_name="Missing"))
    # LastUpdateAtSelector bounds the activity window
    clock.advance(hours=1)
    mark = clock.current
    engine.sync_lead(LeadInput(id=a, attributes=[("City", "Late")]), return_lead=False)
    windowed = engine.lead_changes(StreamPosition(), selector=UpdatedAtSelector(oldest=mark))
    assert [x.asset_name for x in windowed.activities] == ["City"]
    early = engine.lead_changes(
        StreamPosition(), selector=UpdatedAtSelector(oldest=start, latest=mark - timedelta(minutes=1))
    )
    assert len(early.activities) == 4


def test_lead_changes_batch_limits(engine, clock):
    start = clock.current
    for part in (range(0, 600), range(600, 1100)):
        engine.sync_leads([LeadInput(email=f"m{i}@example.com") for i in part])
    pos = StreamPosition(oldest_created_at=start)
    default = engine.lead_changes(pos)  # no batchSize: up to 1000
    assert (len(default.activities), default.remaining) == (1000, 100)
    assert len(engine.lead_changes(pos, batch_size=100).activities) == 100
    big = engine.lead_changes(pos, batch_size=5000)
    assert (len(big.activities), big.remaining) == (1000, 100)
    with pytest.raises(BadParameter):
        engine.lead_changes(pos, batch_size=0)
