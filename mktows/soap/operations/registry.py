"""Operation handlers register here by name (`@handles`); `service.py` dispatches through this table.

The modules that define handlers are listed in `operations/__init__.py`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lxml import etree

from mktows.engine import Engine
from mktows.engine.models import ApiUser
from mktows.runtime.registry import Registry
from mktows.soap.envelope import child_text
from mktows.soap.ignored import IgnoredInput


@dataclass
class Call:
    """What a handler knows about the call besides its decoded parameters."""

    engine: Engine
    version: str
    user: ApiUser
    headers: dict[str, etree._Element]
    notes: IgnoredInput | None = None  # where a handler reports what it drops (keys past a limit)

    def ignored(self, kind: str, path: str, detail: str) -> None:
        """Report a part of the request the call does not use (see `soap/ignored.py`)."""
        if self.notes is not None:
            self.notes.add(kind, path, detail)

    @property
    def workspace(self) -> str | None:
        header = self.headers.get("MktowsContextHeader")
        name = child_text(header, "targetWorkspace") if header is not None else None
        return name.strip() or None if name else None


Handler = Callable[[Call, dict[str, Any]], Any]
HANDLERS: Registry[Handler] = Registry("SOAP operation handler")
# Operations that touch a handful of indexed rows: answered on the server's event loop, since
# handing a call that takes a millisecond to a worker thread costs more than the call itself.
INLINE_OPERATIONS: set[str] = set()


def handles(operation: str, *, inline: bool = False) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS.add(operation, handler)
        if inline:
            INLINE_OPERATIONS.add(operation)
        return handler

    return register
