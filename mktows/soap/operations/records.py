"""Shapes shared by several operations: lead keys, lead records, selectors, positions."""

from __future__ import annotations

from typing import Any

from mktows import errors
from mktows.engine.models import (
    Activity,
    KeySelector,
    Lead,
    LeadInput,
    LeadKey,
    LeadSelector,
    ListSelector,
    StreamPosition,
    UpdatedAtSelector,
)
from mktows.soap.schema import version_at_least


def lead_key(value: dict[str, Any] | None) -> LeadKey:
    if not value or value.get("keyType") is None:
        raise errors.LeadKeyRequired("A lead key (keyType and keyValue) is required")
    key_value = (value.get("keyValue") or "").strip()
    if not key_value:
        raise errors.LeadKeyRequired(f"A value for lead key {value['keyType']} is required")
    return LeadKey(value["keyType"], key_value)


def lead_record(lead: Lead) -> dict[str, Any]:
    return {
        "Id": lead.id,
        "Email": lead.email or None,
        "ForeignSysPersonId": lead.foreign_sys_person_id or None,
        "ForeignSysType": lead.foreign_sys_type or None,
        # each attribute is already (attrName, attrType, attrValue), the order the schema writes
        "leadAttributeList": lead.attributes,
    }


def lead_input(record: dict[str, Any]) -> LeadInput:
    attributes = [(a["attrName"], a["attrValue"]) for a in record.get("leadAttributeList") or ()]
    email = record.get("Email")
    return LeadInput(
        id=record.get("Id"),
        email=email.strip() if email else None,
        foreign_sys_person_id=(record.get("ForeignSysPersonId") or "").strip() or None,
        foreign_sys_type=record.get("ForeignSysType"),
        attributes=attributes,
    )


def selector(value: dict[str, Any]) -> LeadSelector:
    kind = value["__type__"]
    if kind == "LeadKeySelector":
        return KeySelector(value["keyType"], [v.strip() for v in value["keyValues"] if v and v.strip()])
    if kind == "StaticListSelector":
        name = (value.get("staticListName") or "").strip() or None
        if name is None and value.get("staticListId") is None:
            raise errors.ParameterRequired("StaticListSelector needs staticListName or staticListId")
        return ListSelector(name, value.get("staticListId"))
    return UpdatedAtSelector(value["oldestUpdatedAt"], value.get("latestUpdatedAt"))


def stream_position(value: dict[str, Any] | None) -> StreamPosition | None:
    if not value or not any(
        value.get(k) for k in ("latestCreatedAt", "oldestCreatedAt", "activityCreatedAt", "offset")
    ):
        return None
    return StreamPosition(
        value.get("latestCreatedAt"), value.get("oldestCreatedAt"), value.get("activityCreatedAt"), value.get("offset")
    )


def position_out(position: StreamPosition) -> dict[str, Any]:
    return {
        "latestCreatedAt": position.latest_created_at,
        "oldestCreatedAt": position.oldest_created_at,
        "activityCreatedAt": position.activity_created_at,
        "offset": position.offset,
    }


def activity_filter(value: dict[str, Any] | None) -> tuple[list[str] | None, list[str] | None]:
    if not value:
        return None, None
    include, exclude = value.get("includeTypes") or None, value.get("excludeTypes") or None
    if include and exclude:
        raise errors.BadParameter("activityFilter may hold includeTypes or excludeTypes, not both")
    return include, exclude


def activity_record(activity: Activity, version: str, *, full: bool) -> dict[str, Any]:
    """An ActivityRecord (full=True) or a LeadChangeRecord for the endpoint's version."""
    record: dict[str, Any] = {"id": activity.id}
    if version_at_least(version, "3_1"):
        record["marketoGUID"] = str(activity.id)
    record.update(
        {
            "activityDateTime": activity.created_at,
            "activityType": activity.type_name,
            # empty element on ActivityRecord (not nillable, as in the samples); nil on LeadChangeRecord
            "mktgAssetName": activity.asset_name or ("" if full else None),
            "activityAttributes": [{"attrName": n, "attrType": None, "attrValue": v} for n, v in activity.attributes],
        }
    )
    if full:
        record.update(
            {
                "campaign": activity.campaign or "",
                "personName": activity.person_name,
                "mktPersonId": str(activity.lead_id),
                "foreignSysId": activity.foreign_sys_id,
                "orgName": activity.org_name,
                "foreignSysOrgId": None,
            }
        )
    else:
        record["campaign"] = activity.campaign or None
        record["mktPersonId"] = str(activity.lead_id)
    return record
