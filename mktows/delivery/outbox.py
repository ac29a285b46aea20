"""The outbox: one row per message, rendered, queued for delivery in the caller's transaction.

Row states (see docs/campaigns.md, "Delivery"): queued -> claimed -> sending -> sent | bounced,
or back to queued for a retry, failed after the last one; captured when no SMTP server is
configured. While a row is claimed or sending, `error` names the worker that holds it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from mktows.engine import jobs
from mktows.store.database import Database
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


def queue_email(conn: Connection, message: Message) -> int | None:
    """Store the message and enqueue its delivery job, in the caller's transaction.

    Returns the outbox id, or None when this (run, lead, step) already has a message: the
    unique key makes a repeated flow step a no-op, so nobody gets the same email twice.
    A young queued delivery job that no worker can claim before this commits already
    covers the new row (it delivers every fresh row), so none is added then.
    """
    t = jobs.now()
    values = {
        "run_id": message.run_id, "lead_id": message.lead_id, "step_index": message.step_index,
        "campaign": message.campaign, "email_id": message.email_id, "email_name": message.email_name,
        "to_addr": message.to_addr, "from_name": message.from_name, "from_addr": message.from_addr,
        "reply_to": message.reply_to, "subject": message.subject, "html": message.html,
        "text": message.text, "message_id": new_message_id(), "status": "queued", "attempts": 0,
        "created_at": t,
    }
    if conn.dialect.name == "postgresql":
        stmt = postgresql.insert(outbox).values(**values).on_conflict_do_nothing().returning(outbox.c.id)
    elif conn.dialect.name == "sqlite":
        stmt = sqlite.insert(outbox).values(**values).on_conflict_do_nothing().returning(outbox.c.id)
    else:  # pragma: no cover - other backends are not supported
        stmt = insert(outbox).values(**values).returning(outbox.c.id)
    outbox_id = conn.execute(stmt).scalar()
    if outbox_id is None:
        return None
    if jobs.pending_job(conn, DELIVER) is None:
        jobs.enqueue(conn, DELIVER, {"outbox_id": int(outbox_id)})
    return int(outbox_id)


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


def list_messages(database: Database, *, status: str | None = None, limit: int = 50) -> list[OutboxEntry]:
    """Newest first."""
    q = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if status:
        q = q.where(outbox.c.status == status)
    with database.read() as conn:
        return [_entry(r) for r in conn.execute(q)]


def get_message(database: Database, outbox_id: int) -> OutboxEntry | None:
    with database.read() as conn:
        row = conn.execute(select(outbox).where(outbox.c.id == outbox_id)).first()
    return None if row is None else _entry(row)


def status_counts(database: Database) -> dict[str, int]:
    with database.read() as conn:
        rows = conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))
        return {r[0]: int(r[1]) for r in rows}
