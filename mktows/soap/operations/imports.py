"""importToList and getImportToListStatus."""

from __future__ import annotations

from typing import Any

from mktows.soap.operations.registry import Call, handles


@handles("importToList")
def import_to_list(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    status = call.engine.import_to_list(
        params.get("programName"),
        params.get("listName"),
        params.get("importFileHeader"),
        [row if row is not None else "" for row in params.get("importFileRows") or ()],
        mode=params.get("importListMode"),
        clear_list=bool(params.get("clearList")),  # absent: false (PHP clients may omit it)
        campaign_name=params.get("campaignName"),  # absent or nil: no campaign
    )
    return {"importStatus": status}


@handles("getImportToListStatus")
def get_import_to_list_status(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    st = call.engine.import_status(params.get("programName"), params.get("listName"))
    return {
        "status": st.status,
        "startedTime": st.started_at,
        "endedTime": st.ended_at,  # nil while running
        "estimatedTime": st.estimated_seconds,
        "estimatedRows": st.estimated_rows,
        "rowsImported": st.rows_imported,
        "rowsFailed": st.rows_failed,
        "rowsIgnored": st.rows_ignored,
        "importSummary": st.summary,
    }
