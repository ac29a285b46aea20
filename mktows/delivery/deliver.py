"""The `email.deliver` job: hand queued outbox rows to SMTP, at most once each.

One job drains every fresh row (queued, never attempted) in batches over one SMTP
connection; a row waiting for a retry has a job of its own, due at its backoff time.

Per row: claim (a batch per commit) -> stream envelope and body without the final dot ->
commit `sending` (together with the previous row's `sent` and its activity) -> send the
dot -> 250 makes the row the next commit's `sent`. So there is one commit per message, and
a crash leaves at most one `sending` row per worker, almost surely already accepted by the
server: such a row is never sent again. When its worker's job lease is gone, the next drain
marks it `sent` with the note "delivery unconfirmed" (and logs Email Delivered). A claimed
row of a dead worker was never handed over: it goes back to `queued`.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from mktows.delivery.outbox import DELIVER
from mktows.delivery.smtp import (
    SmtpConfig,
    SmtpConnection,
    SmtpFailure,
    SmtpUncertain,
    SmtpUnavailable,
    build_message,
)
from mktows.engine import jobs
from mktows.engine.activity_log import ActivityRow, write_activities
from mktows.engine.activity_types import by_code
from mktows.store.database import Database
from mktows.store.tables import outbox

log = logging.getLogger("mktows.delivery")

EMAIL_DELIVERED = by_code("EmailDelivered")
EMAIL_BOUNCED = by_code("EmailBounced")
EMAIL_BOUNCED_SOFT = by_code("EmailBouncedSoft")
UNCONFIRMED = "delivery unconfirmed: the sender stopped after handing the message to the server"


@dataclass(frozen=True)
class DeliveryConfig:
    smtp: SmtpConfig | None = None  # None: keep messages in the outbox as `captured`
    max_attempts: int = 8  # 1, 2, 4 ... 60 minutes apart: about two hours of retries
    retry_base_seconds: float = 60.0
    retry_max_seconds: float = 3600.0
    batch_size: int = 50
    linger_seconds: float = 0.3  # keep the connection a moment for rows still being queued

    def backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.retry_base_seconds * 2 ** max(attempts - 1, 0), self.retry_max_seconds))


_config = DeliveryConfig()


def configure(smtp_url: str | None, *, timeout: float = 30.0, **options: Any) -> DeliveryConfig:
    """Set this process's delivery settings (serve, load, tests); no URL means capture only."""
    global _config
    smtp = SmtpConfig.parse(smtp_url, timeout=timeout) if smtp_url else None
    _config = DeliveryConfig(smtp=smtp, **options)
    return _config


def configure_from(settings: Any, instance: Any = None) -> DeliveryConfig:
    """MKTOWS_SMTP_URL (Settings.smtp_url) wins over the instance file's `smtp_url`."""
    url = getattr(settings, "smtp_url", None) or getattr(instance, "smtp_url", None)
    return configure(url, timeout=float(getattr(settings, "smtp_timeout", 30)))


def current_config() -> DeliveryConfig:
    return _config


@jobs.job_handler(DELIVER)
def deliver(database: Database, payload: dict[str, Any]) -> None:
    cfg = _config
    ctx = jobs.current_job()
    owner = ctx.worker_id if ctx is not None else f"direct:{uuid.uuid4().hex}"
    recover(database)
    if cfg.smtp is None:
        with database.write() as conn:
            conn.execute(update(outbox).where(outbox.c.status == "queued").values(status="captured"))
        return
    drain = _Drain(database, cfg, owner, ctx)
    try:
        if payload.get("outbox_id") is not None:
            drain.run(drain.claim_one(int(payload["outbox_id"])))
        lingered = False
        while not drain.stopping() and not drain.server_down:
            batch = drain.claim_batch()
            if batch:
                drain.run(batch)
                lingered = False
            elif drain.sent_any and not lingered and cfg.linger_seconds > 0:
                drain.flush()  # nothing follows right now: record the last `sent` before waiting
                time.sleep(cfg.linger_seconds)
                lingered = True
            else:
                break
        if drain.server_down:
            with database.write() as conn:
                jobs.enqueue(conn, DELIVER, {}, run_at=jobs.now() + cfg.backoff(1))
    finally:
        drain.close()
    if drain.stopping():
        raise jobs.Requeue


def recover(database: Database) -> None:
    """Settle rows held by workers that no longer hold a job lease (crashed or gone)."""
    with database.read() as conn:
        held = conn.execute(select(outbox.c.error).where(outbox.c.status.in_(("claimed", "sending"))).distinct())
        owners = {r[0] for r in held if r[0]}
    if not owners:
        return
    t = jobs.now()
    with database.write() as conn:
        dead = owners - jobs.live_owners(conn, owners, t)
        if not dead:
            return
        rows = conn.execute(select(outbox).where(outbox.c.status.in_(("claimed", "sending")),
                                                 outbox.c.error.in_(sorted(dead)))).all()
        delivered: list[Any] = []
        for row in rows:
            if row.status == "claimed":  # never handed over: deliver it later
                conn.execute(update(outbox).where(outbox.c.id == row.id, outbox.c.status == "claimed")
                             .values(status="queued", error=None))
                if row.attempts:
                    jobs.enqueue(conn, DELIVER, {"outbox_id": int(row.id)})
            else:
                conn.execute(update(outbox).where(outbox.c.id == row.id, outbox.c.status == "sending")
                             .values(status="sent", error=UNCONFIRMED, sent_at=t, attempts=row.attempts + 1))
                delivered.append(row)
        write_activities(conn, [_delivered_activity(r, t) for r in delivered if r.lead_id is not None])
    if rows:
        log.warning("recovered %d outbox row(s) from stopped workers", len(rows))


def _delivered_activity(row: Any, t: datetime) -> ActivityRow:
    return ActivityRow(lead_id=int(row.lead_id), created_at=t, type=EMAIL_DELIVERED, asset_name=row.email_name or "",
                       attributes=[("Message Id", row.message_id), ("Lead ID", str(row.lead_id))],
                       campaign=row.campaign)


def _bounce_activity(row: Any, t: datetime, error: str, soft: bool) -> ActivityRow:
    return ActivityRow(lead_id=int(row.lead_id), created_at=t, type=EMAIL_BOUNCED_SOFT if soft else EMAIL_BOUNCED,
                       asset_name=row.email_name or "",
                       attributes=[("Details", error), ("Email", row.to_addr), ("Lead ID", str(row.lead_id))],
                       campaign=row.campaign)


@dataclass
class _Drain:
    """One job's pass over the outbox with one SMTP connection."""

    database: Database
    cfg: DeliveryConfig
    owner: str
    ctx: jobs.JobContext | None
    pending: Any = None  # accepted by the server, `sent` not yet committed
    sent_any: bool = False
    failures: int = 0  # consecutive connection failures
    server_down: bool = False
    smtp: SmtpConnection = field(init=False)

    def __post_init__(self) -> None:
        assert self.cfg.smtp is not None
        self.smtp = SmtpConnection(self.cfg.smtp)

    def stopping(self) -> bool:
        return self.ctx is not None and self.ctx.stopping.is_set()

    # --- claiming ------------------------------------------------------------------------

    def _claimed(self, conn: Connection, ids: list[int]) -> list[Any]:
        if not ids:
            return []
        conn.execute(update(outbox).where(outbox.c.id.in_(ids), outbox.c.status == "queued")
                     .values(status="claimed", error=self.owner))
        return conn.execute(select(outbox).where(outbox.c.id.in_(ids), outbox.c.status == "claimed",
                                                 outbox.c.error == self.owner).order_by(outbox.c.id)).all()

    def claim_one(self, outbox_id: int) -> list[Any]:
        with self.database.write() as conn:
            return self._claimed(conn, [outbox_id])

    def claim_batch(self) -> list[Any]:
        with self.database.write() as conn:
            q = (select(outbox.c.id).where(outbox.c.status == "queued", outbox.c.attempts == 0)
                 .order_by(outbox.c.id).limit(self.cfg.batch_size))
            if not self.database.is_sqlite:
                q = q.with_for_update(skip_locked=True)
            return self._claimed(conn, [int(r[0]) for r in conn.execute(q)])

    # --- sending -------------------------------------------------------------------------

    def run(self, rows: list[Any]) -> None:
        for row in rows:
            if self.stopping() or self.server_down:
                return  # close() puts the rest back
            self.send(row)

    def send(self, row: Any) -> None:
        data = build_message(to_addr=row.to_addr, from_addr=row.from_addr, from_name=row.from_name,
                             reply_to=row.reply_to, subject=row.subject, text=row.text, html=row.html,
                             message_id=row.message_id, date=jobs.now())
        try:
            self.smtp.begin(row.from_addr, row.to_addr, data)
        except SmtpFailure as exc:
            self.commit(row, "claimed", "bounced" if exc.permanent else "retry", str(exc))
            return
        except SmtpUnavailable as exc:
            self.commit(row, "claimed", "retry", str(exc))
            self.failures += 1
            self.server_down = self.failures >= 2
            return
        self.failures = 0
        if not self.commit(row, "claimed", "sending"):
            self.smtp.abort()  # the row was taken from us: drop the message before the dot
            return
        try:
            self.smtp.finish()
        except SmtpFailure as exc:
            self.commit(row, "sending", "bounced" if exc.permanent else "retry", str(exc))
        except SmtpUncertain as exc:
            log.warning("outbox %s: no answer after the message was sent (%s)", row.id, exc)
            self.commit(row, "sending", "sent", f"{UNCONFIRMED} ({exc})")
        else:
            self.pending = row
            self.sent_any = True

    def commit(self, row: Any, was: str, outcome: str, error: str | None = None) -> bool:
        """One transaction: the pending row's `sent`, then this row's move; True if it moved."""
        t = jobs.now()
        with self.database.write() as conn:
            acts: list[ActivityRow] = []
            if self.pending is not None:
                self._move(conn, self.pending, "sending", "sent", None, t, acts)
            moved = self._move(conn, row, was, outcome, error, t, acts)
            write_activities(conn, acts)
        self.pending = None
        return moved

    def _move(self, conn: Connection, row: Any, was: str, outcome: str, error: str | None, t: datetime,
              acts: list[ActivityRow]) -> bool:
        values: dict[str, Any]
        if outcome == "sending":
            values = {"status": "sending"}
        elif outcome == "sent":
            values = {"status": "sent", "sent_at": t, "error": error, "attempts": row.attempts + 1}
        elif outcome == "bounced":
            values = {"status": "bounced", "error": error, "attempts": row.attempts + 1}
        elif outcome == "retry":
            attempts = row.attempts + 1
            final = attempts >= self.cfg.max_attempts
            values = {"status": "failed" if final else "queued", "error": error, "attempts": attempts}
        elif outcome == "queued":
            values = {"status": "queued", "error": None}
        else:  # pragma: no cover
            raise ValueError(outcome)
        result = conn.execute(update(outbox).where(outbox.c.id == row.id, outbox.c.status == was,
                                                   outbox.c.error == self.owner).values(**values))
        if not result.rowcount:
            return False
        if outcome == "retry" and values["status"] == "queued":
            jobs.enqueue(conn, DELIVER, {"outbox_id": int(row.id)}, run_at=t + self.cfg.backoff(values["attempts"]))
        if row.lead_id is not None:
            if outcome == "sent":
                acts.append(_delivered_activity(row, t))
            elif outcome == "bounced":
                acts.append(_bounce_activity(row, t, error or "", soft=False))
            elif outcome == "retry" and values["status"] == "failed":
                acts.append(_bounce_activity(row, t, error or "", soft=True))
        return True

    def flush(self) -> None:
        """Commit the pending `sent` on its own."""
        if self.pending is not None:
            t = jobs.now()
            with self.database.write() as conn:
                acts: list[ActivityRow] = []
                self._move(conn, self.pending, "sending", "sent", None, t, acts)
                write_activities(conn, acts)
            self.pending = None

    def close(self) -> None:
        """Commit the last `sent`, put unsent claimed rows back, close the connection."""
        try:
            t = jobs.now()
            with self.database.write() as conn:
                acts: list[ActivityRow] = []
                if self.pending is not None:
                    self._move(conn, self.pending, "sending", "sent", None, t, acts)
                write_activities(conn, acts)
                conn.execute(update(outbox).where(outbox.c.status == "claimed", outbox.c.error == self.owner)
                             .values(status="queued", error=None))
            self.pending = None
        finally:
            self.smtp.close()
