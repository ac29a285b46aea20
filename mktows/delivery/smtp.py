"""The SMTP transport: URL settings, MIME building and a two-phase send.

`SmtpConnection.begin()` runs MAIL, RCPT and DATA and streams the message *without* the
final dot; `finish()` sends the dot and reads the verdict. The server accepts a message only
at the dot, so the caller can commit "sending" between the two: a crash before the dot
delivers nothing, and the window in which a row is "sending" but the message was not handed
over is a single socket write.

`begin_many()` / `finish_many()` do the same over several connections in lockstep (each
command goes out on every connection before the replies are read), so one commit covers the
"sending" of one message per connection and the server works on all of them at once.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from random import randrange
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

CRLF = b"\r\n"
# 7bit transfer encodings (quoted-printable / base64 for non-ASCII) and RFC 2047 headers;
# bodies are encoded with \n line ends (as smtplib.send_message does), the wire gets CRLF
_POLICY = policy.default.clone(cte_type="7bit")
_WIRE = _POLICY.clone(linesep="\r\n")
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    verify: bool = True
    cafile: str | None = None

    @classmethod
    def parse(cls, url: str, *, timeout: float = 30.0) -> SmtpConfig:
        """`smtp://[user:pass@]host[:port][?starttls=true&timeout=S&cafile=F&verify=false]`, `smtps://...`."""
        parts = urlsplit(url.strip())
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"SMTP URL must start with smtp:// or smtps://: {url!r}")
        if not parts.hostname:
            raise ValueError(f"SMTP URL has no host: {url!r}")
        if parts.path not in ("", "/"):
            raise ValueError(f"SMTP URL has an unexpected path {parts.path!r}: {url!r}")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"SMTP URL has a bad port: {url!r}") from None
        query = {k.lower(): v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - {"starttls", "timeout", "cafile", "verify"}
        if unknown:
            raise ValueError(f"SMTP URL has unknown options {', '.join(sorted(unknown))}: {url!r}")
        implicit = parts.scheme == "smtps"
        if implicit and query.get("starttls", "").lower() in _TRUE:
            raise ValueError(f"smtps:// is implicit TLS; starttls applies to smtp:// only: {url!r}")
        try:
            timeout = float(query.get("timeout", timeout))
        except ValueError:
            raise ValueError(f"SMTP URL timeout must be a number: {url!r}") from None
        return cls(
            host=parts.hostname,
            port=port or (465 if implicit else 25),
            implicit_tls=implicit,
            starttls=not implicit and query.get("starttls", "").lower() in _TRUE,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=timeout,
            verify=query.get("verify", "true").lower() in _TRUE,
            cafile=query.get("cafile"),
        )

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.cafile)
        if not self.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx


@dataclass(frozen=True)
class MessageParts:
    """What one outgoing message says; `build_message` lays it out."""

    to_addr: str
    from_addr: str
    from_name: str | None
    reply_to: str | None
    subject: str
    text: str
    html: str
    message_id: str
    date: datetime


def build_message(parts: MessageParts) -> bytes:
    """multipart/alternative (text, then html) with From name, Reply-To, Message-ID and Date.

    Plain ASCII messages with short lines (most campaign mail) are laid out directly, byte
    for byte as the `email` package lays them out (tests compare both); anything else (non-ASCII,
    long lines, names that need quoting) goes through the `email` package."""
    fast = _fast_message(parts)
    return fast if fast is not None else email_package_message(parts)


def email_package_message(p: MessageParts) -> bytes:
    """`build_message` through the `email` package (the reference layout)."""
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = _address(p.from_name, p.from_addr)
    msg["To"] = _address(None, p.to_addr)
    if p.reply_to:
        msg["Reply-To"] = _address(None, p.reply_to)
    msg["Subject"] = p.subject
    msg["Date"] = format_datetime(p.date)
    msg["Message-ID"] = p.message_id
    msg.set_content(p.text)
    msg.add_alternative(p.html, subtype="html")
    return msg.as_bytes(policy=_WIRE)


_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_SIMPLE_ADDR = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_SIMPLE_NAME = re.compile(rf"{_ATEXT}(?: {_ATEXT})*")
_SIMPLE_SUBJECT = re.compile(r"[!-~]+(?: [!-~]+)*")
_SIMPLE_ID = re.compile(r"<[A-Za-z0-9._-]+@[A-Za-z0-9._-]+>")
_MAX_LINE = 78  # policy.max_line_length: longer lines are quoted-printable, headers folded
_PARTS = (
    b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n',
    b'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: 7bit\r\nMIME-Version: 1.0\r\n\r\n',
)


def _fast_body(body: str) -> bytes | None:
    if not body.isascii():
        return None
    lines = body.encode("ascii").splitlines()
    if any(len(line) > _MAX_LINE for line in lines):
        return None
    return CRLF.join(lines) + CRLF


def _fast_message(p: MessageParts) -> bytes | None:
    to_addr, from_addr, from_name, reply_to, subject = p.to_addr, p.from_addr, p.from_name, p.reply_to, p.subject
    if not (
        _SIMPLE_ADDR.fullmatch(to_addr)
        and _SIMPLE_ADDR.fullmatch(from_addr)
        and (not reply_to or _SIMPLE_ADDR.fullmatch(reply_to))
        and (not from_name or (_SIMPLE_NAME.fullmatch(from_name) and "=?" not in from_name))
        and _SIMPLE_SUBJECT.fullmatch(subject)
        and "=?" not in subject
        and _SIMPLE_ID.fullmatch(p.message_id)
    ):
        return None
    sender = f"{from_name} <{from_addr}>" if from_name else from_addr
    headers = [f"From: {sender}", f"To: {to_addr}"]
    if reply_to:
        headers.append(f"Reply-To: {reply_to}")
    headers.append(f"Subject: {subject}")
    if any(len(h) > _MAX_LINE for h in headers):
        return None
    plain, marked = _fast_body(p.text), _fast_body(p.html)
    if plain is None or marked is None:
        return None
    while True:  # as email.generator does: a random boundary that no body contains
        boundary = ("=" * 15 + f"{randrange(9223372036854775807):019d}" + "==").encode("ascii")
        if boundary not in plain and boundary not in marked:
            break
    head = "\r\n".join(
        [
            *headers,
            f"Date: {format_datetime(p.date)}",
            f"Message-ID: {p.message_id}",
            "MIME-Version: 1.0",
            "Content-Type: multipart/alternative;",
        ]
    ).encode("ascii")
    sep = b"--" + boundary
    return b"".join(
        (
            head,
            b'\r\n boundary="',
            boundary,
            b'"\r\n\r\n',
            sep,
            CRLF,
            _PARTS[0],
            plain,
            CRLF,
            sep,
            CRLF,
            _PARTS[1],
            marked,
            CRLF,
            sep,
            b"--",
            CRLF,
        )
    )


def _address(name: str | None, addr: str) -> Any:
    try:
        return Address(display_name=name or "", addr_spec=addr)
    except (ValueError, IndexError):  # an odd address: let the server judge it
        return formataddr((name or "", addr))


class SmtpFailure(Exception):
    """The server refused: `permanent` for 5xx (a bounce), otherwise retry later."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text

    @property
    def permanent(self) -> bool:
        return 500 <= self.code < 600


class SmtpUnavailable(Exception):
    """No usable connection (refused, dropped, timed out) before the message was handed over."""


class SmtpUncertain(Exception):
    """The dot went out but no verdict came back: the message may have been accepted."""


def _dot_stuff(data: bytes) -> bytes:
    data = re.sub(rb"(?:\r\n|\n|\r(?!\n))", CRLF, data)
    data = re.sub(rb"(?m)^\.", b"..", data)
    return data if data.endswith(CRLF) else data + CRLF


class SmtpConnection:
    """One reusable connection; `begin()` / `finish()` per message, `abort()` to drop one."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None
        self.connections = 0  # how many times it connected (tests, metrics)

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        try:
            if cfg.implicit_tls:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    cfg.host, cfg.port, timeout=cfg.timeout, context=cfg.ssl_context()
                )
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            try:
                # the dot follows the body in a separate small write: without NODELAY, Nagle
                # waits for the server's delayed ACK (40 ms) before sending it
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[union-attr]
                smtp.ehlo()
                if cfg.starttls:
                    smtp.starttls(context=cfg.ssl_context())
                    smtp.ehlo()
                if cfg.username:
                    smtp.login(cfg.username, cfg.password or "")
            except BaseException:
                smtp.close()
                raise
        except (OSError, smtplib.SMTPException) as exc:
            # even a 5xx here (greeting, STARTTLS, login) is the server's or our setup's
            # problem, not the recipient's: retry, never bounce
            raise SmtpUnavailable(f"cannot connect to {cfg.host}:{cfg.port}: {exc}") from exc
        self.connections += 1
        return smtp

    def begin(self, sender: str, recipient: str, data: bytes) -> None:
        """Envelope and body, without the final dot (nothing is delivered yet).

        A reused connection that turns out dead is replaced once: before the dot a retry
        cannot duplicate anything.
        """
        for retry in (True, False):
            reused = self._smtp is not None
            if self._smtp is None:
                self._smtp = self._connect()
            try:
                self._envelope(self._smtp, sender, recipient, data)
                return
            except (OSError, smtplib.SMTPServerDisconnected) as exc:
                self.close(polite=False)
                if not (retry and reused):
                    raise SmtpUnavailable(str(exc) or type(exc).__name__) from exc

    def _envelope(self, smtp: smtplib.SMTP, sender: str, recipient: str, data: bytes) -> None:
        options = ["SMTPUTF8"] if not (sender + recipient).isascii() else []
        try:
            code, resp = smtp.mail(sender, options)
        except smtplib.SMTPNotSupportedError as exc:
            raise SmtpFailure(553, f"the server does not accept international addresses: {exc}") from exc
        if code != 250:
            self._reset()
            raise SmtpFailure(code, _text(resp))
        code, resp = smtp.rcpt(recipient)
        if code not in (250, 251):
            self._reset()
            raise SmtpFailure(code, _text(resp))
        code, resp = smtp.docmd("DATA")
        if code != 354:
            self._reset()
            raise SmtpFailure(code, _text(resp))
        smtp.send(_dot_stuff(data))

    def finish(self) -> None:
        """The dot: the server accepts (returns) or refuses (SmtpFailure) the message."""
        smtp = self._smtp
        if smtp is None:
            raise SmtpUncertain("connection closed before the message was finished")
        try:
            smtp.send(b"." + CRLF)
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            # the dot may or may not have left this host
            self.close(polite=False)
            raise SmtpUncertain(str(exc) or type(exc).__name__) from exc
        try:
            code, resp = smtp.getreply()
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self.close(polite=False)
            raise SmtpUncertain(str(exc) or type(exc).__name__) from exc
        if code != 250:
            raise SmtpFailure(code, _text(resp))

    def abort(self) -> None:
        """Drop a begun message: closing mid-DATA makes the server discard it."""
        self.close(polite=False)

    def _reset(self) -> None:
        try:
            self._smtp.rset()  # type: ignore[union-attr]
        except (OSError, smtplib.SMTPException):
            self.close(polite=False)

    def close(self, *, polite: bool = True) -> None:
        """QUIT and close; `polite=False` just drops the socket (mid-DATA or after an error)."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            if polite:
                smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
        finally:
            smtp.close()


_DROPPED = (OSError, smtplib.SMTPServerDisconnected)


def begin_many(items: list[tuple[SmtpConnection, str, str, bytes]]) -> list[Exception | None]:
    """`begin()` on several connections at once: MAIL goes out on every connection, then the
    replies are read; then RCPT, then DATA, then the bodies (without the dot). Returns, per
    item, None (ready for the dot) or the SmtpFailure / SmtpUnavailable that `begin()` raises.
    A reused connection found dead is replaced once and that item is begun on its own."""
    results: list[Exception | None] = [None] * len(items)
    live: list[int] = []
    reused: set[int] = set()
    for i, (conn, _sender, _recipient, _data) in enumerate(items):
        if conn._smtp is None:
            try:
                conn._smtp = conn._connect()
            except SmtpUnavailable as exc:
                results[i] = exc
                continue
        else:
            reused.add(i)
        live.append(i)

    def dropped(i: int, exc: BaseException) -> None:
        conn, sender, recipient, data = items[i]
        conn.close(polite=False)
        if i in reused:  # a stale connection: a fresh one, before the dot, cannot duplicate anything
            try:
                conn.begin(sender, recipient, data)
            except (SmtpFailure, SmtpUnavailable) as again:
                results[i] = again
        else:
            results[i] = SmtpUnavailable(str(exc) or type(exc).__name__)

    def phase(send: Any, expect: tuple[int, ...]) -> None:
        sent: list[int] = []
        for i in live:
            try:
                send(i)
                sent.append(i)
            except SmtpFailure as exc:
                results[i] = exc
            except _DROPPED as exc:
                dropped(i, exc)
        live.clear()
        for i in sent:
            conn = items[i][0]
            try:
                code, resp = conn._smtp.getreply()  # type: ignore[union-attr]
            except _DROPPED as exc:
                dropped(i, exc)
                continue
            if code in expect:
                live.append(i)
            else:
                conn._reset()
                results[i] = SmtpFailure(code, _text(resp))

    def mail(i: int) -> None:
        conn, sender, recipient, _ = items[i]
        smtp = conn._smtp
        assert smtp is not None
        option = ""
        if not (sender + recipient).isascii():
            if not smtp.has_extn("smtputf8"):
                raise SmtpFailure(553, "the server does not accept international addresses")
            smtp.command_encoding = "utf-8"
            option = " SMTPUTF8"
        smtp.putcmd("mail", f"FROM:{_quote(sender)}{option}")

    phase(mail, (250,))
    phase(
        lambda i: items[i][0]._smtp.putcmd("rcpt", f"TO:{_quote(items[i][2])}"),  # type: ignore[union-attr]
        (250, 251),
    )
    phase(lambda i: items[i][0]._smtp.putcmd("data"), (354,))  # type: ignore[union-attr]
    for i in live:
        conn, _, _, data = items[i]
        try:
            conn._smtp.send(_dot_stuff(data))  # type: ignore[union-attr]
        except _DROPPED as exc:
            dropped(i, exc)
    return results


def finish_many(conns: list[SmtpConnection]) -> list[Exception | None]:
    """`finish()` on several connections: every dot goes out first, then the verdicts are read.
    Per connection: None (accepted), SmtpFailure (refused) or SmtpUncertain (no verdict)."""
    results: list[Exception | None] = [None] * len(conns)
    waiting: list[int] = []
    for i, conn in enumerate(conns):
        smtp = conn._smtp
        if smtp is None:
            results[i] = SmtpUncertain("connection closed before the message was finished")
            continue
        try:
            smtp.send(b"." + CRLF)
            waiting.append(i)
        except _DROPPED as exc:  # the dot may or may not have left this host
            conn.close(polite=False)
            results[i] = SmtpUncertain(str(exc) or type(exc).__name__)
    for i in waiting:
        conn = conns[i]
        try:
            code, resp = conn._smtp.getreply()  # type: ignore[union-attr]
        except _DROPPED as exc:
            conn.close(polite=False)
            results[i] = SmtpUncertain(str(exc) or type(exc).__name__)
            continue
        if code != 250:
            results[i] = SmtpFailure(code, _text(resp))
    return results


def _quote(addr: str) -> str:
    """`<addr>` for a plain address (as smtplib.quoteaddr gives, without its parser's 30 µs);
    anything else through smtplib.quoteaddr."""
    return f"<{addr}>" if _SIMPLE_ADDR.fullmatch(addr) else smtplib.quoteaddr(addr)


def _text(resp: bytes | str) -> str:
    return resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
