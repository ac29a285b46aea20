"""How each paged operation continues, shared by the synchronous and the asyncio iterators,
and the date windows of a parallel export.

A `Pager` says which operation to call, what records a page holds and what to send next (the
same request with the position the page returned), or that the stream is done.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from mktows.client.build import aware
from mktows.client.types import (
    ActivityRecord,
    CustomObj,
    LastUpdateAtSelector,
    LeadActivityList,
    LeadChangeRecord,
    LeadRecord,
    MObject,
    ParamsGetCustomObjects,
    ParamsGetLeadActivity,
    ParamsGetLeadChanges,
    ParamsGetMObjects,
    ParamsGetMultipleLeads,
    ResultGetCustomObjects,
    ResultGetLeadChanges,
    ResultGetMObjects,
    ResultGetMultipleLeads,
)

P = TypeVar("P")
R = TypeVar("R")
Rec = TypeVar("Rec")

# LastUpdateAtSelector windows that give both dates may span at most 30 days (fault 20022).
MAX_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Pager(Generic[P, R, Rec]):
    operation: str
    first: P
    result_type: type[R]
    records: Callable[[R], Sequence[Rec] | None]
    following: Callable[[P, R], P | None]  # the next request, or None at the end


def _multiple_leads_next(params: ParamsGetMultipleLeads, page: ResultGetMultipleLeads) -> ParamsGetMultipleLeads | None:
    position = page.new_stream_position
    if page.remaining_count <= 0 or not position or (position == params.stream_position and not page.return_count):
        return None
    return replace(params, stream_position=position)


def multiple_leads(params: ParamsGetMultipleLeads) -> Pager[ParamsGetMultipleLeads, ResultGetMultipleLeads, LeadRecord]:
    """getMultipleLeads: follow `newStreamPosition` until `remainingCount` is 0."""
    return Pager("getMultipleLeads", params, ResultGetMultipleLeads, lambda r: r.lead_record_list, _multiple_leads_next)


def lead_changes(params: ParamsGetLeadChanges) -> Pager[ParamsGetLeadChanges, ResultGetLeadChanges, LeadChangeRecord]:
    """getLeadChanges: feed `newStartPosition` back while `remainingCount` is above 0."""

    def following(p: ParamsGetLeadChanges, page: ResultGetLeadChanges) -> ParamsGetLeadChanges | None:
        more = page.remaining_count > 0 and page.return_count > 0
        return replace(p, start_position=page.new_start_position) if more else None

    return Pager("getLeadChanges", params, ResultGetLeadChanges, lambda r: r.lead_change_record_list, following)


def lead_activity(params: ParamsGetLeadActivity) -> Pager[ParamsGetLeadActivity, LeadActivityList, ActivityRecord]:
    """getLeadActivity: feed `newStartPosition` back while `remainingCount` is above 0."""

    def following(p: ParamsGetLeadActivity, page: LeadActivityList) -> ParamsGetLeadActivity | None:
        more = page.remaining_count > 0 and page.return_count > 0
        return replace(p, start_position=page.new_start_position) if more else None

    return Pager("getLeadActivity", params, LeadActivityList, lambda r: r.activity_record_list, following)


def mobjects(params: ParamsGetMObjects) -> Pager[ParamsGetMObjects, ResultGetMObjects, MObject]:
    """getMObjects: follow `newStreamPosition` while `hasMore`."""

    def following(p: ParamsGetMObjects, page: ResultGetMObjects) -> ParamsGetMObjects | None:
        more = page.has_more and bool(page.new_stream_position) and page.new_stream_position != p.stream_position
        return replace(p, stream_position=page.new_stream_position) if more else None

    return Pager("getMObjects", params, ResultGetMObjects, lambda r: r.m_object_list, following)


def custom_objects(params: ParamsGetCustomObjects) -> Pager[ParamsGetCustomObjects, ResultGetCustomObjects, CustomObj]:
    """getCustomObjects: follow `newStreamPosition` until `remainingCount` is 0."""

    def following(p: ParamsGetCustomObjects, page: ResultGetCustomObjects) -> ParamsGetCustomObjects | None:
        position = page.new_stream_position
        more = page.remaining_count > 0 and bool(position) and (position != p.stream_position or page.return_count)
        return replace(p, stream_position=position) if more else None

    return Pager("getCustomObjects", params, ResultGetCustomObjects, lambda r: r.custom_obj_list, following)


def update_windows(since: datetime, until: datetime | None, count: int, now: datetime) -> list[LastUpdateAtSelector]:
    """[since, until) cut into `count` equal LastUpdateAtSelector windows (more when a window
    would span over 30 days). Without `until` the windows end at `now` and the last one is
    open-ended, so nothing updated meanwhile falls between them. The selector's bounds are
    inclusive, so a lead updated exactly on a boundary is in two windows (the export dedupes)."""
    start = aware(since)
    end = aware(until) if until is not None else max(aware(now), start)
    span = end - start
    count = max(1, count, math.ceil(span / MAX_WINDOW)) if span > timedelta(0) else 1
    while span / count > MAX_WINDOW:  # rounding to microseconds
        count += 1
    step = span / count
    bounds = [start + step * i for i in range(count)] + [end]
    windows = [LastUpdateAtSelector(oldest_updated_at=bounds[i], latest_updated_at=bounds[i + 1]) for i in range(count)]
    if until is None:
        windows[-1] = LastUpdateAtSelector(oldest_updated_at=bounds[-2])
    return windows
