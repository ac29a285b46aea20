"""What every benchmark here shares: a real `mktows serve` on 127.0.0.1 and signed raw SOAP.

Benchmarks send raw SOAP over one keep-alive connection, so they time the server, not a
client library. Run them as `.venv/bin/python bench/<name>.py`; this module sits beside them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx

USER, KEY = "bench_user", "bench-secret-key1"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "http://www.marketo.com/mktows/"
VERSION = "2_9"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def envelope(body: str) -> bytes:
    """A signed envelope around `body` (whose elements use the `m:` prefix for the API namespace)."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    signature = hmac.new(KEY.encode(), (stamp + USER).encode(), hashlib.sha1).hexdigest()
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{ENV}" xmlns:m="{TNS}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><s:Header><m:AuthenticationHeader>'
        f"<mktowsUserId>{USER}</mktowsUserId><requestSignature>{signature}</requestSignature>"
        f"<requestTimestamp>{stamp}</requestTimestamp></m:AuthenticationHeader></s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def post(client: httpx.Client, url: str, body: str) -> bytes:
    reply = client.post(url, content=envelope(body), headers={"Content-Type": "text/xml; charset=UTF-8"})
    assert reply.status_code == 200, reply.text[:800]
    return reply.content


def database_url(choice: str, workdir: Path) -> str:
    """`sqlite` means a fresh file in the work directory; anything else is taken as a URL."""
    return f"sqlite:///{workdir / 'bench.db'}" if choice == "sqlite" else choice


def start_server(db_url: str, workdir: Path, instance_yaml: str) -> tuple[subprocess.Popen, str]:
    """`mktows serve` with call limits off and the given instance file (which must declare
    the bench user); returns the process and the SOAP endpoint URL once it is ready."""
    instance = workdir / "instance.yaml"
    instance.write_text(instance_yaml)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mktows", "serve", "--port", str(port), "--db", db_url, "--instance", str(instance)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "MKTOWS_LIMITS_ENABLED": "0"},
    )
    for line in proc.stdout:  # type: ignore[union-attr]
        if "mktows ready on" in line:
            # keep reading: the server logs a line per call, and a full pipe would stop it
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # type: ignore[union-attr]
            return proc, f"http://127.0.0.1:{port}/soap/mktows/{VERSION}"
    raise SystemExit("server did not start")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(15)


def bench_user_yaml() -> str:
    return f"api_users:\n  - {{user_id: {USER}, encryption_key: {KEY}}}\n"


def replace_section(path: Path, heading: str, body: str) -> None:
    """Put `body` (which starts with `heading`) in place of that section of a Markdown file, up
    to the next `## ` heading, or add it at the end."""
    text = path.read_text(encoding="utf-8")
    start = text.find(heading)
    if start >= 0:
        following = text.find("\n## ", start + len(heading))
        end = len(text) if following < 0 else following + 1
        text = text[:start] + body + ("\n" if following >= 0 else "") + text[end:]
    else:
        text = text.rstrip("\n") + "\n\n" + body
    path.write_text(text, encoding="utf-8")
