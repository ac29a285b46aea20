"""The ASGI wrapper that puts fault rules and the recorder in the path of every SOAP call.

It is the outermost layer of the app, so it sees the server's own `send`: a dropped connection
is a connection closed without a byte of answer (under uvicorn; in process, where there is no
connection, the call raises ConnectionResetError instead). With no rule and no recording it
passes calls straight through.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from mktows.emulator.faults import FaultRule, FaultRules
from mktows.emulator.recorder import Recorder
from mktows.emulator.soapwire import operation_name
from mktows.soap.faults import render_fault

log = logging.getLogger("mktows.emulator")

SOAP_PREFIX = "/soap/mktows/"
XML = b"text/xml; charset=UTF-8"
Scope = dict[str, Any]


class EmulatorMiddleware:
    def __init__(self, app: Any, faults: FaultRules, recorder: Recorder) -> None:
        self.app = app
        self.faults = faults
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if (
            scope["type"] != "http"
            or scope.get("method") != "POST"
            or not path.startswith(SOAP_PREFIX)
            or not (self.faults.active or self.recorder.active)
        ):
            await self.app(scope, receive, send)
            return
        version = path[len(SOAP_PREFIX) :]
        body = await _read_body(receive)
        rule = self.faults.draw(operation_name(body)) if self.faults.active else None
        if rule is not None:
            if rule.latency_ms:
                await asyncio.sleep(rule.latency_ms / 1000)
            if rule.drop_connection:
                await _drop(send)
                return
            if rule.http_status is not None or rule.fault_code is not None:
                status, payload, media = _injected(rule)
                await _respond(send, status, payload, media)
                if self.recorder.active:
                    self.recorder.write(version, body, status, payload)
                return
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            message: dict[str, Any] = await receive()
            return message

        if not self.recorder.active:
            await self.app(scope, replay, send)
            return
        status = 0
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, replay, capture)
        self.recorder.write(version, body, status, b"".join(chunks))


def _injected(rule: FaultRule) -> tuple[int, bytes, bytes]:
    if rule.http_status is not None:
        return rule.http_status, f"HTTP {rule.http_status} injected by the emulator\n".encode(), b"text/plain"
    return 500, render_fault(rule.error()), XML


async def _read_body(receive: Any) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _respond(send: Any, status: int, payload: bytes, media: bytes) -> None:
    headers = [(b"content-type", media), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _drop(send: Any) -> None:
    """Close the client's connection without answering."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionResetError("connection dropped by an emulator fault rule")
    transport.abort()
    await asyncio.sleep(0)  # the server sees the connection lost before the app returns
