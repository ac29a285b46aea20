"""getLeadActivity (newest first) and getLeadChanges (oldest first), keyset paged.

The position's `offset` carries `ID:{last id}`; the next page continues strictly after
that row in the call's ordering, so pages never overlap whatever is written meanwhile.
A non-`ID:` offset is read leniently as a number of rows to skip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, false, func, or_, select, true, tuple_

from mktows.engine import positions
from mktows.engine.activities import types as activity_types
from mktows.engine.activities.log import to_activity
from mktows.engine.leads.reads import MAX_KEYS, aware, key_condition, one_lead_id
from mktows.engine.lists.members import resolve_list
from mktows.engine.models import (
    ActivityPage,
    KeySelector,
    LeadKey,
    LeadSelector,
    ListSelector,
    StreamPosition,
    UpdatedAtSelector,
)
from mktows.engine.timestamps import fits_bigint
from mktows.errors import BadParameter, BadStreamPosition
from mktows.store.tables import activities, lead_values, leads, list_members

A = activities.c
# getLeadChanges returns up to this many activities a page, also when batchSize is absent.
CHANGES_PAGE_SIZE = 1000


def type_condition(
    include: list[str] | None, exclude: list[str] | None, names: list[str] | None = None
) -> ColumnElement[bool]:
    """Filter by display names (they win), else by enum include/exclude lists."""
    if names:
        known = {t.name for t in (activity_types.by_name(n) for n in names if n) if t is not None}
        return A.type_name.in_(sorted(known)) if known else false()
    if include and exclude:
        raise BadParameter("includeTypes and excludeTypes cannot be used together")
    if include:
        return A.type_code.in_([activity_types.by_code((c or "").strip()).code for c in include])
    if exclude:
        codes = [activity_types.by_code((c or "").strip()).code for c in exclude]
        return or_(A.type_code.is_(None), A.type_code.not_in(codes))
    return true()


def _parse_offset(offset: str | None) -> tuple[int | None, int]:
    """(anchor activity id, rows to skip) from an offset string."""
    text = (offset or "").strip()
    if not text:
        return None, 0
    try:
        if text.upper().startswith("ID:"):
            anchor = int(text[3:].strip())
            if not fits_bigint(anchor):
                raise ValueError(anchor)
            return anchor, 0
        skip = int(text)
    except ValueError:
        raise BadStreamPosition(f"Invalid offset: {offset}") from None
    if skip < 0 or not fits_bigint(skip):
        raise BadStreamPosition(f"Invalid offset: {offset}")
    return None, skip


@dataclass(frozen=True)
class Window:
    """The created_at range of a stream: at or after `lower`, before `upper` (both optional)."""

    lower: datetime | None = None
    upper: datetime | None = None


def _bounds(window: Window, descending: bool, after: tuple[datetime, int] | None) -> list[ColumnElement[bool]]:
    """The created_at conditions of a page: at most one lower and one upper bound.

    An index seeks on one bound a side (SQLite takes the first and only filters with the
    others), so the window's start and the last row returned are merged here into one bound:
    written side by side, every page read the stream from the window's start. The last row is
    a (created_at, id) row value, so a page seeks past the rows that share its time (one
    sync writes hundreds of activities at the same instant) instead of reading them again.
    """
    out: list[ColumnElement[bool]] = []
    if descending:
        if after is not None and (window.upper is None or after[0] < window.upper):
            out.append(tuple_(A.created_at, A.id) < after)
        elif window.upper is not None:
            out.append(A.created_at < window.upper)
        if window.lower is not None:
            out.append(A.created_at >= window.lower)
    else:
        if after is not None and (window.lower is None or after[0] >= window.lower):
            out.append(tuple_(A.created_at, A.id) > after)
        elif window.lower is not None:
            out.append(A.created_at >= window.lower)
        if window.upper is not None:
            out.append(A.created_at < window.upper)
    return out


def _page(
    conn: Connection,
    cond: ColumnElement[bool],
    window: Window,
    position: StreamPosition,
    size: int,
    descending: bool,
) -> tuple[Sequence[Any], int, str | None]:
    """A keyset page of activities matching `cond` within `window`, after the position's row."""
    anchor, skip = _parse_offset(position.offset)
    where = and_(cond, *_bounds(window, descending, None))
    if anchor is not None:
        created = conn.execute(select(A.created_at).where(A.id == anchor)).scalar()
        if created is None:  # that activity is gone: continue by id alone
            where = and_(where, A.id < anchor if descending else A.id > anchor)
        else:
            where = and_(cond, *_bounds(window, descending, (created, anchor)))
    order = (A.created_at.desc(), A.id.desc()) if descending else (A.created_at, A.id)
    rows = conn.execute(select(activities).where(where).order_by(*order).offset(skip).limit(size)).all()
    if not rows:
        return [], 0, position.offset
    last = rows[-1]
    rest = and_(cond, *_bounds(window, descending, (last.created_at, last.id)))
    remaining = conn.execute(select(func.count()).select_from(activities).where(rest)).scalar_one()
    return rows, int(remaining), f"ID:{last.id}"


ONE_SECOND = timedelta(seconds=1)


def whole_second(moment: datetime) -> datetime:
    """Date-times go on the wire without fractions, so an upper bound covers its whole second."""
    return moment.replace(microsecond=0)


def lead_activity(
    conn: Connection,
    key: LeadKey,
    *,
    include_types: list[str] | None,
    exclude_types: list[str] | None,
    position: StreamPosition | None,
    batch_size: int | None,
    now: datetime,
) -> ActivityPage:
    types = type_condition(include_types, exclude_types)
    size = positions.page_size(batch_size, 100)
    lead_id = one_lead_id(conn, key)
    position = position or StreamPosition()
    latest = whole_second(aware(position.latest_created_at) if position.latest_created_at else now)
    oldest = aware(position.oldest_created_at) if position.oldest_created_at else None
    window = Window(lower=oldest, upper=latest + ONE_SECOND)
    rows, remaining, offset = _page(conn, and_(A.lead_id == lead_id, types), window, position, size, descending=True)
    records = [to_activity(r) for r in rows]
    if records:
        person, org = _person(conn, lead_id)
        foreign_id = conn.execute(select(leads.c.foreign_sys_person_id).where(leads.c.id == lead_id)).scalar()
        for rec in records:
            rec.person_name, rec.org_name, rec.foreign_sys_id = person, org, foreign_id or None
    new_position = StreamPosition(
        latest_created_at=latest,
        oldest_created_at=position.oldest_created_at,
        activity_created_at=position.activity_created_at,
        offset=offset,
    )
    return ActivityPage(activities=records, remaining=remaining, position=new_position)


def _person(conn: Connection, lead_id: int) -> tuple[str | None, str | None]:
    vals = dict(
        conn.execute(
            select(lead_values.c.name, lead_values.c.value).where(
                lead_values.c.lead_id == lead_id, lead_values.c.name.in_(["FirstName", "LastName", "Company"])
            )
        ).all()
    )
    person = " ".join(v for v in (vals.get("FirstName"), vals.get("LastName")) if v) or None
    return person, vals.get("Company") or None


def _selector_condition(
    conn: Connection, selector: LeadSelector | None
) -> tuple[ColumnElement[bool], datetime | None, datetime | None]:
    """Lead filter plus window bounds a LastUpdateAtSelector contributes."""
    if selector is None:
        return true(), None, None
    if isinstance(selector, KeySelector):
        if len(selector.key_values) > MAX_KEYS:
            raise BadParameter(f"Too many lead keys (max {MAX_KEYS})")
        sub = select(leads.c.id).where(key_condition(selector.key_type, selector.key_values, strict_ids=False))
        return A.lead_id.in_(sub), None, None
    if isinstance(selector, ListSelector):
        list_id = resolve_list(conn, name=selector.list_name, list_id=selector.list_id)
        sub = select(list_members.c.lead_id).where(list_members.c.list_id == list_id)
        return A.lead_id.in_(sub), None, None
    if isinstance(selector, UpdatedAtSelector):
        latest = aware(selector.latest) if selector.latest else None
        return true(), aware(selector.oldest), latest
    raise BadParameter("Unsupported lead selector")


def lead_changes(
    conn: Connection,
    position: StreamPosition | None,
    *,
    include_types: list[str] | None,
    exclude_types: list[str] | None,
    names: list[str] | None,
    batch_size: int | None,
    selector: LeadSelector | None,
) -> ActivityPage:
    position = position or StreamPosition()
    types = type_condition(include_types, exclude_types, names)
    size = positions.page_size(batch_size, CHANGES_PAGE_SIZE, default=CHANGES_PAGE_SIZE)
    lead_cond, sel_oldest, sel_latest = _selector_condition(conn, selector)
    lowers = [aware(d) for d in (position.oldest_created_at, position.activity_created_at, sel_oldest) if d]
    uppers = [aware(d) for d in (position.latest_created_at, sel_latest) if d]
    window = Window(
        lower=max(lowers) if lowers else None,
        upper=whole_second(min(uppers)) + ONE_SECOND if uppers else None,
    )
    rows, remaining, offset = _page(conn, and_(types, lead_cond), window, position, size, descending=False)
    new_position = StreamPosition(
        latest_created_at=position.latest_created_at,
        oldest_created_at=position.oldest_created_at,
        activity_created_at=position.activity_created_at,
        offset=offset,
    )
    return ActivityPage(activities=[to_activity(r) for r in rows], remaining=remaining, position=new_position)
