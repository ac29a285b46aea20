"""listOperation."""

from __future__ import annotations

from typing import Any

from mktows import errors
from mktows.engine.models import LeadKey
from mktows.soap.operations.registry import Call, handles

MAX_LIST_MEMBERS = 1000


@handles("listOperation")
def list_operation(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    list_key = params["listKey"]
    list_name = (list_key.get("keyValue") or "").strip()
    if not list_name:
        raise errors.ParameterRequired("listKey needs a keyValue naming the list")
    # kept exactly as sent: each leadStatus echoes its leadKey (the engine trims for matching)
    members = [LeadKey(m["keyType"], m.get("keyValue") or "") for m in params["listMemberList"]]
    if len(members) > MAX_LIST_MEMBERS:
        raise errors.BadParameter(f"listMemberList holds {len(members)} leads; the limit is {MAX_LIST_MEMBERS}")
    outcome = call.engine.list_operation(
        params["listOperation"],
        list_key["keyType"],
        list_name,
        members,
        strict=bool(params.get("strict")),
        skip_activity_log=bool(params.get("skipActivityLog")),
    )
    return {
        "success": outcome.success,
        "statusList": [
            {"leadKey": {"keyType": s.key.key_type, "keyValue": s.key.key_value}, "status": s.status}
            for s in outcome.statuses
        ],
    }
