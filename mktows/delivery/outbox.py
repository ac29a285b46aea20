"""The outbox: one row per message, rendered, queued for delivery in the caller's transaction.

INTERFACE (issue 3).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection


@dataclass
class Message:
    to_addr: str
    from_addr: str
    from_name: str | None
    reply_to: str | None
    subject: str
    html: str
    text: str
    lead_id: int | None = None
    run_id: int | None = None
    step_index: int | None = None
    campaign: str | None = None
    email_id: int | None = None
    email_name: str | None = None


def queue_email(conn: Connection, message: Message) -> int | None:
    """Store the message and enqueue its delivery job, in the caller's transaction.

    Returns the outbox id, or None when this (run, lead, step) already has a message: the
    unique key makes a repeated flow step a no-op, so nobody gets the same email twice.
    """
    raise NotImplementedError
