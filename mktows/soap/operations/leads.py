"""getLead, getMultipleLeads, syncLead, syncMultipleLeads, mergeLeads."""

from __future__ import annotations

from typing import Any

from mktows import errors
from mktows.engine.leads.reads import MAX_KEYS
from mktows.engine.models import KeySelector, SyncOutcome, UpdatedAtSelector
from mktows.engine.timestamps import fits_int
from mktows.soap.ignored import DROPPED_KEY
from mktows.soap.operations.records import lead_input, lead_key, lead_record, selector
from mktows.soap.operations.registry import Call, handles
from mktows.soap.schema import version_at_least


@handles("getLead", inline=True)
def get_lead(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    leads = call.engine.get_leads(lead_key(params["leadKey"]))
    return {"count": len(leads), "leadRecordList": [lead_record(lead) for lead in leads]}


@handles("getMultipleLeads")
def get_multiple_leads(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("leadSelector"):
        chosen = selector(params["leadSelector"])
        if isinstance(chosen, KeySelector) and len(chosen.key_values) > MAX_KEYS:
            call.ignored(
                DROPPED_KEY,
                f"paramsGetMultipleLeads/leadSelector/keyValues/stringItem[{MAX_KEYS + 1}]",
                f"{len(chosen.key_values) - MAX_KEYS} keys past the first {MAX_KEYS} ignored",
            )
    elif params.get("lastUpdatedAt"):
        chosen = UpdatedAtSelector(params["lastUpdatedAt"])
    else:
        raise errors.ParameterRequired("getMultipleLeads needs a leadSelector (or lastUpdatedAt)")
    include = [name.strip() for name in params.get("includeAttributes") or () if name and name.strip()]
    page = call.engine.page_leads(
        chosen,
        position=params.get("streamPosition"),
        batch_size=params.get("batchSize"),
        include_attributes=include or None,
    )
    return {
        "returnCount": len(page.leads),
        "remainingCount": page.remaining,
        "newStreamPosition": page.stream_position,
        "leadRecordList": [lead_record(lead) for lead in page.leads],
    }


def _sync_status(outcome: SyncOutcome) -> dict[str, Any]:
    """`leadId` is an xs:int: an id echoed from the request that none can carry names no lead (0)."""
    lead_id = outcome.lead_id if outcome.lead_id is None or fits_int(outcome.lead_id) else 0
    return {"leadId": lead_id, "status": outcome.status, "error": outcome.error}


@handles("syncLead")
def sync_lead(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("leadRecord"):
        raise errors.LeadDetailRequired("syncLead needs a leadRecord")
    outcome = call.engine.sync_lead(
        lead_input(params["leadRecord"]),
        return_lead=bool(params.get("returnLead")),
        cookie=(params.get("marketoCookie") or "").strip() or None,
        move_cookie=bool(params.get("moveCookie")) and version_at_least(call.version, "3_1"),  # 3_1 only
        workspace=call.workspace,
    )
    return {
        "leadId": outcome.lead_id,
        "syncStatus": _sync_status(outcome),
        "leadRecord": lead_record(outcome.lead) if outcome.lead else None,
    }


@handles("syncMultipleLeads")
def sync_multiple_leads(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    records = [lead_input(record) for record in params["leadRecordList"]]
    if not records:
        raise errors.LeadDetailRequired("syncMultipleLeads needs at least one leadRecord")
    dedup = params.get("dedupEnabled")
    outcomes = call.engine.sync_leads(records, dedup=True if dedup is None else dedup)
    return {"syncStatusList": [_sync_status(outcome) for outcome in outcomes]}


def _key_pairs(attributes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [((a["attrName"] or "").strip().upper(), (a["attrValue"] or "").strip()) for a in attributes]


@handles("mergeLeads")
def merge_leads(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    winner = _key_pairs(params["winningLeadKeyList"])
    losers = [_key_pairs(key_list) for key_list in params["losingLeadKeyLists"]]
    if not winner:
        raise errors.LeadKeyRequired("winningLeadKeyList needs a key")
    if not losers or not all(losers):
        raise errors.LeadKeyRequired("losingLeadKeyLists needs one keyList with a key per losing lead")
    outcome = call.engine.merge_leads(winner, losers)
    return {
        "mergeStatus": {
            "winningLeadId": outcome.winner_id,
            "losingLeadIdList": outcome.loser_ids,
            "status": "MERGED" if outcome.merged else "FAILED",
            "error": outcome.error,
        }
    }
