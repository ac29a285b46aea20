"""The lead field registry as stored: the standard fields plus the custom ones of this instance."""

from __future__ import annotations

import uuid
from datetime import datetime
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.engine import Engine as SAEngine

from mktows.engine.leads.fields import FIELD_TYPES, STANDARD_BY_LOWER, Field, FieldRegistry
from mktows.engine.models import FieldInfo
from mktows.errors import BadParameter
from mktows.store.tables import lead_fields, server_meta

FIELDS_VERSION = "fields_version"  # server_meta key rewritten by every field change


# Per database: (the fields stamp the registry was loaded under, the registry).
_REGISTRIES: WeakKeyDictionary[SAEngine, tuple[str, FieldRegistry]] = WeakKeyDictionary()


def field_registry(conn: Connection) -> FieldRegistry:
    """Standard fields plus the custom ones stored in the database.

    The list is kept per process and reloaded when the stamp that every field change rewrites
    (in the same transaction) differs from the one it was loaded under; a rolled-back change
    leaves a stamp that no committed state ever has.
    """
    stamp = conn.execute(select(server_meta.c.value).where(server_meta.c.key == FIELDS_VERSION)).scalar() or ""
    cached = _REGISTRIES.get(conn.engine)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    rows = conn.execute(select(lead_fields).order_by(lead_fields.c.name))
    loaded = FieldRegistry(
        Field(r.name, r.display_name, r.data_type, r.size, bool(r.read_only), custom=True) for r in rows
    )
    _REGISTRIES[conn.engine] = (stamp, loaded)
    return loaded


def put_field(conn: Connection, info: FieldInfo, now: datetime) -> None:
    """Add a custom field or update its label/type (idempotent; no DDL)."""
    name = info.name.strip()
    if not name or any(c.isspace() for c in name):
        raise BadParameter(f"Invalid field name: {info.name!r}")
    if name.lower() in STANDARD_BY_LOWER:
        raise BadParameter(f"{name} is a standard field")
    dtype = info.data_type.strip().lower()
    if dtype not in FIELD_TYPES:
        raise BadParameter(f"Unknown field type {info.data_type!r}; expected one of {', '.join(sorted(FIELD_TYPES))}")
    values = {
        "display_name": info.display_name or name,
        "data_type": dtype,
        "size": info.size,
        "read_only": info.read_only,
    }
    existing = conn.execute(select(lead_fields.c.name).where(lead_fields.c.name_lower == name.lower())).scalar()
    if existing is None:
        conn.execute(insert(lead_fields).values(name=name, name_lower=name.lower(), created_at=now, **values))
    else:
        conn.execute(update(lead_fields).where(lead_fields.c.name == existing).values(**values))
    conn.execute(update(server_meta).where(server_meta.c.key == FIELDS_VERSION).values(value=uuid.uuid4().hex))
