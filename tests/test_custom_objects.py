"""getCustomObjects, syncCustomObjects, deleteCustomObjects through zeep and suds (2_2 and 3_1),
plus the vendor's samples as raw XML to the app in process (docs/objects.md, Custom objects).

The shared server declares the custom object Roadshow (tests/support/server.py): MKTOID
(integer, dedupe, links to the lead's Id), rid (string, dedupe), city, visited_on (date),
attendees (integer). Every test works on its own new leads and filters by them.
"""

from __future__ import annotations

import pytest
from support.clients import LeadApi, attr_list, clean_position, items, utcnow
from support.soap import assert_fault, call, is_nil, success

KINDS_VERSIONS = [("zeep", "2_2"), ("zeep", "3_1"), ("suds", "2_2"), ("suds", "3_1")]


@pytest.fixture(params=KINDS_VERSIONS, ids=[f"{k}-{v}" for k, v in KINDS_VERSIONS])
def api(request, lead_api) -> LeadApi:
    return lead_api(*request.param)


def _attributes(pairs: dict[str, object]) -> dict:
    return {"attribute": [{"attrName": k, "attrValue": str(v)} for k, v in pairs.items()]}


def _obj(keys: dict[str, object], attrs: dict[str, object] | None = None) -> dict:
    obj = {"customObjKeyList": _attributes(keys)}
    if attrs:
        obj["customObjAttributeList"] = _attributes(attrs)
    return obj


def _show(lead_id: int, rid: str, **attrs: object) -> dict:
    return _obj({"MKTOID": lead_id, "rid": rid}, attrs)


def _sync(api: LeadApi, *objs: dict, operation: str | None = "UPSERT", type_name: str = "RoadShow") -> list[dict]:
    result = api.call(
        "syncCustomObjects", objTypeName=type_name, customObjList={"customObj": list(objs)}, operation=operation
    )
    return items(result, "syncCustomObjStatusList", "syncCustomObjStatus")


def _get(
    api: LeadApi,
    keys: dict[str, object] | None = None,
    *,
    include: list[str] | None = None,
    type_name: str = "RoadShow",
    **kw,
) -> dict:
    return api.call(
        "getCustomObjects",
        objTypeName=type_name,
        customObjKeyList=_attributes(keys) if keys else None,
        includeAttributes={"stringItem": include or []},
        **kw,
    )


def _delete(api: LeadApi, *keys: dict[str, object], type_name: str = "RoadShow") -> list[dict]:
    result = api.call(
        "deleteCustomObjects", objTypeName=type_name, customObjKeyLists={"keyList": [_attributes(k) for k in keys]}
    )
    return items(result, "deleteCustomObjStatusList", "syncCustomObjStatus")


def _pairs(parent: dict, wrapper: str) -> list[tuple[str, str]]:
    found = items(parent, wrapper, "attribute")
    assert all(a.get("attrType") is None for a in found), found  # attrType is nil
    return [(a["attrName"], a["attrValue"]) for a in found]


def _records(result: dict) -> list[tuple[list, list]]:
    return [
        (_pairs(o, "customObjKeyList"), _pairs(o, "customObjAttributeList"))
        for o in items(result, "customObjList", "customObj")
    ]


def _statuses(statuses: list[dict]) -> list[tuple[str, str | None]]:
    return [(s["status"], s.get("error")) for s in statuses]


# ---------------------------------------------------------------- the vendor's sample flow


def test_sample_flow_upsert_get_by_lead_and_key_project_delete(api, unique_email):
    lead_id = api.create_lead(unique_email("roadshow"))
    statuses = _sync(
        api, _show(lead_id, "r1", city="Oslo", visited_on="2026-03-01", attendees=12), _show(lead_id, "r2", city="Rome")
    )
    assert _statuses(statuses) == [("CREATED", None), ("CREATED", None)]
    assert {s["objTypeName"] for s in statuses} == {"Roadshow"}  # canonical name
    assert _pairs(statuses[0], "customObjKeyList") == [("MKTOID", str(lead_id)), ("rid", "r1")]  # echo

    by_lead = _get(api, {"MKTOID": lead_id})
    assert (by_lead["objTypeName"], by_lead["returnCount"], by_lead["remainingCount"]) == ("Roadshow", 2, 0)
    assert not by_lead["newStreamPosition"]  # nothing remains
    assert _records(by_lead) == [
        (
            [("MKTOID", str(lead_id)), ("rid", "r1")],
            [("city", "Oslo"), ("visited_on", "2026-03-01"), ("attendees", "12")],
        ),
        ([("MKTOID", str(lead_id)), ("rid", "r2")], [("city", "Rome")]),
    ]
    by_key = _get(api, {"MKTOID": lead_id, "rid": "r2"})
    assert by_key["returnCount"] == 1 and _records(by_key)[0][0] == [("MKTOID", str(lead_id)), ("rid", "r2")]
    projected = _get(api, {"MKTOID": lead_id}, include=["attendees"])
    assert [attrs for _, attrs in _records(projected)] == [[("attendees", "12")], []]

    assert _statuses(_sync(api, _show(lead_id, "r1", city="Oslo"))) == [("UPDATED", None)]  # unchanged
    assert _statuses(_sync(api, _show(lead_id, "r1", attendees=40))) == [("UPDATED", None)]
    assert ("attendees", "40") in _records(_get(api, {"MKTOID": lead_id, "rid": "r1"}))[0][1]

    deleted = _delete(api, {"MKTOID": lead_id, "rid": "r1"}, {"MKTOID": lead_id, "rid": "r9"})
    assert [s["status"] for s in deleted] == ["DELETED", "FAILED"]
    assert deleted[1]["error"] == f"Roadshow record MKTOID={lead_id}, rid=r9 not found"
    assert _pairs(deleted[0], "customObjKeyList") == [("MKTOID", str(lead_id)), ("rid", "r1")]
    assert [keys[1] for keys, _ in _records(_get(api, {"MKTOID": lead_id}))] == [("rid", "r2")]


@pytest.mark.parametrize("spelling", ["roadshow", "RoadShow", "ROADSHOW"])
def test_type_name_is_case_insensitive(api, unique_email, spelling):
    lead_id = api.create_lead(unique_email("case"))
    [status] = _sync(api, _show(lead_id, "r1"), type_name=spelling)
    assert (status["objTypeName"], status["status"]) == ("Roadshow", "CREATED")
    found = _get(api, {"mktoid": lead_id}, type_name=spelling)
    assert found["objTypeName"] == "Roadshow" and found["returnCount"] == 1
    [status] = _delete(api, {"MKTOID": lead_id, "RID": "r1"}, type_name=spelling)
    assert (status["objTypeName"], status["status"]) == ("Roadshow", "DELETED")


def test_operation_absent_is_upsert_insert_and_update_are_strict(api, unique_email):
    lead_id = api.create_lead(unique_email("ops"))
    assert _statuses(_sync(api, _show(lead_id, "r1"), operation=None)) == [("CREATED", None)]
    assert _statuses(_sync(api, _show(lead_id, "r1", city="Lima"), operation=None)) == [("UPDATED", None)]
    [(status, error)] = _statuses(_sync(api, _show(lead_id, "r1"), operation="INSERT"))
    assert status == "FAILED" and "already exists" in error
    [(status, error)] = _statuses(_sync(api, _show(lead_id, "r2"), operation="UPDATE"))
    assert status == "FAILED" and "not found" in error
    assert _get(api, {"MKTOID": lead_id})["returnCount"] == 1


def test_paging_250_records_with_batch_size_100(api, unique_email):
    lead_id = api.create_lead(unique_email("pages"))
    for start in (0, 100, 200):
        statuses = _sync(api, *[_show(lead_id, f"r{i:03d}", attendees=i) for i in range(start, min(start + 100, 250))])
        assert {s["status"] for s in statuses} == {"CREATED"}
    seen: list[str] = []
    counts: list[tuple[int, int]] = []
    position = None
    for _ in range(10):
        page = _get(api, {"MKTOID": lead_id}, batchSize=100, streamPosition=position)
        records = _records(page)
        assert page["returnCount"] == len(records)
        seen += [keys[1][1] for keys, _ in records]
        counts.append((page["returnCount"], page["remainingCount"]))
        if page["remainingCount"] == 0:
            assert not page["newStreamPosition"]
            break
        position = page["newStreamPosition"]
    assert counts == [(100, 150), (100, 50), (50, 0)]
    assert seen == [f"r{i:03d}" for i in range(250)]
    default = _get(api, {"MKTOID": lead_id})  # no batchSize: 100
    assert (default["returnCount"], default["remainingCount"]) == (100, 150)


# --------------------------------------------------------------------------- failures


def test_unknown_type_faults_20110(api):
    for op, kw in [
        ("getCustomObjects", {"includeAttributes": {"stringItem": []}}),
        ("syncCustomObjects", {"customObjList": {"customObj": [_show(1, "r1")]}, "operation": "UPSERT"}),
        ("deleteCustomObjects", {"customObjKeyLists": {"keyList": [_attributes({"MKTOID": 1, "rid": "r1"})]}}),
    ]:
        fault = api.fault(op, objTypeName="Showroad", **kw)
        assert fault.code == 20110 and "Unknown custom object type 'Showroad' (known: " in fault.message, (op, fault)


def test_unknown_field_faults_20110_and_applies_nothing(api, unique_email):
    lead_id = api.create_lead(unique_email("unknown"))
    fault = api.fault(
        "syncCustomObjects",
        objTypeName="Roadshow",
        operation="UPSERT",
        customObjList={"customObj": [_show(lead_id, "ok", city="Oslo"), _show(lead_id, "r2", colour="red")]},
    )
    assert fault.code == 20110 and "colour" in fault.message
    assert _get(api, {"MKTOID": lead_id})["returnCount"] == 0
    for keys, include, name in [
        ({"colour": "red"}, [], "colour"),
        ({"MKTOID": lead_id}, ["city", "size"], "size"),
        ({"city": "Oslo"}, [], "city is not a key field"),
    ]:
        fault = api.fault(
            "getCustomObjects",
            objTypeName="Roadshow",
            customObjKeyList=_attributes(keys),
            includeAttributes={"stringItem": include},
        )
        assert fault.code == 20110 and name in fault.message


def test_record_level_failures(api, unique_email):
    lead_id = api.create_lead(unique_email("failures"))
    statuses = _statuses(
        _sync(
            api,
            _show(lead_id, "bad", attendees="many"),
            _obj({"MKTOID": lead_id}, {"city": "Oslo"}),
            _show(2_000_000_000, "ghost"),
            _show(lead_id, "dup", city="first"),
            _show(lead_id, "dup", city="second"),
            _obj({"MKTOID": lead_id, "rid": "r1", "city": "Oslo"}),
        )
    )
    assert [s for s, _ in statuses] == ["FAILED", "FAILED", "FAILED", "CREATED", "FAILED", "FAILED"]
    assert statuses[0][1] == "Invalid integer value for attendees: many"
    assert statuses[1][1] == "Missing key field(s) of Roadshow: rid"
    assert statuses[2][1] == "Lead not found: no lead with Id = 2000000000 (link field MKTOID)"
    assert statuses[4][1].startswith(f"Duplicate key MKTOID={lead_id}, rid=dup in this request")
    assert statuses[5][1].startswith("city is not a dedupe field of Roadshow")
    assert _records(_get(api, {"MKTOID": lead_id})) == [
        ([("MKTOID", str(lead_id)), ("rid", "dup")], [("city", "first")])
    ]


def test_more_than_100_records_fault_20110(api, unique_email):
    lead_id = api.create_lead(unique_email("many"))
    fault = api.fault(
        "syncCustomObjects",
        objTypeName="Roadshow",
        operation="UPSERT",
        customObjList={"customObj": [_show(lead_id, f"r{i}") for i in range(101)]},
    )
    assert fault.code == 20110 and "at most 100" in fault.message
    assert _get(api, {"MKTOID": lead_id})["returnCount"] == 0

    # deleting more than 100 is refused the same way, and the record named first survives
    _sync(api, _show(lead_id, "r0"))
    keys = [_attributes({"MKTOID": lead_id, "rid": f"r{i}"}) for i in range(101)]
    fault = api.fault("deleteCustomObjects", objTypeName="Roadshow", customObjKeyLists={"keyList": keys})
    assert fault.code == 20110 and "at most 100" in fault.message
    assert _get(api, {"MKTOID": lead_id})["returnCount"] == 1


def test_bad_stream_position_faults_20122(api, unique_email):
    lead_id = api.create_lead(unique_email("position"))
    _sync(api, _show(lead_id, "r1"), _show(lead_id, "r2"))
    first = _get(api, {"MKTOID": lead_id}, batchSize=1)
    assert first["remainingCount"] == 1 and first["newStreamPosition"]
    for bad in ("not-a-position", first["newStreamPosition"][:-3] + "abc"):
        fault = api.fault(
            "getCustomObjects",
            objTypeName="Roadshow",
            streamPosition=bad,
            customObjKeyList=_attributes({"MKTOID": lead_id}),
            includeAttributes={"stringItem": []},
        )
        assert fault.code == 20122
    other_query = api.fault(
        "getCustomObjects",
        objTypeName="Roadshow",
        streamPosition=first["newStreamPosition"],
        customObjKeyList=_attributes({"rid": "r1"}),
        includeAttributes={"stringItem": []},
    )
    assert other_query.code == 20122


# --------------------------------------------------------------------------- activities, merges


def test_changes_are_logged_as_change_custom_object(api, unique_email):
    t0 = utcnow()
    lead_id = api.create_lead(unique_email("activity"))
    _sync(api, _show(lead_id, "r1", city="Oslo"))
    _sync(api, _show(lead_id, "r1", city="Oslo"))  # unchanged: no activity
    _sync(api, _show(lead_id, "r1", city="Rome"))
    _delete(api, {"MKTOID": lead_id, "rid": "r1"})
    logged = [r for r in api.all_activities(lead_id) if r["activityType"] == "Change Custom Object"]
    assert [dict(attr_list(r))["Action"] for r in logged] == ["Deleted", "Updated", "Created"]  # newest first
    assert {r["mktgAssetName"] for r in logged} == {"Road Show"}
    assert attr_list(logged[1]) == [
        ("Object Name", "Roadshow"),
        ("Action", "Updated"),
        ("MKTOID", str(lead_id)),
        ("rid", "r1"),
        ("city", "Rome"),
        ("Lead ID", str(lead_id)),
    ]
    if api.version == "2_2":
        return  # activityNameFilter exists from 2_3
    position = {"oldestCreatedAt": t0}
    changes = api.call(
        "getLeadChanges",
        startPosition=position,
        batchSize=1000,
        activityNameFilter={"stringItem": ["Change Custom Object"]},
        leadSelector=api.key_selector("IDNUM", [str(lead_id)]),
    )
    records = items(changes, "leadChangeRecordList", "leadChangeRecord")
    assert [(r["activityType"], dict(attr_list(r))["Action"]) for r in records] == [
        ("Change Custom Object", "Created"),
        ("Change Custom Object", "Updated"),
        ("Change Custom Object", "Deleted"),
    ]
    assert changes["remainingCount"] == 0 and clean_position(changes["newStartPosition"])


def test_merge_moves_the_losers_records_to_the_winner(api, unique_email):
    winner = api.create_lead(unique_email("winner"))
    loser = api.create_lead(unique_email("loser"))
    _sync(api, _show(winner, "both", city="winner's"), _show(loser, "both", city="loser's"), _show(loser, "own"))
    merged = api.call(
        "mergeLeads",
        winningLeadKeyList=_attributes({"IDNUM": winner}),
        losingLeadKeyLists={"keyList": [_attributes({"IDNUM": loser})]},
    )
    assert merged["mergeStatus"]["status"] == "MERGED"
    assert _records(_get(api, {"MKTOID": winner})) == [
        ([("MKTOID", str(winner)), ("rid", "both")], [("city", "winner's")]),
        ([("MKTOID", str(winner)), ("rid", "own")], []),
    ]
    assert _get(api, {"MKTOID": loser})["returnCount"] == 0


# ----------------------------------------------------------------------- the vendor's samples, raw


def _raw_lead(asgi_server, version: str, email: str) -> int:
    body = (
        f"<ns1:paramsSyncLead><leadRecord><Email>{email}</Email></leadRecord>"
        "<returnLead>false</returnLead></ns1:paramsSyncLead>"
    )
    result = success(call(asgi_server.endpoint(version), body), "syncLead").find("result")
    assert result.findtext("syncStatus/status") == "CREATED"
    return int(result.findtext("leadId"))


def _raw_sync(asgi_server, version: str, lead_id: int, rid: str, operation: str = "<operation>UPSERT</operation>"):
    return call(
        asgi_server.endpoint(version),
        (
            "<ns1:paramsSyncCustomObjects><objTypeName>RoadShow</objTypeName><customObjList><customObj>"
            f"<customObjKeyList><attribute><attrName>MKTOID</attrName><attrValue>{lead_id}</attrValue></attribute>"
            f"<attribute><attrName>rid</attrName><attrValue>{rid}</attrValue></attribute></customObjKeyList>"
            "<customObjAttributeList><attribute><attrName>city</attrName><attrValue>Oslo</attrValue></attribute>"
            f"</customObjAttributeList></customObj></customObjList>{operation}</ns1:paramsSyncCustomObjects>"
        ),
    )


@pytest.mark.parametrize("version", ["2_2", "3_1"])
def test_spec_samples_as_raw_xml(asgi_server, unique_email, version):
    lead_id = _raw_lead(asgi_server, version, unique_email("raw"))
    result = success(
        _raw_sync(asgi_server, version, lead_id, "k1", operation='<operation xsi:nil="true"/>'), "syncCustomObjects"
    ).find("result")
    [status] = result.findall("syncCustomObjStatusList/syncCustomObjStatus")
    assert (status.findtext("objTypeName"), status.findtext("status")) == ("Roadshow", "CREATED")
    assert is_nil(status.find("error"))
    assert all(is_nil(a.find("attrType")) for a in status.iterfind("customObjKeyList/attribute"))
    success(_raw_sync(asgi_server, version, lead_id, "k2", operation=""), "syncCustomObjects")  # no operation: UPSERT

    result = success(
        call(
            asgi_server.endpoint(version),
            (
                "<ns1:paramsGetCustomObjects><objTypeName>RoadShow</objTypeName><customObjKeyList><attribute>"
                f"<attrName>MKTOID</attrName><attrValue>{lead_id}</attrValue></attribute></customObjKeyList>"
                "<includeAttributes/></ns1:paramsGetCustomObjects>"
            ),
        ),
        "getCustomObjects",
    ).find("result")
    assert [result.findtext(n) for n in ("objTypeName", "returnCount", "remainingCount", "newStreamPosition")] == [
        "Roadshow",
        "2",
        "0",
        "",
    ]
    first = result.find("customObjList/customObj")
    assert [
        (a.findtext("attrName"), a.findtext("attrValue")) for a in first.iterfind("customObjKeyList/attribute")
    ] == [("MKTOID", str(lead_id)), ("rid", "k1")]
    assert [
        (a.findtext("attrName"), a.findtext("attrValue")) for a in first.iterfind("customObjAttributeList/attribute")
    ] == [("city", "Oslo")]
    assert all(is_nil(a.find("attrType")) for a in first.iter("attribute"))

    result = success(
        call(
            asgi_server.endpoint(version),
            (
                "<ns1:paramsDeleteCustomObjects><objTypeName>RoadShow</objTypeName><customObjKeyLists><keyList>"
                f"<attribute><attrName>MKTOID</attrName><attrValue>{lead_id}</attrValue></attribute>"
                "<attribute><attrName>rid</attrName><attrValue>k1</attrValue></attribute></keyList></customObjKeyLists>"
                "</ns1:paramsDeleteCustomObjects>"
            ),
        ),
        "deleteCustomObjects",
    ).find("result")
    [status] = result.findall("deleteCustomObjStatusList/syncCustomObjStatus")
    assert (status.findtext("objTypeName"), status.findtext("status")) == ("Roadshow", "DELETED")


def test_empty_result_has_an_empty_list_wrapper(asgi_server, unique_email):
    lead_id = _raw_lead(asgi_server, "2_2", unique_email("empty"))
    result = success(
        call(
            asgi_server.endpoint("2_2"),
            (
                "<ns1:paramsGetCustomObjects><objTypeName>Roadshow</objTypeName><customObjKeyList><attribute>"
                f"<attrName>MKTOID</attrName><attrValue>{lead_id}</attrValue></attribute></customObjKeyList>"
                "<includeAttributes/></ns1:paramsGetCustomObjects>"
            ),
        ),
        "getCustomObjects",
    ).find("result")
    wrapper = result.find("customObjList")
    assert wrapper is not None and not is_nil(wrapper) and len(wrapper) == 0  # empty wrapper, never nil
    assert result.findtext("returnCount") == "0" and result.findtext("newStreamPosition") == ""


def test_missing_include_attributes_is_accepted_and_bad_xml_values_fault(asgi_server, unique_email):
    lead_id = _raw_lead(asgi_server, "2_2", unique_email("noinclude"))
    success(
        call(
            asgi_server.endpoint("2_2"),
            "<ns1:paramsGetCustomObjects><objTypeName>Roadshow</objTypeName></ns1:paramsGetCustomObjects>",
        ),
        "getCustomObjects",
    )
    assert_fault(_raw_sync(asgi_server, "2_2", lead_id, "k", operation="<operation>MERGE</operation>"), 20110)
