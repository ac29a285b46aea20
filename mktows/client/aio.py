"""`AsyncClient`: the asyncio twin of `Client` (same methods, same arguments, awaited), over
one pooled `httpx.AsyncClient`.

    async with AsyncClient() as client:
        async for record in client.iter_leads_updated(since, fields=["Email"]):
            ...

An iterator left early is closed when it is garbage-collected; wrap it in
`contextlib.aclosing(...)` to stop its requests at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import TypeVar

import httpx

from mktows.client import build, paging
from mktows.client.build import AttribsLike, AttributesLike, CustomObjLike, LeadKeyLike, LeadRecordLike
from mktows.client.paging import Pager
from mktows.client.sync import check_settings
from mktows.client.transport import (
    MAX_CONCURRENCY,
    AsyncTransport,
    Clock,
    RetryPolicy,
    Signer,
    resolve_settings,
    utc_now,
)
from mktows.client.types import (
    ActivityRecord,
    ActivityTypeFilter,
    Attrib,
    CustomObj,
    LeadActivityList,
    LeadChangeRecord,
    LeadRecord,
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

P = TypeVar("P")
R = TypeVar("R")
Rec = TypeVar("Rec")


class AsyncClient:
    """`Client` for asyncio: the same settings (`transport` is an `httpx.AsyncBaseTransport`),
    every method a coroutine, every iterator an async iterator."""

    def __init__(
        self,
        endpoint: str | None = None,
        user_id: str | None = None,
        encryption_key: str | None = None,
        *,
        timeout: float = 60.0,
        retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        concurrency: int = 10,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        check_settings(retries=retries, concurrency=concurrency, timeout=timeout)
        self.endpoint, self.user_id, key = resolve_settings(endpoint, user_id, encryption_key)
        self._t = AsyncTransport(
            self.endpoint,
            Signer(self.user_id, key, clock or utc_now),
            RetryPolicy(retries, backoff, max_backoff),
            timeout=timeout,
            concurrency=concurrency,
            transport=transport,
        )

    @property
    def calls_sent(self) -> int:
        """Requests that left this client: answered, or lost after the connection was made."""
        return self._t.calls_sent

    @property
    def calls_retried(self) -> int:
        """Attempts made after a first one failed, over every call."""
        return self._t.calls_retried

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._t.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- leads

    async def get_lead(
        self, request: ParamsGetLead | None = None, /, *, lead_key: LeadKeyLike | None = None
    ) -> ResultGetLead:
        """`Client.get_lead`, awaited."""
        return await self._t.call("getLead", build.get_lead(request, lead_key=lead_key), ResultGetLead)

    async def get_multiple_leads(
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
        """`Client.get_multiple_leads`, awaited."""
        params = build.get_multiple_leads(
            request,
            lead_selector=lead_selector,
            last_updated_at=last_updated_at,
            stream_position=stream_position,
            batch_size=batch_size,
            include_attributes=include_attributes,
        )
        return await self._t.call("getMultipleLeads", params, ResultGetMultipleLeads)

    async def sync_lead(
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
        """`Client.sync_lead`, awaited."""
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
        return await self._t.call("syncLead", params, ResultSyncLead, workspace=workspace)

    async def sync_multiple_leads(
        self,
        request: ParamsSyncMultipleLeads | None = None,
        /,
        *,
        lead_record_list: Sequence[LeadRecordLike] | None = None,
        dedup_enabled: bool | None = None,
    ) -> ResultSyncMultipleLeads:
        """`Client.sync_multiple_leads`, awaited."""
        params = build.sync_multiple_leads(request, lead_record_list=lead_record_list, dedup_enabled=dedup_enabled)
        repeatable = build.sync_multiple_leads_repeatable(params)
        return await self._t.call("syncMultipleLeads", params, ResultSyncMultipleLeads, repeatable=repeatable)

    async def merge_leads(
        self,
        request: ParamsMergeLeads | None = None,
        /,
        *,
        winning_lead_key_list: AttributesLike | None = None,
        losing_lead_key_lists: Sequence[AttributesLike] | None = None,
        merge_in_sales: bool | None = None,
    ) -> ResultMergeLeads:
        """`Client.merge_leads`, awaited."""
        params = build.merge_leads(
            request,
            winning_lead_key_list=winning_lead_key_list,
            losing_lead_key_lists=losing_lead_key_lists,
            merge_in_sales=merge_in_sales,
        )
        return await self._t.call("mergeLeads", params, ResultMergeLeads)

    # -- activities

    async def get_lead_activity(
        self,
        request: ParamsGetLeadActivity | None = None,
        /,
        *,
        lead_key: LeadKeyLike | None = None,
        activity_filter: ActivityTypeFilter | None = None,
        start_position: StreamPosition | None = None,
        batch_size: int | None = None,
    ) -> LeadActivityList:
        """`Client.get_lead_activity`, awaited."""
        params = build.get_lead_activity(
            request,
            lead_key=lead_key,
            activity_filter=activity_filter,
            start_position=start_position,
            batch_size=batch_size,
        )
        return await self._t.call("getLeadActivity", params, LeadActivityList)

    async def get_lead_changes(
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
        """`Client.get_lead_changes`, awaited."""
        params = build.get_lead_changes(
            request,
            start_position=start_position,
            activity_filter=activity_filter,
            activity_name_filter=activity_name_filter,
            batch_size=batch_size,
            lead_selector=lead_selector,
        )
        return await self._t.call("getLeadChanges", params, ResultGetLeadChanges)

    # -- lists and imports

    async def list_operation(
        self,
        request: ParamsListOperation | None = None,
        /,
        *,
        list_operation: str | None = None,
        list_key: ListKey | str | None = None,
        list_member_list: Sequence[LeadKeyLike | int] | None = None,
        strict: bool | None = None,
    ) -> ResultListOperation:
        """`Client.list_operation`, awaited."""
        params = build.list_operation(
            request, list_operation=list_operation, list_key=list_key, list_member_list=list_member_list, strict=strict
        )
        return await self._t.call("listOperation", params, ResultListOperation)

    async def import_to_list(
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
        """`Client.import_to_list`, awaited."""
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
        return await self._t.call("importToList", params, ResultImportToList)

    async def get_import_to_list_status(
        self,
        request: ParamsGetImportToListStatus | None = None,
        /,
        *,
        program_name: str | None = None,
        list_name: str | None = None,
    ) -> ResultGetImportToListStatus:
        """`Client.get_import_to_list_status`, awaited."""
        params = build.get_import_to_list_status(request, program_name=program_name, list_name=list_name)
        return await self._t.call("getImportToListStatus", params, ResultGetImportToListStatus)

    # -- campaigns

    async def get_campaigns_for_source(
        self,
        request: ParamsGetCampaignsForSource | None = None,
        /,
        *,
        source: str | None = None,
        name: str | None = None,
        exact_name: bool | None = None,
    ) -> ResultGetCampaignsForSource:
        """`Client.get_campaigns_for_source`, awaited."""
        params = build.get_campaigns_for_source(request, source=source, name=name, exact_name=exact_name)
        return await self._t.call("getCampaignsForSource", params, ResultGetCampaignsForSource)

    async def request_campaign(
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
        """`Client.request_campaign`, awaited."""
        params = build.request_campaign(
            request,
            source=source,
            campaign_id=campaign_id,
            lead_list=lead_list,
            program_name=program_name,
            campaign_name=campaign_name,
            program_token_list=program_token_list,
        )
        return await self._t.call("requestCampaign", params, ResultRequestCampaign)

    async def schedule_campaign(
        self,
        request: ParamsScheduleCampaign | None = None,
        /,
        *,
        program_name: str | None = None,
        campaign_name: str | None = None,
        campaign_run_at: datetime | None = None,
        program_token_list: AttribsLike | None = None,
    ) -> ResultScheduleCampaign:
        """`Client.schedule_campaign`, awaited."""
        params = build.schedule_campaign(
            request,
            program_name=program_name,
            campaign_name=campaign_name,
            campaign_run_at=campaign_run_at,
            program_token_list=program_token_list,
        )
        return await self._t.call("scheduleCampaign", params, ResultScheduleCampaign)

    # -- MObjects

    async def get_mobjects(
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
        """`Client.get_mobjects`, awaited."""
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
        return await self._t.call("getMObjects", params, ResultGetMObjects)

    async def sync_mobjects(
        self,
        request: ParamsSyncMObjects | None = None,
        /,
        *,
        m_object_list: Sequence[MObject] | None = None,
        operation: str | None = None,
    ) -> ResultSyncMObjects:
        """`Client.sync_mobjects`, awaited."""
        params = build.sync_mobjects(request, m_object_list=m_object_list, operation=operation)
        repeatable = build.sync_mobjects_repeatable(params)
        return await self._t.call("syncMObjects", params, ResultSyncMObjects, repeatable=repeatable)

    async def delete_mobjects(
        self, request: ParamsDeleteMObjects | None = None, /, *, m_object_list: Sequence[MObject] | None = None
    ) -> ResultDeleteMObjects:
        """`Client.delete_mobjects`, awaited."""
        params = build.delete_mobjects(request, m_object_list=m_object_list)
        return await self._t.call("deleteMObjects", params, ResultDeleteMObjects)

    async def describe_mobject(
        self, request: ParamsDescribeMObject | None = None, /, *, object_name: str | None = None
    ) -> ResultDescribeMObject:
        """`Client.describe_mobject`, awaited."""
        params = build.describe_mobject(request, object_name=object_name)
        return await self._t.call("describeMObject", params, ResultDescribeMObject)

    async def list_mobjects(self, request: ParamsListMObjects | None = None, /) -> ResultListMObjects:
        """`Client.list_mobjects`, awaited."""
        return await self._t.call("listMObjects", request or ParamsListMObjects(), ResultListMObjects)

    # -- channels and tags

    async def get_channels(
        self, request: ParamsGetChannels | None = None, /, *, tag: Tag | Sequence[str] | None = None
    ) -> ResultGetChannels:
        """`Client.get_channels`, awaited."""
        return await self._t.call("getChannels", build.get_channels(request, tag=tag), ResultGetChannels)

    async def get_tags(
        self, request: ParamsGetTags | None = None, /, *, tag_list: Sequence[Tag | str] | None = None
    ) -> ResultGetTags:
        """`Client.get_tags`, awaited."""
        return await self._t.call("getTags", build.get_tags(request, tag_list=tag_list), ResultGetTags)

    # -- custom objects

    async def get_custom_objects(
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
        """`Client.get_custom_objects`, awaited."""
        params = build.get_custom_objects(
            request,
            obj_type_name=obj_type_name,
            stream_position=stream_position,
            batch_size=batch_size,
            custom_obj_key_list=custom_obj_key_list,
            include_attributes=include_attributes,
        )
        return await self._t.call("getCustomObjects", params, ResultGetCustomObjects)

    async def sync_custom_objects(
        self,
        request: ParamsSyncCustomObjects | None = None,
        /,
        *,
        obj_type_name: str | None = None,
        custom_obj_list: Sequence[CustomObjLike] | None = None,
        operation: str | None = None,
    ) -> ResultSyncCustomObjects:
        """`Client.sync_custom_objects`, awaited."""
        params = build.sync_custom_objects(
            request, obj_type_name=obj_type_name, custom_obj_list=custom_obj_list, operation=operation
        )
        return await self._t.call("syncCustomObjects", params, ResultSyncCustomObjects)

    async def delete_custom_objects(
        self,
        request: ParamsDeleteCustomObjects | None = None,
        /,
        *,
        obj_type_name: str | None = None,
        custom_obj_key_lists: Sequence[AttributesLike] | None = None,
    ) -> ResultDeleteCustomObjects:
        """`Client.delete_custom_objects`, awaited."""
        params = build.delete_custom_objects(
            request, obj_type_name=obj_type_name, custom_obj_key_lists=custom_obj_key_lists
        )
        return await self._t.call("deleteCustomObjects", params, ResultDeleteCustomObjects)

    # -- iterators over paged operations

    async def _pages(self, pager: Pager[P, R, Rec]) -> AsyncIterator[Sequence[Rec]]:
        params: P | None = pager.first
        while params is not None:
            page = await self._t.call(pager.operation, params, pager.result_type)
            yield pager.records(page) or ()
            params = pager.following(params, page)

    async def _records(self, pager: Pager[P, R, Rec]) -> AsyncIterator[Rec]:
        async for page in self._pages(pager):
            for record in page:
                yield record

    def iter_multiple_leads(
        self,
        lead_selector: LeadSelector,
        *,
        batch_size: int = 200,
        include_attributes: Sequence[str] | None = None,
        stream_position: str | None = None,
    ) -> AsyncIterator[LeadRecord]:
        """`Client.iter_multiple_leads`, as an async iterator."""
        params = build.get_multiple_leads(
            None,
            lead_selector=lead_selector,
            last_updated_at=None,
            stream_position=stream_position,
            batch_size=batch_size,
            include_attributes=include_attributes,
        )
        return self._records(paging.multiple_leads(params))

    def iter_lead_changes(
        self,
        start_position: StreamPosition | datetime,
        *,
        activity_filter: ActivityTypeFilter | None = None,
        activity_name_filter: Sequence[str] | None = None,
        batch_size: int = 1000,
        lead_selector: LeadSelector | None = None,
    ) -> AsyncIterator[LeadChangeRecord]:
        """`Client.iter_lead_changes`, as an async iterator."""
        params = build.get_lead_changes(
            None,
            start_position=start_position,
            activity_filter=activity_filter,
            activity_name_filter=activity_name_filter,
            batch_size=batch_size,
            lead_selector=lead_selector,
        )
        return self._records(paging.lead_changes(params))

    def iter_lead_activity(
        self,
        lead_key: LeadKeyLike,
        *,
        activity_filter: ActivityTypeFilter | None = None,
        batch_size: int = 100,
    ) -> AsyncIterator[ActivityRecord]:
        """`Client.iter_lead_activity`, as an async iterator."""
        params = build.get_lead_activity(
            None, lead_key=lead_key, activity_filter=activity_filter, start_position=None, batch_size=batch_size
        )
        return self._records(paging.lead_activity(params))

    def iter_mobjects(
        self,
        type: str,
        *,
        id: int | None = None,
        external_key: Attrib | tuple[str, str] | None = None,
        m_obj_criteria_list: Sequence[MObjCriteria | tuple[str, str, object]] | None = None,
        m_obj_association_list: Sequence[MObjAssociation] | None = None,
        include_details: bool | None = None,
    ) -> AsyncIterator[MObject]:
        """`Client.iter_mobjects`, as an async iterator."""
        params = build.get_mobjects(
            None,
            type=type,
            id=id,
            external_key=external_key,
            m_obj_criteria_list=m_obj_criteria_list,
            m_obj_association_list=m_obj_association_list,
            include_details=include_details,
            stream_position=None,
        )
        return self._records(paging.mobjects(params))

    def iter_custom_objects(
        self,
        obj_type_name: str,
        *,
        custom_obj_key_list: AttributesLike | None = None,
        include_attributes: Sequence[str] | None = None,
        batch_size: int = 100,
    ) -> AsyncIterator[CustomObj]:
        """`Client.iter_custom_objects`, as an async iterator."""
        params = build.get_custom_objects(
            None,
            obj_type_name=obj_type_name,
            stream_position=None,
            batch_size=batch_size,
            custom_obj_key_list=custom_obj_key_list,
            include_attributes=include_attributes,
        )
        return self._records(paging.custom_objects(params))

    def iter_leads_updated(
        self,
        since: datetime,
        until: datetime | None = None,
        *,
        fields: list[str] | None = None,
        windows: int = 10,
        concurrency: int = 10,
        batch_size: int = 200,
    ) -> AsyncIterator[LeadRecord]:
        """`Client.iter_leads_updated` on asyncio tasks: at most `concurrency` (and 10) windows
        paged at once, each lead yielded exactly once (the first time its id comes)."""
        selectors = paging.update_windows(since, until, windows, self._t.signer.now())
        pagers = [
            paging.multiple_leads(
                build.get_multiple_leads(
                    None,
                    lead_selector=s,
                    last_updated_at=None,
                    stream_position=None,
                    batch_size=batch_size,
                    include_attributes=fields,
                )
            )
            for s in selectors
        ]
        workers = max(1, min(concurrency, MAX_CONCURRENCY, len(pagers)))
        return _dedupe(_parallel_pages(self._pages, pagers, workers))


async def _parallel_pages(
    pages: Callable[[Pager[P, R, Rec]], AsyncIterator[Sequence[Rec]]], pagers: list[Pager[P, R, Rec]], workers: int
) -> AsyncIterator[Sequence[Rec]]:
    """The pages of every pager, read by `workers` tasks, in the order they arrive; a failure
    in any stream cancels the others and is raised here."""
    inbox: asyncio.Queue[Sequence[Rec] | Exception | None] = asyncio.Queue(maxsize=2 * workers)
    waiting = iter(pagers)  # the tasks take the next window from here (one event loop: no lock)

    async def work() -> None:
        try:
            for pager in waiting:
                async for page in pages(pager):
                    await inbox.put(page)
        except Exception as error:  # handed to the consumer, which raises it
            await inbox.put(error)
        else:
            await inbox.put(None)

    tasks = [asyncio.create_task(work()) for _ in range(workers)]
    try:
        ended = 0
        while ended < workers:
            item = await inbox.get()
            if item is None:
                ended += 1
            elif isinstance(item, Exception):
                raise item
            else:
                yield item
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _dedupe(pages: AsyncIterator[Sequence[LeadRecord]]) -> AsyncIterator[LeadRecord]:
    """Each lead once, the first time its id comes."""
    seen: set[int] = set()
    async for page in pages:
        for record in page:
            if record.id is not None:
                if record.id in seen:
                    continue
                seen.add(record.id)
            yield record
