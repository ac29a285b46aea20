"""listOperation, getLeadActivity and getLeadChanges through zeep and suds (2_2 and 3_1) on the
real servers, plus raw-XML shape checks (empty lists, stream positions) against the app in
process (`asgi_server`)."""

from __future__ import annotations

import datetime as dt

import pytest
from support.clients import LeadApi, attr_list, clean_position, items, utcnow
from support.soap import assert_fault, call, success

KINDS_VERSIONS = [("zeep", "2_2"), ("zeep", "3_1"), ("suds", "2_2"), ("suds", "3_1")]


@pytest.fixture(params=KINDS_VERSIONS, ids=[f"{k}-{v}" for k, v in KINDS_VERSIONS])
def api(request, lead_api) -> LeadApi:
    return lead_api(*request.param)


def _list_op(api: LeadApi, op: str, list_name: str, ids, strict=None) -> dict:
    return api.call(
        "listOperation",
        listOperation=op,
        listKey={"keyType": "MKTOLISTNAME", "keyValue": list_name},
        listMemberList={"leadKey": [{"keyType": "IDNUM", "keyValue": str(i)} for i in ids]},
        strict=strict,
    )


def _statuses(res: dict) -> list[tuple[str, bool]]:
    return [(s["leadKey"]["keyValue"], s["status"]) for s in items(res, "statusList", "leadStatus")]


def _attrs(record: dict) -> dict[str, str]:
    return dict(attr_list(record))


# --------------------------------------------------------------------------- listOperation


def test_list_operation_add_ismember_remove(api, unique_email, fresh_list):
    a, b, c = (api.create_lead(unique_email(x)) for x in "abc")
    res = _list_op(api, "ADDTOLIST", fresh_list, [a, b])
    assert res["success"] is True
    assert _statuses(res) == [(str(a), True), (str(b), True)]
    assert all(s["leadKey"]["keyType"] == "IDNUM" for s in items(res, "statusList", "leadStatus"))

    res = _list_op(api, "ISMEMBEROFLIST", fresh_list, [a, c])
    assert res["success"] is False  # one member, one non-member
    assert _statuses(res) == [(str(a), True), (str(c), False)]

    res = _list_op(api, "ADDTOLIST", fresh_list, [a])  # already a member: still true
    assert res["success"] is True and _statuses(res) == [(str(a), True)]

    res = _list_op(api, "REMOVEFROMLIST", fresh_list, [a, c])  # c was never a member: idempotent true
    assert res["success"] is True and _statuses(res) == [(str(a), True), (str(c), True)]
    res = _list_op(api, "ISMEMBEROFLIST", fresh_list, [a, b])
    assert _statuses(res) == [(str(a), False), (str(b), True)]


def test_list_operation_unknown_lead_and_strict(api, unique_email, fresh_list):
    a, b = api.create_lead(unique_email("s1")), api.create_lead(unique_email("s2"))
    ghost = 987_654_010
    res = _list_op(api, "ADDTOLIST", fresh_list, [a, ghost], strict=True)
    assert res["success"] is False
    # a client that retries only the false ones must retry a too: it was not added
    assert _statuses(res) == [(str(a), False), (str(ghost), False)]
    res = _list_op(api, "ISMEMBEROFLIST", fresh_list, [a])
    assert _statuses(res) == [(str(a), False)], "strict: nothing applied when one lead fails"

    res = _list_op(api, "ADDTOLIST", fresh_list, [b, ghost], strict=False)
    assert res["success"] is False
    assert _statuses(res) == [(str(b), True), (str(ghost), False)]
    assert _statuses(_list_op(api, "ISMEMBEROFLIST", fresh_list, [b])) == [(str(b), True)], "non-strict: b applied"


def test_list_operation_logs_add_and_remove_activities(api, unique_email, fresh_list):
    lead = api.create_lead(unique_email("act"))
    _list_op(api, "ADDTOLIST", fresh_list, [lead])
    _list_op(api, "ADDTOLIST", fresh_list, [lead])  # no second activity for an existing member
    _list_op(api, "REMOVEFROMLIST", fresh_list, [lead])
    _list_op(api, "REMOVEFROMLIST", fresh_list, [lead])  # no activity for a non-member
    acts = api.all_activities(lead)
    adds = [r for r in acts if r["activityType"] == "Add to List"]
    removes = [r for r in acts if r["activityType"] == "Remove from List"]
    assert len(adds) == 1 and len(removes) == 1
    for r in adds + removes:
        assert r["mktgAssetName"] == fresh_list
        names = [n for n, _ in attr_list(r)]
        assert "List ID" in names and names[-1] == "Lead ID"
        assert _attrs(r)["Lead ID"] == str(lead)
    assert _attrs(adds[0])["List ID"] == _attrs(removes[0])["List ID"]


def test_list_operation_takes_idnum_keys_only(api, unique_email, fresh_list):
    email = unique_email("by-email")
    api.create_lead(email)
    fault = api.fault(
        "listOperation",
        listOperation="ADDTOLIST",
        listKey={"keyType": "MKTOLISTNAME", "keyValue": fresh_list},
        listMemberList={"leadKey": [{"keyType": "EMAIL", "keyValue": email}]},
    )
    assert (fault.code, fault.faultstring) == (20102, "20102 - Lead Key Bad")
    assert "listOperation takes IDNUM lead keys only" in fault.message and "EMAIL" in fault.message


def test_a_program_list_answers_to_its_bare_name_when_unique(api, unique_email):
    lead = api.create_lead(unique_email("bare"))
    res = _list_op(api, "ADDTOLIST", "Summit Attendees", [lead])  # a list of the Autumn Summit program
    assert res["success"] is True
    assert _statuses(_list_op(api, "ISMEMBEROFLIST", "Autumn Summit.Summit Attendees", [lead])) == [(str(lead), True)]
    assert lead in [
        int(r["Id"])
        for r in api.lead_records(
            api.call("getMultipleLeads", leadSelector=api.list_selector("summit attendees"), batchSize=1000)
        )
    ]
    _list_op(api, "REMOVEFROMLIST", "Summit Attendees", [lead])

    fault = api.fault(  # two programs have a "Follow Ups" list
        "listOperation",
        listOperation="ADDTOLIST",
        listKey={"keyType": "MKTOLISTNAME", "keyValue": "Follow Ups"},
        listMemberList={"leadKey": [{"keyType": "IDNUM", "keyValue": str(lead)}]},
    )
    assert (
        fault.code == 20110
        and "Autumn Summit.Follow Ups" in fault.message
        and "Winter Summit.Follow Ups" in fault.message
    )
    res = _list_op(api, "ADDTOLIST", "Winter Summit.Follow Ups", [lead])
    assert res["success"] is True
    assert _statuses(_list_op(api, "ISMEMBEROFLIST", "Autumn Summit.Follow Ups", [lead])) == [(str(lead), False)]
    _list_op(api, "REMOVEFROMLIST", "Winter Summit.Follow Ups", [lead])


# --------------------------------------------------------------------------- getLeadActivity


def test_lead_activity_new_lead_and_change_data_value(api, unique_email):
    email = unique_email("cdv")
    lead = api.create_lead(email, {"FirstName": "Before", "LastName": "Same"})
    api.sync_lead(email, {"FirstName": "After", "LastName": "Same"})  # LastName unchanged: no activity
    acts = api.all_activities(lead)
    types = [r["activityType"] for r in acts]
    assert types.count("New Lead") == 1

    [new_lead] = [r for r in acts if r["activityType"] == "New Lead"]
    names = [n for n, _ in attr_list(new_lead)]
    assert names[-1] == "Lead ID" and {"Source Type", "Source Info", "Created Date"} <= set(names)
    assert _attrs(new_lead)["Lead ID"] == str(lead)
    assert _attrs(new_lead)["Source Type"] == "Web service API"
    dt.date.fromisoformat(_attrs(new_lead)["Created Date"])  # YYYY-MM-DD

    changes = [
        r for r in acts if r["activityType"] == "Change Data Value" and _attrs(r).get("Attribute Name") == "First Name"
    ]
    assert any(_attrs(r).get("Old Value") == "Before" and _attrs(r).get("New Value") == "After" for r in changes), (
        changes
    )
    [chg] = [r for r in changes if _attrs(r).get("New Value") == "After"]
    a = _attrs(chg)
    assert a["Reason"] == "SOAP API" and a["Lead ID"] == str(lead)
    assert [n for n, _ in attr_list(chg)][-1] == "Lead ID"
    assert chg["mktgAssetName"] == "First Name"
    no_ops = [
        r
        for r in acts
        if r["activityType"] == "Change Data Value" and _attrs(r).get("Old Value") == _attrs(r).get("New Value")
    ]
    assert not no_ops, "re-sending an unchanged value logs no Change Data Value"

    for r in acts:
        assert str(r["mktPersonId"]) == str(lead)
        assert isinstance(r["activityDateTime"], dt.datetime)
    # newest first, ties by descending id
    keys = [(r["activityDateTime"], int(r["id"])) for r in acts]
    assert keys == sorted(keys, reverse=True)


def test_lead_activity_version_shapes(api, unique_email):
    lead = api.create_lead(unique_email("guid"))
    acts = api.all_activities(lead)
    assert acts
    for r in acts:
        if api.version == "3_1":
            assert r["marketoGUID"] == str(r["id"]), "marketoGUID = decimal activity id"
        else:
            assert "marketoGUID" not in r or r["marketoGUID"] is None


def test_lead_activity_paging(api, unique_email):
    email = unique_email("page")
    lead = api.create_lead(email, {"FirstName": "v0"})
    for i in range(1, 6):
        api.sync_lead(email, {"FirstName": f"v{i}"})
    everything = api.all_activities(lead)
    assert len(everything) >= 6

    first = api.activities("IDNUM", str(lead), batch_size=2)
    assert first["returnCount"] == 2
    assert first["returnCount"] + first["remainingCount"] == len(everything)
    pos = first["newStartPosition"]
    assert pos["offset"] and pos["latestCreatedAt"] is not None

    seen: list[int] = []
    res, remaining_before = first, len(everything)
    while True:
        page = items(res, "activityRecordList", "activityRecord")
        assert res["returnCount"] == len(page)
        assert res["remainingCount"] == remaining_before - len(page)
        remaining_before = res["remainingCount"]
        seen.extend(int(r["id"]) for r in page)
        if res["remainingCount"] == 0:
            break
        res = api.activities("IDNUM", str(lead), batch_size=2, start=clean_position(res["newStartPosition"]))
    assert len(seen) == len(set(seen)) == len(everything)
    assert seen == [int(r["id"]) for r in everything]


def test_lead_activity_filters(api, unique_email):
    email = unique_email("flt")
    lead = api.create_lead(email, {"FirstName": "x"})
    api.sync_lead(email, {"FirstName": "y"})
    res = api.activities("IDNUM", str(lead), include=["NewLead"])
    recs = items(res, "activityRecordList", "activityRecord")
    assert [r["activityType"] for r in recs] == ["New Lead"] and res["remainingCount"] == 0
    res = api.activities("EMAIL", email, exclude=["ChangeDataValue"])
    recs = items(res, "activityRecordList", "activityRecord")
    assert recs and all(r["activityType"] != "Change Data Value" for r in recs)
    res = api.activities("IDNUM", str(lead), include=["VisitWebpage"])
    assert res["returnCount"] == 0 and items(res, "activityRecordList", "activityRecord") == []


def test_lead_activity_unknown_lead_20103(api):
    f = api.fault("getLeadActivity", leadKey={"keyType": "IDNUM", "keyValue": "987654011"})
    assert f.code == 20103


# --------------------------------------------------------------------------- getLeadChanges


def _changes(
    api: LeadApi, start: dict, *, selector=None, names=None, include=None, batch_size=None
) -> tuple[list[dict], list[tuple[int, int]]]:
    out: list[dict] = []
    pages: list[tuple[int, int]] = []
    position = start
    kw = {}
    if names is not None:
        kw["activityNameFilter"] = {"stringItem": names}
    if include is not None:
        kw["activityFilter"] = {"includeTypes": {"activityType": include}}
    for _ in range(1000):
        res = api.call("getLeadChanges", startPosition=position, leadSelector=selector, batchSize=batch_size, **kw)
        page = items(res, "leadChangeRecordList", "leadChangeRecord")
        assert res["returnCount"] == len(page)
        out.extend(page)
        pages.append((res["returnCount"], res["remainingCount"]))
        if res["remainingCount"] == 0:
            return out, pages
        position = clean_position(res["newStartPosition"])
    raise AssertionError("getLeadChanges never reached remainingCount 0")


def test_lead_changes_by_key_selector_paged(api, unique_email):
    t0 = utcnow() - dt.timedelta(seconds=2)
    emails = [unique_email(f"ch{i}") for i in range(3)]
    ids = [api.create_lead(e, {"FirstName": "A"}) for e in emails]
    for e in emails:
        api.sync_lead(e, {"FirstName": "B"})
    sel = api.key_selector("IDNUM", [str(i) for i in ids])
    records, pages = _changes(api, {"oldestCreatedAt": t0}, selector=sel, batch_size=2)
    assert {int(r["mktPersonId"]) for r in records} == set(ids)
    types = [r["activityType"] for r in records]
    assert types.count("New Lead") == 3
    cdv = [r for r in records if r["activityType"] == "Change Data Value" and _attrs(r).get("New Value") == "B"]
    assert len(cdv) == 3 and all(_attrs(r)["Reason"] == "SOAP API" and _attrs(r)["Old Value"] == "A" for r in cdv)
    # exact counts: each page's remaining = total - returned so far
    total = len(records)
    done = 0
    for n, remaining in pages:
        done += n
        assert remaining == total - done
    assert all(n == 2 for n, _ in pages[:-1])
    ids_seen = [int(r["id"]) for r in records]
    assert len(ids_seen) == len(set(ids_seen))
    keys = [(r["activityDateTime"], int(r["id"])) for r in records]
    assert keys == sorted(keys), "oldest first"
    if api.version == "3_1":
        assert all(r["marketoGUID"] == str(r["id"]) for r in records)


def test_lead_changes_type_filters(api, unique_email):
    t0 = utcnow() - dt.timedelta(seconds=2)
    email = unique_email("chf")
    lead = api.create_lead(email, {"FirstName": "A"})
    api.sync_lead(email, {"FirstName": "B"})
    sel = api.key_selector("IDNUM", [str(lead)])
    start = {"oldestCreatedAt": t0}
    if api.version == "2_2":
        records, _ = _changes(api, start, selector=sel, include=["ChangeDataValue"])
    else:
        records, _ = _changes(api, start, selector=sel, names=["Change Data Value"])
        # unknown names match nothing, no fault (docs/leads.md)
        none, pages = _changes(api, start, selector=sel, names=["No Such Activity"])
        assert none == [] and pages == [(0, 0)]
        # names are matched case-insensitively
        lower, _ = _changes(api, start, selector=sel, names=["new lead"])
        assert [r["activityType"] for r in lower] == ["New Lead"]
    assert records and {r["activityType"] for r in records} == {"Change Data Value"}


def test_lead_changes_static_list_and_time_window_selectors(api, unique_email, fresh_list):
    t0 = utcnow() - dt.timedelta(seconds=2)
    inside = api.create_lead(unique_email("in"), {"FirstName": "In"})
    outside = api.create_lead(unique_email("out"), {"FirstName": "Out"})
    _list_op(api, "ADDTOLIST", fresh_list, [inside])
    records, _ = _changes(api, {"oldestCreatedAt": t0}, selector=api.list_selector(name=fresh_list))
    people = {int(r["mktPersonId"]) for r in records}
    assert inside in people and outside not in people
    t1 = utcnow() + dt.timedelta(seconds=2)
    records, _ = _changes(
        api, {"oldestCreatedAt": t0 - dt.timedelta(days=1)}, selector=api.update_selector(t0, t1), batch_size=1000
    )
    people = {int(r["mktPersonId"]) for r in records}
    assert {inside, outside} <= people
    records, _ = _changes(
        api,
        {"oldestCreatedAt": t0 - dt.timedelta(days=1)},
        selector=api.update_selector(t0 - dt.timedelta(hours=3), t0 - dt.timedelta(hours=2)),
    )
    assert not {inside, outside} & {int(r["mktPersonId"]) for r in records}


# --------------------------------------------------------------------------- raw shapes


def test_empty_results_use_empty_wrappers(asgi_server):
    body = (
        '<ns1:paramsGetMultipleLeads><leadSelector xsi:type="ns1:LeadKeySelector"><keyType>IDNUM</keyType>'
        "<keyValues><stringItem>987654012</stringItem></keyValues></leadSelector></ns1:paramsGetMultipleLeads>"
    )
    result = success(call(asgi_server.endpoint(), body), "getMultipleLeads").find("result")
    assert result.findtext("returnCount") == "0" and result.findtext("remainingCount") == "0"
    nsp = result.find("newStreamPosition")
    assert nsp is not None and not (nsp.text or "") and not nsp.attrib, "empty newStreamPosition, not nil"
    lrl = result.find("leadRecordList")
    assert lrl is not None and len(lrl) == 0 and not lrl.attrib, "empty wrapper, not nil"


def test_get_lead_activity_vendor_php_empty_start_position(asgi_server, unique_email):
    """The vendor PHP sample sends <startPosition><latestCreatedAt/><offset/></startPosition>."""
    email = unique_email("php")
    success(
        call(
            asgi_server.endpoint(),
            f"<ns1:paramsSyncLead><leadRecord><Email>{email}</Email></leadRecord><returnLead>false</returnLead></ns1:paramsSyncLead>",
        ),
        "syncLead",
    )
    body = (
        f"<ns1:paramsGetLeadActivity><leadKey><keyType>EMAIL</keyType><keyValue>{email}</keyValue></leadKey>"
        "<activityFilter><includeTypes><activityType>NewLead</activityType></includeTypes></activityFilter>"
        "<startPosition><latestCreatedAt/><offset/></startPosition><batchSize>10</batchSize></ns1:paramsGetLeadActivity>"
    )
    lal = success(call(asgi_server.endpoint(), body), "getLeadActivity").find("leadActivityList")
    assert lal.findtext("returnCount") == "1"
    rec = lal.find("activityRecordList/activityRecord")
    assert rec.findtext("activityType") == "New Lead"
    assert rec.find("campaign") is not None and not rec.find("campaign").attrib, "campaign: empty element, not nil"
    assert rec.find("mktgAssetName") is not None
    assert [a.findtext("attrName") for a in rec.iterfind("activityAttributes/attribute")][-1] == "Lead ID"


def test_an_empty_activity_type_in_a_filter_is_fault_20107(asgi_server, unique_email):
    """An empty <activityType/> names no type: the same fault as an unknown one, not an internal error."""
    email = unique_email("empty-type")
    success(
        call(
            asgi_server.endpoint(),
            f"<ns1:paramsSyncLead><leadRecord><Email>{email}</Email></leadRecord></ns1:paramsSyncLead>",
        ),
        "syncLead",
    )
    for kind in ("includeTypes", "excludeTypes"):
        body = (
            f"<ns1:paramsGetLeadActivity><leadKey><keyType>EMAIL</keyType><keyValue>{email}</keyValue></leadKey>"
            f"<activityFilter><{kind}><activityType/></{kind}></activityFilter></ns1:paramsGetLeadActivity>"
        )
        assert_fault(call(asgi_server.endpoint(), body), 20107)


def test_get_lead_changes_garbage_offset_20122(asgi_server):
    ts = utcnow().strftime("%Y-%m-%dT%H:%M:%S+00:00")
    body = (
        f"<ns1:paramsGetLeadChanges><startPosition><oldestCreatedAt>{ts}</oldestCreatedAt><offset>ID:not-a-number</offset>"
        "</startPosition></ns1:paramsGetLeadChanges>"
    )
    assert_fault(call(asgi_server.endpoint(), body), 20122)


def _raw_sync(asgi_server, email: str, first: str, version: str = "2_2", extra: str = "") -> int:
    body = (
        f"<ns1:paramsSyncLead><leadRecord><Email>{email}</Email><leadAttributeList><attribute><attrName>FirstName</attrName>"
        f"<attrValue>{first}</attrValue></attribute></leadAttributeList></leadRecord><returnLead>false</returnLead>{extra}"
        "</ns1:paramsSyncLead>"
    )
    return int(success(call(asgi_server.endpoint(version), body), "syncLead").findtext("result/leadId"))


def _raw_changes(asgi_server, version: str, lead_id: int, t0: dt.datetime, names: list[str] | None = None):
    name_filter = ""
    if names is not None:
        name_filter = (
            "<activityNameFilter>" + "".join(f"<stringItem>{n}</stringItem>" for n in names) + "</activityNameFilter>"
        )
    body = (
        f"<ns1:paramsGetLeadChanges><startPosition><oldestCreatedAt>{t0.strftime('%Y-%m-%dT%H:%M:%S+00:00')}</oldestCreatedAt>"
        f"</startPosition>{name_filter}<batchSize>100</batchSize>"
        '<leadSelector xsi:type="ns1:LeadKeySelector"><keyType>IDNUM</keyType>'
        f"<keyValues><stringItem>{lead_id}</stringItem></keyValues></leadSelector></ns1:paramsGetLeadChanges>"
    )
    return success(call(asgi_server.endpoint(version), body), "getLeadChanges").find("result")


@pytest.mark.parametrize("version", ["2_2", "3_1"])
def test_lead_change_record_without_asset_has_nil_mktg_asset_name(asgi_server, unique_email, version):
    """LeadChangeRecord/mktgAssetName is nillable, so no asset -> xsi:nil (only the
    non-nillable ActivityRecord/mktgAssetName is an empty element)."""
    from support.soap import is_nil

    t0 = utcnow() - dt.timedelta(seconds=2)
    email = unique_email("asset")
    lead = _raw_sync(asgi_server, email, "A")
    _raw_sync(asgi_server, email, "B")
    records = {
        r.findtext("activityType"): r
        for r in _raw_changes(asgi_server, version, lead, t0).iterfind("leadChangeRecordList/leadChangeRecord")
    }
    assert set(records) == {"New Lead", "Change Data Value"}
    assert is_nil(records["New Lead"].find("mktgAssetName"))
    assert records["Change Data Value"].findtext("mktgAssetName") == "First Name"
    assert records["New Lead"].find("campaign") is None, "no campaign: element omitted (not nillable)"

    body = (
        f"<ns1:paramsGetLeadActivity><leadKey><keyType>IDNUM</keyType><keyValue>{lead}</keyValue></leadKey>"
        "<activityFilter><includeTypes><activityType>NewLead</activityType></includeTypes></activityFilter></ns1:paramsGetLeadActivity>"
    )
    rec = success(call(asgi_server.endpoint(version), body), "getLeadActivity").find(
        "leadActivityList/activityRecordList/activityRecord"
    )
    asset = rec.find("mktgAssetName")
    assert asset is not None and not is_nil(asset) and not (asset.text or ""), "ActivityRecord: empty element"


def test_activity_name_filter_only_on_2_3_and_later(asgi_server, unique_email):
    """activityNameFilter exists from 2_3; an older endpoint ignores it, as any unknown element."""
    t0 = utcnow() - dt.timedelta(seconds=2)
    email = unique_email("namefilter")
    lead = _raw_sync(asgi_server, email, "A")
    _raw_sync(asgi_server, email, "B")
    on_22 = _raw_changes(asgi_server, "2_2", lead, t0, names=["New Lead"])
    assert {r.findtext("activityType") for r in on_22.iterfind("leadChangeRecordList/leadChangeRecord")} == {
        "New Lead",
        "Change Data Value",
    }
    assert on_22.findtext("remainingCount") == "0"
    for version in ("2_3", "2_7", "3_1"):
        res = _raw_changes(asgi_server, version, lead, t0, names=["New Lead"])
        assert [r.findtext("activityType") for r in res.iterfind("leadChangeRecordList/leadChangeRecord")] == [
            "New Lead"
        ]


def test_move_cookie_only_on_3_1(asgi_server, unique_email):
    """moveCookie is a 3_1 element: an older endpoint ignores it, so the cookie stays put."""
    import uuid

    cookie = f"id:561-HYG-937&amp;token:_mch-example.com-{uuid.uuid4().int % 10**13}"
    a = _raw_sync(asgi_server, unique_email("mca"), "A", extra=f"<marketoCookie>{cookie}</marketoCookie>")
    b_email = unique_email("mcb")
    b = _raw_sync(asgi_server, b_email, "B")
    get_by_cookie = f"<ns1:paramsGetLead><leadKey><keyType>COOKIE</keyType><keyValue>{cookie}</keyValue></leadKey></ns1:paramsGetLead>"
    move = f"<marketoCookie>{cookie}</marketoCookie><moveCookie>true</moveCookie>"
    _raw_sync(asgi_server, b_email, "B2", version="2_7", extra=move)
    owners = [
        r.findtext("Id")
        for r in success(call(asgi_server.endpoint(), get_by_cookie), "getLead").iterfind(
            "result/leadRecordList/leadRecord"
        )
    ]
    assert owners == [str(a)]
    _raw_sync(asgi_server, b_email, "B3", version="3_1", extra=move)
    owners = [
        r.findtext("Id")
        for r in success(call(asgi_server.endpoint(), get_by_cookie), "getLead").iterfind(
            "result/leadRecordList/leadRecord"
        )
    ]
    assert owners == [str(b)]


def test_activity_record_foreign_sys_id_is_the_leads_foreign_id(asgi_server, unique_email):
    """ActivityRecord/foreignSysId carries the lead's ForeignSysPersonId; nil when it has none."""
    from support.soap import is_nil

    email, plain = unique_email("fsid"), unique_email("nofsid")
    body = (
        f"<ns1:paramsSyncLead><leadRecord><Email>{email}</Email><ForeignSysPersonId>crm-{email}</ForeignSysPersonId>"
        "<ForeignSysType>SFDC</ForeignSysType></leadRecord><returnLead>false</returnLead></ns1:paramsSyncLead>"
    )
    success(call(asgi_server.endpoint(), body), "syncLead")
    _raw_sync(asgi_server, plain, "P")
    for address, expected in ((email, f"crm-{email}"), (plain, None)):
        body = f"<ns1:paramsGetLeadActivity><leadKey><keyType>EMAIL</keyType><keyValue>{address}</keyValue></leadKey></ns1:paramsGetLeadActivity>"
        rec = success(call(asgi_server.endpoint(), body), "getLeadActivity").find(
            "leadActivityList/activityRecordList/activityRecord"
        )
        if expected is None:
            assert is_nil(rec.find("foreignSysId"))
        else:
            assert rec.findtext("foreignSysId") == expected


def test_list_operation_echoes_each_lead_key_as_sent(asgi_server, unique_email):
    """Clients pair statuses with their input by the echoed leadKey: echo it verbatim."""
    fresh_list = asgi_server.fresh_list()
    lead = _raw_sync(asgi_server, unique_email("echo"), "E")
    sent = [f" {lead} ", str(lead), "987654013"]
    members = "".join(f"<leadKey><keyType>IDNUM</keyType><keyValue>{v}</keyValue></leadKey>" for v in sent)
    body = (
        "<ns1:paramsListOperation><listOperation>ADDTOLIST</listOperation>"
        f"<listKey><keyType>MKTOLISTNAME</keyType><keyValue>{fresh_list}</keyValue></listKey>"
        f"<listMemberList>{members}</listMemberList><strict>false</strict></ns1:paramsListOperation>"
    )
    result = success(call(asgi_server.endpoint(), body), "listOperation").find("result")
    got = [
        (s.findtext("leadKey/keyType"), s.findtext("leadKey/keyValue"), s.findtext("status"))
        for s in result.iterfind("statusList/leadStatus")
    ]
    assert got == [("IDNUM", sent[0], "true"), ("IDNUM", sent[1], "true"), ("IDNUM", sent[2], "false")]
    assert result.findtext("success") == "false"
