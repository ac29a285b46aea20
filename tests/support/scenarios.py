"""Lead scenarios that run unchanged through zeep and suds (see clients.LeadApi).

Each function takes a `LeadApi` plus an email factory and asserts what a user of the API
would check: values round-trip, counts are exact, keys resolve to the right lead.
test_leads_zeep.py and test_leads_suds.py call every one of them.
"""

from __future__ import annotations

import datetime as dt
import uuid

from .clients import LeadApi, attr_map, clean_position, is_nil, items, utcnow
from .server import SEED_CUSTOM_FIELD, SEED_INT_FIELD

# --------------------------------------------------------------------------- getLead / syncLead


def sync_lead_create_then_get(api: LeadApi, unique_email) -> None:
    email = unique_email("create")
    attrs = {
        "FirstName": "Ada",
        "LastName": "Lovelace-Ñ",
        "Company": "Analytical Engines",
        SEED_CUSTOM_FIELD: "custom value",
        SEED_INT_FIELD: "42",
    }
    res = api.sync_lead(email, attrs, return_lead=True)
    lead_id = int(res["leadId"])
    assert lead_id > 0
    assert res["syncStatus"]["status"] == "CREATED"
    assert int(res["syncStatus"]["leadId"]) == lead_id
    assert res["syncStatus"].get("error") in (None, "")
    rec = res["leadRecord"]
    assert rec["Id"] == lead_id and rec["Email"] == email
    got = attr_map(rec)
    for k, v in attrs.items():
        assert got.get(k) == v, (k, got)

    for key_type, value in (("EMAIL", email), ("IDNUM", str(lead_id)), ("EMAIL", email.upper())):
        result = api.get_lead(key_type, value)
        assert result["count"] == 1, (key_type, result)
        [rec] = api.lead_records(result)
        assert rec["Id"] == lead_id and rec["Email"] == email
        assert rec.get("ForeignSysPersonId") is None and rec.get("ForeignSysType") is None
        attributes = items(rec, "leadAttributeList", "attribute")
        names = [a["attrName"] for a in attributes]
        assert names == sorted(names), f"attributes must be sorted by name: {names}"
        assert "Email" not in names and "Id" not in names
        by_name = {a["attrName"]: a for a in attributes}
        for k, v in attrs.items():
            assert by_name[k]["attrValue"] == v
        assert by_name[SEED_INT_FIELD]["attrType"] == "integer"
        assert by_name["FirstName"]["attrType"] == "string"
        assert by_name[SEED_CUSTOM_FIELD]["attrType"] == "string"


def attribute_types_and_formats(api: LeadApi, unique_email) -> None:
    """attrType per field type (Phone is `string` in the vendor sample), numbers as
    plain decimals, booleans true/false, dates YYYY-MM-DD."""
    email = unique_email("types")
    lead_id = api.create_lead(
        email,
        {
            "Phone": "+1 555 0100",
            "Website": "https://example.com",
            "LeadScore": "007",
            "DoNotCall": "1",
            "AnnualRevenue": "1500.50",
            "DateOfBirth": "1990-01-02",
        },
    )
    [rec] = api.lead_records(api.get_lead("IDNUM", lead_id))
    got = {a["attrName"]: (a["attrType"], a["attrValue"]) for a in items(rec, "leadAttributeList", "attribute")}
    assert got["Phone"] == ("string", "+1 555 0100")
    assert got["Website"] == ("url", "https://example.com")
    assert got["LeadScore"] == ("integer", "7")
    assert got["DoNotCall"] == ("boolean", "true")
    assert got["AnnualRevenue"] == ("currency", "1500.5")
    assert got["DateOfBirth"] == ("date", "1990-01-02")


def sync_lead_updates_only_listed_fields(api: LeadApi, unique_email) -> None:
    email = unique_email("update")
    lead_id = api.create_lead(email, {"FirstName": "Grace", "LastName": "Hopper", "Company": "Navy"})
    res = api.sync_lead(email, {"FirstName": "Amazing Grace"})
    assert res["syncStatus"]["status"] == "UPDATED" and int(res["leadId"]) == lead_id
    assert is_nil(res.get("leadRecord")), "returnLead=false must give a nil leadRecord"
    got = attr_map(api.lead_records(api.get_lead("IDNUM", lead_id))[0])
    assert got["FirstName"] == "Amazing Grace" and got["LastName"] == "Hopper" and got["Company"] == "Navy"
    # an empty value clears the field; empty string fields are left out of the record
    api.sync_lead(email, {"Company": ""})
    got = attr_map(api.lead_records(api.get_lead("IDNUM", lead_id))[0])
    assert "Company" not in got and got["LastName"] == "Hopper"


def sync_lead_email_as_attribute(api: LeadApi, unique_email) -> None:
    email = unique_email("emailattr")
    res = api.call("syncLead", leadRecord=api.lead_record(None, {"Email": email, "FirstName": "Attr"}), returnLead=True)
    assert res["syncStatus"]["status"] == "CREATED"
    assert res["leadRecord"]["Email"] == email
    assert api.get_lead("EMAIL", email)["count"] == 1


def sync_lead_cookie(api: LeadApi, unique_email) -> None:
    email = unique_email("cookie")
    cookie = f"id:561-HYG-937&token:_mch-example.com-{uuid.uuid4().int % 10**13}-{uuid.uuid4().hex[:5]}"
    res = api.sync_lead(email, {"FirstName": "Cookie"}, cookie=cookie)
    lead_id = int(res["leadId"])
    result = api.get_lead("COOKIE", cookie)
    assert result["count"] == 1
    assert api.lead_records(result)[0]["Id"] == lead_id


def sync_lead_key_precedence(api: LeadApi, unique_email) -> None:
    e1, e2 = unique_email("prec1"), unique_email("prec2")
    lead_id = api.create_lead(e1, {"FirstName": "Original"})
    fspi = f"crm-{uuid.uuid4().hex[:10]}"

    # 1. Id wins; ForeignSysPersonId given with it is written onto the lead.
    res = api.sync_lead(None, {"FirstName": "ById"}, lead_id=lead_id, fspi=fspi, fstype="CUSTOM")
    assert int(res["leadId"]) == lead_id and res["syncStatus"]["status"] == "UPDATED"
    [rec] = api.lead_records(api.get_lead("IDNUM", lead_id))
    assert rec["ForeignSysPersonId"] == fspi and rec["ForeignSysType"] == "CUSTOM"
    assert attr_map(rec)["FirstName"] == "ById"

    # 2. ForeignSysPersonId matches before Email, and syncLead then updates the email.
    res = api.sync_lead(e2, {"LastName": "ByForeignId"}, fspi=fspi, fstype="CUSTOM")
    assert int(res["leadId"]) == lead_id and res["syncStatus"]["status"] == "UPDATED"
    [rec] = api.lead_records(api.get_lead("EMAIL", e2))
    assert rec["Id"] == lead_id and attr_map(rec)["LastName"] == "ByForeignId"
    fault = api.fault("getLead", leadKey={"keyType": "EMAIL", "keyValue": e1})
    assert fault.code == 20103

    # 3. An Id that names no lead is a fault, not a new lead.
    fault = api.fault(
        "syncLead", leadRecord=api.lead_record(unique_email("ghost"), lead_id=987_654_001), returnLead=False
    )
    assert fault.code == 20103


def get_lead_unknown_is_20103(api: LeadApi, unique_email) -> None:
    email = unique_email("nobody")
    fault = api.fault("getLead", leadKey={"keyType": "EMAIL", "keyValue": email})
    assert fault.code == 20103
    assert fault.faultstring == "20103 - Lead not found"
    assert fault.message == f"No lead found with EMAIL = {email} (20103)"


def sync_lead_unknown_field_is_20105(api: LeadApi, unique_email) -> None:
    email = unique_email("unknownfield")
    fault = api.fault("syncLead", leadRecord=api.lead_record(email, {"pants": "blue"}), returnLead=False)
    assert fault.code == 20105
    assert api.fault("getLead", leadKey={"keyType": "EMAIL", "keyValue": email}).code == 20103


# --------------------------------------------------------------------------- syncMultipleLeads


def sync_multiple_dedup_true(api: LeadApi, unique_email) -> None:
    existing = unique_email("exist")
    existing_id = api.create_lead(existing, {"FirstName": "Before"})
    new1, new2 = unique_email("new1"), unique_email("new2")
    res = api.call(
        "syncMultipleLeads",
        leadRecordList={
            "leadRecord": [
                api.lead_record(new1, {"FirstName": "N1"}),
                api.lead_record(existing, {"FirstName": "After"}),
                api.lead_record(new2, {"FirstName": "N2", SEED_INT_FIELD: "7"}),
            ]
        },
        dedupEnabled=True,
    )
    statuses = items(res, "syncStatusList", "syncStatus")
    assert [s["status"] for s in statuses] == ["CREATED", "UPDATED", "CREATED"]
    assert int(statuses[1]["leadId"]) == existing_id
    assert len({int(s["leadId"]) for s in statuses}) == 3
    assert all(s.get("error") in (None, "") for s in statuses)
    assert attr_map(api.lead_records(api.get_lead("IDNUM", existing_id))[0])["FirstName"] == "After"
    [rec] = api.lead_records(api.get_lead("EMAIL", new2))
    assert rec["Id"] == int(statuses[2]["leadId"]) and attr_map(rec)[SEED_INT_FIELD] == "7"
    # dedupEnabled absent means true
    res = api.call("syncMultipleLeads", leadRecordList={"leadRecord": [api.lead_record(new1, {"LastName": "Again"})]})
    [st] = items(res, "syncStatusList", "syncStatus")
    assert st["status"] == "UPDATED" and int(st["leadId"]) == int(statuses[0]["leadId"])


def sync_multiple_dedup_false_creates_duplicates(api: LeadApi, unique_email) -> None:
    dup = unique_email("dup")
    res = api.call(
        "syncMultipleLeads",
        leadRecordList={
            "leadRecord": [api.lead_record(dup, {"FirstName": "One"}), api.lead_record(dup, {"FirstName": "Two"})]
        },
        dedupEnabled=False,
    )
    statuses = items(res, "syncStatusList", "syncStatus")
    assert [s["status"] for s in statuses] == ["CREATED", "CREATED"]
    ids = {int(s["leadId"]) for s in statuses}
    assert len(ids) == 2
    result = api.get_lead("EMAIL", dup)
    assert result["count"] == 2
    assert {r["Id"] for r in api.lead_records(result)} == ids
    # and once more without dedup: a third lead with the same email
    res = api.call(
        "syncMultipleLeads",
        leadRecordList={"leadRecord": [api.lead_record(dup, {"FirstName": "Three"})]},
        dedupEnabled=False,
    )
    assert items(res, "syncStatusList", "syncStatus")[0]["status"] == "CREATED"
    assert api.get_lead("EMAIL", dup)["count"] == 3


def sync_multiple_per_record_status(api: LeadApi, unique_email) -> None:
    good1, good2 = unique_email("good1"), unique_email("good2")
    res = api.call(
        "syncMultipleLeads",
        leadRecordList={
            "leadRecord": [
                api.lead_record(good1, {"FirstName": "G1"}),
                api.lead_record(None, {"FirstName": "No key at all"}),
                api.lead_record(None, {"FirstName": "Ghost"}, lead_id=987_654_002),
                api.lead_record(good2, {"FirstName": "G2"}),
            ]
        },
    )
    statuses = items(res, "syncStatusList", "syncStatus")
    assert [s["status"] for s in statuses] == ["CREATED", "FAILED", "FAILED", "CREATED"]
    assert statuses[1].get("error") and statuses[2].get("error"), "FAILED records carry an error text"
    assert api.get_lead("EMAIL", good1)["count"] == 1 and api.get_lead("EMAIL", good2)["count"] == 1


def sync_multiple_email_key_not_changed_by_other_key(api: LeadApi, unique_email) -> None:
    x1, x2, x3 = unique_email("x1"), unique_email("x2"), unique_email("x3")
    lead_id = api.create_lead(x1, {"FirstName": "X"})
    res = api.call(
        "syncMultipleLeads", leadRecordList={"leadRecord": [api.lead_record(x2, {"FirstName": "K"}, lead_id=lead_id)]}
    )
    [st] = items(res, "syncStatusList", "syncStatus")
    assert st["status"] == "UPDATED" and int(st["leadId"]) == lead_id
    [rec] = api.lead_records(api.get_lead("IDNUM", lead_id))
    assert rec["Email"] == x1, "an Email key element must not change the email of a lead found by Id"
    assert attr_map(rec)["FirstName"] == "K"
    res = api.call(
        "syncMultipleLeads", leadRecordList={"leadRecord": [api.lead_record(None, {"Email": x3}, lead_id=lead_id)]}
    )
    [rec] = api.lead_records(api.get_lead("IDNUM", lead_id))
    assert rec["Email"] == x3, "Email in leadAttributeList does change it"


def sync_lead_unmatched_foreign_id_creates_a_lead(api: LeadApi, unique_email) -> None:
    """A foreign id that matches nobody creates a lead, even when its email is taken: the
    lead with that email keeps its own foreign id and fields."""
    email = unique_email("fspi-new")
    first_fspi, second_fspi = (f"crm-{uuid.uuid4().hex[:10]}" for _ in range(2))
    first = api.sync_lead(email, {"LastName": "First"}, fspi=first_fspi, fstype="SFDC")
    res = api.sync_lead(email, {"LastName": "Second"}, fspi=second_fspi, fstype="SFDC")
    assert res["syncStatus"]["status"] == "CREATED" and int(res["leadId"]) != int(first["leadId"])
    result = api.get_lead("EMAIL", email)
    assert result["count"] == 2, "two CRM contacts with one email are two leads"
    by_fspi = {r["ForeignSysPersonId"]: attr_map(r)["LastName"] for r in api.lead_records(result)}
    assert by_fspi == {first_fspi: "First", second_fspi: "Second"}


def sync_multiple_foreign_id_rules(api: LeadApi, unique_email) -> None:
    """ForeignSysType must accompany ForeignSysPersonId and be an enum value: FAILED per record."""
    good1, good2, bad1, bad2 = (unique_email(t) for t in ("fg1", "fg2", "fb1", "fb2"))
    existing = unique_email("fexist")
    existing_id = api.create_lead(existing, {"FirstName": "Exists"})
    fspi = f"crm-{uuid.uuid4().hex[:10]}"
    res = api.call(
        "syncMultipleLeads",
        leadRecordList={
            "leadRecord": [
                api.lead_record(good1, {"FirstName": "G1"}, fspi=f"{fspi}-1", fstype="CUSTOM"),
                api.lead_record(bad1, {"FirstName": "No type"}, fspi=f"{fspi}-2"),
                api.lead_record(bad2, {"ForeignSysPersonId": f"{fspi}-3", "ForeignSysType": "ORACLE"}),
                api.lead_record(existing, {"LastName": "Linked"}, fspi=f"{fspi}-4", fstype="SFDC"),
                api.lead_record(good2, {"FirstName": "G2"}),
            ]
        },
    )
    statuses = items(res, "syncStatusList", "syncStatus")
    assert [s["status"] for s in statuses] == ["CREATED", "FAILED", "FAILED", "CREATED", "CREATED"]
    assert "ForeignSysType" in statuses[1]["error"] and "ForeignSysType" in statuses[2]["error"]
    assert int(statuses[3]["leadId"]) != existing_id, "an unmatched foreign id creates a lead, whatever its email"
    for email in (bad1, bad2):
        assert api.fault("getLead", leadKey={"keyType": "EMAIL", "keyValue": email}).code == 20103
    [rec] = api.lead_records(api.get_lead("EMAIL", good1))
    assert (rec["ForeignSysPersonId"], rec["ForeignSysType"]) == (f"{fspi}-1", "CUSTOM")
    by_id = {r["Id"]: r for r in api.lead_records(api.get_lead("EMAIL", existing))}
    assert sorted(by_id) == sorted([existing_id, int(statuses[3]["leadId"])])
    assert by_id[existing_id]["ForeignSysPersonId"] is None, "the email's lead keeps no foreign id"
    linked = by_id[int(statuses[3]["leadId"])]
    assert (linked["ForeignSysPersonId"], linked["ForeignSysType"]) == (f"{fspi}-4", "SFDC")
    assert api.get_lead("EMAIL", good2)["count"] == 1


# --------------------------------------------------------------------------- getMultipleLeads


def _page_all(
    api: LeadApi, selector, *, batch_size=None, include=None, max_pages=1000
) -> tuple[list[dict], list[tuple[int, int]]]:
    records: list[dict] = []
    pages: list[tuple[int, int]] = []
    position = None
    for _ in range(max_pages):
        res = api.call(
            "getMultipleLeads",
            leadSelector=selector,
            streamPosition=position,
            batchSize=batch_size,
            includeAttributes={"stringItem": include} if include else None,
        )
        page = items(res, "leadRecordList", "leadRecord")
        assert res["returnCount"] == len(page)
        records.extend(page)
        pages.append((res["returnCount"], res["remainingCount"]))
        if res["remainingCount"] == 0:
            assert res.get("newStreamPosition") in ("", None), "exhausted stream must give an empty newStreamPosition"
            return records, pages
        position = res["newStreamPosition"]
        assert position, "a non-final page needs a stream position"
    raise AssertionError("never reached remainingCount 0")


def get_multiple_by_keys(api: LeadApi, unique_email) -> None:
    emails = [unique_email(f"k{i}") for i in range(5)]
    ids = [
        api.create_lead(e, {"FirstName": f"K{i}", "LastName": "Keys", SEED_CUSTOM_FIELD: f"v{i}"})
        for i, e in enumerate(emails)
    ]
    # by email, one unknown key skipped silently
    sel = api.key_selector("EMAIL", emails[:3] + [unique_email("unknown")])
    records, pages = _page_all(api, sel)
    assert pages == [(3, 0)]
    assert {r["Email"] for r in records} == set(emails[:3])
    # by id, paged 2 at a time; exact remaining counts, stable id order, no duplicates
    sel = api.key_selector("IDNUM", [str(i) for i in reversed(ids)])
    records, pages = _page_all(api, sel, batch_size=2)
    assert pages == [(2, 3), (2, 1), (1, 0)]
    assert [r["Id"] for r in records] == sorted(ids)
    # includeAttributes restricts the attribute list but keeps Id/Email
    records, _ = _page_all(api, api.key_selector("IDNUM", [str(ids[0])]), include=["FirstName", "NoSuchField"])
    [rec] = records
    assert rec["Id"] == ids[0] and rec["Email"] == emails[0]
    assert attr_map(rec) == {"FirstName": "K0"}
    records, _ = _page_all(api, api.key_selector("IDNUM", [str(ids[1])]))
    assert attr_map(records[0])[SEED_CUSTOM_FIELD] == "v1", "no includeAttributes = all fields"


def get_multiple_by_static_list(api: LeadApi, unique_email, list_name: str) -> None:
    ids = [api.create_lead(unique_email(f"sl{i}"), {"FirstName": f"S{i}"}) for i in range(3)]
    res = api.call(
        "listOperation",
        listOperation="ADDTOLIST",
        listKey={"keyType": "MKTOLISTNAME", "keyValue": list_name},
        listMemberList={"leadKey": [{"keyType": "IDNUM", "keyValue": str(i)} for i in ids]},
    )
    assert res["success"] is True
    records, pages = _page_all(api, api.list_selector(name=list_name), batch_size=2)
    assert sorted(r["Id"] for r in records) == sorted(ids)
    assert pages == [(2, 1), (1, 0)]
    # the list id, as a user finds it: the `List ID` of the Add to List activity
    acts = api.all_activities(ids[0], include=["AddToList"])
    list_ids = {
        dict((a["attrName"], a["attrValue"]) for a in items(r, "activityAttributes", "attribute")).get("List ID")
        for r in acts
    }
    [list_id] = [x for x in list_ids if x]
    records, _ = _page_all(api, api.list_selector(list_id=int(list_id)))
    assert sorted(r["Id"] for r in records) == sorted(ids)


def get_multiple_by_last_update(api: LeadApi, unique_email) -> None:
    t0 = utcnow() - dt.timedelta(seconds=2)
    emails = [unique_email(f"lu{i}") for i in range(3)]
    ids = {api.create_lead(e, {"FirstName": "Window"}) for e in emails}
    t1 = utcnow() + dt.timedelta(seconds=2)
    records, _ = _page_all(api, api.update_selector(t0, t1), batch_size=1000, include=["FirstName"])
    got = [r["Id"] for r in records]
    assert len(got) == len(set(got)), "no lead twice"
    assert ids <= set(got)
    # a window that ends before the leads were written holds none of them
    records, _ = _page_all(
        api, api.update_selector(t0 - dt.timedelta(hours=2), t0 - dt.timedelta(hours=1)), batch_size=1000
    )
    assert not ids & {r["Id"] for r in records}
    # open-ended window (no latestUpdatedAt) means "until now"
    records, _ = _page_all(api, api.update_selector(t0), batch_size=1000)
    assert ids <= {r["Id"] for r in records}


# --------------------------------------------------------------------------- mergeLeads


def merge_leads(api: LeadApi, unique_email, list_name: str) -> None:
    ew, el1, el2 = unique_email("winner"), unique_email("loser1"), unique_email("loser2")
    winner = api.create_lead(ew, {"FirstName": "Winner", "LastName": "Keeps"})
    loser1 = api.create_lead(el1, {"FirstName": "Loser", "Company": "Filled From Loser"})
    loser2 = api.create_lead(el2, {"FirstName": "Loser2"})
    api.call(
        "listOperation",
        listOperation="ADDTOLIST",
        listKey={"keyType": "MKTOLISTNAME", "keyValue": list_name},
        listMemberList={"leadKey": [{"keyType": "IDNUM", "keyValue": str(loser1)}]},
    )
    kw = {"mergeInSales": False} if api.version in ("2_7", "2_9", "3_1") else {}
    res = api.call(
        "mergeLeads",
        winningLeadKeyList={"attribute": [{"attrName": "IDNUM", "attrValue": str(winner)}]},
        losingLeadKeyLists={
            "keyList": [
                {"attribute": [{"attrName": "IDNUM", "attrValue": str(loser1)}]},
                {"attribute": [{"attrName": "EMAIL", "attrValue": el2}]},
            ]
        },
        **kw,
    )
    ms = res["mergeStatus"]
    assert ms["status"] == "MERGED" and ms.get("error") in (None, "")
    assert ms["winningLeadId"] == winner
    assert sorted(items(ms, "losingLeadIdList", "integerItem")) == sorted([loser1, loser2])
    for lid in (loser1, loser2):
        assert api.fault("getLead", leadKey={"keyType": "IDNUM", "keyValue": str(lid)}).code == 20103
    got = attr_map(api.lead_records(api.get_lead("IDNUM", winner))[0])
    assert got["FirstName"] == "Winner" and got["LastName"] == "Keeps"
    assert got["Company"] == "Filled From Loser", "blank winner fields are filled from losers"
    res = api.call(
        "listOperation",
        listOperation="ISMEMBEROFLIST",
        listKey={"keyType": "MKTOLISTNAME", "keyValue": list_name},
        listMemberList={"leadKey": [{"keyType": "IDNUM", "keyValue": str(winner)}]},
    )
    assert res["success"] is True, "list memberships of the loser move to the winner"
    names = [r["activityType"] for r in api.all_activities(winner)]
    assert "Merge Leads" in names
    # losers' history moves to the winner too
    assert names.count("New Lead") >= 2, names


def merge_leads_unknown_loser_fails(api: LeadApi, unique_email) -> None:
    winner = api.create_lead(unique_email("w"), {"FirstName": "W"})
    res, fault = api.call_or_fault(
        "mergeLeads",
        winningLeadKeyList={"attribute": [{"attrName": "IDNUM", "attrValue": str(winner)}]},
        losingLeadKeyLists={"keyList": [{"attribute": [{"attrName": "IDNUM", "attrValue": "987654003"}]}]},
    )
    if fault is not None:  # a 20103 fault is allowed ...
        assert fault.code == 20103, fault
    else:  # ... or status FAILED with an error text (preferred)
        assert res["mergeStatus"]["status"] == "FAILED" and res["mergeStatus"].get("error"), res
    assert api.get_lead("IDNUM", winner)["count"] == 1


def position_back(res: dict) -> dict | None:
    return clean_position(res.get("newStartPosition"))


def sync_lead_move_cookie(api: LeadApi, unique_email) -> None:
    """3_1 `moveCookie` (docs/leads.md, Cookies): a cookie of a known lead moves only when asked."""
    cookie = f"id:561-HYG-937&token:_mch-example.com-{uuid.uuid4().int % 10**13}-{uuid.uuid4().hex[:5]}"
    a = int(api.sync_lead(unique_email("ca"), {"FirstName": "A"}, cookie=cookie)["leadId"])
    b_email = unique_email("cb")
    b = int(api.sync_lead(b_email, {"FirstName": "B"}, cookie=cookie)["leadId"])
    assert b != a
    assert [r["Id"] for r in api.lead_records(api.get_lead("COOKIE", cookie))] == [a], "cookie stays without moveCookie"
    api.call(
        "syncLead",
        leadRecord=api.lead_record(b_email, {"FirstName": "B2"}),
        returnLead=False,
        marketoCookie=cookie,
        moveCookie=True,
    )
    assert [r["Id"] for r in api.lead_records(api.get_lead("COOKIE", cookie))] == [b], "moveCookie=true moves it"
