"""The channel and tag catalogue the instance file declares: getChannels, getTags and the one
reader of a channel's progression statuses.

Names match case-insensitively; what comes back is spelt as declared. A tag-type filter keeps
the listed types and, when values are given, only those values (no values: all of them); the
`Channel` type is never a tag type here: channels are their own table.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Row, func, select

from mktows.engine.models import ChannelInfo, ProgressionStatus, TagTypeInfo
from mktows.store.tables import channels, tag_types

CHANNEL_TAG_TYPE = "Channel"


def _channel_info(row: Row[Any]) -> ChannelInfo:
    """Statuses in declared (progression) order."""
    statuses = [
        ProgressionStatus(s["name"], int(s["step"]), bool(s["success"]), s.get("check_in"), s.get("webinar"))
        for s in json.loads(row.statuses)
    ]
    return ChannelInfo(row.name, row.kind, statuses)


def channel_or_none(conn: Connection, name: str) -> ChannelInfo | None:
    row = conn.execute(select(channels).where(channels.c.name_lower == (name or "").strip().lower())).first()
    return _channel_info(row) if row is not None else None


def channel_statuses(conn: Connection, channel: str | None) -> list[ProgressionStatus]:
    """The channel's progression statuses by step (declared order within a step); [] when the
    channel is unknown or not given."""
    found = channel_or_none(conn, channel or "")
    return sorted(found.statuses, key=lambda s: s.step) if found is not None else []


def get_channels(conn: Connection, names: list[str] | None) -> list[ChannelInfo]:
    """Every channel, or those named (unknown names are left out), by name, each with its
    statuses sorted by status name, as the vendor's sample shows."""
    query = select(channels)
    wanted = {n.strip().lower() for n in names or () if n and n.strip()}
    if wanted:
        query = query.where(channels.c.name_lower.in_(wanted))
    found = [_channel_info(row) for row in conn.execute(query)]
    for channel in found:
        channel.statuses.sort(key=lambda s: (s.name.lower(), s.name))
    return sorted(found, key=lambda c: (c.name.lower(), c.name))


def get_tags(conn: Connection, wanted: list[tuple[str, list[str]]] | None) -> list[TagTypeInfo]:
    """The tag types (by name) with their values in stored order; `wanted` filters them.

    `wanted` holds (type, values) pairs: a type with no values keeps all of its values, a type
    with values keeps only those; a type listed twice keeps the union. Unknown types, and types
    none of whose listed values exist, are left out.
    """
    query = select(tag_types.c.name, tag_types.c.tag_values)
    keep: dict[str, set[str] | None] = {}
    for type_name, values in wanted or ():
        key = type_name.strip().lower()
        given = {v.strip().lower() for v in values if v and v.strip()}
        if key in keep and keep[key] is None or not given:
            keep[key] = None
        else:
            keep[key] = (keep.get(key) or set()) | given
    if wanted:
        query = query.where(tag_types.c.name_lower.in_(list(keep)))
    out: list[TagTypeInfo] = []
    for row in conn.execute(query.order_by(func.lower(tag_types.c.name), tag_types.c.name)):
        tag_values: list[str] = json.loads(row.tag_values)
        only = keep.get(row.name.lower())
        if only is not None:
            tag_values = [v for v in tag_values if v.lower() in only]
        if tag_values:
            out.append(TagTypeInfo(row.name, tag_values))
    return out


def tag_type_or_none(conn: Connection, name: str) -> TagTypeInfo | None:
    row = conn.execute(select(tag_types).where(tag_types.c.name_lower == (name or "").strip().lower())).first()
    return TagTypeInfo(row.name, json.loads(row.tag_values)) if row is not None else None


def declared_value(tag_type: TagTypeInfo, value: str) -> str | None:
    """`value` as the tag type spells it, or None when it is not one of its values."""
    wanted = (value or "").strip().lower()
    return next((v for v in tag_type.values if v.lower() == wanted), None)
