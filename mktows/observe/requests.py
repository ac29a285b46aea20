"""The request id: one per HTTP request, in `logs.REQUEST_ID` while it runs and in the
`X-Request-Id` header of its answer, whatever answers it (SOAP, WSDL, fault, health, 404).

A client or proxy may send its own `X-Request-Id` to follow a call across systems; it is kept
when it is a plain token of at most 64 characters, otherwise a fresh id replaces it (a
header is not a place to let arbitrary text into the log).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mktows.observe.logs import REQUEST_ID

HEADER = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9._:\-]{1,64}")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def incoming_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The request's own id, when it sent a sane one."""
    for name, value in headers:
        if name.lower() == HEADER:
            token = value.strip()
            return token.decode("ascii") if _SANE.fullmatch(token) else None
    return None


def new_id() -> str:
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Pure ASGI (no per-request task or body copy): sets the id, adds the response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_id(scope.get("headers") or []) or new_id()
        raw = request_id.encode("ascii")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers") or [] if k.lower() != HEADER]
                message["headers"] = [*headers, (b"x-request-id", raw)]
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
