"""What every family's part of the `Engine` shares: the database, the limits, the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from mktows.engine.admin import users
from mktows.engine.models import ApiUser
from mktows.runtime.clock import utcnow
from mktows.store.database import Database


class EngineBase:
    """State shared by the families' calls; the limits are the instance's settings (docs/settings.md)."""

    def __init__(
        self,
        database: Database,
        *,
        max_window_days: int = 30,
        max_batch_size: int = 1000,
        max_sync_leads: int = 1000,
        max_page_bytes: int = 32 * 1024 * 1024,
        max_clones_per_day: int = 10,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = database
        self.max_window_days = max_window_days
        self.max_batch_size = max_batch_size
        self.max_sync_leads = max_sync_leads
        self.max_page_bytes = max_page_bytes
        self.max_clones_per_day = max_clones_per_day
        self._clock = clock
        self._secret: bytes | None = None
        self._users = users.UserCache(self._load_users)

    def _hmac_secret(self) -> bytes:
        if self._secret is None:
            value = self.db.meta("hmac_secret")
            if value is None:
                raise RuntimeError("database not migrated: run `mktows migrate`")
            self._secret = value.encode()
        return self._secret

    def now(self) -> datetime:
        return self._clock()

    def _load_users(self) -> list[ApiUser]:
        with self.db.read() as conn:
            return users.all_users(conn)
