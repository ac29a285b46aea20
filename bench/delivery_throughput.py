"""Emails per second from the outbox to a local SMTP server (aiosmtpd in its own process).

    .venv/bin/python bench/delivery_throughput.py [--db URL] [-n 5000] [--threads 2] [--connections 4]

Queues N messages in one transaction, starts `Workers` (as `mktows serve` does) and times
until the outbox shows all N `sent`, delivered over `--connections` SMTP connections. The
SMTP server runs in a separate process so it does not share the GIL with the sender.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time

from mktows.delivery import deliver
from mktows.engine.campaigns.outbox import Message, queue_emails, status_counts
from mktows.store.database import Database
from mktows.workers import Workers

SERVER = """
import asyncio, sys
from aiosmtpd.controller import Controller
class H:
    count = 0
    async def handle_DATA(self, server, session, envelope):
        H.count += 1
        return "250 OK"
c = Controller(H(), hostname="127.0.0.1", port=int(sys.argv[1])); c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
print(H.count, flush=True)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=None)
    ap.add_argument("-n", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--connections", type=int, default=4)
    args = ap.parse_args()
    db = Database(args.db or f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    db.migrate()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None and server.stdin is not None
    server.stdout.readline()
    deliver.configure(f"smtp://127.0.0.1:{port}", connections=args.connections)
    before = status_counts(db).get("sent", 0)  # a reused database keeps earlier runs' rows
    with db.write() as conn:
        queue_emails(
            conn,
            [
                Message(
                    to_addr=f"r{i}@example.test",
                    from_addr="team@example.com",
                    from_name="Seed Team",
                    reply_to="replies@example.com",
                    subject=f"Hello {i}",
                    html="<p>Hi there: 10% off</p>" * 20,
                    text="Hi there: 10% off\n" * 20,
                    lead_id=i + 1,
                    run_id=None,
                    step_index=0,
                )
                for i in range(args.n)
            ],
        )
    workers = Workers(db, threads=args.threads)
    start = time.perf_counter()
    workers.start()
    while status_counts(db).get("sent", 0) < before + args.n:
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    workers.stop()
    server.stdin.close()
    received = int(server.stdout.readline())
    server.wait()
    print(
        f"{db.dialect}: {args.n} messages in {elapsed:.2f}s = {args.n / elapsed:.0f} emails/s "
        f"({args.threads} worker threads, {args.connections} SMTP connections); server received {received}"
    )


if __name__ == "__main__":
    main()
