"""Programs, their lists, emails and campaigns: lookups and cloning.

Names match case-insensitively; unknown programs and campaigns raise CampaignNotFound
(20113), unknown lists ListNotFound (20111), unknown emails BadParameter (20110).
A dotted reference (`Program.Campaign`, `Program.Email`, `Program.List`) is tried at every
dot, because program names may contain dots themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, select, update

from mktows.engine.models import CampaignInfo, EmailInfo, ProgramInfo
from mktows.engine.timestamps import fits_int
from mktows.errors import BadParameter, CampaignNotFound, ListNotFound
from mktows.store.tables import (
    campaigns,
    emails,
    program_tags,
    programs,
    static_lists,
    tag_types,
    workspaces,
)


def _splits(name: str) -> Iterator[tuple[str, str]]:
    """Every (prefix, rest) split of a dotted name, leftmost dot first."""
    for i, ch in enumerate(name):
        if ch == ".":
            yield name[:i].strip(), name[i + 1 :].strip()


def name_key(name: str) -> str:
    return name.strip().lower()


# --- programs --------------------------------------------------------------------------


def _program_query() -> Any:
    return select(programs, workspaces.c.name.label("workspace_name")).join(
        workspaces, workspaces.c.id == programs.c.workspace_id
    )


def _program_info(conn: Connection, row: Row[Any]) -> ProgramInfo:
    return ProgramInfo(
        id=row.id,
        name=row.name,
        type=row.type,
        channel=row.channel,
        workspace=row.workspace_name,
        tokens=[(n, v) for n, v in json.loads(row.tokens)],
        tags=tags_of(conn, [row.id]).get(row.id, []),
        description=row.description,
    )


def program_or_none(conn: Connection, name: str) -> ProgramInfo | None:
    row = conn.execute(_program_query().where(programs.c.name_lower == name_key(name))).first()
    return _program_info(conn, row) if row is not None else None


def find_program(conn: Connection, name: str) -> ProgramInfo:
    found = program_or_none(conn, name or "")
    if found is None:
        raise CampaignNotFound(f"Program not found: {name}")
    return found


def program_by_id(conn: Connection, program_id: int) -> ProgramInfo:
    row = conn.execute(_program_query().where(programs.c.id == program_id)).first()
    if row is None:
        raise CampaignNotFound(f"Program not found: {program_id}")
    return _program_info(conn, row)


# --- tags ------------------------------------------------------------------------------


def tags_of(conn: Connection, program_ids: Iterable[int]) -> dict[int, list[tuple[str, str]]]:
    """Each program's (tag type, value) pairs, in the catalogue's order of tag types."""
    ids = list(program_ids)
    query = (
        select(program_tags.c.program_id, program_tags.c.tag_type, program_tags.c.tag_value)
        .outerjoin(tag_types, tag_types.c.name == program_tags.c.tag_type)
        .where(program_tags.c.program_id.in_(ids))
        .order_by(program_tags.c.program_id, tag_types.c.id, program_tags.c.tag_type)
    )
    out: dict[int, list[tuple[str, str]]] = {}
    for row in conn.execute(query) if ids else ():
        out.setdefault(row.program_id, []).append((row.tag_type, row.tag_value))
    return out


def set_tag(conn: Connection, program_id: int, tag_type: str, value: str) -> bool:
    """Give the program this value of `tag_type` (both as the catalogue spells them), replacing
    the one it had; False when it already had it."""
    mine = (program_tags.c.program_id == program_id) & (program_tags.c.tag_type == tag_type)
    stored = conn.execute(select(program_tags.c.tag_value).where(mine)).scalar()
    if stored == value:
        return False
    if stored is None:
        conn.execute(insert(program_tags).values(program_id=program_id, tag_type=tag_type, tag_value=value))
    else:
        conn.execute(update(program_tags).where(mine).values(tag_value=value))
    return True


# --- campaigns -------------------------------------------------------------------------


def _campaign_query() -> Any:
    return select(campaigns, programs.c.name.label("program_name")).outerjoin(
        programs, programs.c.id == campaigns.c.program_id
    )


def _campaign_info(row: Row[Any]) -> CampaignInfo:
    return CampaignInfo(
        id=row.id,
        program_id=row.program_id,
        program_name=row.program_name,
        name=row.name,
        description=row.description or "",
        kind=row.kind,
        sources=json.loads(row.sources),
        smart_list=json.loads(row.smart_list),
        filter_logic=row.filter_logic,
        flow=json.loads(row.flow),
        qualification=row.qualification,
        active=bool(row.active),
    )


def _campaign_in(conn: Connection, program_id: int | None, name: str) -> CampaignInfo | None:
    owner = campaigns.c.program_id.is_(None) if program_id is None else campaigns.c.program_id == program_id
    row = conn.execute(_campaign_query().where(owner, campaigns.c.name_lower == name_key(name))).first()
    return _campaign_info(row) if row is not None else None


def campaign_or_none(conn: Connection, program_name: str | None, campaign_name: str) -> CampaignInfo | None:
    """`find_campaign` without the fault."""
    name = (campaign_name or "").strip()
    if program_name is not None and program_name.strip():
        program = program_or_none(conn, program_name)
        if program is None:
            return None
        found = _campaign_in(conn, program.id, name)
        if found is None:
            for prefix, rest in _splits(name):
                if name_key(prefix) == program.name.lower():
                    found = _campaign_in(conn, program.id, rest)
                    if found is not None:
                        break
        return found
    found = _campaign_in(conn, None, name)
    for prefix, rest in _splits(name):
        if found is not None:
            break
        program = program_or_none(conn, prefix)
        if program is not None:
            found = _campaign_in(conn, program.id, rest)
    return found


def find_campaign(conn: Connection, program_name: str | None, campaign_name: str) -> CampaignInfo:
    """By program + campaign name; `campaign_name` may also be `Program.Campaign`."""
    found = campaign_or_none(conn, program_name, campaign_name)
    if found is None:
        where = f"{program_name}." if program_name else ""
        raise CampaignNotFound(f"Campaign not found: {where}{campaign_name}")
    return found


def campaign_by_id(conn: Connection, campaign_id: int) -> CampaignInfo:
    found = _campaign_query().where(campaigns.c.id == campaign_id) if fits_int(campaign_id) else None
    row = conn.execute(found).first() if found is not None else None
    if row is None:
        raise CampaignNotFound(f"Campaign not found: {campaign_id}")
    return _campaign_info(row)


def campaigns_for_source(conn: Connection, source: str, name: str | None, exact: bool) -> list[CampaignInfo]:
    """Active trigger campaigns requestable from `source` (MKTOWS/SALES), filtered on the full
    name (exact, or case-insensitive contains), sorted by full name then id."""
    wanted = (source or "").strip().upper()
    rows = conn.execute(_campaign_query().where(campaigns.c.kind == "trigger", campaigns.c.active.is_(True)))
    found = [c for c in map(_campaign_info, rows) if wanted in c.sources]
    if name:
        if exact:
            found = [c for c in found if c.full_name == name]
        else:
            part = name.lower()
            found = [c for c in found if part in c.full_name.lower()]
    return sorted(found, key=lambda c: (c.full_name, c.id))


# --- emails ----------------------------------------------------------------------------


def _email_info(row: Row[Any]) -> EmailInfo:
    return EmailInfo(
        id=row.id,
        program_id=row.program_id,
        name=row.name,
        from_name=row.from_name,
        from_email=row.from_email,
        reply_to=row.reply_to,
        subject=row.subject,
        html=row.html,
        text=row.text,
    )


def _email_in(conn: Connection, program_id: int, name: str) -> EmailInfo | None:
    row = conn.execute(
        select(emails).where(emails.c.program_id == program_id, emails.c.name_lower == name_key(name))
    ).first()
    return _email_info(row) if row is not None else None


def email_or_none(conn: Connection, program_id: int | None, name: str) -> EmailInfo | None:
    """`find_email` without the fault."""
    if program_id is not None:
        found = _email_in(conn, program_id, name)
        if found is not None:
            return found
    for prefix, rest in _splits(name):
        program = program_or_none(conn, prefix)
        if program is not None:
            found = _email_in(conn, program.id, rest)
            if found is not None:
                return found
    return None


def find_email(conn: Connection, program_id: int | None, name: str) -> EmailInfo:
    """An email of the program by name, or `Program.Email` anywhere."""
    found = email_or_none(conn, program_id, name or "")
    if found is None:
        raise BadParameter(f"Email not found: {name}")
    return found


def email_by_id(conn: Connection, email_id: int) -> EmailInfo:
    row = conn.execute(select(emails).where(emails.c.id == email_id)).first()
    if row is None:
        raise BadParameter(f"Email not found: {email_id}")
    return _email_info(row)


# --- lists -----------------------------------------------------------------------------


def _list_rows(conn: Connection, name: str, program: str | None) -> list[Row[Any]]:
    cond = (
        static_lists.c.program_name.is_(None)
        if program is None
        else func.lower(static_lists.c.program_name) == name_key(program)
    )
    query = select(static_lists.c.id, static_lists.c.name, static_lists.c.program_name)
    return list(
        conn.execute(query.where(func.lower(static_lists.c.name) == name_key(name), cond).order_by(static_lists.c.id))
    )


def program_list_id(conn: Connection, program_name: str, list_name: str) -> int:
    """The static list `list_name` inside `program_name` (importToList, getImportToListStatus)."""
    program = find_program(conn, program_name)
    rows = _list_rows(conn, list_name or "", program.name)
    if not rows:
        raise ListNotFound(f"List not found: {program.name}.{list_name}")
    return int(rows[0].id)


def list_reference(conn: Connection, name: str, program_name: str | None = None) -> tuple[int, str]:
    """A list name, as listOperation, a selector, a smart list or a flow step gives it ->
    (list id, canonical reference). Names compare ignoring case.

    Order: a global list with that name; the list of that name in `program_name` (a
    campaign's own program); the one program list of that name when no other program has
    one; `Program.List`. Two candidates at the first step that finds any is 20110. The
    canonical reference is the global name or `Program.List` in stored case.
    """
    name = (name or "").strip()
    found = _list_rows(conn, name, None)
    if len(found) > 1:
        raise BadParameter(f"List name is ambiguous: {name}")
    if not found and program_name:
        found = _list_rows(conn, name, program_name)
    shared: list[Row[Any]] = []
    if not found:
        shared = _program_lists_named(conn, name)
        if len(shared) == 1:
            found = shared
    if not found:
        found = [row for prefix, rest in _splits(name) for row in _list_rows(conn, rest, prefix)]
        if len(found) > 1:
            raise BadParameter(f"List name is ambiguous: {name} names lists of several programs")
    if not found and len(shared) > 1:
        names = ", ".join(f"{r.program_name}.{r.name}" for r in shared)
        raise BadParameter(
            f"List name is ambiguous: {name} is a list of several programs ({names}); name it Program.List"
        )
    if not found:
        raise ListNotFound(f"List not found: {name}")
    row = found[0]
    canonical = row.name if row.program_name is None else f"{row.program_name}.{row.name}"
    return int(row.id), canonical


def _program_lists_named(conn: Connection, name: str) -> list[Row[Any]]:
    query = select(static_lists.c.id, static_lists.c.name, static_lists.c.program_name)
    cond = and_(func.lower(static_lists.c.name) == name_key(name), static_lists.c.program_name.is_not(None))
    return list(conn.execute(query.where(cond).order_by(static_lists.c.id)))
