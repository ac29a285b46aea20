"""The application `mktows serve` runs, built in this process and called over httpx's ASGI transport.

    with in_process_server(tmp_path) as app:      # or the `asgi_server` fixture
        call(app.endpoint("2_2"), body)            # support.soap sends this app's URLs to it

It is built the way `serve` builds it, by the code of the test double's pytest plugin
(mktows.testing.double.build_app): settings from the environment plus the test limits, a fresh
SQLite file (a copy of the migrated template), the same instance file as the real servers of
support/server.py applied, `create_app`, and the job workers when the settings ask for them
(`MKTOWS_WORKERS=0` runs none). No socket is opened: an httpx client hands each request to
`httpx.ASGITransport`, whose coroutine runs on an event loop thread of the app's own, and an
exception inside the app reaches the test instead of becoming a 500.

Every response is checked before the test sees it, whatever the test then asserts:
* a POST to a SOAP endpoint is answered 200 or 500, as text/xml, with a SOAP 1.1 envelope;
* a 200 holds one Body element, valid against the schema of the ?WSDL this app serves for
  that version (support.soap.SchemaValidator);
* a 500 is a SOAP 1.1 fault in the vendor's shape (support.soap.validate_fault);
* a ?WSDL is a wsdl:definitions whose schema compiles.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from lxml import etree

from mktows.config import Settings
from mktows.testing.double import build_app, fresh_database, read_instance

from .server import TEST_LIMITS, VERSIONS, ListPool, write_instance
from .soap import (
    SOAP_ENV,
    WSDL_NS,
    SchemaValidator,
    register_in_process,
    unregister_in_process,
    validate_fault,
    validate_soap_envelope,
)

_ENDPOINT_PATH = re.compile(r"^/soap/mktows/(?P<version>[^/?]+)$")
_numbers = itertools.count(1)


class _EventLoopThread:
    """An asyncio loop running forever on a daemon thread; coroutines are handed to it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="mktows-asgi-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class _BlockingASGITransport(httpx.BaseTransport):
    """`httpx.ASGITransport` (asynchronous) for a synchronous `httpx.Client`."""

    def __init__(self, app: Any, loop: _EventLoopThread, timeout: float = 300) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._loop = loop
        self._timeout = timeout

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def send() -> tuple[int, httpx.Headers, bytes]:
            forwarded = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            response = await self._asgi.handle_async_request(forwarded)
            return response.status_code, response.headers, await response.aread()

        status, headers, content = self._loop.run(send(), self._timeout)
        return httpx.Response(status, headers=headers, content=content, request=request)


class InProcessServer(ListPool):
    """What tests use of a `support.server.Server` (endpoints, fresh lists, the database URL),
    for an app in this process."""

    backend = "sqlite"

    def __init__(self, base_url: str, db_url: str, settings: Settings, engine: Any, app: Any) -> None:
        super().__init__()
        self.base_url = base_url
        self.db_url = db_url
        self.settings = settings
        self.engine = engine
        self.app = app
        self._loop = _EventLoopThread()
        self._client = httpx.Client(transport=_BlockingASGITransport(app, self._loop), base_url=base_url)
        self._validators: dict[str, SchemaValidator] = {}
        self._validators_lock = threading.Lock()

    def browser(self) -> httpx.Client:
        """A client of this app with a cookie jar of its own, as one browser would be."""
        return httpx.Client(transport=self._client._transport, base_url=self.base_url, follow_redirects=False)

    def endpoint(self, version: str = "2_2") -> str:
        return f"{self.base_url}/soap/mktows/{version}"

    def wsdl_url(self, version: str = "2_2") -> str:
        return self.endpoint(version) + "?WSDL"

    def close(self) -> None:
        self._client.close()
        self._loop.close()

    # -- requests (support.soap.post / get / validator_for come here for this app's URLs)

    def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 120,
        validate: bool = True,
    ) -> httpx.Response:
        resp = self._client.request(method, url, content=content, headers=headers, timeout=timeout)
        version = self._soap_version(url)
        if version is None or not validate:
            return resp
        if method == "POST":
            self._check_soap_response(resp, version)
        elif method == "GET" and resp.status_code == 200 and _asks_for_wsdl(url):
            root = etree.fromstring(resp.content)
            assert root.tag == f"{{{WSDL_NS}}}definitions", f"?WSDL gave {root.tag}"
            self._validator(version, resp.content)
        return resp

    def validator_for(self, endpoint: str) -> SchemaValidator:
        version = self._soap_version(endpoint)
        assert version is not None, f"not a SOAP endpoint of this app: {endpoint}"
        return self._validator(version)

    def _validator(self, version: str, wsdl: bytes | None = None) -> SchemaValidator:
        with self._validators_lock:
            validator = self._validators.get(version)
            if validator is None:
                if wsdl is None:
                    resp = self._client.get(self.wsdl_url(version))
                    assert resp.status_code == 200, f"GET {self.wsdl_url(version)} -> HTTP {resp.status_code}"
                    wsdl = resp.content
                validator = self._validators[version] = SchemaValidator(wsdl)
            return validator

    def _soap_version(self, url: str) -> str | None:
        m = _ENDPOINT_PATH.match(urlsplit(url).path)
        return m["version"] if m and m["version"] in VERSIONS else None

    def _check_soap_response(self, resp: httpx.Response, version: str) -> None:
        assert resp.status_code in (200, 500), f"a SOAP call was answered HTTP {resp.status_code}: {resp.text[:2000]}"
        ctype = resp.headers.get("content-type", "").replace(" ", "").lower()
        assert ctype == "text/xml;charset=utf-8", f"Content-Type {ctype!r}"
        if resp.status_code == 500:
            validate_fault(resp)
            return
        env = validate_soap_envelope(resp.content)
        children = [c for c in env.find(f"{{{SOAP_ENV}}}Body") if isinstance(c.tag, str)]
        assert len(children) == 1, f"Body must hold exactly one element, found {len(children)}: {resp.text[:2000]}"
        assert children[0].tag != f"{{{SOAP_ENV}}}Fault", f"a fault answered HTTP 200: {resp.text[:2000]}"
        self._validator(version).validate(children[0])


def _asks_for_wsdl(url: str) -> bool:
    return any(part.split("=")[0].lower() == "wsdl" for part in urlsplit(url).query.split("&") if part)


@contextlib.contextmanager
def in_process_server(
    workdir: Path, *, instance: dict | None = None, env: dict[str, str] | None = None
) -> Iterator[InProcessServer]:
    """The app of `mktows serve --db sqlite:///{workdir}/mktows.db --instance ...`, with the
    test limits of support/server.py and `env` as its environment.

    Built by the test double's own code (mktows.testing.double.build_app, which the
    `mktows_server` fixture uses too): the database file is a copy of the migrated template,
    not migrated again for each app."""
    workdir.mkdir(parents=True, exist_ok=True)
    instance_file = write_instance(workdir / "instance.yaml", instance)
    db_path = workdir / "mktows.db"
    db_url = f"sqlite:///{db_path}"
    environ = {**os.environ, **TEST_LIMITS, **(env or {})}
    settings = Settings.from_env(environ, db_url=db_url, instance_file=str(instance_file))
    inst = read_instance(instance_file, default_user=False)
    with build_app(settings, inst, database=fresh_database(db_path)) as built:
        assert built.engine.api_users(), "the instance file declares the API users the tests sign with"
        server = InProcessServer(f"http://mktows-{next(_numbers)}.invalid", db_url, settings, built.engine, built.app)
        register_in_process(server.base_url, server)
        try:
            yield server
        finally:
            unregister_in_process(server.base_url)
            server.close()
