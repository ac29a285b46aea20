"""One SOAP call end to end: envelope, operation lookup, auth, limits, decode, handle, encode."""

from __future__ import annotations

import logging

from mktows import errors
from mktows.engine import Engine
from mktows.soap import schema
from mktows.soap.auth import authenticate
from mktows.soap.envelope import SoapRequest, parse_envelope
from mktows.soap.faults import render_fault
from mktows.soap.limits import CallLimits
from mktows.soap.operations import HANDLERS, INLINE_OPERATIONS, Call
from mktows.soap.schema_model import Operation

log = logging.getLogger("mktows.soap")


def operation_of(request: SoapRequest) -> Operation:
    element = request.body
    namespace, _, name = element.tag[1:].partition("}") if element.tag.startswith("{") else ("", "", element.tag)
    operation = schema.OPERATIONS_BY_ELEMENT.get(name)
    if operation is None or namespace not in (schema.TNS, ""):
        raise errors.UnsupportedOperation(f"Unsupported operation: {name}")
    return operation


def answers_inline(request: SoapRequest) -> bool:
    """Whether the request names an operation quick enough to answer without a worker thread."""
    name = request.body.tag.rpartition("}")[2]
    operation = schema.OPERATIONS_BY_ELEMENT.get(name)
    return operation is not None and operation.name in INLINE_OPERATIONS


class SoapService:
    def __init__(self, engine: Engine, limits: CallLimits, *, freshness_window_seconds: int) -> None:
        self.engine = engine
        self.limits = limits
        self.freshness_window_seconds = freshness_window_seconds

    def handle(self, version: str, body: bytes) -> tuple[int, bytes]:
        """Answer one request: (200, success envelope) or (500, fault envelope)."""
        try:
            request = parse_envelope(body)
        except errors.MarketoError as error:
            return 500, render_fault(error)
        return self.answer(version, request)

    def answer(self, version: str, request: SoapRequest) -> tuple[int, bytes]:
        """Answer a parsed request (see `handle`)."""
        try:
            return 200, self._call(version, request)
        except errors.MarketoError as error:
            return 500, render_fault(error)
        except Exception:
            log.exception("unexpected failure in a SOAP call")
            return 500, render_fault(errors.InternalError("Unexpected server error; see the server log"))

    def _call(self, version: str, request: SoapRequest) -> bytes:
        operation = operation_of(request)
        now = self.engine.now()
        user = authenticate(
            request.headers.get("AuthenticationHeader"), self.engine.api_user, now, self.freshness_window_seconds
        )
        handler = HANDLERS[operation.name]
        with self.limits.call(now):
            params = schema.decoder(version).params(operation, request.body)
            result = handler(Call(self.engine, version, user, request.headers), params)
            return schema.encoder(version).response(operation, result)
