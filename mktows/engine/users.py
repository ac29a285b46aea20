"""API users (client access ids and their encryption keys) and custom lead fields."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from time import monotonic
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.engine import Engine as SAEngine

from mktows.engine.fields import FIELD_TYPES, STANDARD_BY_LOWER, Field, FieldRegistry
from mktows.engine.models import ApiUser, FieldInfo
from mktows.errors import BadParameter
from mktows.store.tables import api_users, lead_fields, server_meta

FIELDS_VERSION = "fields_version"


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


class UserCache:
    """API users held in memory, so that authenticating a call reads no table.

    A user unknown to the cache is looked up again in the database at once, and so is one whose
    signature its cached key does not match (`fresh`): a user or key added anywhere works on
    its first call;
    other changes made by another process (a user disabled or removed) are seen within
    `ttl_seconds`.
    """

    def __init__(self, load_all: Callable[[], list[ApiUser]], ttl_seconds: float = 1.0) -> None:
        self._load_all = load_all
        self._ttl = ttl_seconds
        self._users: dict[str, ApiUser] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def get(self, user_id: str, *, fresh: bool = False) -> ApiUser | None:
        if fresh or monotonic() - self._loaded_at > self._ttl:
            self.reload()
        elif user_id not in self._users:
            self.reload()
        return self._users.get(user_id)

    def reload(self) -> None:
        with self._lock:
            started = monotonic()
            self._users = {u.user_id: u for u in self._load_all()}
            self._loaded_at = started


# Per database: (the fields stamp the registry was loaded under, the registry).
_REGISTRIES: WeakKeyDictionary[SAEngine, tuple[str, FieldRegistry]] = WeakKeyDictionary()


def registry(conn: Connection) -> FieldRegistry:
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
