"""The request log: each SOAP call's request and response as they went over the wire, kept in
the database when `MKTOWS_REQUEST_LOG` is on, for the console's Requests page and
`mktows requests`.

A call only hands its entry to `RequestLog.add` (a list append under a lock): a thread of
the process writes what was added every `FLUSH_SECONDS`, in one transaction, so no call
waits on the database for it. The price: a process killed outright loses the entries of its
last second or so (a clean stop writes them). While the database does not answer, at most
`MAX_PENDING_BYTES` of entries wait in memory; past that the oldest are dropped, with a
warning in the log.

What is kept of each body: its first `max_body_bytes` (the request's `requestSignature`
replaced by `REDACTED` first), and its whole size, so an entry says when it was cut. The
table is pruned every `PRUNE_SECONDS` by both bounds, oldest first: entries older than
`max_days`, then the oldest until the bodies kept add up to at most `max_bytes`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Connection, delete, func, select, update

from mktows.store.database import Database
from mktows.store.tables import request_log, request_log_total

FLUSH_SECONDS = 1.0
PRUNE_SECONDS = 60.0
MAX_PENDING_BYTES = 64 * 1024 * 1024
REDACTED = b"REDACTED"
log = logging.getLogger("mktows.request_log")

# the text of every requestSignature element (any prefix), up to its end tag or the body's end
_SIGNATURE = re.compile(rb"(<(?:[\w.\-]+:)?requestSignature(?:\s[^>]*)?>)([^<]*)(?=<|$)")


def redact(body: bytes) -> bytes:
    """`body` with the text of each requestSignature replaced by `REDACTED`."""
    return _SIGNATURE.sub(lambda m: m.group(1) + REDACTED, body)


@dataclass
class Entry:
    """One call, as the log keeps it."""

    at: datetime
    request_id: str
    version: str
    operation: str
    user_id: str
    client: str | None
    status: int
    fault_code: int
    duration_ms: float
    request_size: int
    response_size: int
    request_body: bytes
    response_body: bytes
    id: int = 0

    @property
    def request_cut(self) -> bool:
        return len(self.request_body) < self.request_size

    @property
    def response_cut(self) -> bool:
        return len(self.response_body) < self.response_size


def cut(body: bytes, limit: int) -> bytes:
    return body if len(body) <= limit else body[:limit]


@dataclass
class RequestLog:
    """The process's queue of entries and the thread that writes them."""

    database: Database
    max_bytes: int
    max_days: int
    max_body_bytes: int
    flush_seconds: float = FLUSH_SECONDS
    _pending: list[Entry] = field(default_factory=list)
    _pending_bytes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _last_prune: float = 0.0

    def add(
        self,
        *,
        request_id: str,
        version: str,
        operation: str,
        user_id: str | None,
        client: str | None,
        status: int,
        fault_code: int,
        seconds: float,
        request_body: bytes,
        response_body: bytes,
        request_size: int | None = None,
    ) -> None:
        """Queue one call's entry (the bodies are cut here, redacted by the writer);
        `request_size`: the whole request's size when `request_body` is already cut."""
        entry = Entry(
            at=datetime.now(UTC),
            request_id=request_id,
            version=version,
            operation=operation,
            user_id=user_id or "",
            client=client,
            status=status,
            fault_code=fault_code,
            duration_ms=round(seconds * 1000, 1),
            request_size=len(request_body) if request_size is None else request_size,
            response_size=len(response_body),
            request_body=cut(request_body, self.max_body_bytes),
            response_body=cut(response_body, self.max_body_bytes),
        )
        size = len(entry.request_body) + len(entry.response_body)
        with self._lock:
            self._pending.append(entry)
            self._pending_bytes += size
            dropped = 0
            while self._pending_bytes > MAX_PENDING_BYTES and len(self._pending) > 1:
                old = self._pending.pop(0)
                self._pending_bytes -= len(old.request_body) + len(old.response_body)
                dropped += 1
            if self._thread is None and not self._stop.is_set():
                self._start_locked()
        if dropped:
            log.warning("request log: %d entries dropped, the database has not taken them", dropped)

    def flush(self) -> None:
        """Write what was queued (and prune, at most every `PRUNE_SECONDS`)."""
        with self._lock:
            pending, self._pending, self._pending_bytes = self._pending, [], 0
        if pending:
            try:
                rows = [_row(e) for e in pending]
                with self.database.write() as conn:
                    conn.execute(request_log.insert(), rows)
                    _move_total(conn, sum(cast(int, r["stored_bytes"]) for r in rows))
            except Exception:  # the database briefly away: keep them for the next flush
                log.warning("request log entries not saved yet; retrying", exc_info=True)
                with self._lock:
                    self._pending[:0] = pending
                    self._pending_bytes += sum(len(e.request_body) + len(e.response_body) for e in pending)
                return
        if time.monotonic() - self._last_prune >= PRUNE_SECONDS or not self._last_prune:
            self.prune()

    def prune(self) -> int:
        self._last_prune = time.monotonic()
        try:
            return prune(self.database, max_bytes=self.max_bytes, max_days=self.max_days)
        except Exception:
            log.warning("request log not pruned; retrying later", exc_info=True)
            return 0

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._start_locked()

    def _start_locked(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mktows-request-log", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(self.flush_seconds + 5)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()


def _row(entry: Entry) -> dict[str, object]:
    body = redact(entry.request_body)
    return {
        "at": entry.at,
        "request_id": entry.request_id,
        "version": entry.version,
        "operation": entry.operation,
        "user_id": entry.user_id,
        "client": entry.client,
        "status": entry.status,
        "fault_code": entry.fault_code,
        "duration_ms": entry.duration_ms,
        "request_size": entry.request_size - len(entry.request_body) + len(body),  # as redacted
        "response_size": entry.response_size,
        "request_body": body,
        "response_body": entry.response_body,
        "stored_bytes": len(body) + len(entry.response_body),
    }


def prune(database: Database, *, max_bytes: int, max_days: int, now: datetime | None = None) -> int:
    """Delete entries older than `max_days`, then the oldest until the bodies kept add up to
    at most `max_bytes`. Returns how many were deleted."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=max_days)
    with database.write() as conn:
        freed = conn.execute(
            delete(request_log).where(request_log.c.at < cutoff).returning(request_log.c.stored_bytes)
        ).all()
        total = _move_total(conn, -sum(int(size) for (size,) in freed))
        deleted = len(freed)
        if total > max_bytes:
            deleted += _delete_oldest(conn, total - max_bytes)
    return deleted


def _move_total(conn: Connection, change: int) -> int:
    """Add `change` to the running total of kept bytes and return it. The row is made again
    from the log itself when it is missing (an emulator reset empties every table)."""
    moved = conn.execute(
        update(request_log_total)
        .where(request_log_total.c.id == 1)
        .values(stored_bytes=request_log_total.c.stored_bytes + change)
        .returning(request_log_total.c.stored_bytes)
    ).scalar_one_or_none()
    if moved is not None:
        return int(moved)
    total = int(conn.execute(select(func.coalesce(func.sum(request_log.c.stored_bytes), 0))).scalar_one())
    conn.execute(request_log_total.insert().values(id=1, stored_bytes=total))
    return total


def kept_bytes(database: Database) -> int:
    """The bytes of bodies the log keeps, as its running total says."""
    with database.read() as conn:
        value = conn.execute(select(request_log_total.c.stored_bytes)).scalar_one_or_none()
    return int(value or 0)


def _delete_oldest(conn: Connection, excess: int) -> int:
    """Delete the oldest entries whose bodies add up to at least `excess` bytes."""
    freed, last_id, after = 0, None, 0
    while freed < excess:
        rows = conn.execute(
            select(request_log.c.id, request_log.c.stored_bytes)
            .where(request_log.c.id > after)
            .order_by(request_log.c.id)
            .limit(500)
        ).all()
        if not rows:
            break
        for row_id, size in rows:
            freed += int(size)
            last_id = int(row_id)
            if freed >= excess:
                break
        after = int(rows[-1][0])
    if last_id is None:
        return 0
    gone = conn.execute(delete(request_log).where(request_log.c.id <= last_id).returning(request_log.c.stored_bytes))
    sizes = [int(size) for (size,) in gone]
    _move_total(conn, -sum(sizes))
    return len(sizes)


_SUMMARY = [c for c in request_log.c if c.name not in ("request_body", "response_body")]


def _entry(row: object, *, bodies: bool) -> Entry:
    m = row._mapping  # type: ignore[attr-defined]
    return Entry(
        id=int(m["id"]),
        at=m["at"],
        request_id=m["request_id"],
        version=m["version"],
        operation=m["operation"],
        user_id=m["user_id"],
        client=m["client"],
        status=int(m["status"]),
        fault_code=int(m["fault_code"]),
        duration_ms=float(m["duration_ms"]),
        request_size=int(m["request_size"]),
        response_size=int(m["response_size"]),
        request_body=bytes(m["request_body"]) if bodies else b"",
        response_body=bytes(m["response_body"]) if bodies else b"",
    )


NO_ID_ABOVE = 2**62  # no entry's id reaches it


def list_entries(
    database: Database,
    *,
    operation: str | None = None,
    user_id: str | None = None,
    fault_code: int | None = None,
    request_id: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Entry]:
    """Entries newest first (without their bodies), those before `before_id` when given."""
    q = select(*_SUMMARY)
    if operation:
        q = q.where(request_log.c.operation == operation)
    if user_id is not None and user_id != "":
        q = q.where(request_log.c.user_id == user_id)
    if fault_code is not None:
        q = q.where(request_log.c.fault_code == fault_code)
    if request_id:
        q = q.where(request_log.c.request_id == request_id)
    # always bounded, so the first page too is a range of an index read backwards
    q = q.where(request_log.c.id < (before_id if before_id is not None else NO_ID_ABOVE))
    q = q.order_by(request_log.c.id.desc()).limit(limit)
    with database.read() as conn:
        return [_entry(r, bodies=False) for r in conn.execute(q)]


def get_entry(database: Database, *, entry_id: int | None = None, request_id: str | None = None) -> Entry | None:
    """One entry with its bodies: by its id, or the newest with the request id."""
    q = select(request_log)
    if entry_id is not None:
        q = q.where(request_log.c.id == entry_id)
    elif request_id:
        q = q.where(request_log.c.request_id == request_id).order_by(request_log.c.id.desc()).limit(1)
    else:
        return None
    with database.read() as conn:
        row = conn.execute(q).first()
    return None if row is None else _entry(row, bodies=True)
