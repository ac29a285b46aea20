"""getLeadActivity and getLeadChanges."""

from __future__ import annotations

from typing import Any

from mktows import errors
from mktows.engine.models import StreamPosition
from mktows.soap.operations.records import (
    activity_filter,
    activity_record,
    lead_key,
    position_out,
    selector,
    stream_position,
)
from mktows.soap.operations.registry import Call, handles
from mktows.soap.schema import version_at_least


@handles("getLeadActivity")
def get_lead_activity(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    include, exclude = activity_filter(params.get("activityFilter"))
    page = call.engine.lead_activity(
        lead_key(params["leadKey"]),
        include_types=include,
        exclude_types=exclude,
        position=stream_position(params.get("startPosition")),
        batch_size=params.get("batchSize"),
    )
    return {
        "returnCount": len(page.activities),
        "remainingCount": page.remaining,
        "newStartPosition": position_out(page.position),
        "activityRecordList": [activity_record(a, call.version, full=True) for a in page.activities],
    }


@handles("getLeadChanges")
def get_lead_changes(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    include, exclude = activity_filter(params.get("activityFilter"))
    position = stream_position(params.get("startPosition")) or StreamPosition()
    chosen = selector(params["leadSelector"]) if params.get("leadSelector") else None
    if chosen is None and not (position.oldest_created_at or position.activity_created_at or position.offset):
        raise errors.ParameterRequired("startPosition needs oldestCreatedAt (or a previous newStartPosition)")
    # activityNameFilter exists from 2_3; an older endpoint ignores it, as any unknown element
    name_filter = params.get("activityNameFilter") if version_at_least(call.version, "2_3") else None
    names = [n.strip() for n in name_filter or () if n and n.strip()]
    page = call.engine.lead_changes(
        position,
        include_types=include,
        exclude_types=exclude,
        names=names or None,
        batch_size=params.get("batchSize"),
        selector=chosen,
    )
    return {
        "returnCount": len(page.activities),
        "remainingCount": page.remaining,
        "newStartPosition": position_out(page.position),
        "leadChangeRecordList": [activity_record(a, call.version, full=False) for a in page.activities],
    }
