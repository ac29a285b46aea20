"""End to end: what the vendor's FAQ tells users to do with MObjects, done for real.

1. Opportunities without a CRM: create an opportunity and two person roles for existing leads
   with syncMObjects, then read them back with getMObjects filtered by the lead.
2. Programs with their metadata: list every program through getMObjects type Program with
   includeDetails, paging while hasMore, and find each program's channel, tags and costs.

Both run through zeep and suds clients built from the served ?WSDL; the clients' plugins
validate every response against the served schema. The failure cases users hit
(unknown type, unknown field, bad comparison, duplicate external keys, update of a missing
object - skipped, not failed - more than 100 objects) are covered per object type in tests/test_mobjects_*.py and
tests/test_custom_objects.py, and once more here through both clients.
"""

from __future__ import annotations

import uuid

import pytest
from support.clients import LeadApi, items

CLIENTS = [("zeep", "3_1"), ("suds", "2_2")]


def _attribs(parent: dict, wrapper: str = "attribList") -> dict[str, str]:
    return {a["name"]: a["value"] for a in items(parent, wrapper, "attrib")}


def _objects(result: dict) -> list[dict]:
    return items(result, "mObjectList", "mObject")


def _statuses(result: dict) -> list[dict]:
    return items(result, "mObjStatusList", "mObjStatus")


def _mobject(type_: str, attrs: dict[str, object] | None = None, **extra) -> dict:
    obj: dict = {"type": type_, **extra}
    if attrs:
        obj["attribList"] = {"attrib": [{"name": k, "value": str(v)} for k, v in attrs.items()]}
    return obj


def _get_all(api: LeadApi, **params) -> list[dict]:
    """Every object of a getMObjects query, following newStreamPosition while hasMore."""
    found: list[dict] = []
    position = None
    for _ in range(100):
        body = api.call("getMObjects", streamPosition=position, **params)
        page = _objects(body)
        assert int(body["returnCount"]) == len(page) <= 100
        found += page
        if not body["hasMore"]:
            return found
        position = body["newStreamPosition"]
        assert position
    raise AssertionError("getMObjects never reached the end")


@pytest.mark.parametrize("kind, version", CLIENTS)
def test_faq_opportunity_and_two_person_roles_read_back_by_lead(lead_api, unique_email, kind, version) -> None:
    api = lead_api(kind, version)
    buyer = api.create_lead(unique_email("buyer"), {"FirstName": "Grace"})
    advisor = api.create_lead(unique_email("advisor"), {"FirstName": "Alan"})
    deal = f"FAQ Deal {uuid.uuid4().hex[:8]}"

    created = _statuses(
        api.call(
            "syncMObjects",
            operation="INSERT",
            mObjectList={
                "mObject": [
                    _mobject(
                        "Opportunity",
                        {
                            "Name": deal,
                            "Stage": "Prospecting",
                            "Amount": "25000.50",
                            "CloseDate": "2026-12-31",
                            "ExternalOpportunityId": deal,
                        },
                    ),
                ]
            },
        )
    )
    assert [s["status"] for s in created] == ["CREATED"], created
    opportunity_id = int(created[0]["id"])

    roles = _statuses(
        api.call(
            "syncMObjects",
            operation="INSERT",
            mObjectList={
                "mObject": [
                    _mobject(
                        "OpportunityPersonRole",
                        {
                            "OpportunityId": opportunity_id,
                            "PersonId": buyer,
                            "Role": "Decision Maker",
                            "IsPrimary": "true",
                        },
                    ),
                    _mobject(
                        "OpportunityPersonRole",
                        {
                            "OpportunityId": opportunity_id,
                            "PersonId": advisor,
                            "Role": "Influencer",
                            "IsPrimary": "false",
                        },
                    ),
                ]
            },
        )
    )
    assert [s["status"] for s in roles] == ["CREATED", "CREATED"], roles
    buyer_role, advisor_role = (int(s["id"]) for s in roles)

    # the roles of one lead: exactly its own role, linked to the opportunity
    by_lead = _get_all(
        api, type="OpportunityPersonRole", mObjAssociationList={"mObjAssociation": [{"mObjType": "Lead", "id": buyer}]}
    )
    assert [int(o["id"]) for o in by_lead] == [buyer_role]
    role = _attribs(by_lead[0])
    assert role["Role"] == "Decision Maker"
    assert int(role["OpportunityId"]) == opportunity_id and int(role["PersonId"]) == buyer
    links = {(a["mObjType"], int(a["id"])) for a in items(by_lead[0], "associationList", "mObjAssociation")}
    assert links == {("Lead", buyer), ("Opportunity", opportunity_id)}

    # the opportunities of the other lead: the one just created, with its fields
    opportunities = _get_all(
        api, type="Opportunity", mObjAssociationList={"mObjAssociation": [{"mObjType": "Lead", "id": advisor}]}
    )
    assert [int(o["id"]) for o in opportunities] == [opportunity_id]
    fields = _attribs(opportunities[0])
    assert fields["Name"] == deal and fields["Stage"] == "Prospecting"
    assert float(fields["Amount"]) == 25000.50
    assert opportunities[0]["externalKey"]["value"] == deal

    # both roles of the opportunity, in id order
    of_deal = _get_all(
        api,
        type="OpportunityPersonRole",
        mObjAssociationList={"mObjAssociation": [{"mObjType": "Opportunity", "id": opportunity_id}]},
    )
    assert [int(o["id"]) for o in of_deal] == [buyer_role, advisor_role]

    # each lead's activity log shows it was added to the opportunity
    for lead_id in (buyer, advisor):
        log = api.activities("IDNUM", str(lead_id))
        records = items(log, "activityRecordList", "activityRecord")
        added = [r for r in records if r["activityType"] == "Add to Opportunity"]
        assert [r["mktgAssetName"] for r in added] == [deal]


@pytest.mark.parametrize("kind, version", CLIENTS)
def test_faq_every_program_with_channel_tags_and_costs(lead_api, kind, version) -> None:
    api = lead_api(kind, version)
    programs = _get_all(api, type="Program", includeDetails=True)
    by_name = {_attribs(p)["Name"]: p for p in programs}
    ids = [int(p["id"]) for p in programs]
    assert ids == sorted(set(ids)), "pages overlap or are out of order"
    assert {"Seed Program", "Spring Webinar", "EMEA Blog"} <= set(by_name)

    def details(name: str) -> tuple[dict[str, str], list[tuple[str, str]], list[dict[str, str]], dict[str, str]]:
        program = by_name[name]
        typed = items(program, "typeAttribList", "typeAttrib")
        tags = [(t["Type"], t["Value"]) for t in (_attribs(x, "attrList") for x in typed if x["attrType"] == "Tag")]
        costs = [_attribs(x, "attrList") for x in typed if x["attrType"] == "Cost"]
        tokens = {t["Name"]: t["Value"] for t in (_attribs(x, "attrList") for x in typed if x["attrType"] == "Token")}
        return _attribs(program), tags, costs, tokens

    attrs, tags, costs, tokens = details("Spring Webinar")
    assert attrs["Type"] == "Marketing Event"
    assert attrs["Workspace Name"] == "Default"
    assert attrs["Tree Path"] == "/Marketing Activities/Default/Events/2026/Spring Webinar"
    assert attrs["Is Archived"] == "false"
    assert ("Channel", "Webinar") in tags and ("Region", "North") in tags
    assert [(c["Month"], float(c["Amount"]), c.get("Note")) for c in costs] == [("2026-03-01", 3000.0, "Venue")]
    assert tokens == {"Speaker": "Ada Lovelace"}

    attrs, tags, costs, _ = details("EMEA Blog")
    assert attrs["Workspace Name"] == "EMEA"
    assert set(tags) >= {("Channel", "Blog"), ("Region", "EMEA"), ("Product Line", "Cloud")}
    assert sorted((c["Month"], float(c["Amount"])) for c in costs) == [("2026-01-01", 120.0), ("2026-02-01", 80.5)]

    # without includeDetails: channel and tags, but no costs or tokens (docs/objects.md)
    plain = {_attribs(p)["Name"]: p for p in _get_all(api, type="Program")}
    kinds = {t["attrType"] for t in items(plain["Spring Webinar"], "typeAttribList", "typeAttrib")}
    assert kinds == {"Tag"}


def _sync_fault_or_status(api: LeadApi, operation: str, objects: list[dict]):
    return api.call_or_fault("syncMObjects", operation=operation, mObjectList={"mObject": objects})


@pytest.mark.parametrize("kind, version", CLIENTS)
def test_mobject_failure_cases_through_both_clients(lead_api, unique_email, kind, version) -> None:
    api = lead_api(kind, version)
    name = f"Failure Deal {uuid.uuid4().hex[:8]}"

    # unknown type: a fault for a query, a FAILED object for a write
    assert api.fault("getMObjects", type="Invoice").code == 20110
    [status] = _statuses(
        api.call("syncMObjects", operation="UPSERT", mObjectList={"mObject": [_mobject("Invoice", {"Name": name})]})
    )
    assert status["status"] == "FAILED" and "Invoice" in status["error"]

    # unknown field: the object fails with the field's name, nothing is created
    [status] = _statuses(
        api.call(
            "syncMObjects",
            operation="INSERT",
            mObjectList={"mObject": [_mobject("Opportunity", {"Name": name, "Colour": "red"})]},
        )
    )
    assert status["status"] == "FAILED" and "Colour" in status["error"]
    assert (
        _get_all(
            api,
            type="Opportunity",
            mObjCriteriaList={"mObjCriteria": [{"attrName": "Name", "comparison": "EQ", "attrValue": name}]},
        )
        == []
    )
    fault = api.fault(
        "getMObjects",
        type="Opportunity",
        mObjCriteriaList={"mObjCriteria": [{"attrName": "Colour", "comparison": "EQ", "attrValue": "red"}]},
    )
    assert fault.code == 20110 and "Colour" in fault.message

    # bad comparison value (not a number for a number field)
    fault = api.fault(
        "getMObjects",
        type="Opportunity",
        mObjCriteriaList={"mObjCriteria": [{"attrName": "Amount", "comparison": "GT", "attrValue": "lots"}]},
    )
    assert fault.code == 20110 and "lots" in fault.message

    # duplicate external keys in one call: the first applies, the second fails
    key = {"name": "ExternalOpportunityId", "value": name}
    statuses = _statuses(
        api.call(
            "syncMObjects",
            operation="UPSERT",
            mObjectList={
                "mObject": [
                    _mobject("Opportunity", {"Name": name}, externalKey=key),
                    _mobject("Opportunity", {"Name": name + " again"}, externalKey=key),
                ]
            },
        )
    )
    assert [s["status"] for s in statuses] == ["CREATED", "FAILED"]
    assert "Duplicate" in statuses[1]["error"]

    # update of a missing object: UPDATE never creates, so it is skipped and nothing is made
    [status] = _statuses(
        api.call(
            "syncMObjects",
            operation="UPDATE",
            mObjectList={
                "mObject": [_mobject("Opportunity", {"Name": name + " ghost", "Stage": "Won"}, id=2_000_000_000)]
            },
        )
    )
    assert status["status"] == "SKIPPED" and int(status["id"]) == 2_000_000_000 and not status.get("error")
    assert (
        _get_all(
            api,
            type="Opportunity",
            mObjCriteriaList={"mObjCriteria": [{"attrName": "Name", "comparison": "EQ", "attrValue": name + " ghost"}]},
        )
        == []
    )

    # more than 100 objects: the whole call is refused and nothing is created
    many = [_mobject("Opportunity", {"Name": f"{name} {i}"}) for i in range(101)]
    result, fault = _sync_fault_or_status(api, "INSERT", many)
    assert result is None and fault.code == 20110
    assert (
        _get_all(
            api,
            type="Opportunity",
            mObjCriteriaList={"mObjCriteria": [{"attrName": "Name", "comparison": "EQ", "attrValue": f"{name} 0"}]},
        )
        == []
    )
