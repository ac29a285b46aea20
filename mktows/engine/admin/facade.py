"""The admin family's calls on `Engine`: API users and their use, the instance file's
definitions, the console's charts and its users."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from mktows.engine.admin import api_usage, charts, definitions, emulation, state, users
from mktows.engine.admin import console_users as console_auth
from mktows.engine.admin.key_cipher import KeyCipher
from mktows.engine.base import EngineBase
from mktows.engine.models import (
    ApiUser,
)

log = logging.getLogger("mktows.users")


class AdminCalls(EngineBase):
    # -- the state as it is stored, without the API (the test double's `state` handle)

    def state_leads(self, email: str | None = None) -> list[state.LeadState]:
        with self.db.read() as conn:
            return state.lead_states(conn, email)

    def state_activities(self, lead_id: int | None = None, type: str | None = None) -> list[state.ActivityState]:
        with self.db.read() as conn:
            return state.activity_states(conn, lead_id, type)

    def state_list_members(self, list_name: str) -> list[state.MemberState]:
        with self.db.read() as conn:
            return state.member_states(conn, list_name)

    def state_outbox(self) -> list[state.MessageState]:
        with self.db.read() as conn:
            return state.message_states(conn)

    def state_jobs(self) -> list[state.JobState]:
        with self.db.read() as conn:
            return state.job_states(conn)

    def state_campaign_runs(self) -> list[state.CampaignRunState]:
        with self.db.read() as conn:
            return state.campaign_run_states(conn)

    # -- the emulator control API (docs/emulator.md)

    def reset_data(self) -> None:
        """Empty every data table; the caller applies the instance file again."""
        with self.db.write() as conn:
            emulation.reset_data(conn)
        self._users.reload()

    def emulator_state(self, what: str, limit: int) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            return emulation.state(conn, what, limit)

    def clear_outbox(self) -> int:
        with self.db.write() as conn:
            return emulation.clear_outbox(conn)

    def reload_after_restore(self) -> None:
        """Forget what is held in memory of the database's content (its API users)."""
        self._users.reload()

    def use_master_key(self, master_key: str | None, *, seal: bool = True) -> None:
        """Keys are encrypted at rest under `master_key` from now on (None: stored as given).

        Reads every user once, so a missing or wrong master key raises MasterKeyError here,
        when the process starts, rather than failing calls later; with a master key and
        `seal`, keys still stored as given are encrypted now."""
        cipher = KeyCipher(master_key) if master_key else None
        self._users.cipher = cipher
        self._users.reload()
        if cipher is not None and seal and any(users.has_plaintext_key(u) for u in self._stored_users()):
            with self.db.write() as conn:
                users.seal_stored_keys(conn, cipher, reencrypt=False)

    def _stored_users(self) -> list[ApiUser]:
        with self.db.read() as conn:
            return users.all_users(conn)

    def encrypt_api_keys(self) -> int:
        """Encrypt every key under the current master key (plaintext rows and rows of an older
        master key); returns how many users changed. ValueError without a master key."""
        cipher = self._users.cipher
        if cipher is None:
            raise ValueError("no master key is set")
        with self.db.write() as conn:
            changed = users.seal_stored_keys(conn, cipher, reencrypt=True)
        self._users.reload()
        return changed

    def api_user(self, user_id: str, *, fresh: bool = False) -> ApiUser | None:
        """The user as this process last read it (`fresh`: as the database has it now)."""
        return self._users.get(user_id, fresh=fresh)

    def api_users(self) -> list[ApiUser]:
        return [users.open_keys(u, self._users.cipher) for u in self._stored_users()]

    def api_user_rows(self) -> list[users.ApiUserRow]:
        """Every user as it may be shown: no key, stored or opened."""
        now = self.now()
        with self.db.read() as conn:
            return users.user_rows(conn, now)

    def set_api_user_enabled(self, user_id: str, enabled: bool) -> None:
        """Enable or disable a user (`users.UnknownUser` when there is none). This process
        sees the change at once; another within its user cache's refresh (a second)."""
        with self.db.write() as conn:
            users.set_enabled(conn, user_id, enabled)
        self._users.reload()

    def remove_api_user(self, user_id: str) -> None:
        """Delete a user (`users.UnknownUser` when there is none); seen like a disabled one."""
        with self.db.write() as conn:
            users.remove_user(conn, user_id)
        self._users.reload()

    def api_usage(self, *, rate_seconds: int) -> api_usage.ApiUsage:
        """Today's calls: toward the daily quota, in a rate window of `rate_seconds`, and per
        API user with their limit refusals."""
        now = self.now()
        with self.db.read() as conn:
            return api_usage.usage(conn, now, rate_seconds)

    def put_api_user(self, user_id: str, encryption_key: str, *, enabled: bool = True) -> ApiUser:
        """Create the user or replace its key with no overlap (`add_api_user` and
        `rotate_api_key` are the careful forms)."""
        with self.db.write() as conn:
            user = users.put_user(conn, user_id, encryption_key, self.now(), enabled, cipher=self._users.cipher)
        self._users.reload()
        return user

    def add_api_user(self, user_id: str, encryption_key: str) -> ApiUser:
        """Create a user; `users.UserExists` when the id is taken."""
        with self.db.write() as conn:
            user = users.add_user(conn, user_id, encryption_key, self.now(), self._users.cipher)
        self._users.reload()
        return user

    def rotate_api_key(
        self,
        user_id: str,
        encryption_key: str,
        overlap: timedelta = users.DEFAULT_OVERLAP,
        *,
        expect: str | None = None,
    ) -> ApiUser:
        """Give the user a new key; the replaced one keeps working for `overlap`. With `expect`
        (the `key_state` of the user's row as shown), `users.KeyChanged` if it was rotated since."""
        with self.db.write() as conn:
            user = users.rotate_key(
                conn, user_id, encryption_key, self.now(), overlap, self._users.cipher, expect=expect
            )
        self._users.reload()
        return user

    def apply_definitions(self, defs: definitions.Definitions) -> None:
        """The instance file's users, fields and marketing assets, all or nothing (idempotent).

        A user's key that the file changes is rotated with the default overlap, and a warning
        says until when the replaced key works."""
        with self.db.write() as conn:
            rotated = users.declare_users(conn, defs.api_users, self.now(), self._users.cipher)
            definitions.apply_definitions(conn, replace(defs, api_users=[]), self.now())
        self._users.reload()
        for user in rotated:
            _warn_key_replaced(user.user_id, user.previous_key_expires_at)

    def instance_charts(self, *, hours: int = 48, days: int = 30) -> list[charts.Series]:
        """The console's charts: calls by operation and faults by code per hour, leads created
        and emails delivered per day."""
        now = self.now()
        with self.db.read() as conn:
            return [
                charts.per_hour(conn, now, hours, by="operation", title="API calls per hour, by operation"),
                charts.per_hour(conn, now, hours, by="fault", title="Faults per hour, by code"),
                charts.per_day(conn, now, days, what="emails", title="Emails delivered per day"),
                charts.per_day(conn, now, days, what="leads", title="Leads created per day"),
            ]

    # --- the web console's users and sessions --------------------------------------------

    def add_console_user(self, name: str, password: str) -> None:
        """ConsoleUserError for an existing name or a short password."""
        with self.db.write() as conn:
            console_auth.add_user(conn, name, password, self.now())

    def console_users(self) -> list[tuple[str, datetime]]:
        with self.db.read() as conn:
            return console_auth.user_names(conn)

    def remove_console_user(self, name: str) -> None:
        with self.db.write() as conn:
            console_auth.remove_user(conn, name)

    def console_sign_in(self, name: str, password: str) -> str | None:
        with self.db.write() as conn:
            return console_auth.sign_in(conn, name, password, self.now())

    def console_session(self, token: str) -> console_auth.ConsoleSession | None:
        with self.db.read() as conn:
            return console_auth.session(conn, token, self.now())

    def console_sign_out(self, token: str) -> None:
        with self.db.write() as conn:
            console_auth.sign_out(conn, token)


def _warn_key_replaced(user_id: str, until: datetime | None) -> None:
    ends = until.isoformat(timespec="seconds") if until else "now"
    log.warning(
        f"API user {user_id}: the instance file gives it another key; the replaced key works until {ends}",
        extra={"fields": {"user_id": user_id, "previous_key_expires_at": ends}},
    )
