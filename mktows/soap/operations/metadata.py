"""describeMObject and listMObjects."""

from __future__ import annotations

from typing import Any

from mktows import errors
from mktows.soap.operations.registry import Call, handles


@handles("describeMObject", inline=True)
def describe_mobject(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    name = (params.get("objectName") or "").strip()
    if not name:
        raise errors.ParameterRequired("objectName is required")
    meta = call.engine.describe(name)
    return {
        "metadata": {
            "name": meta.name,
            "description": meta.description,
            "isCustom": meta.custom,
            "isVirtual": meta.virtual,
            "fieldList": [
                {
                    "name": f.name,
                    "description": f.description,
                    "displayName": f.display_name,
                    "sourceObject": f.source_object,
                    "dataType": f.data_type,
                    "size": f.size,
                    "isReadonly": f.read_only,
                    "isUpdateBlocked": f.update_blocked,
                    "isName": f.is_name,
                    "isPrimaryKey": f.primary_key,
                    "isCustom": f.custom,
                    "isDynamic": f.dynamic,
                    "dynamicFieldRef": f.dynamic_field_ref,
                    "updatedAt": f.updated_at or meta.updated_at,
                }
                for f in meta.fields
            ],
            "updatedAt": meta.updated_at,
        }
    }


@handles("listMObjects", inline=True)
def list_mobjects(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    return {"objects": call.engine.object_names()}
