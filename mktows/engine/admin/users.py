"""API users: client access ids and their encryption keys."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from time import monotonic

from sqlalchemy import Connection, insert, select, update

from mktows.engine.models import ApiUser
from mktows.errors import BadParameter
from mktows.store.tables import api_users


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
