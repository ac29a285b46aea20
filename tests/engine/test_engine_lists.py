"""listOperation (docs/leads.md, listOperation and List names)."""

from __future__ import annotations

import pytest
from engine_helpers import all_activities, counts, create

from mktows.engine.models import LeadKey, ListSelector
from mktows.errors import BadParameter, LeadKeyBad, ListNotFound


def ids(*values):
    return [LeadKey("IDNUM", str(v)) for v in values]


def members(engine, name):
    return [lead.id for lead in engine.page_leads(ListSelector(list_name=name)).leads]


def statuses(outcome):
    return [s.status for s in outcome.statuses]


def test_add_is_idempotent_and_logs_only_real_additions(engine):
    a, b = create(engine, "a@example.com"), create(engine, "b@example.com")
    list_id = engine.add_list("Newsletter")
    assert engine.add_list("Newsletter") == list_id
    first = engine.list_operation("ADDTOLIST", "MKTOLISTNAME", "Newsletter", ids(a, 999))
    assert (first.success, statuses(first)) == (False, [True, False])
    assert first.statuses[1].key == LeadKey("IDNUM", "999")
    again = engine.list_operation("addtolist", "MKTOLISTNAME", "Newsletter", ids(a, b))
    assert (again.success, statuses(again)) == (True, [True, True])
    assert members(engine, "Newsletter") == [a, b]
    logged = [x for x in all_activities(engine, a) if x.type_name == "Add to List"]
    assert len(logged) == 1
    assert logged[0].asset_name == "Newsletter"
    assert logged[0].attributes == [("List ID", str(list_id)), ("Lead ID", str(a))]


def test_is_member_and_remove(engine):
    a, b = create(engine, "a@example.com"), create(engine, "b@example.com")
    engine.add_list("L")
    engine.list_operation("ADDTOLIST", "MKTOLISTNAME", "L", ids(a))
    member = engine.list_operation("ISMEMBEROFLIST", "MKTOLISTNAME", "L", ids(a, b))
    assert (member.success, statuses(member)) == (False, [True, False])
    removed = engine.list_operation("REMOVEFROMLIST", "MKTOLISTNAME", "L", ids(a, b, 999))
    assert statuses(removed) == [True, True, False]
    assert members(engine, "L") == []
    assert [x.type_name for x in all_activities(engine, a)][-1] == "Remove from List"
    assert "Remove from List" not in [x.type_name for x in all_activities(engine, b)]


def test_strict_applies_nothing_when_any_lead_fails(engine):
    a = create(engine, "a@example.com")
    engine.add_list("S")
    before = counts(engine)
    out = engine.list_operation("ADDTOLIST", "MKTOLISTNAME", "S", ids(a, 999), strict=True)
    assert (out.success, statuses(out)) == (False, [False, False])  # nothing applied, nothing reported done
    assert members(engine, "S") == [] and counts(engine) == before
    ok = engine.list_operation("ADDTOLIST", "MKTOLISTNAME", "S", ids(a), strict=True)
    assert ok.success and members(engine, "S") == [a]


def test_clearlist_and_skip_activity_log(engine):
    a, b = create(engine, "a@example.com"), create(engine, "b@example.com")
    engine.add_list("C")
    engine.list_operation("ADDTOLIST", "MKTOLISTNAME", "C", ids(a, b), skip_activity_log=True)
    assert "Add to List" not in [x.type_name for x in all_activities(engine, a)]
    out = engine.list_operation("CLEARLIST", "MKTOLISTNAME", "C", [])
    assert out.success and members(engine, "C") == []
    assert all_activities(engine, b)[-1].type_name == "Remove from List"


def test_errors(engine):
    a = create(engine, "a@example.com")
    engine.add_list("E")
    with pytest.raises(LeadKeyBad):
        engine.list_operation("ADDTOLIST", "MKTOLISTNAME", "E", [LeadKey("EMAIL", "a@example.com")])
    with pytest.raises(LeadKeyBad):
        engine.list_operation("ADDTOLIST", "MKTOLISTNAME", "E", ids("x1"))
    with pytest.raises(ListNotFound):
        engine.list_operation("ADDTOLIST", "MKTOLISTNAME", "Nope", ids(a))
    for key_type in ("MKTOSALESUSERID", "SFDCLEADOWNERID"):
        with pytest.raises(ListNotFound) as err:
            engine.list_operation("ADDTOLIST", key_type, "123", ids(a))
        assert err.value.code == 20111
    with pytest.raises(BadParameter):
        engine.list_operation("ADDTOLIST", "MKTOLISTNAME", "E", ids(*range(1001)))
    with pytest.raises(BadParameter):
        engine.list_operation("MOVE", "MKTOLISTNAME", "E", ids(a))
    engine.add_list("Dup", program="P1")
    engine.add_list("Dup", program="P1.")  # unrelated
    assert engine.list_operation("ADDTOLIST", "MKTOLISTNAME", "P1.Dup", ids(a)).success


def test_thousand_members_in_one_call(engine):
    from mktows.engine.models import LeadInput

    out = engine.sync_leads([LeadInput(email=f"k{i}@example.com") for i in range(1000)])
    engine.add_list("Big")
    result = engine.list_operation("ADDTOLIST", "MKTOLISTNAME", "Big", ids(*[o.lead_id for o in out]))
    assert result.success and len(result.statuses) == 1000
    assert engine.page_leads(ListSelector(list_name="Big"), batch_size=1).remaining == 999
