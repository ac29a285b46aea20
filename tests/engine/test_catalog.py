"""getChannels and getTags at the engine level (docs/objects.md, getChannels and getTags)."""

from __future__ import annotations

import pytest
import yaml

from mktows.engine import Engine
from mktows.engine.models import ChannelInfo, ProgressionStatus, TagTypeInfo
from mktows.instance import apply_instance, parse_instance

CATALOGUE = """\
channels:
  - {name: webinar, type: webinar, statuses: [
      Invited, {name: Registered, step: 20, webinar: Registered},
      {name: Attended, step: 40, success: true, webinar: Attended}]}
  - {name: Tradeshow, type: event, statuses: [
      {name: Visited Booth, step: 20, success: true, check_in: Attended}, {name: Registered, step: 10, check_in: None}]}
  - {name: Blog, statuses: [Subscribed, {name: Engaged, step: 20, success: true}]}
tag_types:
  - {name: Region, values: [North, South, EMEA]}
  - {name: Product Line, values: [Core, Cloud]}
  - {name: Audience, values: [Developers]}
"""


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    apply_instance(engine, parse_instance(yaml.safe_load(CATALOGUE), "catalogue.yaml"))
    return engine


def test_every_channel_by_name_with_statuses_by_status_name(loaded):
    assert loaded.get_channels() == [
        ChannelInfo(
            "Blog", "program", [ProgressionStatus("Engaged", 20, True), ProgressionStatus("Subscribed", 10, False)]
        ),
        ChannelInfo(
            "Tradeshow",
            "event",
            [
                ProgressionStatus("Registered", 10, False, check_in="None"),
                ProgressionStatus("Visited Booth", 20, True, check_in="Attended"),
            ],
        ),
        ChannelInfo(
            "webinar",
            "webinar",
            [
                ProgressionStatus("Attended", 40, True, webinar="Attended"),
                ProgressionStatus("Invited", 10, False),
                ProgressionStatus("Registered", 20, False, webinar="Registered"),
            ],
        ),
    ]


def test_named_channels_only_and_unknown_names_left_out(loaded):
    assert [c.name for c in loaded.get_channels(["WEBINAR", " blog ", "Podcast"])] == ["Blog", "webinar"]
    assert loaded.get_channels(["Podcast"]) == []
    assert [c.name for c in loaded.get_channels([])] == ["Blog", "Tradeshow", "webinar"]


def test_every_tag_type_with_values_in_stored_order(loaded):
    assert loaded.get_tags() == [
        TagTypeInfo("Audience", ["Developers"]),
        TagTypeInfo("Product Line", ["Core", "Cloud"]),
        TagTypeInfo("Region", ["North", "South", "EMEA"]),
    ]


def test_tag_filters_keep_listed_types_and_values(loaded):
    # a type alone: all its values; with values: only those, in stored order
    assert loaded.get_tags([("region", [])]) == [TagTypeInfo("Region", ["North", "South", "EMEA"])]
    assert loaded.get_tags([("Region", ["emea", "NORTH", "Mars"]), ("Product Line", [])]) == [
        TagTypeInfo("Product Line", ["Core", "Cloud"]),
        TagTypeInfo("Region", ["North", "EMEA"]),
    ]
    # listed twice: the union; once without values: everything
    assert loaded.get_tags([("Region", ["South"]), ("Region", ["North"])]) == [
        TagTypeInfo("Region", ["North", "South"])
    ]
    assert loaded.get_tags([("Region", ["South"]), ("Region", [])]) == [
        TagTypeInfo("Region", ["North", "South", "EMEA"])
    ]
    # unknown types, Channel, and types none of whose values exist are left out
    assert loaded.get_tags([("Channel", []), ("Colour", []), ("Audience", ["Managers"])]) == []
