"""The outbox: one row per message, rendered, queued for delivery in the caller's transaction.

Row states (see docs/campaigns.md, "Delivery"): queued -> claimed -> sending -> sent | bounced,
or back to queued for a retry, failed after the last one; captured when no SMTP server is
configured. While a row is claimed or sending, `error` names the worker that holds it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, or_, select, update

from mktows.runtime import jobs
from mktows.store.database import Database
from mktows.store.queries import upsert
from mktows.store.tables import outbox

DELIVER = "email.deliver"
STATUSES = ("queued", "claimed", "sending", "sent", "bounced", "failed", "captured")


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


def new_message_id() -> str:
    return f"<{uuid.uuid4().hex}@mktows>"


def _values(message: Message, t: datetime) -> dict[str, object]:
    return {
        "run_id": message.run_id,
        "lead_id": message.lead_id,
        "step_index": message.step_index,
        "campaign": message.campaign,
        "email_id": message.email_id,
        "email_name": message.email_name,
        "to_addr": message.to_addr,
        "from_name": message.from_name,
        "from_addr": message.from_addr,
        "reply_to": message.reply_to,
        "subject": message.subject,
        "html": message.html,
        "text": message.text,
        "message_id": new_message_id(),
        "status": "queued",
        "attempts": 0,
        "created_at": t,
    }


def _insert(conn: Connection) -> Any:
    return upsert(conn, outbox).on_conflict_do_nothing()


def queue_email(conn: Connection, message: Message) -> int | None:
    """Store the message and enqueue its delivery job, in the caller's transaction.

    Returns the outbox id, or None when this (run, lead, step) already has a message: the
    unique key makes a repeated flow step a no-op, so nobody gets the same email twice.
    A young queued delivery job that no worker can claim before this commits already
    covers the new row (it delivers every fresh row), so none is added then.
    """
    outbox_id = conn.execute(_insert(conn).values(**_values(message, jobs.now())).returning(outbox.c.id)).scalar()
    if outbox_id is None:
        return None
    if jobs.pending_job(conn, DELIVER) is None:
        jobs.enqueue(conn, DELIVER, {"outbox_id": int(outbox_id)})
    return int(outbox_id)


def existing_steps(conn: Connection, run_id: int, lead_ids: Sequence[int]) -> set[tuple[int, int]]:
    """(lead, step) pairs of `run_id` that already have a message, among `lead_ids`."""
    found: set[tuple[int, int]] = set()
    ids = list(lead_ids)
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        rows = conn.execute(
            select(outbox.c.lead_id, outbox.c.step_index).where(outbox.c.run_id == run_id, outbox.c.lead_id.in_(part))
        )
        found.update((int(r[0]), int(r[1])) for r in rows)
    return found


def queue_emails(conn: Connection, messages: Sequence[Message]) -> int:
    """Store many messages with one executemany and enqueue one delivery job, in the caller's
    transaction; returns how many it was given. Callers check `existing_steps` first; a
    (run, lead, step) that already has a message is skipped here too (the unique key)."""
    if not messages:
        return 0
    t = jobs.now()
    conn.execute(_insert(conn), [_values(m, t) for m in messages])
    if jobs.pending_job(conn, DELIVER) is None:
        jobs.enqueue(conn, DELIVER, {})
    return len(messages)


@dataclass
class OutboxEntry:
    id: int
    status: str
    to_addr: str
    from_addr: str
    from_name: str | None
    reply_to: str | None
    subject: str
    text: str
    html: str
    message_id: str
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    error: str | None
    lead_id: int | None
    campaign: str | None
    email_name: str | None


def _entry(row: object) -> OutboxEntry:
    return OutboxEntry(**{name: getattr(row, name) for name in OutboxEntry.__dataclass_fields__})


def list_messages(
    database: Database,
    *,
    status: str | None = None,
    limit: int = 50,
    query: str = "",
    before_id: int | None = None,
) -> list[OutboxEntry]:
    """Newest first; `query` is found anywhere in the recipient or the subject (case ignored),
    `before_id` pages by id."""
    q = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if status:
        q = q.where(outbox.c.status == status)
    if query.strip():
        pattern = "%" + query.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = q.where(
            or_(
                func.lower(outbox.c.to_addr).like(pattern, escape="\\"),
                func.lower(outbox.c.subject).like(pattern, escape="\\"),
            )
        )
    if before_id is not None:
        q = q.where(outbox.c.id < before_id)
    with database.read() as conn:
        return [_entry(r) for r in conn.execute(q)]


def get_message(database: Database, outbox_id: int) -> OutboxEntry | None:
    with database.read() as conn:
        row = conn.execute(select(outbox).where(outbox.c.id == outbox_id)).first()
    return None if row is None else _entry(row)


def delete_message(database: Database, outbox_id: int) -> bool:
    """Remove a message that is not on its way (queued, claimed or sending ones stay)."""
    with database.write() as conn:
        gone = conn.execute(
            delete(outbox).where(outbox.c.id == outbox_id, outbox.c.status.not_in(("queued", "claimed", "sending")))
        ).rowcount
    return bool(gone)


def release_message(database: Database, outbox_id: int) -> bool:
    """Hand a captured message to the delivery job, which sends it through the instance's SMTP
    server (and captures it again when there is none)."""
    with database.write() as conn:
        released = conn.execute(
            update(outbox).where(outbox.c.id == outbox_id, outbox.c.status == "captured").values(status="queued")
        ).rowcount
        if released:
            jobs.enqueue(conn, DELIVER, {"outbox_id": outbox_id})
    return bool(released)


def status_counts(database: Database) -> dict[str, int]:
    with database.read() as conn:
        rows = conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))
        return {r[0]: int(r[1]) for r in rows}
