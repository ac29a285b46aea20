"""describeMObject / listMObjects and the field registry behind them."""

from __future__ import annotations

import pytest

from mktows.engine.models import FieldInfo
from mktows.errors import BadParameter


def test_object_names(engine):
    assert engine.object_names() == ["ActivityRecord", "LeadRecord", "Opportunity", "OpportunityPersonRole"]


def test_activity_record_fields(engine):
    meta = engine.describe("ActivityRecord")
    assert (meta.virtual, meta.custom) == (True, False)
    assert [f.name for f in meta.fields] == [
        "id",
        "activityDateTime",
        "activityType",
        "mktgAssetName",
        "activityAttributes",
        "campaign",
        "personName",
        "mktPersonId",
        "foreignSysId",
        "orgName",
        "foreignSysOrgId",
    ]
    by_name = {f.name: f for f in meta.fields}
    assert (by_name["id"].primary_key, by_name["id"].size, by_name["id"].source_object) == (True, 10, "Event")
    assert by_name["activityType"].is_name is True
    assert by_name["activityDateTime"].size is None
    assert all(f.read_only and f.update_blocked and f.display_name is None for f in meta.fields)


def test_lead_record_comes_from_the_registry_including_custom_fields(engine):
    engine.add_lead_field(FieldInfo("Shoe_Size", "Shoe Size", "integer"))
    engine.add_lead_field(FieldInfo("shoe_size", "Shoe size (EU)", "integer"))  # update, not a duplicate
    fields = {f.name: f for f in engine.describe("LeadRecord").fields}
    assert fields["Shoe_Size"].display_name == "Shoe size (EU)" and fields["Shoe_Size"].custom
    assert fields["FirstName"].display_name == "First Name" and not fields["FirstName"].custom
    assert fields["LeadScore"].data_type == "integer"
    assert [f.name for f in engine.lead_fields()].count("Shoe_Size") == 1


def test_standard_objects_and_unknown(engine):
    assert "Amount" in [f.name for f in engine.describe("Opportunity").fields]
    assert {"PersonId", "OpportunityId", "Role", "IsPrimary"} <= {
        f.name for f in engine.describe("OpportunityPersonRole").fields
    }
    with pytest.raises(BadParameter):
        engine.describe("Program")


def test_custom_field_rules(engine):
    with pytest.raises(BadParameter):
        engine.add_lead_field(FieldInfo("firstname", "First", "string"))
    with pytest.raises(BadParameter):
        engine.add_lead_field(FieldInfo("Odd", "Odd", "colour"))
