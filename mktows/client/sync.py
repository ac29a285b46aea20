"""`Client`: the synchronous client, one typed method per operation of the API (inherited from
`Operations`, operations.py), iterators that follow stream positions, and the parallel export
of leads by update time.

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
from mktows.client.build import AttributesLike, LeadKeyLike
from mktows.client.operations import Operations
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
    LeadChangeRecord,
    LeadRecord,
    LeadSelector,
    MObjAssociation,
    MObjCriteria,
    MObject,
    StreamPosition,
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


class Client(Operations):
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
