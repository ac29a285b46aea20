"""getCustomObjects, syncCustomObjects, deleteCustomObjects: wire shapes <-> engine values."""

from __future__ import annotations

from typing import Any

from mktows.engine.models import CustomObjectStatus, CustomRecord, Pair
from mktows.soap.operations.registry import Call, handles


def _pairs(attributes: list[dict[str, Any]] | None) -> list[Pair]:
    """(attrName, attrValue) of an ArrayOfAttribute; attrType is ignored on input."""
    return [
        ((a.get("attrName") or "").strip(), "" if a.get("attrValue") is None else str(a["attrValue"]))
        for a in attributes or ()
    ]


def _attributes(pairs: list[Pair]) -> list[dict[str, Any]]:
    """An ArrayOfAttribute with `attrType` nil, as the vendor's responses have it."""
    return [{"attrName": name, "attrType": None, "attrValue": value} for name, value in pairs]


def _record_in(item: dict[str, Any]) -> CustomRecord:
    return CustomRecord(_pairs(item.get("customObjKeyList")), _pairs(item.get("customObjAttributeList")))


def _status_out(status: CustomObjectStatus) -> dict[str, Any]:
    return {
        "objTypeName": status.type_name,
        "customObjKeyList": _attributes(status.keys),
        "status": status.status,
        "error": status.error,
    }


@handles("getCustomObjects")
def get_custom_objects(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    page = call.engine.get_custom_objects(
        params.get("objTypeName") or "",
        keys=_pairs(params.get("customObjKeyList")),
        include=[name.strip() for name in params.get("includeAttributes") or () if name and name.strip()],
        batch_size=params.get("batchSize"),
        position=(params.get("streamPosition") or "").strip() or None,
    )
    return {
        "objTypeName": page.type_name,
        "returnCount": len(page.records),
        "remainingCount": page.remaining,
        "newStreamPosition": page.position,
        "customObjList": [
            {"customObjKeyList": _attributes(r.keys), "customObjAttributeList": _attributes(r.attributes)}
            for r in page.records
        ],
    }


@handles("syncCustomObjects")
def sync_custom_objects(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    statuses = call.engine.sync_custom_objects(
        params.get("objTypeName") or "",
        [_record_in(item) for item in params.get("customObjList") or ()],
        params.get("operation"),
    )
    return {"syncCustomObjStatusList": [_status_out(s) for s in statuses]}


@handles("deleteCustomObjects")
def delete_custom_objects(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    statuses = call.engine.delete_custom_objects(
        params.get("objTypeName") or "",
        [_pairs(key_list) for key_list in params.get("customObjKeyLists") or ()],
    )
    return {"deleteCustomObjStatusList": [_status_out(s) for s in statuses]}
