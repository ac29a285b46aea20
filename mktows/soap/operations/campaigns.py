"""Program-bound operations (SPEC 7.9-7.13) on a server that has no programs yet.

Programs, campaigns and imports arrive with the campaign engine; until then every program
or campaign name is unknown, which is exactly what these calls report.
"""

from __future__ import annotations

from typing import Any

from mktows import errors
from mktows.soap.operations.registry import Call, handles


def _no_program(name: str | None) -> errors.MarketoError:
    if not name:
        return errors.ParameterRequired("programName is required")
    return errors.CampaignNotFound(f"Program {name} not found")


@handles("importToList")
def import_to_list(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    raise _no_program(params.get("programName"))


@handles("getImportToListStatus")
def get_import_to_list_status(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    raise _no_program(params.get("programName"))


@handles("scheduleCampaign")
def schedule_campaign(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    raise _no_program(params.get("programName"))


@handles("requestCampaign")
def request_campaign(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("campaignId") is not None:
        raise errors.CampaignNotFound(f"Campaign {params['campaignId']} not found")
    raise _no_program(params.get("programName"))


@handles("getCampaignsForSource")
def get_campaigns_for_source(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    return {"returnCount": 0, "campaignRecordList": []}
