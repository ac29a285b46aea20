"""Signing, the HTTP exchange and the retry loop, for the synchronous and the asyncio client.

Each attempt is signed afresh (HMAC-SHA1 over `requestTimestamp + mktowsUserId`), so a retry
after 20016 Request Expired carries a new timestamp; when the server's clock differs from
ours, the 20016 answer's HTTP `Date` tells by how much, and later timestamps are corrected.
One pooled httpx client per API client keeps connections alive between calls, as the vendor
asked of clients that run calls in parallel.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import os
import random
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx
from lxml import etree

from mktows.client import codec
from mktows.client.errors import (
    NOT_REPEATABLE,
    NOT_SENT,
    MarketoConnectionError,
    MarketoError,
    MarketoFault,
    MarketoProtocolError,
    is_retryable,
)
from mktows.client.schema import TNS, Operation
from mktows.client.types import OPERATIONS, AuthenticationHeaderInfo, MktowsContextHeaderInfo

T = TypeVar("T")
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
ENV_OPEN = f'<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}">'.encode()
MAX_CONCURRENCY = 10  # the vendor's limit of calls in flight per instance

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def resolve_settings(endpoint: str | None, user_id: str | None, encryption_key: str | None) -> tuple[str, str, str]:
    """The three settings, each from its argument or else its environment variable."""
    values = []
    for value, variable, what in (
        (endpoint, "MKTOWS_ENDPOINT", "endpoint"),
        (user_id, "MKTOWS_USER_ID", "user_id"),
        (encryption_key, "MKTOWS_ENCRYPTION_KEY", "encryption_key"),
    ):
        value = value or os.environ.get(variable, "")
        if not value:
            raise ValueError(f"no {what}: pass {what}= or set {variable}")
        values.append(value)
    endpoint = values[0]
    if endpoint.lower().endswith("?wsdl"):  # the WSDL's URL given for the endpoint's
        endpoint = endpoint[: -len("?wsdl")]
    return endpoint, values[1], values[2]


class Signer:
    """The AuthenticationHeader of one attempt. `offset` is what we learned the server's clock
    to be ahead of ours (from the `Date` of a 20016 answer)."""

    def __init__(self, user_id: str, encryption_key: str, clock: Clock) -> None:
        self.user_id = user_id
        self._key = encryption_key.encode("utf-8")
        self.clock = clock
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return self.clock() + self.offset

    def header(self) -> bytes:
        timestamp = self.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        message = (timestamp + self.user_id).encode("utf-8")
        signature = hmac.new(self._key, message, hashlib.sha1).hexdigest()
        header = AuthenticationHeaderInfo(
            mktows_user_id=self.user_id, request_signature=signature, request_timestamp=timestamp
        )
        xml: bytes = etree.tostring(codec.encode(header, "AuthenticationHeader"))
        return xml

    def learn(self, response: httpx.Response) -> None:
        """Correct our clock by the server's, read from the `Date` of its 20016 answer."""
        try:
            server = parsedate_to_datetime(response.headers["date"])
        except (KeyError, TypeError, ValueError):
            return
        self.offset = server.astimezone(UTC) - self.clock()


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n waits a random time up to
    min(max_backoff, backoff * 2**n), and at least what a rate-limit fault asked for."""

    retries: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0

    def delay(self, error: MarketoError, attempt: int, *, repeatable: bool) -> float | None:
        """Seconds to wait before the next attempt, or None to raise `error`."""
        if attempt >= self.retries or not is_retryable(error, repeatable=repeatable):
            return None
        wait = random.uniform(0, min(self.max_backoff, self.backoff * 2**attempt))
        asked = error.retry_after if isinstance(error, MarketoFault) else None
        return max(wait, min(asked, self.max_backoff)) if asked else wait


@dataclass(frozen=True)
class Prepared:
    """One call's body, serialized once and sent on every attempt."""

    operation: Operation
    body: bytes
    context: bytes | None
    repeatable: bool


class Exchange:
    """What the two transports share: preparing a call, signing an attempt, reading the answer,
    naming transport errors, and the counters tests and progress reports read."""

    def __init__(self, endpoint: str, signer: Signer, policy: RetryPolicy) -> None:
        self.endpoint = endpoint
        self.signer = signer
        self.policy = policy
        self.calls_sent = 0  # requests that left this client (answered, or lost after sending)
        self.calls_retried = 0  # attempts after the first, over all calls
        self._lock = threading.Lock()

    def prepare(self, name: str, request: object, *, workspace: str | None, repeatable: bool | None) -> Prepared:
        operation = OPERATIONS[name]
        if not isinstance(request, operation.request_type):
            raise TypeError(f"{name} takes a {operation.request_type.__name__}, not {type(request).__name__}")
        context = None
        if workspace is not None:
            context = etree.tostring(
                codec.encode(MktowsContextHeaderInfo(target_workspace=workspace), "MktowsContextHeader")
            )
        body = etree.tostring(codec.encode(request, operation.request_element))
        if repeatable is None:
            repeatable = name not in NOT_REPEATABLE
        return Prepared(operation, body, context, repeatable)

    def content(self, call: Prepared) -> tuple[bytes, dict[str, str]]:
        """The signed envelope of one attempt, and its HTTP headers."""
        headers = self.signer.header() + (call.context or b"")
        envelope = b"".join((ENV_OPEN, b"<SOAP-ENV:Header>", headers, b"</SOAP-ENV:Header><SOAP-ENV:Body>", call.body))
        envelope += b"</SOAP-ENV:Body></SOAP-ENV:Envelope>"
        return envelope, {
            "Content-Type": "text/xml; charset=UTF-8",
            "SOAPAction": f'"{TNS}{call.operation.name}"',
        }

    def count(self, *, sent: int = 0, retried: int = 0) -> None:
        with self._lock:
            self.calls_sent += sent
            self.calls_retried += retried

    def connection_error(self, call: Prepared, error: httpx.TransportError) -> MarketoConnectionError:
        sent = not isinstance(error, NOT_SENT)
        if sent:
            self.count(sent=1)
        what = "the request may have reached the server" if sent else "the request never left this machine"
        detail = str(error) or type(error).__name__
        return MarketoConnectionError(
            f"{call.operation.name}: {detail} ({what}; endpoint {self.endpoint})",
            operation=call.operation.name,
            sent=sent,
        )

    def read(self, call: Prepared, response: httpx.Response, result: type[T]) -> T:
        """The operation's result (the one child of its success element), or the fault raised."""
        self.count(sent=1)
        name = call.operation.name
        try:
            envelope = codec.parse(response.content)
        except etree.XMLSyntaxError:
            raise self._not_soap(call, response) from None
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        answer = next((c for c in body if isinstance(c.tag, str)), None) if body is not None else None
        if answer is None:
            raise self._not_soap(call, response)
        if answer.tag == f"{{{SOAP_ENV}}}Fault":
            fault = self._fault(name, answer)
            if fault.code == 20016:
                self.signer.learn(response)
            raise fault
        if response.status_code != 200 or answer.tag.rpartition("}")[2] != call.operation.response_element:
            raise self._not_soap(call, response)
        success = codec.decode(answer, call.operation.response_type)
        value = getattr(success, fields(success)[0].name)
        if not isinstance(value, result):
            raise self._not_soap(call, response)
        return value

    def _fault(self, name: str, fault: etree._Element) -> MarketoFault:
        faultstring = (fault.findtext("faultstring") or "").strip()
        exception = fault.find(f"detail/{{{TNS}}}serviceException")
        if exception is None:
            exception = fault.find("detail/serviceException")
        code_text = (exception.findtext("code") if exception is not None else None) or faultstring.partition(" ")[0]
        message = (exception.findtext("message") if exception is not None else None) or faultstring
        code = int(code_text) if code_text.strip().isdigit() else 0
        return MarketoFault(code, message.strip(), operation=name, faultstring=faultstring)

    def _not_soap(self, call: Prepared, response: httpx.Response) -> MarketoProtocolError:
        text = response.text[:200].strip()
        return MarketoProtocolError(
            f"{call.operation.name}: HTTP {response.status_code} from {self.endpoint} is not a SOAP answer: {text!r}",
            operation=call.operation.name,
            status=response.status_code,
        )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One certificate store for every client of the process: building one reads the whole CA
    bundle (tens of milliseconds, more than a call to a local server), and an SSLContext may be
    shared by any number of connections and threads once it is set up."""
    return httpx.create_ssl_context()


def _limits(concurrency: int) -> httpx.Limits:
    size = max(10, concurrency)
    return httpx.Limits(max_connections=size, max_keepalive_connections=size)


class SyncTransport(Exchange):
    """Calls over one `httpx.Client`; at most `concurrency` requests in flight across threads."""

    def __init__(
        self,
        endpoint: str,
        signer: Signer,
        policy: RetryPolicy,
        *,
        timeout: float,
        concurrency: int,
        transport: httpx.BaseTransport | None,
    ) -> None:
        super().__init__(endpoint, signer, policy)
        self.http = httpx.Client(
            transport=transport, timeout=timeout, limits=_limits(concurrency), verify=_tls_context()
        )
        self._slots = threading.BoundedSemaphore(max(1, concurrency))

    def call(
        self,
        name: str,
        request: object,
        result: type[T],
        *,
        workspace: str | None = None,
        repeatable: bool | None = None,
    ) -> T:
        call = self.prepare(name, request, workspace=workspace, repeatable=repeatable)
        attempt = 0
        while True:
            try:
                return self._attempt(call, result)
            except MarketoError as error:
                delay = self.policy.delay(error, attempt, repeatable=call.repeatable)
                if delay is None:
                    raise
            attempt += 1
            self.count(retried=1)
            time.sleep(delay)

    def _attempt(self, call: Prepared, result: type[T]) -> T:
        content, headers = self.content(call)
        with self._slots:
            try:
                response = self.http.post(self.endpoint, content=content, headers=headers)
            except httpx.TransportError as error:
                raise self.connection_error(call, error) from error
        return self.read(call, response, result)

    def close(self) -> None:
        self.http.close()


class AsyncTransport(Exchange):
    """Calls over one `httpx.AsyncClient`; at most `concurrency` requests in flight."""

    def __init__(
        self,
        endpoint: str,
        signer: Signer,
        policy: RetryPolicy,
        *,
        timeout: float,
        concurrency: int,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        super().__init__(endpoint, signer, policy)
        self.http = httpx.AsyncClient(
            transport=transport, timeout=timeout, limits=_limits(concurrency), verify=_tls_context()
        )
        self._concurrency = max(1, concurrency)
        self._slots: asyncio.Semaphore | None = None  # made on first use, inside the running loop

    async def call(
        self,
        name: str,
        request: object,
        result: type[T],
        *,
        workspace: str | None = None,
        repeatable: bool | None = None,
    ) -> T:
        call = self.prepare(name, request, workspace=workspace, repeatable=repeatable)
        attempt = 0
        while True:
            try:
                return await self._attempt(call, result)
            except MarketoError as error:
                delay = self.policy.delay(error, attempt, repeatable=call.repeatable)
                if delay is None:
                    raise
            attempt += 1
            self.count(retried=1)
            await asyncio.sleep(delay)

    async def _attempt(self, call: Prepared, result: type[T]) -> T:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._concurrency)
        content, headers = self.content(call)
        async with self._slots:
            try:
                response = await self.http.post(self.endpoint, content=content, headers=headers)
            except httpx.TransportError as error:
                raise self.connection_error(call, error) from error
        return self.read(call, response, result)

    async def aclose(self) -> None:
        await self.http.aclose()
