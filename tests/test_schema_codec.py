"""The schema codec on its own: lenient decoding, strict encoding, version shapes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import etree

from mktows import errors
from mktows.soap import schema
from mktows.soap.envelope import parse_envelope

ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def params(body: str, version: str = "2_2") -> dict:
    request = parse_envelope(
        f'<s:Envelope xmlns:s="{ENV}" xmlns:m="{schema.TNS}" '
        f'xmlns:xsi="{schema.XSI}"><s:Body>{body}</s:Body></s:Envelope>'.encode()
    )
    operation = schema.OPERATIONS_BY_ELEMENT[schema.local_name(request.body)]
    return schema.decoder(version).params(operation, request.body)


def test_qualified_children_and_any_prefix_are_read() -> None:
    decoded = params(
        '<x:paramsGetLead xmlns:x="http://www.marketo.com/mktows/"><x:leadKey>'
        "<x:keyType>EMAIL</x:keyType><keyValue>a@b.c</keyValue></x:leadKey></x:paramsGetLead>"
    )
    assert decoded == {"leadKey": {"keyType": "EMAIL", "keyValue": "a@b.c"}}


@pytest.mark.parametrize(
    "xsi_type",
    [
        'xsi:type="m:LeadKeySelector"',
        'xsi:type="LeadKeySelector"',
        'xsi:type="q:LeadKeySelector" xmlns:q="http://www.marketo.com/mktows/"',
        "",
    ],
)
def test_lead_selector_subtype_from_xsi_type_or_children(xsi_type: str) -> None:
    decoded = params(
        f"<m:paramsGetMultipleLeads><leadSelector {xsi_type}><keyType>IDNUM</keyType>"
        "<keyValues><stringItem>1</stringItem><stringItem>2</stringItem></keyValues>"
        "</leadSelector></m:paramsGetMultipleLeads>"
    )
    assert decoded["leadSelector"] == {"__type__": "LeadKeySelector", "keyType": "IDNUM", "keyValues": ["1", "2"]}


def test_empty_and_nil_optional_elements_mean_not_given() -> None:
    decoded = params(
        "<m:paramsGetLeadActivity><leadKey><keyType>IDNUM</keyType><keyValue>5</keyValue></leadKey>"
        "<startPosition><latestCreatedAt/><offset/></startPosition>"
        '<batchSize xsi:nil="true"/></m:paramsGetLeadActivity>'
    )
    assert decoded["startPosition"]["latestCreatedAt"] is None
    assert decoded["startPosition"]["offset"] is None
    assert decoded["batchSize"] is None


def test_capitalised_lead_record_children_match_case_insensitively() -> None:
    decoded = params(
        "<m:paramsSyncLead><leadRecord><email>x@y.z</email><id>7</id></leadRecord>"
        "<returnLead>True</returnLead></m:paramsSyncLead>"
    )
    assert decoded["leadRecord"]["Email"] == "x@y.z"
    assert decoded["leadRecord"]["Id"] == 7
    assert decoded["returnLead"] is True


def test_bad_values_give_the_right_faults() -> None:
    with pytest.raises(errors.InvalidRequest, match="batchSize"):
        params("<m:paramsGetMultipleLeads><batchSize>many</batchSize></m:paramsGetMultipleLeads>")
    with pytest.raises(errors.LeadKeyBad):
        params("<m:paramsGetLead><leadKey><keyType>NAME</keyType><keyValue>x</keyValue></leadKey></m:paramsGetLead>")
    with pytest.raises(errors.LeadKeyRequired):
        params("<m:paramsGetLead/>")
    with pytest.raises(errors.InvalidRequest, match="oldestUpdatedAt"):
        params('<m:paramsGetMultipleLeads><leadSelector xsi:type="m:LastUpdateAtSelector"/></m:paramsGetMultipleLeads>')


def test_clearlist_is_accepted_on_2_2_only() -> None:
    body = (
        "<m:paramsListOperation><listOperation>CLEARLIST</listOperation><listKey><keyType>MKTOLISTNAME"
        "</keyType><keyValue>L</keyValue></listKey><listMemberList/></m:paramsListOperation>"
    )
    assert params(body, "2_2")["listOperation"] == "CLEARLIST"
    with pytest.raises(errors.BadParameter):
        params(body, "2_3")


def test_timestamps_in_every_client_shape() -> None:
    expected = datetime(2015, 7, 6, 4, 43, 43, tzinfo=UTC)
    for text in (
        "2015-07-06 13:43:43 +0900",
        "2015-07-06T13:43:43+09:00",
        "2015-07-06T04:43:43Z",
        "2015-07-06T04:43:43",
        "2015-07-06T04:43:43.000+0000",
    ):
        assert schema.parse_datetime(text) == expected


def _render(version: str, operation: str, result: dict) -> etree._Element:
    xml = schema.encoder(version).response(schema.OPERATIONS[operation], result)
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return etree.fromstring(xml)[0][0]


ACTIVITY = {
    "id": 9,
    "activityDateTime": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    "activityType": "New Lead",
    "mktgAssetName": "",
    "activityAttributes": [],
    "campaign": "",
    "personName": None,
    "mktPersonId": "1",
    "foreignSysId": None,
    "orgName": None,
    "foreignSysOrgId": None,
}
PAGE = {
    "returnCount": 1,
    "remainingCount": 0,
    "newStartPosition": {"latestCreatedAt": None, "oldestCreatedAt": None, "activityCreatedAt": None, "offset": "ID:9"},
}


def test_activity_records_follow_the_version() -> None:
    old = _render("2_2", "getLeadActivity", {**PAGE, "activityRecordList": [ACTIVITY]})
    record = old.find("leadActivityList/activityRecordList/activityRecord")
    assert [c.tag for c in record][:3] == ["id", "activityDateTime", "activityType"]
    assert record.findtext("campaign") == "" and record.find("campaign").get(f"{{{schema.XSI}}}nil") is None
    assert record.find("personName").get(f"{{{schema.XSI}}}nil") == "true"
    new = _render("3_1", "getLeadActivity", {**PAGE, "activityRecordList": [{**ACTIVITY, "marketoGUID": "9"}]})
    record = new.find("leadActivityList/activityRecordList/activityRecord")
    assert [c.tag for c in record][:3] == ["id", "marketoGUID", "activityDateTime"]


def test_empty_lists_are_empty_wrappers_and_children_unqualified() -> None:
    body = _render("2_2", "getLead", {"count": 0, "leadRecordList": []})
    assert body.tag == f"{{{schema.TNS}}}successGetLead"
    wrapper = body.find("result/leadRecordList")
    assert wrapper is not None and len(wrapper) == 0
    assert body.find("result").tag == "result"


def test_encoder_refuses_unknown_elements() -> None:
    with pytest.raises(errors.ServiceLayerError):
        _render("2_2", "getLead", {"count": 0, "leadRecordList": [], "extra": 1})


def _attributes(inner: str) -> list[dict]:
    decoded = params(
        "<m:paramsSyncLead><leadRecord><Email>a@b.c</Email><leadAttributeList>"
        f"{inner}</leadAttributeList></leadRecord></m:paramsSyncLead>"
    )
    return decoded["leadRecord"]["leadAttributeList"]


def test_lead_attributes_read_alike_in_every_spelling() -> None:
    plain = _attributes(
        "<attribute><attrName>City</attrName><attrType>string</attrType><attrValue> Lyon </attrValue></attribute>"
    )
    assert plain == [{"attrName": "City", "attrType": "string", "attrValue": " Lyon "}]
    # other letter cases, any order, a nil type, a repeated child (the first one counts)
    assert _attributes(
        '<attribute><attrvalue> Lyon </attrvalue><ATTRNAME>City</ATTRNAME><attrType xsi:nil="true"/></attribute>'
    ) == [{"attrName": "City", "attrType": None, "attrValue": " Lyon "}]
    assert (
        _attributes(
            "<attribute><attrName>City</attrName><attrName>Town</attrName><attrValue>Lyon</attrValue></attribute>"
        )[0]["attrName"]
        == "City"
    )
    # an empty value is an empty string (the value is required), a missing name is a fault
    assert _attributes("<attribute><attrName>City</attrName><attrValue/></attribute>")[0]["attrValue"] == ""
    with pytest.raises(errors.InvalidRequest, match="attrName"):
        _attributes("<attribute><attrValue>Lyon</attrValue></attribute>")


def test_attributes_written_from_tuples_as_from_dicts() -> None:
    values = [("City", "string", "Lyon & <Rhône>"), ("Notes", "text", "a\x01b"), ("Zip", "string", "")]
    as_dicts = [{"attrName": n, "attrType": t, "attrValue": v} for n, t, v in values]

    def render(attributes: list) -> bytes:
        record = {"Id": 1, "Email": "a@b.c", "leadAttributeList": attributes}
        return schema.encoder("2_2").response(schema.OPERATIONS["getLead"], {"count": 1, "leadRecordList": [record]})

    written = render(values)
    assert written == render(as_dicts)
    assert b"<attrValue>Lyon &amp; &lt;Rh\xc3\xb4ne&gt;</attrValue>" in written
    assert b"<attrValue>ab</attrValue>" in written and b"<attrValue/>" in written
    with pytest.raises(errors.ServiceLayerError):
        render([("City", "string")])
