"""What a call can raise, and which of those a retry can fix.

A fault is the server's answer (`MarketoFault`, with the Marketo code from the fault's
`detail`); a connection error is httpx's, wrapped with whether the request may have reached
the server (`MarketoConnectionError.sent`); anything else that is not a SOAP answer (a proxy's
HTML page, an HTTP 404 for a wrong path) is a `MarketoProtocolError`.
"""

from __future__ import annotations

import re

import httpx

# Faults the server gives before it runs the operation, so a retry is always safe and may
# succeed: 20016 Request Expired (the retry is signed afresh), 20023 Rate Limit Exceeded,
# 20024 Concurrency Limit Exceeded. Every other fault would come back the same.
RETRYABLE_FAULTS = frozenset({20016, 20023, 20024})

# Operations whose repetition would do the work twice (run a campaign again, queue a second
# import): retried after a connection error only when the request never left this machine.
NOT_REPEATABLE = frozenset({"requestCampaign", "scheduleCampaign", "importToList"})

# httpx errors raised before a connection existed: the server cannot have seen the request.
NOT_SENT: tuple[type[httpx.TransportError], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# A proxy in front of the server answering for it: the call may have run (unless it is a 503,
# which proxies send when no server took it, but not only then), so only repeatable calls retry.
RETRYABLE_HTTP_STATUSES = frozenset({502, 503, 504})

_RETRY_IN = re.compile(r"retry in (\d+(?:\.\d+)?) seconds?")


class MarketoError(Exception):
    """Base of every error of `mktows.client`."""

    def __init__(self, message: str, *, operation: str) -> None:
        super().__init__(message)
        self.operation = operation


class MarketoFault(MarketoError):
    """A SOAP fault from the server: `code` (20103, 20014, ...), `message` (the long text),
    `faultstring` (`20103 - Lead not found`) and the `operation` that got it."""

    def __init__(self, code: int, message: str, *, operation: str, faultstring: str = "") -> None:
        super().__init__(f"{operation}: {faultstring or code}: {message}", operation=operation)
        self.code = code
        self.message = message
        self.faultstring = faultstring

    @property
    def retryable(self) -> bool:
        """Whether a retry may succeed: the server refused the call before running it."""
        return self.code in RETRYABLE_FAULTS

    @property
    def retry_after(self) -> float | None:
        """The wait the server asked for (a rate-limit fault says `retry in N seconds`)."""
        found = _RETRY_IN.search(self.message)
        return float(found.group(1)) if found else None


class MarketoConnectionError(MarketoError):
    """The HTTP exchange failed (the httpx error is `__cause__`). `sent` is False only when no
    connection was ever made, so the server cannot have received the request."""

    def __init__(self, message: str, *, operation: str, sent: bool) -> None:
        super().__init__(message, operation=operation)
        self.sent = sent


class MarketoProtocolError(MarketoError):
    """An answer that is neither a success nor a SOAP fault (`status` is its HTTP status)."""

    def __init__(self, message: str, *, operation: str, status: int) -> None:
        super().__init__(message, operation=operation)
        self.status = status


def is_retryable(error: MarketoError, *, repeatable: bool) -> bool:
    """Whether `error` is worth another attempt; `repeatable` says whether running the call
    twice is harmless (reads, upserts) or not (see NOT_REPEATABLE)."""
    if isinstance(error, MarketoFault):
        return error.retryable
    if isinstance(error, MarketoConnectionError):
        return repeatable or not error.sent
    if isinstance(error, MarketoProtocolError):
        return repeatable and error.status in RETRYABLE_HTTP_STATUSES
    return False
