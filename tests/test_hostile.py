"""Hostile and clumsy clients: the corpus of tests/fixtures/hostile/ sent to the real servers, numbers
and dates no column can hold, carriage returns kept exactly, and requests mutated at random.

Every answer is a SOAP fault with a Marketo code that says what was wrong, or a schema-valid
success; never an internal error, never a traceback, and the database is left as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import create_engine, func, select
from support.clients import attr_list
from support.soap import (
    SOAP_ENV,
    assert_fault,
    auth_header_xml,
    call,
    check_fault_shape,
    envelope,
    post,
    success,
)

from mktows.errors import SHORT_MESSAGES
from mktows.store.tables import activities, leads, list_members, static_lists

CORPUS = Path(__file__).parent / "fixtures" / "hostile"
INDEX = {name: case for name, case in json.loads((CORPUS / "index.json").read_text()).items() if name != "_about"}
# Codes a request can earn by its content; 10001 and 20011 (the server's own failures) are never one.
INTERNAL = (10001, 20011)
# Tables the corpus must never change.
WATCHED = (leads, static_lists, list_members, activities)


def corpus_request(name: str) -> bytes:
    """The case's bytes: a fresh signature in place of {{AUTH}}, its expansions done."""
    data = (CORPUS / name).read_bytes().replace(b"{{AUTH}}", auth_header_xml().encode())
    for marker, (text, times) in INDEX[name].get("expand", {}).items():
        filled = "".join(text.replace("{n}", str(n)) for n in range(times)) if "{n}" in text else text * times
        data = data.replace(marker.encode(), filled.encode())
    return data


def table_counts(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in WATCHED}
    finally:
        engine.dispose()


def no_traceback(text: str) -> None:
    assert "Traceback" not in text and 'File "' not in text, text[:2000]


# --------------------------------------------------------------------------- the corpus, on real servers


@pytest.mark.parametrize("name", sorted(INDEX))
def test_hostile_request_gets_its_fault_and_changes_nothing(server, name):
    before = table_counts(server.db_url)
    log_start = len(server.output())
    resp = post(server.endpoint("2_9"), corpus_request(name), validate=True)
    no_traceback(resp.text)
    expected = INDEX[name]["expect"]
    if expected == "success":
        assert resp.status_code == 200, resp.text[:2000]
    else:
        fault = assert_fault(resp, expected)
        assert fault.message.strip(), "a fault says what was wrong"
    assert b"root:" not in resp.content and b"hahahaha" not in resp.content
    assert len(resp.content) < 100_000, "nothing of the request is echoed back in bulk"
    # still healthy and unchanged
    success(call(server.endpoint("2_9"), "<ns1:paramsListMObjects/>"), "listMObjects")
    assert table_counts(server.db_url) == before
    assert "Traceback" not in server.output()[log_start:]


# --------------------------------------------------------------------------- numbers and dates out of range

BIG = [str(2**31), str(2**63 + 5), str(-(2**63) - 5), "9" * 40]
DATES = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]


def _get_lead(value: str) -> str:
    return (
        f"<ns1:paramsGetLead><leadKey><keyType>IDNUM</keyType><keyValue>{value}</keyValue></leadKey>"
        "</ns1:paramsGetLead>"
    )


# (label, body with {n} for the number, expected fault code or "success")
ID_CASES = [
    ("getLead", _get_lead("{n}"), 20103),
    (
        "getLeadActivity",
        "<ns1:paramsGetLeadActivity><leadKey><keyType>IDNUM</keyType><keyValue>{n}</keyValue></leadKey>"
        "</ns1:paramsGetLeadActivity>",
        20103,
    ),
    (
        "getMultipleLeads by key",
        '<ns1:paramsGetMultipleLeads><leadSelector xsi:type="ns1:LeadKeySelector"><keyType>IDNUM</keyType>'
        "<keyValues><stringItem>{n}</stringItem></keyValues></leadSelector></ns1:paramsGetMultipleLeads>",
        "success",
    ),
    (
        "getMultipleLeads by list id",
        '<ns1:paramsGetMultipleLeads><leadSelector xsi:type="ns1:StaticListSelector"><staticListId>{n}'
        "</staticListId></leadSelector></ns1:paramsGetMultipleLeads>",
        20111,
    ),
    (
        "getLeadChanges by key",
        "<ns1:paramsGetLeadChanges><startPosition><oldestCreatedAt>2020-01-01T00:00:00Z</oldestCreatedAt>"
        '</startPosition><leadSelector xsi:type="ns1:LeadKeySelector"><keyType>IDNUM</keyType><keyValues>'
        "<stringItem>{n}</stringItem></keyValues></leadSelector></ns1:paramsGetLeadChanges>",
        "success",
    ),
    (
        "syncLead by Id",
        "<ns1:paramsSyncLead><leadRecord><Id>{n}</Id></leadRecord><returnLead>false</returnLead></ns1:paramsSyncLead>",
        20103,
    ),
    (
        "listOperation member",
        "<ns1:paramsListOperation><listOperation>ISMEMBEROFLIST</listOperation><listKey><keyType>MKTOLISTNAME"
        "</keyType><keyValue>Seed List</keyValue></listKey><listMemberList><leadKey><keyType>IDNUM</keyType>"
        "<keyValue>{n}</keyValue></leadKey></listMemberList></ns1:paramsListOperation>",
        "success",
    ),
    (
        "requestCampaign id",
        "<ns1:paramsRequestCampaign><source>MKTOWS</source><campaignId>{n}</campaignId><leadList><leadKey>"
        "<keyType>IDNUM</keyType><keyValue>1</keyValue></leadKey></leadList></ns1:paramsRequestCampaign>",
        20113,
    ),
    (
        "getMObjects Opportunity id",
        "<ns1:paramsGetMObjects><type>Opportunity</type><id>{n}</id></ns1:paramsGetMObjects>",
        "empty",
    ),
    (
        "getMObjects Program id",
        "<ns1:paramsGetMObjects><type>Program</type><id>{n}</id></ns1:paramsGetMObjects>",
        "empty",
    ),
    (
        "getMObjects by lead association",
        "<ns1:paramsGetMObjects><type>Opportunity</type><mObjAssociationList><mObjAssociation><mObjType>Lead"
        "</mObjType><id>{n}</id></mObjAssociation></mObjAssociationList></ns1:paramsGetMObjects>",
        "empty",
    ),
    (
        "getMObjects Id criterion",
        "<ns1:paramsGetMObjects><type>Opportunity</type><mObjCriteriaList><mObjCriteria><attrName>Id</attrName>"
        "<comparison>GT</comparison><attrValue>{n}</attrValue></mObjCriteria></mObjCriteriaList>"
        "</ns1:paramsGetMObjects>",
        20110,
    ),
    (
        "syncMObjects UPDATE id",
        "<ns1:paramsSyncMObjects><mObjectList><mObject><type>Opportunity</type><id>{n}</id><attribList><attrib>"
        "<name>Name</name><value>x</value></attrib></attribList></mObject></mObjectList><operation>UPDATE"
        "</operation></ns1:paramsSyncMObjects>",
        "success",
    ),
    (
        "deleteMObjects id",
        "<ns1:paramsDeleteMObjects><mObjectList><mObject><type>Opportunity</type><id>{n}</id></mObject>"
        "</mObjectList></ns1:paramsDeleteMObjects>",
        "success",
    ),
    (
        "mergeLeads",
        "<ns1:paramsMergeLeads><winningLeadKeyList><attribute><attrName>IDNUM</attrName><attrValue>{n}</attrValue>"
        "</attribute></winningLeadKeyList><losingLeadKeyLists><keyList><attribute><attrName>IDNUM</attrName>"
        "<attrValue>{n}1</attrValue></attribute></keyList></losingLeadKeyLists></ns1:paramsMergeLeads>",
        "success",  # mergeStatus FAILED, naming the lead not found
    ),
    (
        "syncMultipleLeads by Id",
        "<ns1:paramsSyncMultipleLeads><leadRecordList><leadRecord><Id>{n}</Id></leadRecord></leadRecordList>"
        "</ns1:paramsSyncMultipleLeads>",
        ("success", 20103),
    ),
    (
        "getCustomObjects lead link",
        "<ns1:paramsGetCustomObjects><objTypeName>Roadshow</objTypeName><customObjKeyList><attribute>"
        "<attrName>MKTOID</attrName><attrValue>{n}</attrValue></attribute></customObjKeyList>"
        "</ns1:paramsGetCustomObjects>",
        ("empty", 20110),
    ),
    (
        "syncCustomObjects lead link and number",
        "<ns1:paramsSyncCustomObjects><objTypeName>Roadshow</objTypeName><customObjList><customObj>"
        "<customObjKeyList><attribute><attrName>MKTOID</attrName><attrValue>{n}</attrValue></attribute>"
        "<attribute><attrName>rid</attrName><attrValue>hostile</attrValue></attribute></customObjKeyList>"
        "<customObjAttributeList><attribute><attrName>attendees</attrName><attrValue>{n}</attrValue></attribute>"
        "</customObjAttributeList></customObj></customObjList></ns1:paramsSyncCustomObjects>",
        ("success", 20110),
    ),
    (
        "syncMObjects Program cost id",
        "<ns1:paramsSyncMObjects><mObjectList><mObject><type>Program</type><externalKey><name>Name</name><value>"
        "Seed Program</value></externalKey><typeAttribList><typeAttrib><attrType>Cost</attrType><attrList><attrib>"
        "<name>Id</name><value>{n}</value></attrib><attrib><name>Month</name><value>2026-01</value></attrib>"
        "<attrib><name>Amount</name><value>1</value></attrib></attrList></typeAttrib></typeAttribList></mObject>"
        "</mObjectList><operation>UPDATE</operation></ns1:paramsSyncMObjects>",
        "success",
    ),
    (
        "getLeadActivity numeric offset",
        "<ns1:paramsGetLeadActivity><leadKey><keyType>EMAIL</keyType><keyValue>x@example.invalid</keyValue>"
        "</leadKey><startPosition><offset>{n}</offset></startPosition></ns1:paramsGetLeadActivity>",
        (20103, 20122),
    ),
    (
        "getLeadChanges numeric offset",
        "<ns1:paramsGetLeadChanges><startPosition><oldestCreatedAt>2020-01-01T00:00:00Z</oldestCreatedAt>"
        "<offset>{n}</offset></startPosition></ns1:paramsGetLeadChanges>",
        ("success", 20122),
    ),
    (
        "getLeadChanges offset",
        "<ns1:paramsGetLeadChanges><startPosition><oldestCreatedAt>2020-01-01T00:00:00Z</oldestCreatedAt>"
        "<offset>ID:{n}</offset></startPosition></ns1:paramsGetLeadChanges>",
        (20122, "success"),
    ),
]

DATE_CASES = [
    (
        "getMultipleLeads oldestUpdatedAt",
        '<ns1:paramsGetMultipleLeads><leadSelector xsi:type="ns1:LastUpdateAtSelector"><oldestUpdatedAt>{d}'
        "</oldestUpdatedAt></leadSelector></ns1:paramsGetMultipleLeads>",
        "oldestUpdatedAt",
    ),
    (
        "getMultipleLeads lastUpdatedAt",
        "<ns1:paramsGetMultipleLeads><lastUpdatedAt>{d}</lastUpdatedAt></ns1:paramsGetMultipleLeads>",
        "lastUpdatedAt",
    ),
    (
        "getLeadChanges oldestCreatedAt",
        "<ns1:paramsGetLeadChanges><startPosition><oldestCreatedAt>{d}</oldestCreatedAt></startPosition>"
        "</ns1:paramsGetLeadChanges>",
        "oldestCreatedAt",
    ),
    (
        "getLeadActivity latestCreatedAt",
        "<ns1:paramsGetLeadActivity><leadKey><keyType>EMAIL</keyType><keyValue>x@example.invalid</keyValue>"
        "</leadKey><startPosition><latestCreatedAt>{d}</latestCreatedAt></startPosition>"
        "</ns1:paramsGetLeadActivity>",
        "latestCreatedAt",
    ),
    (
        "scheduleCampaign campaignRunAt",
        "<ns1:paramsScheduleCampaign><programName>P</programName><campaignName>C</campaignName>"
        "<campaignRunAt>{d}</campaignRunAt></ns1:paramsScheduleCampaign>",
        "campaignRunAt",
    ),
    (
        "getMObjects Created At",
        "<ns1:paramsGetMObjects><type>Opportunity</type><mObjCriteriaList><mObjCriteria><attrName>Created At"
        "</attrName><comparison>GT</comparison><attrValue>{d}</attrValue></mObjCriteria></mObjCriteriaList>"
        "</ns1:paramsGetMObjects>",
        "Created At",
    ),
    (
        "getMObjects Program Updated At",
        "<ns1:paramsGetMObjects><type>Program</type><mObjCriteriaList><mObjCriteria><attrName>Updated At"
        "</attrName><comparison>LT</comparison><attrValue>{d}</attrValue></mObjCriteria></mObjCriteriaList>"
        "</ns1:paramsGetMObjects>",
        "Updated At",
    ),
]


def _expect(resp, expected) -> None:
    no_traceback(resp.text)
    wanted = expected if isinstance(expected, tuple) else (expected,)
    if resp.status_code == 200:
        assert {"success", "empty"} & set(wanted), f"expected {expected}, got a success: {resp.text[:1500]}"
        if "empty" in wanted:
            assert b"<returnCount>0</returnCount>" in resp.content, resp.text[:1500]
        return
    assert_fault(resp, *[c for c in wanted if isinstance(c, int)])


@pytest.mark.parametrize(("label", "body", "expected"), ID_CASES, ids=[c[0] for c in ID_CASES])
def test_an_id_no_row_can_have_is_not_found(server, label, body, expected):
    before = table_counts(server.db_url)
    for number in BIG:
        _expect(call(server.endpoint("2_9"), body.replace("{n}", number)), expected)
    assert table_counts(server.db_url) == before


@pytest.mark.parametrize(("label", "body", "element"), DATE_CASES, ids=[c[0] for c in DATE_CASES])
def test_a_date_outside_the_years_1_to_9999_is_a_bad_parameter_naming_it(server, label, body, element):
    for when in DATES:
        fault = assert_fault(call(server.endpoint("2_9"), body.replace("{d}", when)), 20110)
        assert element in fault.message and when in fault.message, fault.message


@pytest.mark.parametrize(("label", "body", "element"), DATE_CASES, ids=[c[0] for c in DATE_CASES])
def test_the_first_and_last_instants_are_in_range(server, label, body, element):
    for when in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00-14:00"):
        resp = call(server.endpoint("2_9"), body.replace("{d}", when))
        no_traceback(resp.text)
        if resp.status_code == 500:
            fault = check_fault_shape(resp)
            assert fault.code not in INTERNAL and when not in fault.message, fault.message


# --------------------------------------------------------------------------- carriage returns


def _sync_first_name(email: str, escaped_value: str) -> str:
    return (
        f"<ns1:paramsSyncLead><leadRecord><Email>{email}</Email><leadAttributeList><attribute>"
        f"<attrName>FirstName</attrName><attrValue>{escaped_value}</attrValue></attribute></leadAttributeList>"
        "</leadRecord><returnLead>false</returnLead></ns1:paramsSyncLead>"
    )


def _first_name(resp) -> str:
    record = success(resp, "getLead").find("result/leadRecordList/leadRecord")
    for attribute in record.iterfind("leadAttributeList/attribute"):
        if attribute.findtext("attrName") == "FirstName":
            return attribute.findtext("attrValue")
    raise AssertionError("no FirstName in the lead")


def test_carriage_return_comes_back_exactly_as_sent_in_raw_xml(asgi_server, unique_email):
    email = unique_email("cr")
    success(call(asgi_server.endpoint(), _sync_first_name(email, "a&#13;\nb&#13;c\td")), "syncLead")
    resp = call(asgi_server.endpoint(), _get_lead_by_email(email))
    assert b"a&#13;\nb&#13;c\td" in resp.content  # the reference, never a raw CR
    assert b"\r" not in resp.content
    assert _first_name(resp) == "a\r\nb\rc\td"


def _get_lead_by_email(email: str) -> str:
    return (
        f"<ns1:paramsGetLead><leadKey><keyType>EMAIL</keyType><keyValue>{email}</keyValue></leadKey>"
        "</ns1:paramsGetLead>"
    )


def test_carriage_return_round_trips_through_zeep(server, lead_api, unique_email):
    """A client that sends a CR (zeep writes it as a reference) reads back the same value."""
    api = lead_api("zeep", "2_2")
    email = unique_email("cr-zeep")
    api.sync_lead(email, {"FirstName": "line one\r\nline two\r"})
    [record] = api.lead_records(api.get_lead("EMAIL", email))
    values = dict(attr_list(record, "leadAttributeList"))
    assert values["FirstName"] == "line one\r\nline two\r"


# --------------------------------------------------------------------------- mutated requests (in process)

VALID = [
    ("getLead", _get_lead("1")),
    (
        "getMultipleLeads",
        '<ns1:paramsGetMultipleLeads><leadSelector xsi:type="ns1:LeadKeySelector"><keyType>EMAIL</keyType>'
        "<keyValues><stringItem>fuzz@example.invalid</stringItem></keyValues></leadSelector><batchSize>10"
        "</batchSize></ns1:paramsGetMultipleLeads>",
    ),
    ("syncLead", _sync_first_name("fuzz@example.invalid", "Fuzz")),
    (
        "getLeadChanges",
        "<ns1:paramsGetLeadChanges><startPosition><oldestCreatedAt>2020-01-01T00:00:00Z</oldestCreatedAt>"
        "</startPosition><activityFilter><includeTypes><activityType>NewLead</activityType></includeTypes>"
        "</activityFilter><batchSize>5</batchSize></ns1:paramsGetLeadChanges>",
    ),
    (
        "listOperation",
        "<ns1:paramsListOperation><listOperation>ISMEMBEROFLIST</listOperation><listKey><keyType>MKTOLISTNAME"
        "</keyType><keyValue>Seed List</keyValue></listKey><listMemberList><leadKey><keyType>IDNUM</keyType>"
        "<keyValue>1</keyValue></leadKey></listMemberList></ns1:paramsListOperation>",
    ),
    (
        "getLeadActivity",
        "<ns1:paramsGetLeadActivity><leadKey><keyType>EMAIL</keyType><keyValue>fuzz@example.invalid</keyValue>"
        "</leadKey><startPosition><oldestCreatedAt>2020-01-01T00:00:00Z</oldestCreatedAt></startPosition>"
        "<batchSize>5</batchSize></ns1:paramsGetLeadActivity>",
    ),
    (
        "getMObjects",
        "<ns1:paramsGetMObjects><type>Opportunity</type><mObjCriteriaList><mObjCriteria><attrName>Name"
        "</attrName><comparison>EQ</comparison><attrValue>x</attrValue></mObjCriteria></mObjCriteriaList>"
        "</ns1:paramsGetMObjects>",
    ),
]
NOISE = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from("<>&;\r\t\x00\x1f'\"]]>"),
    max_size=12,
)


def _elements(root: etree._Element) -> list[etree._Element]:
    return [e for e in root.iter() if isinstance(e.tag, str)]


@st.composite
def mutated(draw) -> bytes:
    """A valid request with a few random changes to its elements, text or bytes."""
    _, body = draw(st.sampled_from(VALID))
    root = etree.fromstring(envelope(body, header_xml=auth_header_xml()))
    operation = root.find(f"{{{SOAP_ENV}}}Body")[0]
    for _ in range(draw(st.integers(1, 3))):
        targets = _elements(operation)
        target = targets[draw(st.integers(0, len(targets) - 1))]
        kind = draw(st.sampled_from(["drop", "duplicate", "rename", "case", "text", "type", "nest"]))
        parent = target.getparent()
        if kind == "drop" and target is not operation:
            parent.remove(target)
        elif kind == "duplicate" and target is not operation:
            parent.append(etree.fromstring(etree.tostring(target)))
        elif kind == "rename":
            target.tag = draw(st.sampled_from(["x", "Id", "id", "leadKey", "keyValue", "stringItem", "attrib"]))
        elif kind == "case" and target is not operation:
            target.tag = target.tag.swapcase() if "}" not in target.tag else target.tag
        elif kind == "text":
            noise = "".join(c for c in draw(NOISE) if c in "\t\n\r" or c >= " ")
            odd = ["", noise, (target.text or "") + noise, "-1", "1e9", "true", "9" * 25, "9999-12-31T23:59:59-14:00"]
            target.text = draw(st.sampled_from(odd))
        elif kind == "type":
            target.set("{http://www.w3.org/2001/XMLSchema-instance}type", draw(st.sampled_from(["ns1:Nope", "xs:int"])))
        elif kind == "nest" and target is not operation:
            etree.SubElement(target, draw(st.sampled_from(["keyValue", "x", "leadRecord"]))).text = "1"
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    if draw(st.booleans()) and draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data) - 1))]  # truncated in flight
    return data


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=mutated())
def test_mutated_requests_get_a_valid_answer_or_a_known_fault(asgi_server, request):
    resp = post(asgi_server.endpoint("2_9"), request)  # the harness checks the schema or the fault shape
    no_traceback(resp.text)
    if resp.status_code == 500:
        fault = check_fault_shape(resp)
        assert fault.code not in INTERNAL, fault.message


def test_corpus_index_names_every_file_and_only_known_codes():
    files = {p.name for p in CORPUS.iterdir() if p.name != "index.json"}
    assert files == set(INDEX)
    for case in INDEX.values():
        assert case["expect"] == "success" or case["expect"] in SHORT_MESSAGES
