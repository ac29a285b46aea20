"""syncMultipleLeads: dedupe, per-record failures, whole-call unknown-field fault (docs/leads.md)."""

from __future__ import annotations

import pytest
from engine_helpers import all_activities, attrs, counts, create, lead

from mktows.engine.models import LeadInput, LeadKey
from mktows.errors import LeadNotFound, UnknownLeadField


def test_dedup_updates_existing_email_and_collapses_duplicates_in_one_batch(engine):
    existing = create(engine, "e1@example.com", FirstName="Old")
    out = engine.sync_leads(
        [
            LeadInput(email="E1@example.com", attributes=[("FirstName", "New")]),
            LeadInput(email="e2@example.com", attributes=[("FirstName", "B")]),
            LeadInput(email="e2@example.com", attributes=[("LastName", "C")]),
        ]
    )
    assert [(o.lead_id, o.status, o.error) for o in out] == [
        (existing, "UPDATED", None),
        (existing + 1, "CREATED", None),
        (existing + 1, "UPDATED", None),
    ]
    assert attrs(lead(engine, existing + 1)) == {"FirstName": "B", "LastName": "C"}
    assert [a.type_name for a in all_activities(engine, existing + 1)] == ["New Lead", "Change Data Value"]


def test_dedup_disabled_creates_duplicates(engine):
    create(engine, "d@example.com")
    out = engine.sync_leads([LeadInput(email="d@example.com"), LeadInput(email="d@example.com")], dedup=False)
    assert [o.status for o in out] == ["CREATED", "CREATED"]
    assert len(engine.get_leads(LeadKey("EMAIL", "d@example.com"))) == 3


def test_bad_record_fails_alone(engine):
    out = engine.sync_leads(
        [
            LeadInput(email="ok@example.com", attributes=[("LeadScore", "5")]),
            LeadInput(email="bad@example.com", attributes=[("LeadScore", "five")]),
            LeadInput(attributes=[("FirstName", "no key")]),
            LeadInput(id=424242, attributes=[("FirstName", "missing")]),
        ]
    )
    assert [o.status for o in out] == ["CREATED", "FAILED", "FAILED", "FAILED"]
    assert "LeadScore" in out[1].error and out[2].error and out[3].error
    assert out[3].lead_id == 424242
    assert counts(engine)[0] == 1
    with pytest.raises(LeadNotFound):
        engine.get_leads(LeadKey("EMAIL", "bad@example.com"))


def test_unknown_field_fails_the_whole_call_and_changes_nothing(engine):
    create(engine, "keep@example.com", FirstName="Keep")
    before = counts(engine)
    with pytest.raises(UnknownLeadField) as err:
        engine.sync_leads(
            [
                LeadInput(email="keep@example.com", attributes=[("FirstName", "Changed")]),
                LeadInput(email="new@example.com", attributes=[("Shoe_Size", "9"), ("pants", "x"), ("shoe_size", "1")]),
            ]
        )
    assert (
        err.value.detail == "syncMultipleLeads operation failed: unknown fields for import: Shoe_Size, pants, shoe_size"
    )
    assert counts(engine) == before
    assert attrs(lead(engine, 1)) == {"FirstName": "Keep"}


def test_email_key_not_changed_when_id_matches_unless_in_attributes(engine):
    lead_id = create(engine, "orig@example.com")
    engine.sync_leads([LeadInput(id=lead_id, email="other@example.com", attributes=[("FirstName", "A")])])
    assert lead(engine, lead_id).email == "orig@example.com"
    engine.sync_leads([LeadInput(id=lead_id, attributes=[("Email", "moved@example.com")])])
    assert lead(engine, lead_id).email == "moved@example.com"
    assert all_activities(engine, lead_id)[-1].asset_name == "Email Address"


def test_foreign_id_creates_then_matches(engine):
    first = engine.sync_leads([LeadInput(foreign_sys_person_id="F1", foreign_sys_type="CUSTOM", email="f@example.com")])
    second = engine.sync_leads(
        [LeadInput(foreign_sys_person_id="F1", foreign_sys_type="CUSTOM", attributes=[("City", "Oslo")])]
    )
    assert first[0].status == "CREATED" and second[0].status == "UPDATED"
    assert first[0].lead_id == second[0].lead_id


def test_three_hundred_records_in_one_call(engine):
    records = [LeadInput(email=f"bulk{i}@example.com", attributes=[("FirstName", f"F{i}")]) for i in range(300)]
    out = engine.sync_leads(records)
    assert [o.lead_id for o in out] == list(range(1, 301))
    again = engine.sync_leads([LeadInput(email=r.email, attributes=[("FirstName", "X")]) for r in records])
    assert {o.status for o in again} == {"UPDATED"}
    assert counts(engine) == (300, 300, 600)
