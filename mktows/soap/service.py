"""One SOAP call end to end: envelope, operation lookup, auth, limits, decode, handle, encode."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from lxml import etree

from mktows import errors
from mktows.engine import Engine
from mktows.observe.metrics import CALL_SECONDS, CALLS, FAULTS
from mktows.runtime.clock import wall_now
from mktows.runtime.idempotency import OPERATIONS as REPEATABLE_OPERATIONS
from mktows.runtime.idempotency import Claim, FirstAnswers
from mktows.soap import schema
from mktows.soap.auth import authenticate, claimed_user_id
from mktows.soap.envelope import SoapRequest, parse_envelope
from mktows.soap.faults import render_fault
from mktows.soap.ignored import IgnoredInput
from mktows.soap.limits import CallLimits
from mktows.soap.operations import HANDLERS, INLINE_OPERATIONS, Call
from mktows.soap.schema_model import Operation

log = logging.getLogger("mktows.soap")
call_log = logging.getLogger("mktows.call")

UNKNOWN_OPERATION = "unknown"  # the label of a call whose operation was never named or is not one
_SERVER_FAULTS = {10001, 20011}
_ACCESS_FAULTS = {20013, 20014}


@dataclass
class Answer:
    """What one call came to: the HTTP status and body, and what the log line and metrics say."""

    status: int = 200
    payload: bytes = b""
    operation: str = UNKNOWN_OPERATION
    user_id: str | None = None
    signed: bool = False  # the signature matched: never throttled (see auth.FailureThrottle)
    error: errors.MarketoError | None = None
    replayed: bool = False  # the first identical call's answer, kept for idempotent retries

    def fault(self, error: errors.MarketoError) -> Answer:
        self.status, self.payload, self.error = 500, render_fault(error), error
        return self


def fault_answer(error: errors.MarketoError) -> Answer:
    """The answer to a request refused before its operation was known (too large, not XML)."""
    return Answer().fault(error)


def record(answer: Answer, *, version: str, client: str | None, seconds: float, delay: float = 0.0) -> None:
    """The call's one log line (logger `mktows.call`) and its metrics. No key or signature is
    ever in it: only the user id the request named. `delay`: how long the answer is then held
    back (a throttled source), not part of `seconds`."""
    outcome = "ok" if answer.error is None else "fault"
    CALLS.labels(answer.operation, version, outcome).inc()
    CALL_SECONDS.labels(answer.operation).observe(seconds)
    fields: dict[str, Any] = {
        "version": version,
        "operation": answer.operation,
        "user": answer.user_id,
        "client": client,
        "duration_ms": round(seconds * 1000, 1),
        "outcome": outcome,
    }
    if answer.replayed:
        fields["replayed"] = True
    level = logging.INFO
    if answer.error is not None:
        code = answer.error.code
        FAULTS.labels(answer.operation, str(code)).inc()
        fields.update(fault_code=code, reason=answer.error.reason, fault_message=answer.error.detail)
        if delay:
            fields["throttled_ms"] = round(delay * 1000)
        level = logging.ERROR if code in _SERVER_FAULTS else logging.WARNING if code in _ACCESS_FAULTS else logging.INFO
    if call_log.isEnabledFor(level):
        call_log.log(level, "call", extra={"fields": fields})


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
    def __init__(
        self,
        engine: Engine,
        limits: CallLimits,
        *,
        freshness_window_seconds: int,
        strict_input: bool = False,
        first_answers: FirstAnswers | None = None,
    ) -> None:
        self.engine = engine
        self.limits = limits
        self.freshness_window_seconds = freshness_window_seconds
        self.strict_input = strict_input  # refuse what is otherwise ignored (see soap/ignored.py)
        self.first_answers = first_answers  # idempotent retries, when their window is on

    def handle(self, version: str, body: bytes) -> Answer:
        """Answer one request: 200 with the success envelope, or 500 with the fault envelope."""
        try:
            request = parse_envelope(body)
        except errors.MarketoError as error:
            return fault_answer(error)
        return self.answer(version, request)

    def answer(self, version: str, request: SoapRequest) -> Answer:
        """Answer a parsed request (see `handle`)."""
        answer = Answer()
        try:
            answer.payload = self._call(version, request, answer)
        except errors.MarketoError as error:
            return answer.fault(error)
        except Exception:
            log.exception("unexpected failure in a SOAP call")
            return answer.fault(errors.InternalError("Unexpected server error; see the server log", reason="exception"))
        return answer

    def _call(self, version: str, request: SoapRequest, answer: Answer) -> bytes:
        operation = operation_of(request)
        answer.operation = operation.name
        header = request.headers.get("AuthenticationHeader")
        answer.user_id = claimed_user_id(header)
        now = self.engine.now()
        # clients sign with their wall clock, which an emulated clock moved forward does not follow
        user = authenticate(header, self.engine.api_user, wall_now(now), self.freshness_window_seconds)
        answer.signed = True
        handler = HANDLERS[operation.name]
        with self.limits.call(now, user.user_id):
            notes = IgnoredInput(operation.name, strict=user.strict or self.strict_input)
            params = schema.decoder(version).params(operation, request.body, notes)
            claim = self._claim(version, operation.name, user.user_id, request, now)
            if claim is not None and claim.payload is not None:
                answer.replayed = True
                return claim.payload
            try:
                result = handler(Call(self.engine, version, user, request.headers, notes), params)
                payload = schema.encoder(version).response(operation, result)
            except BaseException:
                if claim is not None and self.first_answers is not None:
                    self.first_answers.release(claim)
                raise
            if claim is not None and self.first_answers is not None:
                self.first_answers.keep(claim, payload)
            return payload

    def _claim(self, version: str, operation: str, user_id: str, request: SoapRequest, now: Any) -> Claim | None:
        """The idempotency claim of a call that may repeat, when the window is on."""
        if self.first_answers is None or operation not in REPEATABLE_OPERATIONS:
            return None
        return self.first_answers.claim(user_id, operation, request_digest(version, request), now)


def request_digest(version: str, request: SoapRequest) -> str:
    """SHA-256 of the version, the headers but AuthenticationHeader and the body element, each
    in canonical XML: two requests differing only in their signature or timestamp agree."""
    digest = hashlib.sha256(version.encode())
    for name in sorted(request.headers):
        if name != "AuthenticationHeader":
            digest.update(etree.tostring(request.headers[name], method="c14n", exclusive=True))
    digest.update(etree.tostring(request.body, method="c14n", exclusive=True))
    return digest.hexdigest()
