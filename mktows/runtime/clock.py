"""The server's clock: aware UTC. Every component takes a clock argument defaulting to this,
so tests (and a test double) can move time."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
