"""Static lists: listOperation and the membership changes that flows and imports share."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, delete, insert, select

from mktows.engine.activities.log import ActivityRow, write_activities
from mktows.engine.activities.types import ADD_TO_LIST, REMOVE_FROM_LIST
from mktows.engine.campaigns import programs
from mktows.engine.models import LeadKey, ListOperationOutcome, MemberStatus
from mktows.engine.timestamps import fits_int, storable_ids
from mktows.errors import BadParameter, LeadKeyBad, ListNotFound, ParameterRequired
from mktows.store.queries import chunks, in_values
from mktows.store.tables import leads, list_members, static_lists

MAX_MEMBERS = 1000
OPERATIONS = ("ADDTOLIST", "ISMEMBEROFLIST", "REMOVEFROMLIST")
# How a list is named: by its name here; the other two named lists of a CRM's users, which a
# self-hosted instance has none of, so they are answered "list not found".
LIST_NAME_KEY = "MKTOLISTNAME"
CRM_LIST_KEYS = ("MKTOSALESUSERID", "SFDCLEADOWNERID")
LIST_KEY_TYPES = (LIST_NAME_KEY, *CRM_LIST_KEYS)
# Not in the WSDL's list, but sent by clients generated from the oldest one (2_2 endpoints only).
CLEAR_LIST = "CLEARLIST"


def resolve_list(conn: Connection, *, name: str | None = None, list_id: int | None = None) -> int:
    """A list id from an id or a name (`programs.list_reference`); 20111 when none matches."""
    if list_id is not None:
        found = None
        if fits_int(list_id):
            found = conn.execute(select(static_lists.c.id).where(static_lists.c.id == list_id)).scalar()
        if found is None:
            raise ListNotFound(f"List not found: {list_id}")
        return int(found)
    if name is None or name.strip() == "":
        raise ParameterRequired("List name or id required")
    return programs.list_reference(conn, name)[0]


def add_list(conn: Connection, name: str, program: str | None, now: datetime) -> int:
    """Create a list, or return the existing one with the same name and program (idempotent)."""
    cond = static_lists.c.program_name.is_(None) if program is None else static_lists.c.program_name == program
    existing = conn.execute(select(static_lists.c.id).where(static_lists.c.name == name, cond)).scalar()
    if existing is not None:
        return int(existing)
    return int(
        conn.execute(
            insert(static_lists).values(name=name, program_name=program, created_at=now).returning(static_lists.c.id)
        ).scalar_one()
    )


def list_operation(
    conn: Connection,
    operation: str,
    list_key_type: str,
    list_name: str,
    members: list[LeadKey],
    *,
    strict: bool,
    skip_activity_log: bool,
    now: datetime,
) -> ListOperationOutcome:
    op = (operation or "").strip().upper()
    if op not in OPERATIONS and op != CLEAR_LIST:
        raise BadParameter(f"Unsupported list operation: {operation}")
    kt = (list_key_type or "").strip().upper()
    if kt in CRM_LIST_KEYS:
        raise ListNotFound(f"List not found: {list_key_type} = {list_name}")
    if kt != LIST_NAME_KEY:
        raise BadParameter(f"Unsupported list key type: {list_key_type}")
    if len(members) > MAX_MEMBERS:
        raise BadParameter(f"Too many leads in listMemberList (max {MAX_MEMBERS})")
    ids: list[int] = []
    for key in members:
        if (key.key_type or "").strip().upper() != "IDNUM":
            raise LeadKeyBad(
                f"listOperation takes IDNUM lead keys only (the lead's numeric id), got {key.key_type} "
                f"{key.key_value!r}; look the id up with getLead or getMultipleLeads first"
            )
        try:
            ids.append(int(str(key.key_value).strip()))
        except ValueError:
            raise LeadKeyBad(f"listOperation takes IDNUM lead keys only: {key.key_value!r} is not a lead id") from None
    list_id = resolve_list(conn, name=list_name)

    unique = storable_ids(dict.fromkeys(ids))  # an id no row can have is a lead not found
    existing = set(conn.execute(select(leads.c.id).where(in_values(leads.c.id, unique))).scalars()) if unique else set()
    members_now = (
        set(
            conn.execute(
                select(list_members.c.lead_id).where(
                    list_members.c.list_id == list_id, in_values(list_members.c.lead_id, unique)
                )
            ).scalars()
        )
        if unique
        else set()
    )
    if op == "ISMEMBEROFLIST":
        flags = [i in members_now for i in ids]
    else:
        flags = [i in existing for i in ids]
    statuses = [MemberStatus(key=k, status=f) for k, f in zip(members, flags, strict=True)]
    success = all(flags)
    if op == "ISMEMBEROFLIST":
        return ListOperationOutcome(success=success, statuses=statuses)
    if strict and not success:
        # nothing was applied, so no lead may be reported as done
        return ListOperationOutcome(success=False, statuses=[MemberStatus(key=k, status=False) for k in members])

    log = not skip_activity_log
    if op == "ADDTOLIST":
        add_members(conn, list_id, [i for i in unique if i in existing], now, log_activities=log)
    elif op == CLEAR_LIST:
        clear_members(conn, list_id, now, log_activities=log)
    else:
        remove_members(conn, list_id, [i for i in unique if i in members_now], now, log_activities=log)
    return ListOperationOutcome(success=success, statuses=statuses)


def add_members(
    conn: Connection,
    list_id: int,
    lead_ids: list[int],
    now: datetime,
    *,
    log_activities: bool = True,
    campaign: str | None = None,
) -> list[int]:
    """Add existing leads to a list; only new members get an `Add to List` activity. Returns them."""
    unique = list(dict.fromkeys(lead_ids))
    if not unique:
        return []
    present: set[int] = set()
    for part in chunks(unique):
        present.update(
            conn.execute(
                select(list_members.c.lead_id).where(
                    list_members.c.list_id == list_id, in_values(list_members.c.lead_id, part)
                )
            ).scalars()
        )
    to_add = [i for i in unique if i not in present]
    if to_add:
        conn.execute(insert(list_members), [{"list_id": list_id, "lead_id": i, "created_at": now} for i in to_add])
        if log_activities:
            label = conn.execute(select(static_lists.c.name).where(static_lists.c.id == list_id)).scalar_one()
            write_activities(conn, [list_event(ADD_TO_LIST, i, list_id, label, now, campaign) for i in to_add])
    return to_add


def remove_members(
    conn: Connection,
    list_id: int,
    lead_ids: list[int],
    now: datetime,
    *,
    log_activities: bool = True,
    campaign: str | None = None,
) -> list[int]:
    """Remove leads from a list; only former members get a `Remove from List` activity. Returns them."""
    unique = list(dict.fromkeys(lead_ids))
    removed: list[int] = []
    for part in chunks(unique):
        cond = and_(list_members.c.list_id == list_id, in_values(list_members.c.lead_id, part))
        present = set(conn.execute(select(list_members.c.lead_id).where(cond)).scalars())
        if present:
            conn.execute(delete(list_members).where(cond))
            removed += [i for i in part if i in present]
    if removed and log_activities:
        label = conn.execute(select(static_lists.c.name).where(static_lists.c.id == list_id)).scalar_one()
        write_activities(conn, [list_event(REMOVE_FROM_LIST, i, list_id, label, now, campaign) for i in removed])
    return removed


def clear_members(conn: Connection, list_id: int, now: datetime, *, log_activities: bool = True) -> list[int]:
    """Empty a list, logging `Remove from List` for each former member. Returns them."""
    removed = list(conn.execute(select(list_members.c.lead_id).where(list_members.c.list_id == list_id)).scalars())
    if removed:
        conn.execute(delete(list_members).where(list_members.c.list_id == list_id))
        if log_activities:
            label = conn.execute(select(static_lists.c.name).where(static_lists.c.id == list_id)).scalar_one()
            write_activities(conn, [list_event(REMOVE_FROM_LIST, i, list_id, label, now) for i in removed])
    return removed


def list_event(
    kind: object, lead_id: int, list_id: int, list_name: str, now: datetime, campaign: str | None = None
) -> ActivityRow:
    """`Add to List` / `Remove from List`: asset = list name, List ID and Lead ID."""
    return ActivityRow(
        lead_id=lead_id,
        created_at=now,
        type=kind,  # type: ignore[arg-type]
        asset_name=list_name,
        attributes=[("List ID", str(list_id)), ("Lead ID", str(lead_id))],
        campaign=campaign,
    )


def list_names(conn: Connection) -> list[tuple[int, str, str | None]]:
    """(id, name, program) of every static list."""
    rows = conn.execute(select(static_lists.c.id, static_lists.c.name, static_lists.c.program_name))
    return [(r.id, r.name, r.program_name) for r in rows.all()]
