"""`mktows stub RECORDING`: a server that answers from a recording instead of a database.

Each request is matched by its API version and its canonical form (emulator/soapwire.py: the
AuthenticationHeader left out, dates and times blanked) against the recorded requests. The
same request recorded several times is answered with its recorded answers in turn, the last one
repeating. A request the recording does not hold is answered with Marketo fault 20017 (Invalid
Request), HTTP 500, naming the operation: a client sees a fault, as it would from the vendor,
and the test fails where the recording falls short. `GET ...?WSDL` serves the version's WSDL.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from mktows import errors
from mktows.emulator.soapwire import match_key, operation_name
from mktows.soap.faults import render_fault
from mktows.soap.schema_model import VERSIONS
from mktows.soap.wsdl import render_wsdl

log = logging.getLogger("mktows.stub")
XML = "text/xml; charset=UTF-8"


class RecordingError(Exception):
    """The recording cannot be read; the message names the file and line."""


class Recording:
    """The recorded answers by (version, canonical request), in the order they were recorded."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._answers: dict[tuple[str, str], list[tuple[int, bytes]]] = defaultdict(list)
        self._served: dict[tuple[str, str], int] = defaultdict(int)
        self._lock = threading.Lock()
        self.calls = 0
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise RecordingError(f"{self.path}: {exc.strerror or exc}") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                version, request, status, response = (
                    str(entry["version"]),
                    str(entry["request"]),
                    int(entry["status"]),
                    str(entry["response"]),
                )
            except (ValueError, KeyError, TypeError):
                raise RecordingError(f"{self.path}:{number}: not a recorded call") from None
            key = match_key(request.encode())
            if key is None:
                raise RecordingError(f"{self.path}:{number}: the recorded request is not a SOAP envelope")
            self._answers[(version, key)].append((status, response.encode()))
            self.calls += 1

    def answer(self, version: str, body: bytes) -> tuple[int, bytes] | None:
        key = match_key(body)
        if key is None:
            return None
        with self._lock:
            answers = self._answers.get((version, key))
            if not answers:
                return None
            turn = self._served[(version, key)]
            self._served[(version, key)] = turn + 1
            return answers[min(turn, len(answers) - 1)]


def stub_app(recording: Recording) -> Starlette:
    async def endpoint(request: Request) -> Response:
        version = request.path_params["version"]
        if version not in VERSIONS:
            return PlainTextResponse(f"Unknown API version {version}", status_code=404)
        if request.method == "GET":
            url = str(request.url.replace(query=""))
            return Response(render_wsdl(version, url), media_type="text/xml")
        body = await request.body()
        found = recording.answer(version, body)
        if found is not None:
            return Response(found[1], status_code=found[0], media_type=XML)
        operation = operation_name(body) or "unknown"
        log.warning("stub: no recorded answer for a %s request", operation)
        error = errors.InvalidRequest(f"The stub's recording has no answer for this {operation} request")
        return Response(render_fault(error), status_code=500, media_type=XML)

    async def alive(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/soap/mktows/{version}", endpoint, methods=["GET", "POST"]),
            Route("/healthz", alive, methods=["GET"]),
        ]
    )
