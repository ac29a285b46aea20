"""The server's clock: aware UTC. Every component takes a clock argument defaulting to `utcnow`,
so tests (and a test double) can move time.

`utcnow` reads one process-wide `Clock`, the wall clock plus an offset that is 0 unless the
emulator control API moves it (docs/emulator.md): the engine, the job workers, the quota day
and the outbox all read it, so moving it forward lets the workers' next poll run what became
due. The offset is this process's own; several processes cannot share it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """The wall clock shifted by an adjustable offset (only ever forward through the emulator)."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    @property
    def offset(self) -> timedelta:
        return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by `seconds`; returns the new time."""
        with self._lock:
            self._offset += timedelta(seconds=seconds)
            return self.now()

    def set_offset(self, offset: timedelta) -> None:
        with self._lock:
            self._offset = offset

    def reset(self) -> None:
        self.set_offset(timedelta(0))


CLOCK = Clock()


def utcnow() -> datetime:
    return CLOCK.now()


def wall_now(moment: datetime) -> datetime:
    """`moment` of the server's clock as the wall clock read it (clients sign with wall time)."""
    return moment - CLOCK.offset
