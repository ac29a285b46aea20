"""`Operations`: one typed method per operation of the API, the one hand-written source of them.

`Client` inherits them as they are; `aio_operations.py`, which `AsyncClient` inherits, is
generated from this file by `python -m mktows.client.unasync` (every method a coroutine): change
a method here, then regenerate that file.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from mktows.client import build
from mktows.client.build import AttribsLike, AttributesLike, CustomObjLike, LeadKeyLike, LeadRecordLike
from mktows.client.transport import SyncTransport
from mktows.client.types import (
    ActivityTypeFilter,
    Attrib,
    LeadActivityList,
    LeadSelector,
    ListKey,
    MObjAssociation,
    MObjCriteria,
    MObject,
    ParamsDeleteCustomObjects,
    ParamsDeleteMObjects,
    ParamsDescribeMObject,
    ParamsGetCampaignsForSource,
    ParamsGetChannels,
    ParamsGetCustomObjects,
    ParamsGetImportToListStatus,
    ParamsGetLead,
    ParamsGetLeadActivity,
    ParamsGetLeadChanges,
    ParamsGetMObjects,
    ParamsGetMultipleLeads,
    ParamsGetTags,
    ParamsImportToList,
    ParamsListMObjects,
    ParamsListOperation,
    ParamsMergeLeads,
    ParamsRequestCampaign,
    ParamsScheduleCampaign,
    ParamsSyncCustomObjects,
    ParamsSyncLead,
    ParamsSyncMObjects,
    ParamsSyncMultipleLeads,
    ResultDeleteCustomObjects,
    ResultDeleteMObjects,
    ResultDescribeMObject,
    ResultGetCampaignsForSource,
    ResultGetChannels,
    ResultGetCustomObjects,
    ResultGetImportToListStatus,
    ResultGetLead,
    ResultGetLeadChanges,
    ResultGetMObjects,
    ResultGetMultipleLeads,
    ResultGetTags,
    ResultImportToList,
    ResultListMObjects,
    ResultListOperation,
    ResultMergeLeads,
    ResultRequestCampaign,
    ResultScheduleCampaign,
    ResultSyncCustomObjects,
    ResultSyncLead,
    ResultSyncMObjects,
    ResultSyncMultipleLeads,
    StreamPosition,
    Tag,
)


class Operations:
    """The operation methods `Client` inherits, each one call over `self._t`, the client's transport."""

    _t: SyncTransport

    # -- leads

    def get_lead(
        self, request: ParamsGetLead | None = None, /, *, lead_key: LeadKeyLike | None = None
    ) -> ResultGetLead:
        """Every lead matching one key (fault 20103 when none does)."""
        return self._t.call("getLead", build.get_lead(request, lead_key=lead_key), ResultGetLead)

    def get_multiple_leads(
        self,
        request: ParamsGetMultipleLeads | None = None,
        /,
        *,
        lead_selector: LeadSelector | None = None,
        last_updated_at: datetime | None = None,
        stream_position: str | None = None,
        batch_size: int | None = None,
        include_attributes: Sequence[str] | None = None,
    ) -> ResultGetMultipleLeads:
        """One page of leads; `iter_multiple_leads` follows the stream for you."""
        params = build.get_multiple_leads(
            request,
            lead_selector=lead_selector,
            last_updated_at=last_updated_at,
            stream_position=stream_position,
            batch_size=batch_size,
            include_attributes=include_attributes,
        )
        return self._t.call("getMultipleLeads", params, ResultGetMultipleLeads)

    def sync_lead(
        self,
        request: ParamsSyncLead | None = None,
        /,
        *,
        lead_record: LeadRecordLike | None = None,
        id: int | None = None,
        email: str | None = None,
        foreign_sys_person_id: str | None = None,
        foreign_sys_type: str | None = None,
        attributes: AttributesLike | None = None,
        return_lead: bool | None = None,
        marketo_cookie: str | None = None,
        workspace: str | None = None,
    ) -> ResultSyncLead:
        """Create or update one lead: `sync_lead(email="ada@example.com", attributes={"FirstName": "Ada"})`.
        `workspace` sends the MktowsContextHeader (where new leads go)."""
        params = build.sync_lead(
            request,
            lead_record=lead_record,
            id=id,
            email=email,
            foreign_sys_person_id=foreign_sys_person_id,
            foreign_sys_type=foreign_sys_type,
            attributes=attributes,
            return_lead=return_lead,
            marketo_cookie=marketo_cookie,
        )
        return self._t.call("syncLead", params, ResultSyncLead, workspace=workspace)

    def sync_multiple_leads(
        self,
        request: ParamsSyncMultipleLeads | None = None,
        /,
        *,
        lead_record_list: Sequence[LeadRecordLike] | None = None,
        dedup_enabled: bool | None = None,
    ) -> ResultSyncMultipleLeads:
        """Create or update many leads (300 a call is the vendor's advice); records are
        `LeadRecord`s or dicts like `{"Email": ..., "FirstName": ...}`."""
        params = build.sync_multiple_leads(request, lead_record_list=lead_record_list, dedup_enabled=dedup_enabled)
        repeatable = build.sync_multiple_leads_repeatable(params)
        return self._t.call("syncMultipleLeads", params, ResultSyncMultipleLeads, repeatable=repeatable)

    def merge_leads(
        self,
        request: ParamsMergeLeads | None = None,
        /,
        *,
        winning_lead_key_list: AttributesLike | None = None,
        losing_lead_key_lists: Sequence[AttributesLike] | None = None,
        merge_in_sales: bool | None = None,
    ) -> ResultMergeLeads:
        """Merge losers into a winner: `merge_leads(winning_lead_key_list={"IDNUM": 1},
        losing_lead_key_lists=[{"IDNUM": 2}])`."""
        params = build.merge_leads(
            request,
            winning_lead_key_list=winning_lead_key_list,
            losing_lead_key_lists=losing_lead_key_lists,
            merge_in_sales=merge_in_sales,
        )
        return self._t.call("mergeLeads", params, ResultMergeLeads)

    # -- activities

    def get_lead_activity(
        self,
        request: ParamsGetLeadActivity | None = None,
        /,
        *,
        lead_key: LeadKeyLike | None = None,
        activity_filter: ActivityTypeFilter | None = None,
        start_position: StreamPosition | None = None,
        batch_size: int | None = None,
    ) -> LeadActivityList:
        """One page of a lead's activity, newest first; `iter_lead_activity` follows the stream."""
        params = build.get_lead_activity(
            request,
            lead_key=lead_key,
            activity_filter=activity_filter,
            start_position=start_position,
            batch_size=batch_size,
        )
        return self._t.call("getLeadActivity", params, LeadActivityList)

    def get_lead_changes(
        self,
        request: ParamsGetLeadChanges | None = None,
        /,
        *,
        start_position: StreamPosition | datetime | None = None,
        activity_filter: ActivityTypeFilter | None = None,
        activity_name_filter: Sequence[str] | None = None,
        batch_size: int | None = None,
        lead_selector: LeadSelector | None = None,
    ) -> ResultGetLeadChanges:
        """One page of activities across leads, oldest first (a datetime `start_position` is its
        `oldestCreatedAt`); `iter_lead_changes` follows the stream."""
        params = build.get_lead_changes(
            request,
            start_position=start_position,
            activity_filter=activity_filter,
            activity_name_filter=activity_name_filter,
            batch_size=batch_size,
            lead_selector=lead_selector,
        )
        return self._t.call("getLeadChanges", params, ResultGetLeadChanges)

    # -- lists and imports

    def list_operation(
        self,
        request: ParamsListOperation | None = None,
        /,
        *,
        list_operation: str | None = None,
        list_key: ListKey | str | None = None,
        list_member_list: Sequence[LeadKeyLike | int] | None = None,
        strict: bool | None = None,
    ) -> ResultListOperation:
        """ADDTOLIST, REMOVEFROMLIST or ISMEMBEROFLIST; a str `list_key` is a list name, an int
        member a lead id."""
        params = build.list_operation(
            request, list_operation=list_operation, list_key=list_key, list_member_list=list_member_list, strict=strict
        )
        return self._t.call("listOperation", params, ResultListOperation)

    def import_to_list(
        self,
        request: ParamsImportToList | None = None,
        /,
        *,
        program_name: str | None = None,
        import_file_header: str | None = None,
        import_file_rows: Sequence[str] | None = None,
        import_list_mode: str | None = None,
        list_name: str | None = None,
        clear_list: bool | None = None,
        campaign_name: str | None = None,
    ) -> ResultImportToList:
        """Queue an import of CSV rows into a program's list (mode UPSERTLEADS unless given).
        Not retried after a connection error that may have reached the server."""
        params = build.import_to_list(
            request,
            program_name=program_name,
            import_file_header=import_file_header,
            import_file_rows=import_file_rows,
            import_list_mode=import_list_mode,
            list_name=list_name,
            clear_list=clear_list,
            campaign_name=campaign_name,
        )
        return self._t.call("importToList", params, ResultImportToList)

    def get_import_to_list_status(
        self,
        request: ParamsGetImportToListStatus | None = None,
        /,
        *,
        program_name: str | None = None,
        list_name: str | None = None,
    ) -> ResultGetImportToListStatus:
        """The last import into a list (the vendor asks for one poll a minute at most)."""
        params = build.get_import_to_list_status(request, program_name=program_name, list_name=list_name)
        return self._t.call("getImportToListStatus", params, ResultGetImportToListStatus)

    # -- campaigns

    def get_campaigns_for_source(
        self,
        request: ParamsGetCampaignsForSource | None = None,
        /,
        *,
        source: str | None = None,
        name: str | None = None,
        exact_name: bool | None = None,
    ) -> ResultGetCampaignsForSource:
        """Campaigns that `request_campaign` may run (source MKTOWS unless given)."""
        params = build.get_campaigns_for_source(request, source=source, name=name, exact_name=exact_name)
        return self._t.call("getCampaignsForSource", params, ResultGetCampaignsForSource)

    def request_campaign(
        self,
        request: ParamsRequestCampaign | None = None,
        /,
        *,
        source: str | None = None,
        campaign_id: int | None = None,
        lead_list: Sequence[LeadKeyLike | int] | None = None,
        program_name: str | None = None,
        campaign_name: str | None = None,
        program_token_list: AttribsLike | None = None,
    ) -> ResultRequestCampaign:
        """Run leads through a trigger campaign now; tokens as `{"my.Offer": "10%"}`. Not retried
        after a connection error that may have reached the server (it would run twice)."""
        params = build.request_campaign(
            request,
            source=source,
            campaign_id=campaign_id,
            lead_list=lead_list,
            program_name=program_name,
            campaign_name=campaign_name,
            program_token_list=program_token_list,
        )
        return self._t.call("requestCampaign", params, ResultRequestCampaign)

    def schedule_campaign(
        self,
        request: ParamsScheduleCampaign | None = None,
        /,
        *,
        program_name: str | None = None,
        campaign_name: str | None = None,
        campaign_run_at: datetime | None = None,
        program_token_list: AttribsLike | None = None,
    ) -> ResultScheduleCampaign:
        """Schedule a batch campaign (now when `campaign_run_at` is None). Not retried after a
        connection error that may have reached the server."""
        params = build.schedule_campaign(
            request,
            program_name=program_name,
            campaign_name=campaign_name,
            campaign_run_at=campaign_run_at,
            program_token_list=program_token_list,
        )
        return self._t.call("scheduleCampaign", params, ResultScheduleCampaign)

    # -- MObjects

    def get_mobjects(
        self,
        request: ParamsGetMObjects | None = None,
        /,
        *,
        type: str | None = None,
        id: int | None = None,
        external_key: Attrib | tuple[str, str] | None = None,
        m_obj_criteria_list: Sequence[MObjCriteria | tuple[str, str, object]] | None = None,
        m_obj_association_list: Sequence[MObjAssociation] | None = None,
        include_details: bool | None = None,
        stream_position: str | None = None,
    ) -> ResultGetMObjects:
        """One page of programs, opportunities or person roles; criteria as `("Name", "EQ", "x")`.
        `iter_mobjects` follows the stream."""
        params = build.get_mobjects(
            request,
            type=type,
            id=id,
            external_key=external_key,
            m_obj_criteria_list=m_obj_criteria_list,
            m_obj_association_list=m_obj_association_list,
            include_details=include_details,
            stream_position=stream_position,
        )
        return self._t.call("getMObjects", params, ResultGetMObjects)

    def sync_mobjects(
        self,
        request: ParamsSyncMObjects | None = None,
        /,
        *,
        m_object_list: Sequence[MObject] | None = None,
        operation: str | None = None,
    ) -> ResultSyncMObjects:
        """INSERT, UPDATE or UPSERT up to 100 MObjects."""
        params = build.sync_mobjects(request, m_object_list=m_object_list, operation=operation)
        repeatable = build.sync_mobjects_repeatable(params)
        return self._t.call("syncMObjects", params, ResultSyncMObjects, repeatable=repeatable)

    def delete_mobjects(
        self, request: ParamsDeleteMObjects | None = None, /, *, m_object_list: Sequence[MObject] | None = None
    ) -> ResultDeleteMObjects:
        """Delete opportunities or person roles by id or external key."""
        params = build.delete_mobjects(request, m_object_list=m_object_list)
        return self._t.call("deleteMObjects", params, ResultDeleteMObjects)

    def describe_mobject(
        self, request: ParamsDescribeMObject | None = None, /, *, object_name: str | None = None
    ) -> ResultDescribeMObject:
        """The fields of `ActivityRecord`, `LeadRecord`, `Opportunity` or `OpportunityPersonRole`."""
        params = build.describe_mobject(request, object_name=object_name)
        return self._t.call("describeMObject", params, ResultDescribeMObject)

    def list_mobjects(self, request: ParamsListMObjects | None = None, /) -> ResultListMObjects:
        """The object names `describe_mobject` takes."""
        return self._t.call("listMObjects", request or ParamsListMObjects(), ResultListMObjects)

    # -- channels and tags

    def get_channels(
        self, request: ParamsGetChannels | None = None, /, *, tag: Tag | Sequence[str] | None = None
    ) -> ResultGetChannels:
        """Channels with their progression statuses; `tag` narrows them (a list of names)."""
        return self._t.call("getChannels", build.get_channels(request, tag=tag), ResultGetChannels)

    def get_tags(
        self, request: ParamsGetTags | None = None, /, *, tag_list: Sequence[Tag | str] | None = None
    ) -> ResultGetTags:
        """Tag types and their values; `tag_list` narrows them (a list of type names or Tags)."""
        return self._t.call("getTags", build.get_tags(request, tag_list=tag_list), ResultGetTags)

    # -- custom objects

    def get_custom_objects(
        self,
        request: ParamsGetCustomObjects | None = None,
        /,
        *,
        obj_type_name: str | None = None,
        stream_position: str | None = None,
        batch_size: int | None = None,
        custom_obj_key_list: AttributesLike | None = None,
        include_attributes: Sequence[str] | None = None,
    ) -> ResultGetCustomObjects:
        """One page of a custom object's records, filtered by keys (`{"MKTOID": 5}`);
        `iter_custom_objects` follows the stream."""
        params = build.get_custom_objects(
            request,
            obj_type_name=obj_type_name,
            stream_position=stream_position,
            batch_size=batch_size,
            custom_obj_key_list=custom_obj_key_list,
            include_attributes=include_attributes,
        )
        return self._t.call("getCustomObjects", params, ResultGetCustomObjects)

    def sync_custom_objects(
        self,
        request: ParamsSyncCustomObjects | None = None,
        /,
        *,
        obj_type_name: str | None = None,
        custom_obj_list: Sequence[CustomObjLike] | None = None,
        operation: str | None = None,
    ) -> ResultSyncCustomObjects:
        """Insert or update records, each a `CustomObj` or a `(keys, fields)` pair of dicts."""
        params = build.sync_custom_objects(
            request, obj_type_name=obj_type_name, custom_obj_list=custom_obj_list, operation=operation
        )
        return self._t.call("syncCustomObjects", params, ResultSyncCustomObjects)

    def delete_custom_objects(
        self,
        request: ParamsDeleteCustomObjects | None = None,
        /,
        *,
        obj_type_name: str | None = None,
        custom_obj_key_lists: Sequence[AttributesLike] | None = None,
    ) -> ResultDeleteCustomObjects:
        """Delete records by their full keys, one dict of keys per record."""
        params = build.delete_custom_objects(
            request, obj_type_name=obj_type_name, custom_obj_key_lists=custom_obj_key_lists
        )
        return self._t.call("deleteCustomObjects", params, ResultDeleteCustomObjects)
