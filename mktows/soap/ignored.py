"""What a request held that the server did not use: an element the schema does not declare, a
name matched only by ignoring its case, a repeated element, keys past a call's limit.

Marketo dropped these without a word, and clients rely on that, so by default the call goes
on as it did; each one is logged (logger `mktows.input`, with the request id) and counted in
`IGNORED_INPUT`. In strict mode (the instance's `strict_input` setting, or an API user's
`strict` flag) the first one is fault 20110 naming the element, before anything is applied.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from mktows import errors
from mktows.observe.logs import REQUEST_ID
from mktows.observe.metrics import IGNORED_INPUT

log = logging.getLogger("mktows.input")

UNKNOWN_ELEMENT = "unknown_element"
MISCASED_ELEMENT = "miscased_element"
DUPLICATE_ELEMENT = "duplicate_element"
DROPPED_KEY = "dropped_key"


@dataclass(frozen=True)
class Note:
    kind: str  # one of the names above
    path: str  # where, as element names from the operation's element down
    detail: str  # what was ignored, in a sentence


@dataclass
class IgnoredInput:
    """The notes of one call, filled by the decoder and the operation handlers."""

    operation: str
    strict: bool = False
    notes: list[Note] = field(default_factory=list)

    def add(self, kind: str, path: str, detail: str) -> None:
        """Record (log and count) one ignored part, or refuse it in strict mode."""
        if self.strict:
            raise errors.BadParameter(f"{detail}: {path} (strict input refuses what it would ignore)")
        self.notes.append(Note(kind, path, detail))
        IGNORED_INPUT.labels(kind, self.operation).inc()
        log.warning(
            "ignored input",
            extra={
                "request_id": REQUEST_ID.get(),
                "fields": {"operation": self.operation, "kind": kind, "path": path, "detail": detail},
            },
        )
