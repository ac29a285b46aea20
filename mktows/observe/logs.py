"""Structured logs: one line per event, JSON when the output is not a terminal, readable when it is.

A call's request id lives in a context variable set by the app, so any log line written while
the call runs (SOAP layer, engine, store) carries it without being passed along. Fields go in
`extra={"fields": {...}}`; secrets (keys, signatures) are never put there.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

REQUEST_ID: ContextVar[str | None] = ContextVar("mktows_request_id", default=None)
FORMATS = ("auto", "json", "human")


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    extra = getattr(record, "fields", None)
    return dict(extra) if isinstance(extra, dict) else {}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        entry.update(fields_of(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class HumanFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        parts = [stamp, f"{record.levelname:<7}", record.getMessage()]
        if request_id:
            parts.append(f"[{request_id}]")
        parts += [f"{key}={value}" for key, value in fields_of(record).items() if value is not None]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(fmt: str = "auto", level: str = "info", stream: TextIO | None = None) -> str:
    """Send mktows' loggers to `stream` (stderr) in the chosen format; `auto` picks by terminal.
    Returns the format chosen (`json` or `human`)."""
    out = stream or sys.stderr
    chosen = fmt if fmt != "auto" else ("human" if out.isatty() else "json")
    handler = logging.StreamHandler(out)
    handler.setFormatter(HumanFormatter() if chosen == "human" else JsonFormatter())
    root = logging.getLogger("mktows")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    # the job engine's own warnings and errors, in the same format; not its line per job
    engine = logging.getLogger("procrastinate")
    engine.handlers[:] = [handler]
    engine.setLevel(max(root.level, logging.WARNING))
    engine.propagate = False
    return chosen
