"""Reading leads: key lookups, loading records in bulk, and keyset pages.

Every read loads leads with two queries (rows, then values) whatever the page size,
so there is no per-lead query anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, false, func, select, tuple_

from mktows.engine import positions
from mktows.engine.leads.fields import TOP_LEVEL, FieldRegistry
from mktows.engine.lists.members import resolve_list
from mktows.engine.models import (
    KeySelector,
    Lead,
    LeadAttribute,
    LeadKey,
    LeadPage,
    LeadSelector,
    ListSelector,
    UpdatedAtSelector,
)
from mktows.engine.timestamps import storable_ids
from mktows.errors import (
    BadStreamPosition,
    LeadKeyBad,
    LeadKeyRequired,
    LeadNotFound,
    LeadOwnerNotFound,
    MarketoError,
    ParameterRequired,
    TimeRangeExceeded,
)
from mktows.store.queries import chunks, in_values, plain_rows
from mktows.store.tables import cookies, lead_values, leads, list_members

MAX_KEYS = 100
# getMultipleLeads returns up to this many leads a page when batchSize is absent.
LEADS_PAGE_SIZE = 1000
# A stream's remaining count is counted exactly on its first page and once fewer than this
# many leads are left; in between it is carried from page to page.
EXACT_COUNT_BELOW = 10_000

KEY_COLUMNS = {
    "SFDCACCOUNTID": leads.c.sfdc_account_id,
    "SFDCCONTACTID": leads.c.sfdc_contact_id,
    "SFDCLEADID": leads.c.sfdc_lead_id,
    "SFDCLEADOWNERID": leads.c.sfdc_lead_owner_id,
    "SFDCOPPTYID": leads.c.sfdc_oppty_id,
}
KEY_TYPES = ("IDNUM", "COOKIE", "EMAIL", "LEADOWNEREMAIL", *KEY_COLUMNS)

# Lead columns a sync may write (everything else is a name/value row in lead_values).
LEAD_COLUMNS = (
    "email",
    "foreign_sys_person_id",
    "foreign_sys_type",
    "sfdc_lead_id",
    "sfdc_contact_id",
    "sfdc_account_id",
    "sfdc_lead_owner_id",
    "sfdc_oppty_id",
    "lead_owner_email",
    "anonymous",
    "workspace",
    "partition",
)


def aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def key_condition(key_type: str, values: Sequence[str], *, strict_ids: bool) -> ColumnElement[bool]:
    """WHERE clause matching any of `values` for a LeadKeyRef; unknown key type is 20102."""
    kt = (key_type or "").strip().upper()
    vals = [v.strip() for v in values if v is not None and v.strip() != ""]
    if kt == "IDNUM":
        ids: list[int] = []
        for v in vals:
            try:
                ids.append(int(v))
            except ValueError:
                if strict_ids:
                    raise LeadKeyBad(f"Invalid IDNUM key value: {v}") from None
        ids = storable_ids(ids)  # a number no id column can hold is a lead nobody has
        return in_values(leads.c.id, ids) if ids else false()
    if kt == "EMAIL":
        return in_values(leads.c.email_lower, [v.lower() for v in vals]) if vals else false()
    if kt == "COOKIE":
        sub = select(cookies.c.lead_id).where(in_values(cookies.c.cookie, vals))
        return leads.c.id.in_(sub) if vals else false()
    if kt == "LEADOWNEREMAIL":
        return in_values(func.lower(leads.c.lead_owner_email), [v.lower() for v in vals]) if vals else false()
    if kt in KEY_COLUMNS:
        return in_values(KEY_COLUMNS[kt], vals) if vals else false()
    raise LeadKeyBad(f"Unsupported lead key type: {key_type}")


def find_ids(conn: Connection, key: LeadKey, *, newest_first: bool = False) -> list[int]:
    """Ids of leads matching one key (by id, or most recently updated first)."""
    if key.key_value is None or str(key.key_value).strip() == "":
        raise LeadKeyRequired("Lead key value required")
    cond = key_condition(key.key_type, [str(key.key_value)], strict_ids=True)
    order = (leads.c.updated_at.desc(), leads.c.id.desc()) if newest_first else (leads.c.id,)
    return list(conn.execute(select(leads.c.id).where(cond).order_by(*order)).scalars())


# Key types that name the lead's owner (a sales person), not the lead itself.
OWNER_KEY_TYPES = ("LEADOWNEREMAIL", "SFDCLEADOWNERID")


def not_found(key: LeadKey) -> MarketoError:
    """20103 for a key that matches no lead; 20108 when the key names an owner no lead has."""
    key_type = key.key_type.strip().upper()
    if key_type in OWNER_KEY_TYPES:
        return LeadOwnerNotFound(f"No lead owner found with {key_type} = {key.key_value}")
    return LeadNotFound(f"No lead found with {key_type} = {key.key_value}")


def one_lead_id(conn: Connection, key: LeadKey) -> int:
    """The lead a single-lead call means: the most recently updated match."""
    ids = find_ids(conn, key, newest_first=True)
    if not ids:
        raise not_found(key)
    return ids[0]


_by_name = attrgetter("name")
_BASE_COLUMNS = ("id", "email", "foreign_sys_person_id", "foreign_sys_type", "created_at", "updated_at")


class _LeadReader:
    """How to read lead records with a given field selection: the lead columns to select, then
    the name/value rows of the same leads, assembled into `Lead`s."""

    def __init__(self, registry: FieldRegistry, include: Iterable[str] | None) -> None:
        wanted = set(include) if include is not None else None
        col_fields = [f for f in registry if f.column and f.name not in TOP_LEVEL]
        if wanted is not None:
            col_fields = [f for f in col_fields if f.name in wanted]
        # one (name, type) pair per field, shared by every attribute of the page
        self.value_types = {f.name: (f.name, f.data_type) for f in registry if not f.column}
        self.col_types = [(f.name, f.data_type) for f in col_fields]
        self.columns = [leads.c[c] for c in _BASE_COLUMNS] + [leads.c[f.column] for f in col_fields if f.column]
        self.names = [n for n in self.value_types if wanted is None or n in wanted]
        self.narrowed = wanted is not None
        self.values: dict[int, list[LeadAttribute]] = {}

    def rows(self, condition: ColumnElement[bool]) -> Any:
        return select(*self.columns).where(condition)

    def read(self, conn: Connection, statement: Any) -> list[Lead]:
        """The leads `statement` (made from `rows`) selects, in its order, with their values."""
        rows = conn.execute(statement).all()
        for part in chunks([row[0] for row in rows]):
            self.read_values(conn, part)
        return [self.lead(row) for row in rows]

    def read_values(self, conn: Connection, ids: Sequence[int]) -> None:
        """The name/value attributes of `ids` (at most one chunk), kept for `lead`."""
        for lead_id in ids:
            self.values.setdefault(lead_id, [])
        if not self.names:
            return
        q = select(lead_values.c.lead_id, lead_values.c.name, lead_values.c.value).where(
            in_values(lead_values.c.lead_id, ids)
        )
        if self.narrowed:
            q = q.where(in_values(lead_values.c.name, self.names))
        value_types, values = self.value_types, self.values
        for lead_id, name, value in plain_rows(conn, q):
            known = value_types.get(name)
            if known is not None and value != "":
                values[lead_id].append(LeadAttribute(known[0], known[1], value))

    def lead(self, row: Any) -> Lead:
        attrs = list(self.values.get(row[0], ()))  # a copy: an id may be asked for twice
        for offset, (name, data_type) in enumerate(self.col_types, len(_BASE_COLUMNS)):
            v = row[offset]
            if v is not None and v != "":
                attrs.append(LeadAttribute(name, data_type, str(v)))
        attrs.sort(key=_by_name)
        return Lead(
            id=row[0],
            email=row[1],
            foreign_sys_person_id=row[2],
            foreign_sys_type=row[3],
            attributes=attrs,
            created_at=row[4],
            updated_at=row[5],
        )


def load_leads(
    conn: Connection, registry: FieldRegistry, ids: Sequence[int], include: Iterable[str] | None = None
) -> list[Lead]:
    """Lead records for `ids`, in that order; `include` (canonical names) narrows the values fetched."""
    if not ids:
        return []
    reader = _LeadReader(registry, include)
    rows: dict[int, Any] = {}
    for part in chunks(list(dict.fromkeys(ids))):
        for row in conn.execute(reader.rows(in_values(leads.c.id, part))).all():
            rows[row[0]] = row
        reader.read_values(conn, part)
    return [reader.lead(rows[i]) for i in ids if i in rows]


def get_leads(conn: Connection, registry: FieldRegistry, key: LeadKey) -> list[Lead]:
    """getLead: every lead matching the key, or 20103. The leads' rows are read by the key
    itself (no separate id lookup: this is the most frequent call of all)."""
    if key.key_value is None or str(key.key_value).strip() == "":
        raise LeadKeyRequired("Lead key value required")
    reader = _LeadReader(registry, None)
    condition = key_condition(key.key_type, [str(key.key_value)], strict_ids=True)
    found = reader.read(conn, reader.rows(condition).order_by(leads.c.id))
    if not found:
        raise not_found(key)
    return found


# --- getMultipleLeads -------------------------------------------------------------------


def _stream_kind(selector: LeadSelector, list_id: int | None) -> dict[str, Any]:
    """What a position binds: the selector's kind, and its list or key type, never its dates
    or key values, so a client may send a fresh end date (its "now") with every page."""
    if isinstance(selector, KeySelector):
        return {"t": "key", "kt": selector.key_type.strip().upper()}
    if isinstance(selector, ListSelector):
        return {"t": "list", "id": list_id}
    if isinstance(selector, UpdatedAtSelector):
        return {"t": "upd"}
    raise ParameterRequired("Lead selector required")


def _update_window(
    selector: UpdatedAtSelector, state: dict[str, Any] | None, now: datetime, max_window_days: int
) -> tuple[datetime, datetime]:
    """(oldest, latest) of a LastUpdateAtSelector page.

    The dates sent with this call apply. Without `latestUpdatedAt` the stream ends where its
    first page found "now", so leads updated while a client pages do not come round again.
    Only a window with both ends given is limited to `max_window_days`.
    """
    oldest = aware(selector.oldest)
    if selector.latest is not None:
        latest = aware(selector.latest)
        if latest - oldest > timedelta(days=max_window_days):
            raise TimeRangeExceeded(
                f"Time range exceeds {max_window_days} days: oldestUpdatedAt {oldest.isoformat()} to "
                f"latestUpdatedAt {latest.isoformat()} (leave latestUpdatedAt out to read everything since)"
            )
        return oldest, latest
    if state is None:
        return oldest, now
    try:
        return oldest, datetime.fromisoformat(state["w"])
    except (KeyError, TypeError, ValueError):
        raise BadStreamPosition("Invalid stream position") from None


def _last_row(state: dict[str, Any]) -> tuple[datetime, int]:
    """(updated_at, id) of the last lead a LastUpdateAtSelector position returned."""
    try:
        ts_text, last_id = state["k"]
        return aware(datetime.fromisoformat(ts_text)), int(last_id)
    except (KeyError, TypeError, ValueError):
        raise BadStreamPosition("Invalid stream position") from None


def _member_ids(conn: Connection, list_id: int, after: int, size: int) -> list[int]:
    """The ids of a list's next `size` members after lead `after`: a range of the list's
    primary key, so a page costs the same wherever the stream is (a join or an IN over the
    whole list made every page read the list from its start)."""
    q = select(list_members.c.lead_id).where(list_members.c.list_id == list_id, list_members.c.lead_id > after)
    return list(conn.execute(q.order_by(list_members.c.lead_id).limit(size)).scalars())


def _last_id(state: dict[str, Any]) -> int:
    """The id of the last lead a key or list position returned."""
    try:
        return int(state["k"])
    except (KeyError, TypeError, ValueError):
        raise BadStreamPosition("Invalid stream position") from None


def _updated_between(oldest: datetime, latest: datetime, after: tuple[datetime, int] | None) -> ColumnElement[bool]:
    """Leads updated from `oldest` to `latest`, after the row `after` in (updated_at, id) order.

    One lower bound only: an index seeks on one bound a side (SQLite takes the first and
    filters with the others), so the window's start written beside the position's row made
    every page read the window from its start. The row value seeks past the leads updated at
    the same instant as the last one (a sync updates hundreds at once) instead of reading them.
    """
    if after is not None and after[0] >= oldest:
        lower = tuple_(leads.c.updated_at, leads.c.id) > after
    else:
        lower = leads.c.updated_at >= oldest
    return and_(lower, leads.c.updated_at <= latest)


def _within_budget(page: list[Lead], max_bytes: int) -> list[Lead]:
    """The leading leads of a page whose values fit in `max_bytes` (at least one), so a page of
    leads with huge values ends early instead of growing the response without bound."""
    total = 0
    for count, lead in enumerate(page):
        total += sum(len(a.value) for a in lead.attributes) + len(lead.email or "")
        if total > max_bytes and count > 0:
            return page[:count]
    return page


def _carried_count(
    conn: Connection, state: dict[str, Any] | None, returned: int, window: tuple[datetime, datetime] | None
) -> int | None:
    """The remaining count carried from the previous page, less this page's leads; None when
    it must be counted again (a first page, or a window that lost its start or end).

    Counting what is left costs a walk over it, so counting on every page made a whole
    stream cost the square of its length. A window whose end moved forward (a client that
    sends its "now" with every page) adds only the leads of the new slice.
    """
    carried = state.get("r") if state else None
    if not isinstance(carried, int):
        return None
    estimate = carried - returned
    if window is None:
        return estimate
    oldest, latest = window
    try:
        old_oldest, old_latest = datetime.fromisoformat(state["o"]), datetime.fromisoformat(state["w"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return None
    if oldest != old_oldest or latest < old_latest:
        return None
    if latest > old_latest:
        new_slice = and_(leads.c.updated_at > old_latest, leads.c.updated_at <= latest)
        estimate += conn.execute(select(func.count()).select_from(leads).where(new_slice)).scalar_one()
    return estimate


def page_leads(
    conn: Connection,
    registry: FieldRegistry,
    selector: LeadSelector | None,
    *,
    secret: bytes,
    now: datetime,
    position: str | None,
    batch_size: int | None,
    include_attributes: list[str] | None,
    max_batch_size: int,
    max_window_days: int,
    max_page_bytes: int = 32 * 1024 * 1024,
) -> LeadPage:
    """One keyset page: WHERE key > last ORDER BY key LIMIT n, plus the remaining count."""
    if selector is None:
        raise ParameterRequired("Lead selector required")
    size = positions.page_size(batch_size, max_batch_size, default=LEADS_PAGE_SIZE)
    list_id: int | None = None
    if isinstance(selector, ListSelector):
        list_id = resolve_list(conn, name=selector.list_name, list_id=selector.list_id)
    qhash = positions.query_hash(_stream_kind(selector, list_id))
    state = positions.decode(secret, position, qhash, now=now.timestamp()) if position else None

    window: tuple[datetime, datetime] | None = None  # (oldest, latest) of a LastUpdateAtSelector
    if isinstance(selector, KeySelector):
        base = key_condition(selector.key_type, list(selector.key_values[:MAX_KEYS]), strict_ids=False)
    elif isinstance(selector, ListSelector):
        assert list_id is not None
        base = leads.c.id.in_(_member_ids(conn, list_id, _last_id(state) if state else 0, size))
    else:
        assert isinstance(selector, UpdatedAtSelector)
        window = _update_window(selector, state, now, max_window_days)
        base = _updated_between(*window, None)

    if state is None or list_id is not None:  # a list's page of ids starts after the position
        cond = base
    elif window is not None:
        cond = _updated_between(*window, _last_row(state))
    else:
        cond = and_(base, leads.c.id > _last_id(state))
    order = (leads.c.updated_at, leads.c.id) if window is not None else (leads.c.id,)
    include: list[str] | None = None
    if include_attributes:
        include = [f.name for f in (registry.get(n) for n in include_attributes) if f is not None]
    reader = _LeadReader(registry, include)
    found = reader.read(conn, reader.rows(cond).order_by(*order).limit(size))
    page = _within_budget(found, max_page_bytes)
    at_end = len(found) < size and len(page) == len(found)
    remaining = 0
    new_position = ""
    if page and not at_end:
        last = page[-1]
        if window is not None:
            rest = select(func.count()).select_from(leads).where(_updated_between(*window, (last.updated_at, last.id)))
        elif list_id is not None:
            rest = select(func.count()).where(list_members.c.list_id == list_id, list_members.c.lead_id > last.id)
        else:
            rest = select(func.count()).select_from(leads).where(and_(base, leads.c.id > last.id))
        estimate = None if isinstance(selector, KeySelector) else _carried_count(conn, state, len(page), window)
        remaining = (
            estimate if estimate is not None and estimate >= EXACT_COUNT_BELOW else conn.execute(rest).scalar_one()
        )
        if remaining:
            payload: dict[str, Any] = {"q": qhash, "r": remaining}
            if window is not None:
                payload["k"] = [last.updated_at.isoformat(), last.id]
                payload["o"], payload["w"] = (moment.isoformat() for moment in window)
            else:
                payload["k"] = last.id
            new_position = positions.encode(secret, payload, now=now.timestamp())
    return LeadPage(leads=page, remaining=remaining, stream_position=new_position)
