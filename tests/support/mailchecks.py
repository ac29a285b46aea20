"""Checks on what a campaign delivered: messages the SMTP sink accepted, and the outbox rows
marked "delivery unconfirmed" (a kill while a round was in SMTP's hands)."""

from __future__ import annotations

import time

from sqlalchemy import select

from mktows.delivery.deliver import UNCONFIRMED
from mktows.store.database import Database
from mktows.store.tables import outbox

from .smtp import Received, SmtpSink

UNCONFIRMED_PREFIX = UNCONFIRMED.partition(":")[0]  # "delivery unconfirmed"


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    """The predicate's first truthy (non-empty) value, polled; AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value is not None and value is not False and not (isinstance(value, (list, set, tuple)) and not value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def address(received: Received) -> str:
    """The one recipient of a message, lower case."""
    [to] = received.rcpt_tos
    return to.lower()


def arrived(sink: SmtpSink, recipients: set[str]) -> list[Received]:
    """Messages the sink accepted for any of `recipients` (lower case)."""
    return [m for m in list(sink.messages) if m.rcpt_tos and m.rcpt_tos[0].lower() in recipients]


def unconfirmed(db_url: str) -> set[str]:
    """Recipients whose message the outbox marks "delivery unconfirmed"."""
    db = Database(db_url)
    try:
        with db.read() as conn:
            rows = conn.execute(select(outbox.c.to_addr).where(outbox.c.error.startswith(UNCONFIRMED_PREFIX))).all()
    finally:
        db.dispose()
    return {r.to_addr.lower() for r in rows}
