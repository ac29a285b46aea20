"""The in-process harness (support/inprocess.py) refuses every response a SOAP server must not
give: it is what lets the protocol tests trust the XML they read.

A stand-in app serves the real ?WSDL (taken from the app in process) and answers each POST with
the canned response of the case; the harness must raise on each broken one and pass the good ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from support.inprocess import InProcessServer
from support.soap import SOAP_ENV, TNS, call, envelope, get, post

XML = "text/xml; charset=UTF-8"
DECL = '<?xml version="1.0" encoding="UTF-8"?>'


def _envelope(body: str) -> str:
    return f'{DECL}<S:Envelope xmlns:S="{SOAP_ENV}" xmlns:m="{TNS}"><S:Body>{body}</S:Body></S:Envelope>'


def _fault(faultstring: str = "<faultstring>20103 - Lead not found</faultstring>", detail: str | None = None) -> str:
    if detail is None:
        detail = (
            "<detail><m:serviceException><name>mktServiceException</name>"
            "<message>No lead found with EMAIL = a@b.c (20103)</message><code>20103</code></m:serviceException></detail>"
        )
    return _envelope(f"<S:Fault><faultcode>S:Client</faultcode>{faultstring}{detail}</S:Fault>")


GOOD_SUCCESS = _envelope(
    "<m:successListMObjects><result><objects>LeadRecord</objects></result></m:successListMObjects>"
)
GOOD_FAULT = _fault()

BROKEN = {
    "success missing its result": (200, _envelope("<m:successGetLead/>"), XML),
    "success with an unknown child": (
        200,
        _envelope("<m:successListMObjects><result><objects>x</objects><extra/></result></m:successListMObjects>"),
        XML,
    ),
    "two elements in the Body": (200, _envelope("<m:successListMObjects/><m:successListMObjects/>"), XML),
    "a fault answered 200": (200, GOOD_FAULT, XML),
    "a success answered 500": (500, GOOD_SUCCESS, XML),
    "fault without detail": (500, _fault(detail=""), XML),
    "fault without faultstring": (500, _fault(faultstring=""), XML),
    "fault code not a number": (
        500,
        _fault(
            detail="<detail><m:serviceException><name>mktServiceException</name><message>x (abc)</message>"
            "<code>abc</code></m:serviceException></detail>"
        ),
        XML,
    ),
    "fault detail out of order": (
        500,
        _fault(
            detail="<detail><m:serviceException><message>No lead found with EMAIL = a@b.c (20103)</message>"
            "<name>mktServiceException</name><code>20103</code></m:serviceException></detail>"
        ),
        XML,
    ),
    "not an envelope": (500, f"{DECL}<html><body>Internal Server Error</body></html>", XML),
    "plain text 500": (500, "Internal Server Error", "text/plain; charset=utf-8"),
    "success as JSON": (200, GOOD_SUCCESS, "application/json"),
    "HTTP 404 for a call": (404, GOOD_FAULT, XML),
}


@pytest.fixture(scope="module")
def wsdl(asgi_server) -> bytes:
    return get(asgi_server.wsdl_url("2_2")).content


@pytest.fixture
def stand_in(wsdl) -> Iterator[tuple[InProcessServer, list]]:
    """An InProcessServer around an app that answers each POST with `reply[0]`."""
    reply: list[tuple[int, str, str]] = []

    async def endpoint(request: Request) -> Response:
        if request.method == "GET":
            return Response(wsdl, media_type="text/xml")
        status, body, ctype = reply[0]
        return Response(body.encode(), status_code=status, media_type=ctype)

    app = Starlette(routes=[Route("/soap/mktows/{version}", endpoint, methods=["GET", "POST"])])
    server = InProcessServer("http://stand-in.invalid", "sqlite://", None, None, app)
    try:
        yield server, reply
    finally:
        server.close()


def _post(server: InProcessServer):
    return server.request("POST", server.endpoint("2_2"), content=envelope("<ns1:paramsListMObjects/>"))


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_response_is_refused(stand_in, case):
    server, reply = stand_in
    reply.append(BROKEN[case])
    with pytest.raises(AssertionError):
        _post(server)


@pytest.mark.parametrize("status, body", [(200, GOOD_SUCCESS), (500, GOOD_FAULT)])
def test_a_good_response_passes(stand_in, status, body):
    server, reply = stand_in
    reply.append((status, body, XML))
    assert _post(server).status_code == status


def test_the_app_in_process_is_reached_through_the_soap_helpers(asgi_server):
    """support.soap sends the app's URLs to it, never to the network."""
    resp = call(asgi_server.endpoint("3_1"), "<ns1:paramsListMObjects/>")
    assert resp.status_code == 200 and resp.request.url.host.endswith(".invalid")
    resp = post(asgi_server.endpoint("3_1"), b"not xml")
    assert resp.status_code == 500 and b"<code>20012</code>" in resp.content
