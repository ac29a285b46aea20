"""Idempotent retries: a repeated requestCampaign, scheduleCampaign or importToList, from the
same API user with the same body, answered with the first call's answer while the window
(`MKTOWS_IDEMPOTENCY_WINDOW_SECONDS`) lasts, instead of running again.

The first answers live in the database (`idempotent_calls`), so every process on it shares
them. A call claims its key (user, operation, digest of the body) with an insert that does
nothing on a conflict: of two identical calls at once exactly one inserts and runs; the
other waits for that one's answer (up to `wait_seconds`) and answers it. Only a successful
answer is kept: when the first call faults its row is removed, and a retry runs again. A row
older than the window, or one whose call never finished (its process died) after the wait,
is taken over by the next identical call, compare-and-set on the row's token.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from mktows.store.database import Database
from mktows.store.queries import upsert
from mktows.store.tables import idempotent_calls

OPERATIONS = frozenset({"requestCampaign", "scheduleCampaign", "importToList"})
POLL_SECONDS = 0.05
PURGE_SECONDS = 60.0
log = logging.getLogger("mktows.idempotency")


@dataclass(frozen=True)
class Claim:
    """What a call may do: run (holding the row by `token`), or answer `payload` at once."""

    user_id: str
    operation: str
    digest: str
    token: str = ""
    payload: bytes | None = None


class FirstAnswers:
    def __init__(self, database: Database, window_seconds: int, *, wait_seconds: float = 30.0) -> None:
        self.database = database
        self.window = timedelta(seconds=window_seconds)
        self.wait_seconds = wait_seconds
        self._last_purge = 0.0

    def claim(self, user_id: str, operation: str, digest: str, now: datetime) -> Claim:
        """Run the call (a claim with a token) or answer the first call's answer (a payload)."""
        self._purge(now)
        key = (
            (idempotent_calls.c.user_id == user_id)
            & (idempotent_calls.c.operation == operation)
            & (idempotent_calls.c.digest == digest)
        )
        deadline = time.monotonic() + self.wait_seconds
        while True:
            token = secrets.token_hex(16)
            with self.database.write() as conn:
                inserted = conn.execute(
                    upsert(conn, idempotent_calls)
                    .values(user_id=user_id, operation=operation, digest=digest, created_at=now, token=token)
                    .on_conflict_do_nothing()
                    .returning(idempotent_calls.c.token)
                ).first()
                if inserted is not None:
                    return Claim(user_id, operation, digest, token=token)
                row = conn.execute(
                    select(idempotent_calls.c.created_at, idempotent_calls.c.token, idempotent_calls.c.payload).where(
                        key
                    )
                ).first()
                if row is None:  # removed since (the first call faulted): try again
                    continue
                created_at, holder, payload = row
                stale = now - created_at > self.window or (payload is None and time.monotonic() >= deadline)
                if stale:
                    taken = conn.execute(
                        update(idempotent_calls)
                        .where(key & (idempotent_calls.c.token == holder))
                        .values(created_at=now, token=token, payload=None)
                        .returning(idempotent_calls.c.token)
                    ).first()
                    if taken is not None:
                        return Claim(user_id, operation, digest, token=token)
                    continue
                if payload is not None:
                    return Claim(user_id, operation, digest, payload=bytes(payload))
            time.sleep(POLL_SECONDS)  # the first call is still running: wait for its answer

    def keep(self, claim: Claim, payload: bytes) -> None:
        """The call that held `claim` answered `payload`: later repeats get it."""
        with self.database.write() as conn:
            conn.execute(update(idempotent_calls).where(self._held(claim)).values(payload=payload))

    def release(self, claim: Claim) -> None:
        """The call that held `claim` failed: a repeat runs again."""
        try:
            with self.database.write() as conn:
                conn.execute(delete(idempotent_calls).where(self._held(claim)))
        except Exception:  # the row ends with the window anyway
            log.warning("idempotency: a failed call's claim was not released", exc_info=True)

    @staticmethod
    def _held(claim: Claim):  # type: ignore[no-untyped-def]
        return (
            (idempotent_calls.c.user_id == claim.user_id)
            & (idempotent_calls.c.operation == claim.operation)
            & (idempotent_calls.c.digest == claim.digest)
            & (idempotent_calls.c.token == claim.token)
        )

    def _purge(self, now: datetime) -> None:
        """Rows past the window, at most once a minute per process."""
        if time.monotonic() - self._last_purge < PURGE_SECONDS:
            return
        self._last_purge = time.monotonic()
        with self.database.write() as conn:
            conn.execute(delete(idempotent_calls).where(idempotent_calls.c.created_at < now - self.window))
