"""The admin family's calls on `Engine`: API users and the instance file's definitions."""

from __future__ import annotations

from mktows.engine.admin import definitions, users
from mktows.engine.base import EngineBase
from mktows.engine.models import (
    ApiUser,
)


class AdminCalls(EngineBase):
    def api_user(self, user_id: str, *, fresh: bool = False) -> ApiUser | None:
        """The user as this process last read it (`fresh`: as the database has it now)."""
        return self._users.get(user_id, fresh=fresh)

    def api_users(self) -> list[ApiUser]:
        with self.db.read() as conn:
            return users.all_users(conn)

    def put_api_user(self, user_id: str, encryption_key: str, *, enabled: bool = True) -> ApiUser:
        with self.db.write() as conn:
            user = users.put_user(conn, user_id, encryption_key, self.now(), enabled)
        self._users.reload()
        return user

    def apply_definitions(self, defs: definitions.Definitions) -> None:
        """The instance file's users, fields and marketing assets, all or nothing (idempotent)."""
        with self.db.write() as conn:
            definitions.apply_definitions(conn, defs, self.now())
        self._users.reload()
