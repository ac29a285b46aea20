"""getMObjects / syncMObjects / deleteMObjects / describeMObject on Opportunity and
OpportunityPersonRole through zeep and suds built from the served
WSDL (2_2 and 3_1); the clients' plugins validate every response against the served schema.
A few shapes (MObjStatus/id on 2_7, JAX-WS style criteria, the comparison enum) go over raw SOAP
to the app in process (`asgi_server`).

The shared server declares the custom fields ExternalOpportunityId (the external key) and
Region on Opportunity, Influence on OpportunityPersonRole (tests/support/server.py). The
server is shared: every test makes its own leads and opportunities and scopes its queries
with a Region value or names of its own.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from support.clients import LeadApi, attr_list, clean_position, items, utcnow
from support.soap import assert_fault, call, is_nil, success

KINDS_VERSIONS = [("zeep", "2_2"), ("zeep", "3_1"), ("suds", "2_2"), ("suds", "3_1")]


@pytest.fixture(params=KINDS_VERSIONS, ids=[f"{k}-{v}" for k, v in KINDS_VERSIONS])
def api(request, lead_api) -> LeadApi:
    return lead_api(*request.param)


def _tag(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _mobject(type_: str, attrs: dict[str, object] | None = None, **extra) -> dict:
    obj: dict = {"type": type_, **extra}
    if attrs:
        obj["attribList"] = {"attrib": [{"name": k, "value": str(v)} for k, v in attrs.items()]}
    return obj


def _opp(attrs: dict[str, object] | None = None, **extra) -> dict:
    return _mobject("Opportunity", attrs, **extra)


def _role(attrs: dict[str, object] | None = None, **extra) -> dict:
    return _mobject("OpportunityPersonRole", attrs, **extra)


def _key(name: str, value: object) -> dict:
    return {"name": name, "value": str(value)}


def _statuses(result: dict) -> list[dict]:
    return items(result, "mObjStatusList", "mObjStatus")


def _sync(api: LeadApi, operation: str, *objects: dict) -> list[dict]:
    return _statuses(api.call("syncMObjects", operation=operation, mObjectList={"mObject": list(objects)}))


def _delete(api: LeadApi, *objects: dict) -> list[dict]:
    return _statuses(api.call("deleteMObjects", mObjectList={"mObject": list(objects)}))


def _created(api: LeadApi, *objects: dict) -> list[int]:
    statuses = _sync(api, "INSERT", *objects)
    assert [s["status"] for s in statuses] == ["CREATED"] * len(objects), statuses
    return [int(s["id"]) for s in statuses]


def _criteria(*criteria: tuple[str, str, object]) -> dict:
    return {"mObjCriteria": [{"attrName": n, "comparison": c, "attrValue": str(v)} for n, c, v in criteria]}


def _get(api: LeadApi, type_: str = "Opportunity", *criteria: tuple[str, str, object], **params) -> dict:
    if criteria:
        params["mObjCriteriaList"] = _criteria(*criteria)
    return api.call("getMObjects", type=type_, **params)


def _objects(result: dict) -> list[dict]:
    return items(result, "mObjectList", "mObject")


def _ids(api: LeadApi, type_: str = "Opportunity", *criteria: tuple[str, str, object], **params) -> list[int]:
    result = _get(api, type_, *criteria, **params)
    assert result["hasMore"] is False
    return [int(o["id"]) for o in _objects(result)]


def _attribs(obj: dict) -> dict[str, str]:
    return {a["name"]: a["value"] for a in items(obj, "attribList", "attrib")}


def _associations(obj: dict) -> list[tuple]:
    out = []
    for a in items(obj, "associationList", "mObjAssociation"):
        key = a.get("externalKey")
        out.append(
            (a["mObjType"], None if a.get("id") is None else int(a["id"]), (key["name"], key["value"]) if key else None)
        )
    return out


def _no_object_id(api: LeadApi):
    """MObjStatus/id when there is no object: 0 on 2_2 (not nillable there), nil from 2_7."""
    return 0 if api.version == "2_2" else None


# --------------------------------------------------------------------------- syncMObjects statuses


def test_insert_update_upsert_unchanged_and_skipped(api):
    key = _key("ExternalOpportunityId", _tag("acme"))
    [status] = _sync(api, "UPSERT", _opp({"Name": "Acme", "Amount": "1000"}, externalKey=key))
    assert status["status"] == "CREATED" and status.get("error") is None
    assert (status["externalKey"]["name"], status["externalKey"]["value"]) == (key["name"], key["value"])
    oid = int(status["id"])

    assert [(s["status"], int(s["id"])) for s in _sync(api, "INSERT", _opp({"Name": "Again"}, externalKey=key))] == [
        ("SKIPPED", oid)
    ]
    same = _key("externalopportunityid", key["value"].upper())
    assert [
        (s["status"], int(s["id"])) for s in _sync(api, "UPSERT", _opp({"Amount": "1000.00"}, externalKey=same))
    ] == [("UNCHANGED", oid)]
    assert [
        (s["status"], int(s["id"])) for s in _sync(api, "UPDATE", _opp({"Amount": "1500.25", "Stage": "Won"}, id=oid))
    ] == [("UPDATED", oid)]
    # UPDATE of an object whose externalKey matches nothing: SKIPPED, UPDATE never creates
    [skipped] = _sync(api, "UPDATE", _opp({"Name": "Nope"}, externalKey=_key("ExternalOpportunityId", _tag("none"))))
    assert skipped["status"] == "SKIPPED" and skipped["id"] == _no_object_id(api) and skipped.get("error") is None

    [found] = _objects(_get(api, id=oid))
    assert _attribs(found) == {
        "Name": "Acme",
        "Amount": "1500.25",
        "Stage": "Won",
        "ExternalOpportunityId": key["value"],
    }
    assert found["updatedAt"] >= found["createdAt"]


def test_update_skips_a_missing_id_and_applies_the_rest_of_the_call(api, unique_email):
    region = _tag("skip")
    missing = 2_000_000_000
    lead = api.create_lead(unique_email("skip"))
    [oid] = _created(api, _opp({"Name": "Kept", "Region": region, "Stage": "Open"}))
    [rid] = _created(api, _role({"OpportunityId": oid, "PersonId": lead, "Role": "User"}))
    statuses = _sync(
        api,
        "UPDATE",
        _opp({"Stage": "Won"}, id=oid),
        _opp({"Name": "Ghost", "Region": region, "Stage": "Won"}, id=missing),
        _role({"Role": "Buyer"}, id=missing),
        _role({"Role": "Buyer"}, id=rid),
    )
    assert [(s["status"], int(s["id"]), s.get("error")) for s in statuses] == [
        ("UPDATED", oid, None),
        ("SKIPPED", missing, None),
        ("SKIPPED", missing, None),
        ("UPDATED", rid, None),
    ]
    # the existing objects were updated; nothing was created for the missing id
    assert _attribs(_objects(_get(api, id=oid))[0])["Stage"] == "Won"
    assert _ids(api, "Opportunity", ("Region", "EQ", region)) == [oid]
    assert _ids(api, "Opportunity", id=missing) == [] and _ids(api, "OpportunityPersonRole", id=missing) == []
    roles = _objects(_get(api, "OpportunityPersonRole", ("PersonId", "EQ", lead)))
    assert [(int(o["id"]), _attribs(o)["Role"]) for o in roles] == [(rid, "Buyer")]


def test_an_id_that_names_nothing_cannot_create(api):
    missing = 2_000_000_000
    for operation in ("INSERT", "UPSERT"):
        [status] = _sync(api, operation, _opp({"Name": "Ghost"}, id=missing))
        assert status["status"] == "FAILED" and f"No Opportunity with id {missing}" in status["error"]
        assert int(status["id"]) == missing
    assert _ids(api, "Opportunity", id=missing) == []
    [status] = _sync(api, "UPDATE", _opp({"Stage": "Won"}))
    assert status["status"] == "FAILED" and "id or externalKey" in status["error"]
    assert status["id"] == _no_object_id(api)


# --------------------------------------------------------------------------- reading back


def test_read_back_by_id_and_external_key_with_typed_values_and_company(api):
    region, ext = _tag("region"), _tag("ext")
    [oid] = _created(
        api,
        _opp(
            {
                "Name": "Typed Deal",
                "Amount": "25000.50",
                "ExpectedRevenue": "12500",
                "CloseDate": "2026-12-31",
                "ExternalCreatedDate": "2026-01-02T03:04:05-06:00",
                "IsWon": "True",
                "IsClosed": "0",
                "Probability": "80",
                "Quantity": "2.5",
                "Stage": "Negotiation",
                "Region": region,
            },
            externalKey=_key("ExternalOpportunityId", ext),
            associationList={
                "mObjAssociation": [{"mObjType": "Company", "externalKey": _key("AccountNumber", "AC-9")}]
            },
        ),
    )
    before = utcnow()
    [by_id] = _objects(_get(api, id=oid))
    [by_key] = _objects(_get(api, externalKey=_key("externalOpportunityId", ext.upper())))
    [by_name_key] = _objects(_get(api, "Opportunity", ("Region", "EQ", region), externalKey=_key("Name", "typed deal")))
    assert int(by_id["id"]) == int(by_key["id"]) == int(by_name_key["id"]) == oid
    assert by_id["type"] == "Opportunity"
    assert _attribs(by_id) == {
        "Name": "Typed Deal",
        "Amount": "25000.5",
        "ExpectedRevenue": "12500",
        "CloseDate": "2026-12-31",
        "ExternalCreatedDate": "2026-01-02 09:04:05",
        "IsWon": "true",
        "IsClosed": "false",
        "Probability": "80",
        "Quantity": "2.5",
        "Stage": "Negotiation",
        "ExternalOpportunityId": ext,
        "Region": region,
    }
    assert (by_id["externalKey"]["name"], by_id["externalKey"]["value"]) == ("ExternalOpportunityId", ext)
    assert _associations(by_id) == [("Company", None, ("AccountNumber", "AC-9"))]
    assert isinstance(by_id["createdAt"], dt.datetime) and by_id["createdAt"] <= before + dt.timedelta(seconds=1)
    assert _objects(_get(api, externalKey=_key("ExternalOpportunityId", _tag("none")))) == []

    by_company = {"mObjAssociation": [{"mObjType": "Company", "externalKey": _key("accountnumber", "ac-9")}]}
    assert _ids(api, "Opportunity", ("Region", "EQ", region), mObjAssociationList=by_company) == [oid]


def test_each_criterion_kind(api):
    region = _tag("crit")
    cutoff = utcnow() - dt.timedelta(seconds=1)
    a, b, c = _created(
        api,
        _opp(
            {
                "Name": "Alpha",
                "Stage": "Prospecting",
                "Type": "New",
                "Amount": "900.5",
                "Probability": "10",
                "CloseDate": "2026-03-01",
                "IsWon": "false",
                "Region": region,
            }
        ),
        _opp(
            {
                "Name": "Beta",
                "Stage": "Closed Won",
                "Type": "Renewal",
                "Amount": "10000",
                "Probability": "100",
                "CloseDate": "2026-05-15",
                "IsWon": "true",
                "Region": region,
            }
        ),
        _opp({"Name": "Gamma", "Region": region}),
    )
    scope = ("Region", "EQ", region.upper())  # custom string field, case-insensitive
    assert _ids(api, "Opportunity", scope) == [a, b, c]
    assert _ids(api, "Opportunity", scope, ("Name", "EQ", "beta")) == [b]
    assert _ids(api, "Opportunity", scope, ("Name", "NE", "BETA")) == [a, c]
    assert _ids(api, "Opportunity", scope, ("Stage", "EQ", "closed won"), ("Type", "EQ", "renewal")) == [b]
    assert _ids(api, "Opportunity", scope, ("Amount", "GT", "1000")) == [b]  # numbers, not text: 900.5 < 1000
    assert _ids(api, "Opportunity", scope, ("Amount", "LE", "900.50")) == [a]
    assert _ids(api, "Opportunity", scope, ("Probability", "GE", 50)) == [b]
    assert _ids(api, "Opportunity", scope, ("CloseDate", "LT", "2026-04-01")) == [a]
    assert _ids(api, "Opportunity", scope, ("IsWon", "EQ", "true")) == [b]
    assert _ids(api, "Opportunity", scope, ("Created At", "GE", cutoff.isoformat())) == [a, b, c]
    assert _ids(api, "Opportunity", scope, ("Updated At", "LT", cutoff.isoformat())) == []
    assert _ids(api, "Opportunity", scope, ("Id", "LE", b)) == [a, b]


def test_custom_fields_round_trip_and_describe_reports_them(api, unique_email):
    ext = _tag("custom")
    [oid] = _created(api, _opp({"Name": "Custom", "Region": "EMEA", "ExternalOpportunityId": ext}))
    lead = api.create_lead(unique_email("custom"))
    [rid] = _created(api, _role({"OpportunityId": oid, "PersonId": lead, "Influence": "7"}))
    assert [
        s["status"] for s in _sync(api, "UPDATE", _opp({"Region": "North"}, id=oid), _role({"Influence": "+8"}, id=rid))
    ] == ["UPDATED", "UPDATED"]
    assert _attribs(_objects(_get(api, id=oid))[0])["Region"] == "North"
    assert _attribs(_objects(_get(api, "OpportunityPersonRole", id=rid))[0])["Influence"] == "8"
    assert _ids(api, "OpportunityPersonRole", ("Influence", "GT", 7), ("PersonId", "EQ", lead)) == [rid]

    for name, custom in (
        ("Opportunity", {"ExternalOpportunityId", "Region"}),
        ("OpportunityPersonRole", {"Influence"}),
    ):
        meta = api.call("describeMObject", objectName=name)["metadata"]
        fields = {f["name"]: f for f in items(meta, "fieldList", "field")}
        assert {n for n, f in fields.items() if f["isCustom"]} == custom
        assert fields["Name" if name == "Opportunity" else "Role"]["isCustom"] is False
    meta = api.call("describeMObject", objectName="Opportunity")["metadata"]
    region = {f["name"]: f for f in items(meta, "fieldList", "field")}["Region"]
    assert (region["dataType"], region["sourceObject"], region["isReadonly"]) == ("string", "Opportunity", False)


# --------------------------------------------------------------------------- person roles


def test_roles_link_leads_and_filter_both_ways(api, unique_email):
    ann_email = unique_email("ann")
    ann, bob = api.create_lead(ann_email), api.create_lead(unique_email("bob"))
    ext = _tag("roles")
    first, second = _created(api, _opp({"Name": "First", "ExternalOpportunityId": ext}), _opp({"Name": "Second"}))
    r1, r2, r3 = _created(
        api,
        _role({"OpportunityId": first, "PersonId": ann, "Role": "Buyer", "IsPrimary": "true"}),
        _role(
            {"Role": "Advisor"},
            associationList={
                "mObjAssociation": [
                    {"mObjType": "Opportunity", "externalKey": _key("ExternalOpportunityId", ext)},
                    {"mObjType": "Lead", "id": bob},
                ]
            },
        ),
        _role({"OpportunityId": second, "PersonId": ann, "Role": "Buyer"}),
    )
    by_lead = lambda type_, lead: _ids(api, type_, mObjAssociationList={"mObjAssociation": [lead]})  # noqa: E731
    assert by_lead("OpportunityPersonRole", {"mObjType": "Lead", "id": ann}) == [r1, r3]
    assert by_lead("OpportunityPersonRole", {"mObjType": "Lead", "externalKey": _key("Email", ann_email.upper())}) == [
        r1,
        r3,
    ]
    assert by_lead("Opportunity", {"mObjType": "Lead", "id": ann}) == [first, second]
    assert by_lead("Opportunity", {"mObjType": "Lead", "id": bob}) == [first]
    assert by_lead("OpportunityPersonRole", {"mObjType": "Opportunity", "id": first}) == [r1, r2]
    assert by_lead(
        "OpportunityPersonRole", {"mObjType": "Opportunity", "externalKey": _key("ExternalOpportunityId", ext)}
    ) == [r1, r2]
    assert _ids(
        api,
        "OpportunityLeadRole",
        ("Role", "EQ", "buyer"),
        mObjAssociationList={"mObjAssociation": [{"mObjType": "Lead", "id": ann}]},
    ) == [r1, r3]

    [advisor] = _objects(_get(api, "OpportunityPersonRole", id=r2))
    assert advisor["type"] == "OpportunityPersonRole"
    assert _attribs(advisor) == {"OpportunityId": str(first), "PersonId": str(bob), "Role": "Advisor"}
    assert _associations(advisor) == [("Lead", bob, None), ("Opportunity", first, None)]
    # the pair names the role: a second INSERT is skipped, an UPSERT updates it
    assert [
        (s["status"], int(s["id"])) for s in _sync(api, "INSERT", _role({"OpportunityId": first, "PersonId": ann}))
    ] == [("SKIPPED", r1)]
    assert [
        (s["status"], int(s["id"]))
        for s in _sync(api, "UPSERT", _role({"OpportunityId": first, "PersonId": ann, "IsPrimary": "false"}))
    ] == [("UPDATED", r1)]

    for role, expected in [
        (_role({"OpportunityId": first, "PersonId": 2_000_000_000}), "No lead with id 2000000000"),
        (_role({"OpportunityId": 2_000_000_000, "PersonId": bob}), "No Opportunity with id 2000000000"),
        (_role({"Role": "x"}, associationList={"mObjAssociation": [{"mObjType": "Company", "id": 1}]}), "Company"),
    ]:
        [status] = _sync(api, "INSERT", role)
        assert status["status"] == "FAILED" and expected in status["error"], status


def test_paging_over_250_opportunities(api):
    region = _tag("paged")
    made: list[int] = []
    for start in (0, 100, 200):
        made += _created(
            api, *(_opp({"Name": f"Paged {i:03d}", "Region": region}) for i in range(start, min(start + 100, 250)))
        )
    pages, seen, position = [], [], None
    for _ in range(10):
        result = _get(api, "Opportunity", ("Region", "EQ", region), streamPosition=position)
        page = [int(o["id"]) for o in _objects(result)]
        assert int(result["returnCount"]) == len(page)
        pages.append((len(page), result["hasMore"]))
        seen += page
        assert result["newStreamPosition"]
        if not result["hasMore"]:
            break
        position = result["newStreamPosition"]
    assert pages == [(100, True), (100, True), (50, False)]
    assert seen == made == sorted(made)
    # a position is bound to its query
    fault = api.fault(
        "getMObjects",
        type="Opportunity",
        streamPosition=position,
        mObjCriteriaList=_criteria(("Region", "EQ", region + "x")),
    )
    assert fault.code == 20122


# --------------------------------------------------------------------------- deletes and activities


def _activities(api: LeadApi, lead: int, name: str) -> list[dict]:
    return [r for r in api.all_activities(lead) if r["activityType"] == name]


OPPORTUNITY_ACTIVITIES = {  # display name -> WSDL enum
    "Add to Opportunity": "AssocWithOpprtntyInSales",
    "Update Opportunity": "UpdateOpprtntyInSales",
    "Remove from Opportunity": "DissocFromOpprtntyInSales",
}


def _lead_changes(api: LeadApi, start: dt.datetime, leads: list[int], names: list[str]) -> list[dict]:
    """getLeadChanges for these leads and activity types: by display name (activityNameFilter,
    2_3+) or, on 2_2 where that filter does not exist, by the types' enum values."""
    if api.version == "2_2":
        kw = {"activityFilter": {"includeTypes": {"activityType": [OPPORTUNITY_ACTIVITIES[n] for n in names]}}}
    else:
        kw = {"activityNameFilter": {"stringItem": names}}
    result = api.call(
        "getLeadChanges",
        startPosition={"oldestCreatedAt": start},
        leadSelector=api.key_selector("IDNUM", [str(i) for i in leads]),
        **kw,
    )
    assert result["remainingCount"] == 0 and clean_position(result["newStartPosition"])
    return items(result, "leadChangeRecordList", "leadChangeRecord")


def test_delete_cascades_to_roles_and_every_change_is_an_activity(api, unique_email):
    start = utcnow() - dt.timedelta(seconds=2)
    ann, bob = api.create_lead(unique_email("ann")), api.create_lead(unique_email("bob"))
    name = _tag("Deal")
    [deal] = _created(api, _opp({"Name": name, "Stage": "Open"}))
    r_ann, r_bob = _created(
        api,
        _role({"OpportunityId": deal, "PersonId": ann, "Role": "Buyer", "IsPrimary": "true"}),
        _role({"OpportunityId": deal, "PersonId": bob, "Role": "Advisor"}),
    )

    [added] = _activities(api, ann, "Add to Opportunity")
    assert added["mktgAssetName"] == name
    assert attr_list(added) == [
        ("Opportunity ID", str(deal)),
        ("Role", "Buyer"),
        ("Is Primary", "true"),
        ("Lead ID", str(ann)),
    ]

    assert [s["status"] for s in _sync(api, "UPDATE", _opp({"Stage": "Won"}, id=deal))] == ["UPDATED"]
    for lead in (ann, bob):
        [update] = _activities(api, lead, "Update Opportunity")
        assert dict(attr_list(update)) == {
            "Opportunity ID": str(deal),
            "Attribute Name": "Stage",
            "Old Value": "Open",
            "New Value": "Won",
            "Lead ID": str(lead),
        }

    statuses = _delete(api, _role(id=r_bob), _opp(id=deal), _opp(id=deal + 1_000_000_000))
    assert [(s["status"], int(s["id"])) for s in statuses] == [
        ("DELETED", r_bob),
        ("DELETED", deal),
        ("UNCHANGED", deal + 1_000_000_000),
    ]
    assert _objects(_get(api, id=deal)) == []
    assert (
        _ids(api, "OpportunityPersonRole", mObjAssociationList={"mObjAssociation": [{"mObjType": "Lead", "id": ann}]})
        == []
    )
    assert [(s["status"], int(s["id"])) for s in _delete(api, _role(id=r_ann))] == [("UNCHANGED", r_ann)]
    for lead in (ann, bob):
        [removed] = _activities(api, lead, "Remove from Opportunity")
        assert removed["mktgAssetName"] == name and attr_list(removed)[-1] == ("Lead ID", str(lead))

    records = _lead_changes(api, start, [ann, bob], list(OPPORTUNITY_ACTIVITIES))
    assert sorted((r["activityType"], int(r["mktPersonId"])) for r in records) == sorted(
        (t, lead)
        for lead in (ann, bob)
        for t in ("Add to Opportunity", "Update Opportunity", "Remove from Opportunity")
    )


# --------------------------------------------------------------------------- failure cases


def test_unknown_type_field_and_bad_criteria(api):
    assert api.fault("getMObjects", type="Invoice").code == 20110
    [status] = _sync(api, "UPSERT", _mobject("Invoice", {"Name": "x"}))
    assert status["status"] == "FAILED" and "Invoice" in status["error"] and status["id"] == _no_object_id(api)
    [status] = _delete(api, _mobject("Invoice", id=5))
    assert status["status"] == "FAILED" and "Invoice" in status["error"]

    name = _tag("unknown-field")
    [status] = _sync(api, "INSERT", _opp({"Name": name, "Colour": "red"}))
    assert status["status"] == "FAILED" and "Colour" in status["error"]
    assert _ids(api, "Opportunity", ("Name", "EQ", name)) == []
    [status] = _sync(api, "INSERT", _opp({"Name": name, "Amount": "lots"}))
    assert status["status"] == "FAILED" and "Amount" in status["error"]

    for criterion, expected in [
        (("Colour", "EQ", "red"), "Colour"),
        (("Amount", "GT", "lots"), "lots"),
        (("CloseDate", "LT", "soon"), "soon"),
        (("Role", "EQ", "Buyer"), "Role"),
    ]:
        fault = api.fault("getMObjects", type="Opportunity", mObjCriteriaList=_criteria(criterion))
        assert fault.code == 20110 and expected in fault.message, fault
    fault = api.fault(
        "getMObjects",
        type="OpportunityPersonRole",
        mObjAssociationList={"mObjAssociation": [{"mObjType": "Company", "id": 1}]},
    )
    assert fault.code == 20110 and "Company" in fault.message


def test_duplicate_external_keys_in_one_call_and_more_than_100_objects(api):
    ext = _tag("dup")
    statuses = _sync(
        api,
        "UPSERT",
        _opp({"Name": "One"}, externalKey=_key("ExternalOpportunityId", ext)),
        _opp({"Name": "Two"}, externalKey=_key("ExternalOpportunityId", ext.upper())),
    )
    assert [s["status"] for s in statuses] == ["CREATED", "FAILED"] and "Duplicate" in statuses[1]["error"]
    assert [_attribs(o)["Name"] for o in _objects(_get(api, externalKey=_key("ExternalOpportunityId", ext)))] == ["One"]

    name = _tag("many")
    fault = api.fault(
        "syncMObjects", operation="INSERT", mObjectList={"mObject": [_opp({"Name": name}) for _ in range(101)]}
    )
    assert fault.code == 20110 and "100" in fault.message
    assert _ids(api, "Opportunity", ("Name", "EQ", name)) == []
    fault = api.fault("deleteMObjects", mObjectList={"mObject": [_opp(id=i + 1) for i in range(101)]})
    assert fault.code == 20110


# --------------------------------------------------------------------------- raw SOAP shapes


def _raw_sync(asgi_server, version: str, objects_xml: str, operation: str):
    body = (
        f"<ns1:paramsSyncMObjects><mObjectList>{objects_xml}</mObjectList>"
        f"<operation>{operation}</operation></ns1:paramsSyncMObjects>"
    )
    return success(call(asgi_server.endpoint(version), body), "syncMObjects").find("result/mObjStatusList")


@pytest.mark.parametrize("version, nil", [("2_2", False), ("2_3", False), ("2_7", True), ("3_1", True)])
def test_mobj_status_id_without_an_object_is_0_up_to_2_3_and_nil_from_2_7(asgi_server, version, nil):
    key = _tag("raw")
    statuses = _raw_sync(
        asgi_server,
        version,
        (
            "<mObject><type>Opportunity</type><externalKey><name>ExternalOpportunityId</name>"
            f"<value>{key}</value></externalKey><attribList><attrib><name>Stage</name><value>x</value></attrib>"
            "</attribList></mObject>"
        ),
        "UPDATE",
    )
    [status] = statuses.findall("mObjStatus")
    assert status.findtext("status") == "SKIPPED" and status.find("error") is None
    assert status.findtext("externalKey/value") == key
    if nil:
        assert is_nil(status.find("id"))
    else:
        assert status.findtext("id") == "0" and not is_nil(status.find("id"))


@pytest.mark.parametrize("version", ["2_2", "2_3", "2_7", "3_1"])
def test_skipped_update_of_a_missing_id_echoes_the_id_on_every_version(asgi_server, version):
    statuses = _raw_sync(
        asgi_server,
        version,
        (
            "<mObject><type>Opportunity</type><id>2000000000</id><attribList><attrib><name>Stage</name>"
            "<value>x</value></attrib></attribList></mObject>"
        ),
        "UPDATE",
    )
    [status] = statuses.findall("mObjStatus")
    assert status.findtext("status") == "SKIPPED" and status.find("error") is None
    assert status.findtext("id") == "2000000000" and not is_nil(status.find("id"))
    assert status.find("externalKey") is None


def test_jax_ws_typed_attr_value_and_an_unknown_comparison(asgi_server):
    region = _tag("jax")
    _raw_sync(
        asgi_server,
        "2_2",
        f"<mObject><type>Opportunity</type><attribList><attrib><name>Name</name><value>J</value></attrib>"
        f"<attrib><name>Region</name><value>{region}</value></attrib><attrib><name>Amount</name><value>1010</value>"
        "</attrib></attribList></mObject>",
        "INSERT",
    )
    criteria = (
        "<mObjCriteria><attrName>Amount</attrName><comparison>GE</comparison>"
        '<attrValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xsi:type="xs:string" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">1010</attrValue></mObjCriteria>'
        f"<mObjCriteria><attrName>Region</attrName><comparison>EQ</comparison><attrValue>{region}</attrValue></mObjCriteria>"
    )
    body = f"<ns1:paramsGetMObjects><type>opportunity</type><mObjCriteriaList>{criteria}</mObjCriteriaList></ns1:paramsGetMObjects>"
    result = success(call(asgi_server.endpoint("2_2"), body), "getMObjects").find("result")
    assert result.findtext("returnCount") == "1"
    [obj] = result.findall("mObjectList/mObject")
    assert obj.findtext("type") == "Opportunity"
    assert obj.find("createdAt") is not None and obj.find("externalKey") is None
    bad = body.replace("<comparison>GE</comparison>", "<comparison>LIKE</comparison>")
    assert_fault(call(asgi_server.endpoint("2_2"), bad), 20110)
