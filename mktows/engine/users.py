"""API users (client access ids and their encryption keys) and custom lead fields."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from mktows.engine.fields import FIELD_TYPES, STANDARD_BY_LOWER, Field, FieldRegistry
from mktows.engine.models import ApiUser, FieldInfo
from mktows.errors import BadParameter
from mktows.store.tables import api_users, lead_fields


def get_user(conn: Connection, user_id: str) -> ApiUser | None:
    row = conn.execute(select(api_users).where(api_users.c.user_id == user_id)).first()
    return ApiUser(row.user_id, row.encryption_key, bool(row.enabled)) if row else None


def all_users(conn: Connection) -> list[ApiUser]:
    rows = conn.execute(select(api_users).order_by(api_users.c.user_id))
    return [ApiUser(r.user_id, r.encryption_key, bool(r.enabled)) for r in rows]


def put_user(conn: Connection, user_id: str, key: str, now: datetime, enabled: bool = True) -> ApiUser:
    """Create the user or replace its key (a key change takes effect at once)."""
    if not user_id.strip() or not key:
        raise BadParameter("API user id and encryption key are required")
    if get_user(conn, user_id) is None:
        conn.execute(insert(api_users).values(user_id=user_id, encryption_key=key, enabled=enabled, created_at=now))
    else:
        conn.execute(
            update(api_users).where(api_users.c.user_id == user_id).values(encryption_key=key, enabled=enabled)
        )
    return ApiUser(user_id, key, enabled)


def registry(conn: Connection) -> FieldRegistry:
    """Standard fields plus the custom ones stored in the database (one query)."""
    rows = conn.execute(select(lead_fields).order_by(lead_fields.c.name))
    return FieldRegistry(
        Field(r.name, r.display_name, r.data_type, r.size, bool(r.read_only), custom=True) for r in rows
    )


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
