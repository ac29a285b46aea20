"""getChannels and getTags."""

from __future__ import annotations

from typing import Any

from mktows import errors
from mktows.engine.models import ProgressionStatus
from mktows.soap.operations.registry import Call, handles


def _strings(values: list[Any] | None) -> list[str]:
    return [str(v).strip() for v in values or () if v is not None and str(v).strip()]


def _status_attribs(status: ProgressionStatus) -> list[dict[str, str]]:
    """Status, Step, [Check-in Status], [Webinar Behavior], Success - the sample's order."""
    pairs = [("Status", status.name), ("Step", str(status.step))]
    if status.check_in is not None:
        pairs.append(("Check-in Status", status.check_in))
    if status.webinar is not None:
        pairs.append(("Webinar Behavior", status.webinar))
    pairs.append(("Success", "true" if status.success else "false"))
    return [{"name": name, "value": value} for name, value in pairs]


@handles("getChannels")
def get_channels(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Only `tag/values` is read: the channel names; none means every channel."""
    names = _strings((params.get("tag") or {}).get("values"))
    channels = call.engine.get_channels(names or None)
    return {
        "tags": [
            {
                "tagValue": channel.name,
                "statusList": [{"progressionStatus": _status_attribs(s)} for s in channel.statuses],
            }
            for channel in channels
        ]
    }


@handles("getTags")
def get_tags(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    wanted: list[tuple[str, list[str]]] = []
    for tag in params.get("tagList") or ():
        type_name = str(tag.get("type") or "").strip()
        if not type_name:
            raise errors.BadParameter("Every tag in tagList needs a type")
        wanted.append((type_name, _strings(tag.get("values"))))
    tag_types = call.engine.get_tags(wanted or None)
    return {"tagList": [{"type": t.name, "values": t.values} for t in tag_types]}
