"""The `email.deliver` job: hand queued outbox rows to SMTP, at most once each.

One drain per process sends every fresh row (queued, never attempted) over
`connections` SMTP connections held open for the whole drain; a row waiting for a retry has
a job of its own, due at its backoff time. A delivery job that starts while this process
already drains leaves the fresh rows to that drain (which looks again before it stops).

Claim a batch of rows (one commit), then in rounds of one row per connection, in lockstep:
stream each envelope and body without the final dot -> one commit moves the round's rows to
`sending`, together with the previous round's outcomes (`sent`, bounces, retries) and their
activities -> the dots go out, the verdicts come back and become the next commit's outcomes.
So a commit covers `connections` messages, and a crash leaves at most one `sending` row per
connection, almost surely already accepted by the server: such a row is never sent again.
When its worker's job lease is gone, the next drain marks it `sent` with the note "delivery
unconfirmed" (and logs Email Delivered). A claimed row of a dead worker was never handed
over: it goes back to `queued`.

Which SMTP server (or capture) is the instance's, stored in the database: a drain reads it
when it starts (cached for a few seconds), so every process sends every message alike.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from mktows.delivery.smtp import (
    MessageParts,
    SmtpConfig,
    SmtpConnection,
    SmtpFailure,
    begin_many,
    build_message,
    finish_many,
)
from mktows.engine.activities.log import ActivityRow, write_activities
from mktows.engine.activities.types import by_code
from mktows.engine.admin.key_cipher import KeyCipher
from mktows.engine.campaigns import delivery_settings
from mktows.engine.campaigns.outbox import DELIVER
from mktows.observe.metrics import SMTP_FAILURES
from mktows.runtime import jobs
from mktows.store.database import Database
from mktows.store.tables import outbox

log = logging.getLogger("mktows.delivery")

EMAIL_DELIVERED = by_code("EmailDelivered")
EMAIL_BOUNCED = by_code("EmailBounced")
EMAIL_BOUNCED_SOFT = by_code("EmailBouncedSoft")
UNCONFIRMED = "delivery unconfirmed: the sender stopped after handing the message to the server"


# the two statements of every round, built once: claimed -> sending, sending -> sent
_SENDING = (
    update(outbox)
    .where(
        outbox.c.id.in_(bindparam("ids", expanding=True)),
        outbox.c.status == "claimed",
        outbox.c.error == bindparam("owner"),
    )
    .values(status="sending")
    .returning(outbox.c.id)
)
_SENT = (
    update(outbox)
    .where(
        outbox.c.id.in_(bindparam("ids", expanding=True)),
        outbox.c.status == "sending",
        outbox.c.error == bindparam("owner"),
    )
    .values(status="sent", sent_at=bindparam("t"), error=None, attempts=outbox.c.attempts + 1)
    .returning(outbox.c.id)
)


@dataclass(frozen=True)
class DeliveryConfig:
    smtp: SmtpConfig | None = None  # None: keep messages in the outbox as `captured`
    max_attempts: int = 8  # 1, 2, 4 ... 60 minutes apart: about two hours of retries
    retry_base_seconds: float = 60.0
    retry_max_seconds: float = 3600.0
    batch_size: int = 200  # rows claimed per commit
    connections: int = 4  # SMTP connections of one drain (MKTOWS_SMTP_CONNECTIONS)
    linger_seconds: float = 0.3  # keep the connections a moment for rows still being queued

    def backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.retry_base_seconds * 2 ** max(attempts - 1, 0), self.retry_max_seconds))


# A process keeps its own connection count and timeout (what it can afford); which server to
# use, or capture, is the instance's, read from the database (engine/campaigns/delivery_settings.py).
_process = DeliveryConfig()
_process_timeout = 30.0
_cipher: KeyCipher | None = None
_override: DeliveryConfig | None = None  # configure(): tests and benchmarks, whatever is stored
CACHE_SECONDS = 5.0  # a change another process stores is followed within this
_cache: dict[str, tuple[float, DeliveryConfig]] = {}
_cache_lock = threading.Lock()


def parse_setting(smtp_url: str | None, timeout: float = 30.0) -> SmtpConfig | None:
    """An SMTP URL setting: None or `none` mean capture only."""
    if smtp_url is None or not smtp_url.strip() or delivery_settings.is_capture(smtp_url):
        return None
    return SmtpConfig.parse(smtp_url, timeout=timeout)


def configure(smtp_url: str | None, *, timeout: float = 30.0, **options: Any) -> DeliveryConfig:
    """Override, in this process only, what is stored (tests, benchmarks); no URL means capture."""
    global _override
    _override = DeliveryConfig(smtp=parse_setting(smtp_url, timeout), **options)
    return _override


def configure_from(settings: Any, instance: Any = None, database: Database | None = None) -> DeliveryConfig:
    """Set this process up for delivery (serve, load) and return the instance's configuration.

    MKTOWS_SMTP_URL wins over the instance file's `smtp_url`; either, when given (`none` for
    capture), becomes the instance's setting in `database`; given neither, the stored one
    stays. MKTOWS_SMTP_CONNECTIONS and MKTOWS_SMTP_TIMEOUT stay this process's own."""
    global _process, _process_timeout, _cipher, _override
    url = getattr(settings, "smtp_url", None) or getattr(instance, "smtp_url", None)
    _process_timeout = float(getattr(settings, "smtp_timeout", 30))
    parse_setting(url, _process_timeout)  # a bad URL is refused before anything is stored
    _process = DeliveryConfig(connections=int(getattr(settings, "smtp_connections", DeliveryConfig.connections)))
    master_key = getattr(settings, "master_key", None)
    _cipher = KeyCipher(master_key) if master_key else None
    _override = None
    if database is None:
        return replace(_process, smtp=parse_setting(url, _process_timeout))
    if url:
        with database.write() as conn:
            changed = delivery_settings.write(conn, url, _cipher)
        if changed:
            log.info("email delivery of this instance set to %s", delivery_settings.without_password(url))
    with _cache_lock:
        _cache.pop(database.identity, None)
    return current_config(database)


def current_config(database: Database | None = None) -> DeliveryConfig:
    """The configuration a drain starting now uses: the override, else the stored setting
    (read again once it is `CACHE_SECONDS` old)."""
    if _override is not None:
        return _override
    if database is None:
        return _process
    t = time.monotonic()
    with _cache_lock:
        cached = _cache.get(database.identity)
    if cached is not None and t - cached[0] < CACHE_SECONDS:
        return cached[1]
    with database.read() as conn:
        url = delivery_settings.read(conn, _cipher)
    cfg = replace(_process, smtp=parse_setting(url, _process_timeout))
    with _cache_lock:
        _cache[database.identity] = (t, cfg)
    return cfg


class _Gate:
    """One drain of fresh rows per process and database; later jobs leave their rows to it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = False
        self.more = False  # a job arrived while the drain ran: look again before stopping


_GATES: dict[str, _Gate] = {}
_GATES_LOCK = threading.Lock()


def _gate(database: Database) -> _Gate:
    with _GATES_LOCK:
        return _GATES.setdefault(database.identity, _Gate())


_SWITCH_SECONDS = 0.0005
_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved = 0.005


@contextmanager
def _prompt_switching() -> Iterator[None]:
    """While a drain runs, a thread holding the GIL hands it over after 0.5 ms, not 5 ms.

    Every socket write releases the GIL, and getting it back waits for the switch interval
    when another thread is busy (a campaign run rendering its leads): the dots of a round
    would go out 5 ms apart, which both slows delivery and widens the window between the
    `sending` commit and the dots (where a crash loses messages)."""
    global _switch_users, _switch_saved
    with _switch_lock:
        if _switch_users == 0:
            _switch_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_saved, _SWITCH_SECONDS))
        _switch_users += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved)


@jobs.job_handler(DELIVER)
def deliver(database: Database, payload: dict[str, Any]) -> None:
    cfg = current_config(database)
    ctx = jobs.current_job()
    owner = ctx.worker_id if ctx is not None else f"direct:{uuid.uuid4().hex}"
    recover(database)
    if cfg.smtp is None:
        with database.write() as conn:
            conn.execute(update(outbox).where(outbox.c.status == "queued").values(status="captured"))
        return
    gate = _gate(database)
    retry_id = payload.get("outbox_id")
    with gate.lock:
        draining = not gate.active
        if draining:
            gate.active, gate.more = True, False
        else:
            gate.more = True  # its fresh rows are the running drain's
    if not draining and retry_id is None:
        return
    # a retry while this process drains: that one row over a connection of its own
    # (a fresh row named by its job is the running drain's)
    drain = _Drain(database, cfg if draining else replace(cfg, connections=1), owner, ctx)
    with _prompt_switching():
        try:
            if retry_id is not None:
                drain.send_all(drain.claim_one(int(retry_id), retries_only=not draining))
            while draining and not drain.stopping() and not drain.server_down:
                if drain.drain_fresh():
                    continue
                with gate.lock:  # nothing left: stop, unless a job came in meanwhile
                    if not gate.more:
                        gate.active = draining = False
                        break
                    gate.more = False
            if drain.server_down:
                with database.write() as conn:
                    jobs.enqueue(conn, DELIVER, {}, run_at=jobs.now() + cfg.backoff(1))
        finally:
            if draining:
                with gate.lock:
                    gate.active = False
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
        rows = conn.execute(
            select(outbox).where(outbox.c.status.in_(("claimed", "sending")), outbox.c.error.in_(sorted(dead)))
        ).all()
        delivered: list[Any] = []
        for row in rows:
            if row.status == "claimed":  # never handed over: deliver it later
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id == row.id, outbox.c.status == "claimed")
                    .values(status="queued", error=None)
                )
                if row.attempts:
                    jobs.enqueue(conn, DELIVER, {"outbox_id": int(row.id)})
            else:
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id == row.id, outbox.c.status == "sending")
                    .values(status="sent", error=UNCONFIRMED, sent_at=t, attempts=row.attempts + 1)
                )
                delivered.append(row)
        write_activities(conn, [_delivered_activity(r, t) for r in delivered if r.lead_id is not None])
    if rows:
        log.warning("recovered %d outbox row(s) from stopped workers", len(rows))


_LOCAL_PART = re.compile(r"[^\s<>@\"',;:()\[\]]+@")


def _log_smtp_failure(row: Any, outcome: str, status: str, error: str | None, attempts: int) -> None:
    """One line per message the SMTP server refused or could not take: the recipient's domain,
    never the address or the body (a server's reply often quotes the address: masked too)."""
    retry = status == "queued"
    SMTP_FAILURES.labels("yes" if retry else "no").inc()
    fields = {
        "outbox_id": int(row.id),
        "recipient_domain": str(row.to_addr).rpartition("@")[2].lower() or None,
        "outcome": "bounced" if outcome == "bounced" else "retry" if retry else "failed",
        "attempt": attempts,
        "error": _LOCAL_PART.sub("***@", error or "")[:300],
    }
    log.warning("SMTP delivery failed", extra={"fields": fields})


def _delivered_activity(row: Any, t: datetime) -> ActivityRow:
    return ActivityRow(
        lead_id=int(row.lead_id),
        created_at=t,
        type=EMAIL_DELIVERED,
        asset_name=row.email_name or "",
        attributes=[("Message Id", row.message_id), ("Lead ID", str(row.lead_id))],
        campaign=row.campaign,
    )


def _bounce_activity(row: Any, t: datetime, error: str, soft: bool) -> ActivityRow:
    return ActivityRow(
        lead_id=int(row.lead_id),
        created_at=t,
        type=EMAIL_BOUNCED_SOFT if soft else EMAIL_BOUNCED,
        asset_name=row.email_name or "",
        attributes=[("Details", error), ("Email", row.to_addr), ("Lead ID", str(row.lead_id))],
        campaign=row.campaign,
    )


@dataclass
class _Drain:
    """One job's pass over the outbox with `cfg.connections` SMTP connections."""

    database: Database
    cfg: DeliveryConfig
    owner: str
    ctx: jobs.JobContext | None
    outcomes: list[tuple[Any, str, str, str | None]] = field(default_factory=list)  # (row, was, outcome, error)
    failures: int = 0  # consecutive rounds in which no connection could be used
    server_down: bool = False
    conns: list[SmtpConnection] = field(init=False)

    def __post_init__(self) -> None:
        assert self.cfg.smtp is not None
        self.conns = [SmtpConnection(self.cfg.smtp) for _ in range(max(self.cfg.connections, 1))]

    def stopping(self) -> bool:
        return self.ctx is not None and self.ctx.stopping.is_set()

    # --- claiming ------------------------------------------------------------------------

    def _claimed(self, conn: Connection, ids: list[int]) -> Sequence[Any]:
        if not ids:
            return []
        conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(ids), outbox.c.status == "queued")
            .values(status="claimed", error=self.owner)
        )
        return conn.execute(
            select(outbox)
            .where(outbox.c.id.in_(ids), outbox.c.status == "claimed", outbox.c.error == self.owner)
            .order_by(outbox.c.id)
        ).all()

    def claim_one(self, outbox_id: int, *, retries_only: bool = False) -> Sequence[Any]:
        with self.database.write() as conn:
            if (
                retries_only
                and not conn.execute(select(outbox.c.id).where(outbox.c.id == outbox_id, outbox.c.attempts > 0)).first()
            ):
                return []
            return self._claimed(conn, [outbox_id])

    def claim_batch(self) -> Sequence[Any]:
        """Up to `batch_size` fresh rows, in one commit (PostgreSQL: skipping rows that another
        process is claiming; SQLite: one writer per process)."""
        with self.database.write() as conn:
            q = (
                select(outbox.c.id)
                .where(outbox.c.status == "queued", outbox.c.attempts == 0)
                .order_by(outbox.c.id)
                .limit(self.cfg.batch_size)
            )
            if not self.database.is_sqlite:
                q = q.with_for_update(skip_locked=True)
            return self._claimed(conn, [int(r[0]) for r in conn.execute(q)])

    def drain_fresh(self) -> bool:
        """Send fresh rows until none is left (lingering once for rows still being queued);
        False when there was nothing to send. Every round has a row per connection while
        there are rows: a batch's remainder waits for the next batch."""
        width = len(self.conns)
        backlog: list[Any] = []
        sent_any = lingered = False
        while not self.stopping() and not self.server_down:
            if len(backlog) < width:
                backlog.extend(self.claim_batch())
            if backlog:
                self.round(backlog[:width])
                del backlog[:width]
                sent_any, lingered = True, False
            elif sent_any and not lingered and self.cfg.linger_seconds > 0:
                self.flush()  # nothing follows right now: record the outcomes before waiting
                time.sleep(self.cfg.linger_seconds)
                lingered = True
            else:
                break
        return sent_any  # rows left in the backlog (stopping) go back in close()

    # --- sending -------------------------------------------------------------------------

    def send_all(self, rows: Sequence[Any]) -> None:
        """Rounds of one row per connection; rows left when stopping go back (close())."""
        width = len(self.conns)
        for start in range(0, len(rows), width):
            if self.stopping() or self.server_down:
                return
            self.round(rows[start : start + width])

    def round(self, rows: Sequence[Any]) -> None:
        t = jobs.now()
        conns = self.conns[: len(rows)]
        datas = [
            build_message(
                MessageParts(
                    to_addr=r.to_addr,
                    from_addr=r.from_addr,
                    from_name=r.from_name,
                    reply_to=r.reply_to,
                    subject=r.subject,
                    text=r.text,
                    html=r.html,
                    message_id=r.message_id,
                    date=t,
                )
            )
            for r in rows
        ]
        begun = begin_many([(c, r.from_addr, r.to_addr, d) for c, r, d in zip(conns, rows, datas, strict=True)])
        ready: list[int] = []
        unavailable = 0
        for i, (row, exc) in enumerate(zip(rows, begun, strict=True)):
            if exc is None:
                ready.append(i)
            elif isinstance(exc, SmtpFailure):
                self.outcomes.append((row, "claimed", "bounced" if exc.permanent else "retry", str(exc)))
            else:
                self.outcomes.append((row, "claimed", "retry", str(exc)))
                unavailable += 1
        self.failures = self.failures + 1 if unavailable and not ready else 0
        self.server_down = self.failures >= 2
        try:
            moved = self.commit([rows[i] for i in ready])
        except BaseException:
            for i in ready:  # nothing may reach a dot now: drop the begun messages
                conns[i].abort()
            raise
        going = [i for i in ready if int(rows[i].id) in moved]
        for i in ready:
            if int(rows[i].id) not in moved:
                conns[i].abort()  # the row was taken from us: drop the message before the dot
        verdicts = finish_many([conns[i] for i in going])
        for i, exc in zip(going, verdicts, strict=True):
            row = rows[i]
            if exc is None:
                self.outcomes.append((row, "sending", "sent", None))
            elif isinstance(exc, SmtpFailure):
                self.outcomes.append((row, "sending", "bounced" if exc.permanent else "retry", str(exc)))
            else:
                log.warning("outbox %s: no answer after the message was sent (%s)", row.id, exc)
                self.outcomes.append((row, "sending", "sent", f"{UNCONFIRMED} ({exc})"))

    def commit(self, sending: list[Any]) -> set[int]:
        """One transaction: the outcomes so far, then `sending` for these rows (ids that moved)."""
        t = jobs.now()
        with self.database.write() as conn:
            acts: list[ActivityRow] = []
            self._settle(conn, t, acts)
            moved: set[int] = set()
            if sending:
                moved = {
                    int(r[0])
                    for r in conn.execute(_SENDING, {"ids": [int(r.id) for r in sending], "owner": self.owner})
                }
            write_activities(conn, acts)
        self.outcomes = []
        return moved

    def _settle(self, conn: Connection, t: datetime, acts: list[ActivityRow]) -> None:
        """Write the recorded outcomes: the plain `sent` ones with one statement."""
        plain = [row for row, was, outcome, error in self.outcomes if outcome == "sent" and error is None]
        if plain:
            done = {
                int(r[0]) for r in conn.execute(_SENT, {"ids": [int(r.id) for r in plain], "owner": self.owner, "t": t})
            }
            acts.extend(_delivered_activity(r, t) for r in plain if int(r.id) in done and r.lead_id is not None)
        for row, was, outcome, error in self.outcomes:
            if not (outcome == "sent" and error is None):
                self._move(conn, row, was, outcome, error, t, acts)

    def _move(
        self,
        conn: Connection,
        row: Any,
        was: str,
        outcome: str,
        error: str | None,
        t: datetime,
        acts: list[ActivityRow],
    ) -> bool:
        values: dict[str, Any]
        if outcome == "sent":
            values = {"status": "sent", "sent_at": t, "error": error, "attempts": row.attempts + 1}
        elif outcome == "bounced":
            values = {"status": "bounced", "error": error, "attempts": row.attempts + 1}
        elif outcome == "retry":
            attempts = row.attempts + 1
            final = attempts >= self.cfg.max_attempts
            values = {"status": "failed" if final else "queued", "error": error, "attempts": attempts}
        else:  # pragma: no cover
            raise ValueError(outcome)
        result = conn.execute(
            update(outbox)
            .where(outbox.c.id == row.id, outbox.c.status == was, outbox.c.error == self.owner)
            .values(**values)
        )
        if not result.rowcount:
            return False
        if outcome != "sent":
            _log_smtp_failure(row, outcome, values["status"], error, values["attempts"])
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
        """Commit the recorded outcomes on their own."""
        if self.outcomes:
            self.commit([])

    def close(self) -> None:
        """Commit the last outcomes, put unsent claimed rows back, close the connections."""
        try:
            t = jobs.now()
            with self.database.write() as conn:
                acts: list[ActivityRow] = []
                self._settle(conn, t, acts)
                write_activities(conn, acts)
                conn.execute(
                    update(outbox)
                    .where(outbox.c.status == "claimed", outbox.c.error == self.owner)
                    .values(status="queued", error=None)
                )
            self.outcomes = []
        finally:
            for smtp in self.conns:
                smtp.close()
