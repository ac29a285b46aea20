"""getLead key matching and syncLead upsert rules (docs/leads.md)."""

from __future__ import annotations

import pytest
from engine_helpers import all_activities, attrs, counts, create, lead

from mktows.engine.models import LeadInput, LeadKey
from mktows.errors import (
    BadParameter,
    LeadDetailRequired,
    LeadKeyBad,
    LeadKeyRequired,
    LeadNotFound,
    LeadSyncFailed,
    UnknownLeadField,
)


def test_get_lead_by_id_returns_sorted_non_empty_attributes(engine):
    lead_id = create(engine, "Ann@Example.com", lastname="Lee", FirstName="Ann", Company="", LeadScore="07")
    [found] = engine.get_leads(LeadKey("IDNUM", str(lead_id)))
    assert found.email == "Ann@Example.com"
    assert [(a.name, a.data_type, a.value) for a in found.attributes] == [
        ("FirstName", "string", "Ann"),
        ("LastName", "string", "Lee"),
        ("LeadScore", "integer", "7"),
    ]
    assert found.created_at.tzinfo is not None and found.updated_at.utcoffset().total_seconds() == 0


def test_get_lead_by_email_is_case_insensitive_and_returns_every_match(engine):
    engine.sync_leads([LeadInput(email="dup@example.com"), LeadInput(email="DUP@example.com")], dedup=False)
    found = engine.get_leads(LeadKey("EMAIL", "Dup@Example.COM"))
    assert [f.id for f in found] == [1, 2]


def test_get_lead_by_cookie_crm_ids_and_owner_email(engine):
    lead_id = create(engine, "crm@example.com", SFDCLeadId="00Q1", SFDCContactId="003X", LeadOwnerEmail="Boss@Corp.com")
    engine.sync_lead(LeadInput(id=lead_id), return_lead=False, cookie="id:123-ABC&token:_mch-x")
    for key in (
        LeadKey("COOKIE", "id:123-ABC&token:_mch-x"),
        LeadKey("SFDCLEADID", "00Q1"),
        LeadKey("SFDCCONTACTID", "003X"),
        LeadKey("LEADOWNEREMAIL", "boss@corp.com"),
    ):
        assert [f.id for f in engine.get_leads(key)] == [lead_id], key
    assert attrs(lead(engine, lead_id))["SFDCLeadId"] == "00Q1"


def test_get_lead_errors(engine):
    create(engine, "x@example.com")
    with pytest.raises(LeadKeyBad) as bad:
        engine.get_leads(LeadKey("IDNUM", "abc"))
    assert bad.value.code == 20102
    with pytest.raises(LeadKeyBad):
        engine.get_leads(LeadKey("NOSUCHKEY", "1"))
    with pytest.raises(LeadNotFound) as missing:
        engine.get_leads(LeadKey("EMAIL", "nobody@example.com"))
    assert missing.value.detail == "No lead found with EMAIL = nobody@example.com"
    assert missing.value.code == 20103
    with pytest.raises(LeadKeyRequired):
        engine.get_leads(LeadKey("EMAIL", ""))


def test_create_logs_new_lead_then_update_logs_one_change_per_changed_field(engine):
    outcome = engine.sync_lead(LeadInput(email="a@example.com", attributes=[("FirstName", "Ann")]), return_lead=True)
    assert outcome.status == "CREATED" and outcome.lead is not None
    assert attrs(outcome.lead) == {"FirstName": "Ann"}
    again = engine.sync_lead(
        LeadInput(
            email="A@EXAMPLE.com", attributes=[("firstname", "Anne"), ("LastName", "Lee"), ("Email", "a@example.com")]
        ),
        return_lead=False,
    )
    assert (again.lead_id, again.status, again.lead) == (outcome.lead_id, "UPDATED", None)
    acts = all_activities(engine, outcome.lead_id)
    assert [a.type_name for a in acts] == ["New Lead", "Change Data Value", "Change Data Value"]
    new_lead = acts[0]
    assert new_lead.attributes[:2] == [("Source Type", "Web service API"), ("Source Info", "Web service API")]
    assert new_lead.attributes[2][0] == "Created Date" and len(new_lead.attributes[2][1]) == 10
    assert new_lead.attributes[-1] == ("Lead ID", str(outcome.lead_id))
    first = acts[1]
    assert first.asset_name == "First Name"
    assert first.attributes == [
        ("Attribute Name", "First Name"),
        ("Old Value", "Ann"),
        ("New Value", "Anne"),
        ("Reason", "SOAP API"),
        ("Lead ID", str(outcome.lead_id)),
    ]
    # unchanged values log nothing
    engine.sync_lead(LeadInput(email="a@example.com", attributes=[("FirstName", "Anne")]), return_lead=False)
    assert len(all_activities(engine, outcome.lead_id)) == 3


def test_empty_value_clears_field_and_unlisted_fields_stay(engine):
    lead_id = create(engine, "c@example.com", FirstName="Cy", City="Paris")
    engine.sync_lead(LeadInput(id=lead_id, attributes=[("City", "")]), return_lead=False)
    assert attrs(lead(engine, lead_id)) == {"FirstName": "Cy"}
    assert all_activities(engine, lead_id)[-1].attributes[1:3] == [("Old Value", "Paris"), ("New Value", "")]


def test_id_match_must_exist_and_writes_foreign_id(engine):
    with pytest.raises(LeadNotFound):
        engine.sync_lead(LeadInput(id=999, email="n@example.com"), return_lead=False)
    lead_id = create(engine, "f@example.com")
    out = engine.sync_lead(
        LeadInput(id=lead_id, foreign_sys_person_id="EXT-1", foreign_sys_type="CUSTOM"), return_lead=True
    )
    assert out.status == "UPDATED"
    assert (out.lead.foreign_sys_person_id, out.lead.foreign_sys_type) == ("EXT-1", "CUSTOM")


def test_foreign_id_match_updates_email_in_sync_lead(engine):
    lead_id = engine.sync_lead(
        LeadInput(email="old@example.com", foreign_sys_person_id="P9", foreign_sys_type="SFDC"), return_lead=False
    ).lead_id
    out = engine.sync_lead(
        LeadInput(email="new@example.com", foreign_sys_person_id="P9", foreign_sys_type="SFDC"), return_lead=True
    )
    assert (out.lead_id, out.status, out.lead.email) == (lead_id, "UPDATED", "new@example.com")


def test_email_match_picks_most_recently_updated(engine, clock):
    engine.sync_leads([LeadInput(email="same@example.com")] * 2, dedup=False)
    clock.advance(seconds=5)
    engine.sync_lead(LeadInput(id=1, attributes=[("FirstName", "Touched")]), return_lead=False)
    out = engine.sync_lead(LeadInput(email="same@example.com", attributes=[("LastName", "X")]), return_lead=False)
    assert out.lead_id == 1


def test_unknown_field_faults_with_vendor_message_and_changes_nothing(engine):
    create(engine, "u@example.com")
    before = counts(engine)
    with pytest.raises(UnknownLeadField) as err:
        engine.sync_lead(
            LeadInput(email="u@example.com", attributes=[("FirstName", "A"), ("pants", "1")]), return_lead=False
        )
    assert err.value.code == 20105
    assert err.value.detail == "syncLead operation failed: unknown fields for import: pants"
    assert counts(engine) == before


def test_sync_lead_needs_a_record_and_a_key_and_valid_values(engine):
    with pytest.raises(LeadDetailRequired):
        engine.sync_lead(None, return_lead=False)  # type: ignore[arg-type]
    with pytest.raises(LeadKeyRequired):
        engine.sync_lead(LeadInput(attributes=[("FirstName", "A")]), return_lead=False)
    with pytest.raises(BadParameter):
        engine.sync_lead(LeadInput(email="i@example.com", attributes=[("LeadScore", "lots")]), return_lead=False)
    assert counts(engine) == (0, 0, 0)


def test_workspace_header(engine):
    assert (
        engine.sync_lead(LeadInput(email="w@example.com"), return_lead=False, workspace="default").status == "CREATED"
    )
    with pytest.raises(LeadSyncFailed) as err:
        engine.sync_lead(LeadInput(email="w@example.com"), return_lead=False, workspace="Europe")
    assert "Europe" in err.value.detail


def test_values_are_validated_and_normalised_per_type(engine):
    from mktows.engine.models import FieldInfo

    engine.add_lead_field(FieldInfo("Purchase_Date", "Date of purchase", "date"))
    engine.add_lead_field(FieldInfo("Is_Vip", "VIP", "boolean"))
    engine.add_lead_field(FieldInfo("Spend", "Spend", "currency"))
    lead_id = create(engine, "t@example.com", purchase_date="2015-09-04", IS_VIP="True", Spend="12.50")
    assert attrs(lead(engine, lead_id)) == {"Purchase_Date": "2015-09-04", "Is_Vip": "true", "Spend": "12.5"}
    types = {a.name: a.data_type for a in lead(engine, lead_id).attributes}
    assert types == {"Purchase_Date": "date", "Is_Vip": "boolean", "Spend": "currency"}


def test_anonymous_cookie_lead_merges_into_the_lead_its_email_creates(engine):
    anon = engine.track_cookie("cookie-anon")
    out = engine.sync_lead(LeadInput(email="known@example.com"), return_lead=True, cookie="cookie-anon")
    assert (out.status, out.lead.email) == ("CREATED", "known@example.com") and out.lead_id != anon
    assert [x.id for x in engine.get_leads(LeadKey("COOKIE", "cookie-anon"))] == [out.lead_id]
    with pytest.raises(LeadNotFound):
        engine.get_leads(LeadKey("IDNUM", str(anon)))


def test_cookie_without_a_key_updates_its_owner_or_makes_an_anonymous_lead(engine):
    out = engine.sync_lead(LeadInput(attributes=[("FirstName", "Visitor")]), return_lead=True, cookie="cookie-new")
    assert out.status == "CREATED" and out.lead.email is None
    again = engine.sync_lead(LeadInput(attributes=[("LastName", "Unknown")]), return_lead=True, cookie="cookie-new")
    assert (again.lead_id, again.status) == (out.lead_id, "UPDATED")
    known = engine.sync_lead(LeadInput(email="v@example.com"), return_lead=True, cookie="cookie-new")
    names = {a.name: a.value for a in known.lead.attributes}
    assert (names["FirstName"], names["LastName"]) == ("Visitor", "Unknown")  # blanks filled as a merge fills them
    assert [x.id for x in engine.get_leads(LeadKey("EMAIL", "v@example.com"))] == [known.lead_id]


def test_cookie_of_anonymous_lead_merges_into_matched_lead(engine):
    anon = engine.track_cookie("cookie-2")
    known = create(engine, "k@example.com")
    out = engine.sync_lead(LeadInput(id=known), return_lead=False, cookie="cookie-2")
    assert out.lead_id == known
    assert [x.id for x in engine.get_leads(LeadKey("COOKIE", "cookie-2"))] == [known]
    with pytest.raises(LeadNotFound):
        engine.get_leads(LeadKey("IDNUM", str(anon)))


def test_cookie_of_known_lead_moves_only_with_move_cookie(engine):
    first = create(engine, "one@example.com")
    engine.sync_lead(LeadInput(id=first), return_lead=False, cookie="ck")
    second = create(engine, "two@example.com")
    engine.sync_lead(LeadInput(id=second), return_lead=False, cookie="ck")
    assert [x.id for x in engine.get_leads(LeadKey("COOKIE", "ck"))] == [first]
    engine.sync_lead(LeadInput(id=second), return_lead=False, cookie="ck", move_cookie=True)
    assert [x.id for x in engine.get_leads(LeadKey("COOKIE", "ck"))] == [second]
