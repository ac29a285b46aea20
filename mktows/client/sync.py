"""`Client`: the synchronous client, one typed method per operation of the API, iterators that
follow stream positions, and the parallel export of leads by update time.

    with Client("http://127.0.0.1:8080/soap/mktows/2_9", "user", "key") as client:
        lead = client.get_lead(lead_key=("EMAIL", "ada@example.com")).lead_record_list[0]
        for record in client.iter_leads_updated(since, fields=["FirstName", "Company"]):
            ...

Every method takes either keyword arguments (plain Python values, see `build.py`) or the
generated request object as its one positional argument. Threads may share one client: its
connection pool and its limit of calls in flight are shared.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from types import TracebackType
from typing import TypeVar

import httpx

from mktows.client import build, paging
from mktows.client.build import AttribsLike, AttributesLike, CustomObjLike, LeadKeyLike, LeadRecordLike
from mktows.client.paging import Pager
from mktows.client.transport import (
    MAX_CONCURRENCY,
    Clock,
    RetryPolicy,
    Signer,
    SyncTransport,
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


def check_settings(*, retries: int, concurrency: int, timeout: float) -> None:
    if retries < 0:
        raise ValueError("retries must be 0 (no retries) or more")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if timeout <= 0:
        raise ValueError("timeout must be above 0 seconds")


class Client:
    """A Marketo SOAP API client over one pooled `httpx.Client`.

    `endpoint`, `user_id` and `encryption_key` default to MKTOWS_ENDPOINT, MKTOWS_USER_ID and
    MKTOWS_ENCRYPTION_KEY. `retries` attempts more after a fault or connection error a retry
    can fix (docs/client.md says which), waiting `backoff * 2**n` seconds at most (full
    jitter), never more than `max_backoff`. At most `concurrency` requests are in flight at
    once across the threads that share the client. `transport` replaces httpx's own (tests);
    `clock` replaces the clock requests are signed with (tests, or a host whose clock is off).
    """

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
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        check_settings(retries=retries, concurrency=concurrency, timeout=timeout)
        self.endpoint, self.user_id, key = resolve_settings(endpoint, user_id, encryption_key)
        self._t = SyncTransport(
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

    def close(self) -> None:
        """Close the pooled connections."""
        self._t.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

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

    # -- iterators over paged operations

    def _pages(self, pager: Pager[P, R, Rec]) -> Iterator[Sequence[Rec]]:
        """Each page's records, following the stream to its end."""
        params: P | None = pager.first
        while params is not None:
            page = self._t.call(pager.operation, params, pager.result_type)
            yield pager.records(page) or ()
            params = pager.following(params, page)

    def _records(self, pager: Pager[P, R, Rec]) -> Iterator[Rec]:
        for page in self._pages(pager):
            yield from page

    def iter_multiple_leads(
        self,
        lead_selector: LeadSelector,
        *,
        batch_size: int = 200,
        include_attributes: Sequence[str] | None = None,
        stream_position: str | None = None,
    ) -> Iterator[LeadRecord]:
        """Every lead a selector chooses, `batch_size` a call (200 is the vendor's advice);
        `include_attributes` fetches only those fields, which is much faster."""
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
    ) -> Iterator[LeadChangeRecord]:
        """Every activity since a time (or position), oldest first, across leads."""
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
    ) -> Iterator[ActivityRecord]:
        """A lead's whole activity history, newest first."""
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
    ) -> Iterator[MObject]:
        """Every MObject of a type that matches, 100 a call."""
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
    ) -> Iterator[CustomObj]:
        """Every record of a custom object type that matches the keys given."""
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
    ) -> Iterator[LeadRecord]:
        """Every lead updated in [since, until) (until now when None), each exactly once, read
        the way the vendor advises: the range cut into `windows` date windows (more when one
        would span over 30 days), each paged on its own stream, `concurrency` (at most 10, the
        vendor's limit) at once over the pooled connections. A lead updated during the export
        may turn up in a second window, and one updated exactly on a boundary is in two: each
        id is yielded the first time it comes, later copies are dropped (the set of ids seen
        is kept until the end). Records come in no particular order."""
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


def _parallel_pages(
    pages: Callable[[Pager[P, R, Rec]], Iterator[Sequence[Rec]]], pagers: list[Pager[P, R, Rec]], workers: int
) -> Generator[Sequence[Rec], None, None]:
    """The pages of every pager, read by `workers` threads, in the order they arrive. A failure
    in any stream (after its retries) stops the others and is raised here. At most a couple of
    pages per thread wait in memory: the threads pause while the consumer is busy."""
    inbox: queue.Queue[Sequence[Rec] | BaseException | None] = queue.Queue(maxsize=2 * workers)
    stop = threading.Event()

    def offer(item: Sequence[Rec] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                inbox.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run(pager: Pager[P, R, Rec]) -> None:
        try:
            for page in pages(pager):
                if not offer(page):
                    return
        except BaseException as error:  # handed to the consumer, which raises it
            offer(error)
        finally:
            offer(None)

    pool = ThreadPoolExecutor(workers, thread_name_prefix="mktows-export")
    try:
        for pager in pagers:
            pool.submit(run, pager)
        ended = 0
        while ended < len(pagers):
            item = inbox.get()
            if item is None:
                ended += 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)


def _dedupe(pages: Generator[Sequence[LeadRecord], None, None]) -> Iterator[LeadRecord]:
    """Each lead once, the first time its id comes (see `iter_leads_updated`)."""
    seen: set[int] = set()
    try:
        for page in pages:
            for record in page:
                if record.id is not None:
                    if record.id in seen:
                        continue
                    seen.add(record.id)
                yield record
    finally:
        pages.close()  # stops the threads at once when the caller stops early
