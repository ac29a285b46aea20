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
from mktows.client.aio_operations import AsyncOperations
from mktows.client.build import AttributesLike, LeadKeyLike
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


class AsyncClient(AsyncOperations):
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
