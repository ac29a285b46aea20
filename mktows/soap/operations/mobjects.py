"""getMObjects, syncMObjects, deleteMObjects: wire shapes <-> engine values."""

from __future__ import annotations

from typing import Any

from mktows import errors
from mktows.engine.models import Criterion, MObject, MObjectQuery, MObjectStatus, ObjectRef, Pair
from mktows.engine.timestamps import fits_int
from mktows.soap.operations.registry import Call, handles
from mktows.soap.schema import version_at_least

ASSOCIATION_TYPES = {"lead": "Lead", "company": "Company", "opportunity": "Opportunity"}


def _pair(attrib: dict[str, Any] | None) -> Pair | None:
    if not attrib or attrib.get("name") is None:
        return None
    return (str(attrib["name"]).strip(), "" if attrib.get("value") is None else str(attrib["value"]))


def _pairs(attribs: list[dict[str, Any]] | None) -> list[Pair]:
    return [p for p in (_pair(a) for a in attribs or ()) if p is not None]


def _reference(item: dict[str, Any]) -> ObjectRef:
    raw = (item.get("mObjType") or "").strip()
    return ObjectRef(ASSOCIATION_TYPES.get(raw.lower(), raw), item.get("id"), _pair(item.get("externalKey")))


def _mobject_in(item: dict[str, Any]) -> MObject:
    return MObject(
        type=(item.get("type") or "").strip(),
        id=item.get("id"),
        external_key=_pair(item.get("externalKey")),
        attributes=_pairs(item.get("attribList")),
        type_attributes=[
            ((t.get("attrType") or "").strip(), _pairs(t.get("attrList"))) for t in item.get("typeAttribList") or ()
        ],
        associations=[_reference(a) for a in item.get("associationList") or ()],
    )


def _attribs(pairs: list[Pair]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in pairs]


def _mobject_out(obj: MObject) -> dict[str, Any]:
    return {
        "type": obj.type,
        "id": obj.id,
        "externalKey": {"name": obj.external_key[0], "value": obj.external_key[1]} if obj.external_key else None,
        "createdAt": obj.created_at,
        "updatedAt": obj.updated_at,
        "attribList": _attribs(obj.attributes) if obj.attributes else None,
        "typeAttribList": [{"attrType": kind, "attrList": _attribs(pairs)} for kind, pairs in obj.type_attributes]
        or None,
        "associationList": [
            {
                "mObjType": ref.type,
                "id": ref.id,
                "externalKey": {"name": ref.external_key[0], "value": ref.external_key[1]}
                if ref.external_key
                else None,
            }
            for ref in obj.associations
        ]
        or None,
    }


def _status_out(call: Call, status: MObjectStatus) -> dict[str, Any]:
    """`id` is required and not nillable up to 2_3: 0 stands for "no object" there. An id
    echoed from the request that no xs:int can carry names no object either."""
    object_id = status.id if status.id is None or fits_int(status.id) else None
    if object_id is None and not version_at_least(call.version, "2_7"):
        object_id = 0
    key = status.external_key
    return {
        "id": object_id,
        "externalKey": {"name": key[0], "value": key[1]} if key else None,
        "status": status.status,
        "error": status.error if status.status == "FAILED" else None,
    }


@handles("getMObjects")
def get_mobjects(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    criteria = [
        Criterion(
            (c.get("attrName") or "").strip(),
            (c.get("comparison") or "").strip(),
            "" if c.get("attrValue") is None else str(c["attrValue"]),
        )
        for c in params.get("mObjCriteriaList") or ()
    ]
    for criterion in criteria:
        if not criterion.name:
            raise errors.BadParameter("Every mObjCriteria needs an attrName")
    query = MObjectQuery(
        type=(params.get("type") or "").strip(),
        id=params.get("id"),
        external_key=_pair(params.get("externalKey")),
        criteria=criteria,
        associations=[_reference(a) for a in params.get("mObjAssociationList") or ()],
        include_details=bool(params.get("includeDetails")),
        position=(params.get("streamPosition") or "").strip() or None,
    )
    page = call.engine.get_mobjects(query)
    return {
        "returnCount": len(page.objects),
        "hasMore": page.has_more,
        "newStreamPosition": page.position,
        "mObjectList": [_mobject_out(o) for o in page.objects],
    }


@handles("syncMObjects")
def sync_mobjects(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    objects = [_mobject_in(item) for item in params.get("mObjectList") or ()]
    statuses = call.engine.sync_mobjects(objects, params.get("operation") or "")
    return {"mObjStatusList": [_status_out(call, s) for s in statuses]}


@handles("deleteMObjects")
def delete_mobjects(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    objects = [_mobject_in(item) for item in params.get("mObjectList") or ()]
    statuses = call.engine.delete_mobjects(objects)
    return {"mObjStatusList": [_status_out(call, s) for s in statuses]}
