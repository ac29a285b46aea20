"""getCampaignsForSource, requestCampaign, scheduleCampaign."""

from __future__ import annotations

from typing import Any

from mktows import errors
from mktows.engine.leads.reads import MAX_KEYS
from mktows.engine.models import LeadKey
from mktows.soap.ignored import DROPPED_KEY
from mktows.soap.operations.registry import Call, handles


def _text(value: Any) -> str | None:
    """A string parameter, or None when absent, nil or blank."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _tokens(value: list[dict[str, Any]] | None) -> list[tuple[str, str]]:
    return [(a.get("name") or "", a.get("value") or "") for a in value or ()]


@handles("getCampaignsForSource")
def get_campaigns_for_source(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    found = call.engine.campaigns_for_source(params["source"], _text(params.get("name")), bool(params.get("exactName")))
    return {
        "returnCount": len(found),
        "campaignRecordList": [{"id": c.id, "name": c.full_name, "description": c.description or ""} for c in found],
    }


def _parameter_set(params: dict[str, Any]) -> str:
    """ "A" (campaignId) or "B" (programName + campaignName [+ programTokenList]); 20110 otherwise."""
    given = [
        name
        for name, present in (
            ("campaignId", params.get("campaignId") is not None),
            ("programName", _text(params.get("programName")) is not None),
            ("campaignName", _text(params.get("campaignName")) is not None),
            ("programTokenList", bool(params.get("programTokenList"))),
        )
        if present
    ]
    if given == ["campaignId"]:
        return "A"
    if given[:2] == ["programName", "campaignName"]:
        return "B"
    got = " + ".join(given) if given else "none of them"
    raise errors.BadParameter(
        f"requestCampaign takes either campaignId alone, or programName + campaignName (+ programTokenList); got {got}"
    )


@handles("requestCampaign")
def request_campaign(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    chosen = _parameter_set(params)
    keys = [LeadKey(k.get("keyType") or "", k.get("keyValue") or "") for k in params.get("leadList") or ()]
    if len(keys) > MAX_KEYS:
        call.ignored(
            DROPPED_KEY,
            f"paramsRequestCampaign/leadList/leadKey[{MAX_KEYS + 1}]",
            f"{len(keys) - MAX_KEYS} lead keys past the first {MAX_KEYS} ignored",
        )
    if chosen == "A":
        call.engine.request_campaign(params["source"], keys, campaign_id=params["campaignId"])
    else:
        call.engine.request_campaign(
            params["source"],
            keys,
            program_name=_text(params["programName"]),
            campaign_name=_text(params["campaignName"]),
            tokens=_tokens(params.get("programTokenList")),
        )
    return {"success": True}


@handles("scheduleCampaign")
def schedule_campaign(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    program_name = _text(params.get("programName"))
    campaign_name = _text(params.get("campaignName"))
    if program_name is None:
        raise errors.ParameterRequired("scheduleCampaign needs a programName")
    if campaign_name is None:
        raise errors.ParameterRequired("scheduleCampaign needs a campaignName")
    # cloneToProgramName is declared in the 3_1 schema only; requests are decoded with the union
    # of all versions, and it is honoured on every endpoint (an older client cannot send it).
    call.engine.schedule_campaign(
        program_name,
        campaign_name,
        run_at=params.get("campaignRunAt"),
        tokens=_tokens(params.get("programTokenList")),
        clone_to=_text(params.get("cloneToProgramName")),
    )
    return {"success": True}
