"""describeMObject (LeadRecord, ActivityRecord) and listMObjects through zeep and suds."""

from __future__ import annotations

import pytest
from support.clients import LeadApi, items
from support.server import SEED_CUSTOM_FIELD, SEED_INT_FIELD

KINDS_VERSIONS = [("zeep", "2_2"), ("zeep", "3_1"), ("suds", "2_2"), ("suds", "3_1")]

FIELD_ELEMENTS = [
    "name",
    "description",
    "displayName",
    "sourceObject",
    "dataType",
    "size",
    "isReadonly",
    "isUpdateBlocked",
    "isName",
    "isPrimaryKey",
    "isCustom",
    "isDynamic",
    "dynamicFieldRef",
    "updatedAt",
]

# name, sourceObject, dataType, size, isName, isPrimaryKey
ACTIVITY_FIELDS = [
    ("id", "Event", "integer", 10, False, True),
    ("activityDateTime", "Event", "dateTime", None, False, False),
    ("activityType", "Event", "string", 255, True, False),
    ("mktgAssetName", "Event", "string", 255, False, False),
    ("activityAttributes", "Event", "Array", None, False, False),
    ("campaign", "Campaign", "string", 255, False, False),
    ("personName", "Lead", "string", 255, False, False),
    ("mktPersonId", "Lead", "integer", 10, False, False),
    ("foreignSysId", "Lead", "string", 50, False, False),
    ("orgName", "Company", "string", 255, False, False),
    ("foreignSysOrgId", "Company", "string", 50, False, False),
]


@pytest.fixture(params=KINDS_VERSIONS, ids=[f"{k}-{v}" for k, v in KINDS_VERSIONS])
def api(request, lead_api) -> LeadApi:
    return lead_api(*request.param)


def test_list_mobjects(api):
    res = api.call("listMObjects")
    objects = res["objects"]
    objects = objects if isinstance(objects, list) else [objects]
    assert objects == ["ActivityRecord", "LeadRecord", "Opportunity", "OpportunityPersonRole"]


def test_describe_activity_record(api):
    md = api.call("describeMObject", objectName="ActivityRecord")["metadata"]
    assert md["name"] == "ActivityRecord"
    assert md["isVirtual"] is True and md["isCustom"] is False
    assert md["description"]
    fields = items(md, "fieldList", "field")
    got = [(f["name"], f["sourceObject"], f["dataType"], f["size"], f["isName"], f["isPrimaryKey"]) for f in fields]
    assert got == ACTIVITY_FIELDS
    for f in fields:
        assert set(FIELD_ELEMENTS) <= set(f), f"every field carries all 14 elements: {f}"
        assert f["isReadonly"] is True and f["isUpdateBlocked"] is True
        assert f["isCustom"] is False and f["isDynamic"] is False
        assert f["displayName"] is None and f["dynamicFieldRef"] is None


def test_describe_lead_record(api):
    md = api.call("describeMObject", objectName="LeadRecord")["metadata"]
    assert md["name"] == "LeadRecord" and md["isVirtual"] is True
    fields = {f["name"]: f for f in items(md, "fieldList", "field")}
    for std, display in (
        ("FirstName", "First Name"),
        ("LastName", "Last Name"),
        ("Email", "Email Address"),
        ("Company", "Company Name"),
    ):
        assert std in fields, f"{std} missing from LeadRecord fields"
        assert fields[std]["displayName"] == display
        assert fields[std]["isCustom"] is False
    custom = fields[SEED_CUSTOM_FIELD]
    assert (
        custom["displayName"] == "Seed Custom Field" and custom["dataType"] == "string" and custom["isCustom"] is True
    )
    score = fields[SEED_INT_FIELD]
    assert score["displayName"] == "Seed Score" and score["dataType"] == "integer" and score["isCustom"] is True
    for f in fields.values():
        assert set(FIELD_ELEMENTS) <= set(f)


def test_describe_unknown_object_is_20110(api):
    assert api.fault("describeMObject", objectName="Spaceship").code == 20110


def test_describe_custom_object_type_by_any_case(api):
    """An extension: the instance's custom object types are described too (key fields are the
    primary key), while listMObjects keeps the vendor's four names."""
    md = api.call("describeMObject", objectName="roadSHOW")["metadata"]
    assert md["name"] == "Roadshow" and md["isCustom"] is True and md["isVirtual"] is False
    assert md["description"] == "Road Show"
    fields = {f["name"]: f for f in items(md, "fieldList", "field")}
    assert list(fields) == ["MKTOID", "rid", "city", "visited_on", "attendees"]
    assert [n for n, f in fields.items() if f["isPrimaryKey"]] == ["MKTOID", "rid"]
    assert fields["visited_on"]["dataType"] == "date" and fields["attendees"]["dataType"] == "integer"
    assert "Id" in fields["MKTOID"]["description"]
    for f in fields.values():
        assert set(FIELD_ELEMENTS) <= set(f) and f["isCustom"] is True
