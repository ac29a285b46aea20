"""getChannels and getTags through zeep and suds built from the served WSDL
(2_2 and 3_1), every response validated against the schema, plus the raw wire shape (against
the app in process, `asgi_server`).

The channels and tag types come from the shared instance file (tests/support/server.py); no
API call creates or changes them, so they can be asserted exactly by name.
"""

from __future__ import annotations

import pytest
from support.clients import LeadApi, items
from support.soap import TNS, assert_fault, call, success

KINDS_VERSIONS = [("zeep", "2_2"), ("zeep", "3_1"), ("suds", "2_2"), ("suds", "3_1")]

WEBINAR = [
    [("Status", "Attended"), ("Step", "40"), ("Webinar Behavior", "Attended"), ("Success", "true")],
    [("Status", "Invited"), ("Step", "10"), ("Success", "false")],
    [("Status", "No Show"), ("Step", "30"), ("Webinar Behavior", "No Show"), ("Success", "false")],
    [("Status", "Registered"), ("Step", "20"), ("Webinar Behavior", "Registered"), ("Success", "false")],
]
TRADESHOW = [
    [("Status", "Registered"), ("Step", "10"), ("Check-in Status", "None"), ("Success", "false")],
    [("Status", "Visited Booth"), ("Step", "20"), ("Check-in Status", "Attended"), ("Success", "true")],
]
BLOG = [
    [("Status", "Engaged"), ("Step", "20"), ("Success", "true")],
    [("Status", "Subscribed"), ("Step", "10"), ("Success", "false")],
]


@pytest.fixture(params=KINDS_VERSIONS, ids=[f"{k}-{v}" for k, v in KINDS_VERSIONS])
def api(request, lead_api) -> LeadApi:
    return lead_api(*request.param)


def _channels(result: dict) -> dict[str, list[list[tuple[str, str]]]]:
    """channel name -> statuses, each the (name, value) attribs in wire order."""
    out = {}
    for tag_status in items(result, "tags", "tagStatus"):
        statuses = items(tag_status, "statusList", "progressionStatusItem")
        out[tag_status["tagValue"]] = [
            [(a["name"], a["value"]) for a in items(s, "progressionStatus", "attrib")] for s in statuses
        ]
    return out


def _tags(result: dict) -> list[tuple[str, list[str]]]:
    return [(t["type"], items(t, "values", "stringItem")) for t in items(result, "tagList", "tag")]


def test_get_channels_all_sorted_with_statuses_by_name(api):
    channels = _channels(api.call("getChannels"))
    names = list(channels)
    assert names == sorted(names, key=str.lower)
    assert {"Webinar", "Tradeshow", "Blog"} <= set(names)
    assert channels["Webinar"] == WEBINAR
    assert channels["Tradeshow"] == TRADESHOW
    assert channels["Blog"] == BLOG


def test_get_channels_by_name_leaves_unknown_names_out(api):
    result = api.call("getChannels", tag={"values": {"stringItem": ["webinar", "Blog", "Podcast"]}})
    assert _channels(result) == {"Blog": BLOG, "Webinar": WEBINAR}
    assert _channels(api.call("getChannels", tag={"values": {"stringItem": ["Podcast"]}})) == {}


def test_get_tags_all_and_filtered(api):
    every = dict(_tags(api.call("getTags")))
    assert every["Region"] == ["North", "South", "EMEA"]
    assert every["Product Line"] == ["Core", "Cloud"]
    assert "Channel" not in every
    # a type alone keeps all its values; values keep only those, in stored order
    result = api.call(
        "getTags",
        tagList={
            "tag": [
                {"type": "region", "values": {"stringItem": ["emea", "North", "Mars"]}},
                {"type": "Product Line"},
                {"type": "Colour"},
            ]
        },
    )
    assert _tags(result) == [("Product Line", ["Core", "Cloud"]), ("Region", ["North", "EMEA"])]
    assert _tags(api.call("getTags", tagList={"tag": [{"type": "Channel"}]})) == []


def test_raw_wire_shape_and_a_tag_without_type(asgi_server):
    endpoint = asgi_server.endpoint("2_2")
    resp = call(
        endpoint,
        "<ns1:paramsGetChannels><tag><values><stringItem>Tradeshow</stringItem></values></tag></ns1:paramsGetChannels>",
    )
    body = success(resp, "getChannels")  # validated against the served schema by `call`
    [tag_status] = body.findall("result/tags/tagStatus")
    assert tag_status.findtext("tagValue") == "Tradeshow"
    first = tag_status.find("statusList/progressionStatusItem/progressionStatus")
    assert [(a.findtext("name"), a.findtext("value")) for a in first.findall("attrib")] == TRADESHOW[0]
    assert all(el.tag == el.tag.split("}")[-1] for el in body.iter() if el is not body), "children are unqualified"
    assert body.tag == f"{{{TNS}}}successGetChannels"

    resp = call(
        endpoint,
        "<ns1:paramsGetTags><tagList><tag><type>Region</type><values><stringItem>South"
        "</stringItem></values></tag></tagList></ns1:paramsGetTags>",
    )
    tags = success(resp, "getTags").findall("result/tagList/tag")
    assert [(t.findtext("type"), [v.text for v in t.findall("values/stringItem")]) for t in tags] == [
        ("Region", ["South"])
    ]

    fault = assert_fault(
        call(
            endpoint,
            "<ns1:paramsGetTags><tagList><tag><values><stringItem>North</stringItem>"
            "</values></tag></tagList></ns1:paramsGetTags>",
        ),
        20110,
    )
    assert "type" in fault.message
