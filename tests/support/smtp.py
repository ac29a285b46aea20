"""A real SMTP server (aiosmtpd) on 127.0.0.1 that collects what it accepts.

    with smtp_sink() as sink:                       # or the `smtp_sink` fixture
        sink.url                                    # smtp://127.0.0.1:PORT
        sink.reject("a@x.test", "550 5.1.1 No such user")          # always: a bounce
        sink.reject("b@x.test", "451 4.3.0 Try again later", times=1)  # first try only
        sink.wait_for(3)                            # -> the 3 received messages
        sink.messages[0].message["Subject"]         # parsed (email.policy.default)

`tls="starttls"` / `tls="implicit"` serve TLS with a throw-away self-signed certificate for
127.0.0.1 (`sink.cafile` trusts it); `login=(user, password)` requires AUTH.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from mktows.engine.campaigns.outbox import Message

from .server import free_port


@dataclass
class Received:
    peer: Any
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    session: int  # which connection (1, 2, ... in the order they opened)
    authenticated: bool

    @functools.cached_property
    def message(self) -> EmailMessage:
        """The message parsed (email.policy.default), on first use: parsing as messages arrive
        would slow the sink down in runs of thousands."""
        return message_from_bytes(self.data.replace(b"\r\n", b"\n"), policy=policy.default)  # type: ignore[return-value]


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        reply = self.sink._reply_for(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.sink._received(session, envelope)
        return "250 2.0.0 Message accepted for delivery"


class SmtpSink:
    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.url = ""
        self.host = "127.0.0.1"
        self.port = 0
        self.cafile: str | None = None
        self._rules: dict[str, list[Any]] = {}  # address -> [reply, remaining times or None]
        self._sessions: dict[int, int] = {}
        self._cond = threading.Condition()

    # --- configuration ---------------------------------------------------------------------

    def reject(self, address: str, reply: str, *, times: int | None = None) -> None:
        """Answer RCPT TO for `address` with `reply` ("550 ..." bounces, "451 ..." defers);
        `times` limits it to the first N tries, after which the address is accepted."""
        with self._cond:
            self._rules[address.lower()] = [reply, times]

    def _reply_for(self, address: str) -> str | None:
        with self._cond:
            rule = self._rules.get(address.lower())
            if rule is None:
                return None
            reply, times = rule
            if times is not None:
                if times <= 0:
                    return None
                rule[1] = times - 1
            return reply

    # --- what arrived ----------------------------------------------------------------------

    def _received(self, session: Any, envelope: Any) -> None:
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8")
        with self._cond:
            number = self._sessions.setdefault(id(session), len(self._sessions) + 1)
            self.messages.append(
                Received(
                    session.peer,
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    data,
                    number,
                    bool(session.authenticated),
                )
            )
            self._cond.notify_all()

    @property
    def connections(self) -> int:
        """Distinct connections that delivered at least one message."""
        with self._cond:
            return len({m.session for m in self.messages})

    def to(self, address: str) -> list[Received]:
        with self._cond:
            return [m for m in self.messages if address.lower() in (r.lower() for r in m.rcpt_tos)]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"SMTP sink got {len(self.messages)} messages, expected {count}")
                self._cond.wait(remaining)
            return list(self.messages)

    def clear(self) -> None:
        with self._cond:
            self.messages.clear()
            self._rules.clear()


@functools.cache
def _self_signed() -> tuple[str, str]:
    """A throw-away certificate for 127.0.0.1 (made once per test run: RSA keys take a while)."""
    directory = Path(tempfile.mkdtemp(prefix="mktows-smtp-cert-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


@contextlib.contextmanager
def smtp_sink(
    *,
    tls: str | None = None,
    login: tuple[str, str] | None = None,
    port: int | None = None,
) -> Iterator[SmtpSink]:
    sink = SmtpSink()
    kwargs: dict[str, Any] = {}
    if tls is not None:
        cert, key = _self_signed()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        sink.cafile = cert
        if tls == "implicit":
            kwargs["ssl_context"] = ctx
        elif tls == "starttls":
            kwargs["tls_context"] = ctx
            kwargs["require_starttls"] = True
        else:
            raise ValueError(tls)
    if login is not None:
        user, password = login

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
            ok = isinstance(auth_data, LoginPassword) and (
                auth_data.login.decode(),
                auth_data.password.decode(),
            ) == (user, password)
            return AuthResult(success=ok)

        kwargs["authenticator"] = authenticator
        # aiosmtpd cannot tell that an implicit-TLS session is encrypted; requiring AUTH
        # without requiring TLS makes it warn. Required over STARTTLS, offered otherwise.
        kwargs["auth_required"] = kwargs["auth_require_tls"] = tls == "starttls"
    sink.port = port or free_port()
    controller = Controller(_Handler(sink), hostname="127.0.0.1", port=sink.port, **kwargs)
    if tls == "implicit":
        controller.server_hostname = "127.0.0.1"
    controller.start()
    scheme = "smtps" if tls == "implicit" else "smtp"
    credentials = f"{login[0]}:{login[1]}@" if login else ""
    query = "?starttls=true" if tls == "starttls" else ""
    sink.url = f"{scheme}://{credentials}127.0.0.1:{sink.port}{query}"
    try:
        yield sink
    finally:
        controller.stop()


def outbox_message(n: int, **over: Any) -> Message:
    """An outbox message to lead n (its text has a line that starts with a dot); `over` changes any field."""
    values: dict[str, Any] = dict(
        to_addr=f"lead{n}@example.test",
        from_addr="team@example.com",
        from_name="Séed Team",
        reply_to="replies@example.com",
        subject=f"Hello Ada {n}",
        html=f"<p>Hi <b>Ada</b> {n}: 10% off</p>",
        text=f"Hi Ada {n}: 10% off\n.a line that starts with a dot",
        lead_id=1000 + n,
        run_id=1,
        step_index=0,
        campaign="Seed Program.Seed Campaign",
        email_id=5,
        email_name="Seed Program.Welcome",
    )
    values.update(over)
    return Message(**values)
