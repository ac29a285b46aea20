"""The ASGI application: SOAP endpoints per API version and their WSDLs."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from mktows import errors
from mktows.config import Settings
from mktows.engine import Engine
from mktows.soap.envelope import parse_envelope
from mktows.soap.faults import render_fault
from mktows.soap.limits import CallLimits
from mktows.soap.schema_model import VERSIONS
from mktows.soap.service import SoapService, answers_inline
from mktows.soap.wsdl import render_wsdl

XML = "text/xml; charset=UTF-8"
# Bodies up to this size are parsed on the event loop to see whether the call can be answered
# there (a getLead is about 1 KB); larger ones go to a worker thread unparsed.
INLINE_PARSE_BYTES = 16 * 1024


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, read in chunks (chunked encoding included) and capped at `limit`."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(settings: Settings, engine: Engine) -> Starlette:
    limits = CallLimits(
        daily_quota=settings.daily_quota,
        rate_calls=settings.rate_limit_calls,
        rate_seconds=settings.rate_limit_seconds,
        max_concurrency=settings.max_concurrency,
        enabled=settings.limits_enabled,
    )
    service = SoapService(engine, limits, freshness_window_seconds=settings.freshness_window_seconds)

    async def endpoint(request: Request) -> Response:
        version = request.path_params["version"]
        if version not in VERSIONS:
            return PlainTextResponse(
                f"Unknown API version {version}; this server has {', '.join(VERSIONS)}", status_code=404
            )
        if request.method == "GET":
            if any(key.lower() == "wsdl" for key in request.query_params):
                url = str(request.url.replace(query=""))
                return Response(render_wsdl(version, url), media_type="text/xml")
            return PlainTextResponse("POST SOAP requests here; GET ?WSDL for the service description")
        try:
            body = await read_body(request, settings.max_body_bytes)
        except BodyTooLarge:
            fault = errors.RequestNotUnderstood(
                f"The request body is larger than the limit of {settings.max_body_bytes} bytes"
            )
            return Response(render_fault(fault), status_code=500, media_type=XML)
        status, payload = await answer(version, body)
        return Response(payload, status_code=status, media_type=XML)

    async def answer(version: str, body: bytes) -> tuple[int, bytes]:
        """Quick calls on the event loop, the rest in worker threads so they never hold it up."""
        if len(body) > INLINE_PARSE_BYTES:
            return await run_in_threadpool(service.handle, version, body)
        try:
            request = parse_envelope(body)
        except errors.MarketoError as error:
            return 500, render_fault(error)
        if answers_inline(request):
            return service.answer(version, request)
        return await run_in_threadpool(service.answer, version, request)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/soap/mktows/{version}", endpoint, methods=["GET", "POST"]),
            Route("/health", health),
        ]
    )
