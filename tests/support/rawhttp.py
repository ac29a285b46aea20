"""Byte-exact HTTP/1.1 over a plain socket, for replaying captured client requests.

httpx normalises headers and framing; the wire samples must reach the server the way the
original clients sent them (header spelling and order, `Connection: TE, close`, chunked
bodies), so they are written to a socket as-is.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from .soap import sign

# --------------------------------------------------------------------------- capture files


@dataclass
class Capture:
    method: str
    path: str
    version: str
    headers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def parse_http_capture(text: str) -> Capture:
    """Parse a `.http` capture: request line + headers, up to the first blank/`#` line."""
    lines = text.splitlines()
    method, path, version = lines[0].split(" ", 2)
    cap = Capture(method, path, version.strip())
    for line in lines[1:]:
        if not line.strip() or line.startswith("#"):
            break
        name, _, value = line.partition(":")
        cap.headers.append((name, value.strip()))
    return cap


def build_request(cap: Capture, path: str, host: str, body: bytes, *, chunks: list[bytes] | None = None) -> bytes:
    out = [f"{cap.method} {path} {cap.version}"]
    for k, v in cap.headers:
        lk = k.lower()
        if lk == "host":
            v = host
        elif lk == "content-length":
            v = str(len(body))
        out.append(f"{k}: {v}" if v else f"{k}: ")
    head = ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")
    if chunks is None:
        return head + body
    return head + encode_chunks(chunks)


def encode_chunks(chunks: list[bytes]) -> bytes:
    out = b""
    for c in chunks:
        if c:
            out += f"{len(c):x}\r\n".encode() + c + b"\r\n"
    return out + b"0\r\n\r\n"


def decode_chunks(data: bytes) -> list[bytes]:
    chunks: list[bytes] = []
    pos = 0
    while True:
        eol = data.index(b"\r\n", pos)
        size = int(data[pos:eol].split(b";")[0], 16)
        pos = eol + 2
        if size == 0:
            return chunks
        chunks.append(data[pos : pos + size])
        pos += size + 2


# --------------------------------------------------------------------------- re-signing

_TS_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$")


def same_shape_timestamp(original: str, delta: timedelta = timedelta(0)) -> str:
    """`now + delta` written in the same format family as `original` (offset, colon, fraction)."""
    m = _TS_RE.match(original.strip())
    if not m:
        raise ValueError(f"unrecognised timestamp shape: {original!r}")
    _, frac, off = m.groups()
    now = datetime.now(UTC) + delta
    if off is None or off == "Z":
        local = now
    else:
        sign_ = -1 if off[0] == "-" else 1
        digits = off[1:].replace(":", "")
        local = now.astimezone(timezone(sign_ * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))))
    out = local.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        out += ("." + f"{local.microsecond:06d}")[: len(frac)]
    if off is not None:
        out += off
    return out


_TS_ELEMENT = re.compile(rb"(<requestTimestamp\b[^>]*>)([^<]*)(</requestTimestamp>)")
_SIG_ELEMENT = re.compile(rb"(<requestSignature\b[^>]*>)([^<]*)(</requestSignature>)")
_USER_ELEMENT = re.compile(rb"<mktowsUserId\b[^>]*>([^<]*)</mktowsUserId>")
_BODY_DATES = re.compile(rb"(<(?:\w+:)?(?:oldestUpdatedAt|oldestCreatedAt)\b[^>]*>)([^<]*)(</)")


def resign(xml: bytes, key: str, *, shift_body_dates: bool = True) -> bytes:
    """Fresh timestamp (same shape) + recomputed signature; body 'since' dates moved to now-2min.

    Moving `oldestUpdatedAt`/`oldestCreatedAt` keeps the samples' windows short whatever the
    date the suite runs on (a window reaching back to the capture day could exceed the
    30-day window limit and turn a success sample into a 20022 fault).
    """
    m_ts = _TS_ELEMENT.search(xml)
    m_user = _USER_ELEMENT.search(xml)
    if not m_ts or not m_user or not _SIG_ELEMENT.search(xml):
        raise ValueError("no AuthenticationHeader to re-sign")
    new_ts = same_shape_timestamp(m_ts.group(2).decode())
    user = m_user.group(1).decode()
    xml = _TS_ELEMENT.sub(lambda m: m.group(1) + new_ts.encode() + m.group(3), xml, count=1)
    xml = _SIG_ELEMENT.sub(lambda m: m.group(1) + sign(new_ts, user, key).encode() + m.group(3), xml, count=1)
    if shift_body_dates:
        xml = _BODY_DATES.sub(
            lambda m: (
                m.group(1) + same_shape_timestamp(m.group(2).decode(), timedelta(minutes=-2)).encode() + m.group(3)
            ),
            xml,
        )
    return xml


# --------------------------------------------------------------------------- responses


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class RawConnection:
    def __init__(self, host: str, port: int, timeout: float = 60) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def _read_until(self, sep: bytes) -> bytes:
        while sep not in self.buf:
            if not self._fill():
                raise ConnectionError(f"connection closed while waiting for {sep!r}; got {self.buf[:500]!r}")
        head, _, self.buf = self.buf.partition(sep)
        return head

    def _read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionError("connection closed mid-body")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def request(self, raw: bytes) -> RawResponse:
        self.sock.sendall(raw)
        return self.read_response()

    def read_response(self) -> RawResponse:
        head = self._read_until(b"\r\n\r\n").decode("latin-1")
        lines = head.split("\r\n")
        _, status, *reason = lines[0].split(" ", 2)
        headers = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
        resp = RawResponse(int(status), reason[0] if reason else "", headers, b"")
        te = (resp.header("transfer-encoding") or "").lower()
        if "chunked" in te:
            body = b""
            while True:
                size = int(self._read_until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    self._read_until(b"\r\n")  # (no trailers expected)
                    break
                body += self._read_exact(size)
                self._read_exact(2)
            resp.body = body
        elif resp.header("content-length") is not None:
            resp.body = self._read_exact(int(resp.header("content-length")))
        else:  # read to EOF
            while self._fill():
                pass
            resp.body, self.buf = self.buf, b""
        enc = (resp.header("content-encoding") or "").lower()
        if enc in ("gzip", "deflate"):
            import zlib

            resp.body = zlib.decompress(resp.body, 47 if enc == "gzip" else 15)
        return resp

    def closed_by_peer(self, timeout: float = 5) -> bool:
        """True when the server has closed its end (EOF) within `timeout` seconds."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
