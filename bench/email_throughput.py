"""Emails per second a campaign run delivers to a local SMTP sink, against bare smtplib.

    .venv/bin/python bench/email_throughput.py [--recipients 10000] [--connections 4]
                                               [--sink aiosmtpd|fast] [--db sqlite|postgresql://...]

The sink runs in a process of its own and counts what it accepts: aiosmtpd (as the tests use)
or `fast`, a tiny asyncio SMTP server that only acknowledges (bench/smtp_sink.py). A real
`mktows serve` (MKTOWS_SMTP_CONNECTIONS = --connections) has an instance file with a program,
one email with tokens and a batch campaign over a static list; the bench syncs the
recipients, adds them to the list, calls scheduleCampaign and times from the call to the
last message at the sink: smart-list selection, per-recipient rendering, Send Email
activities, outbox rows and SMTP delivery with its commits.

The bound in the same run, to the same sink: bare smtplib sending as many pre-rendered
messages over the same number of connections (one thread each), which is also the sink's
ceiling at that many connections. Bounded: one run, a fixed number of messages, time limits.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import httpx
from soapbench import bench_user_yaml, database_url, free_port, post, start_server, stop_server

SINK = Path(__file__).with_name("smtp_sink.py")

INSTANCE = (
    bench_user_yaml()
    + """
lists: [Bench List]
smtp_url: smtp://127.0.0.1:%(smtp_port)d
programs:
  - name: Bench Program
    tokens: {my.Offer: "10%% off"}
    emails:
      - name: Bench Mail
        from: {name: Bench, email: bench@example.com}
        subject: "Hello {{lead.First Name:default=friend}}"
        html: "<p>Hi {{lead.First Name}}: {{my.Offer}}</p>"
        text: "Hi {{lead.First Name}}: {{my.Offer}}"
    campaigns:
      - name: Bench Batch
        smart_list: [{member_of_list: Bench List}]
        flow: [{send_email: Bench Mail}]
"""
)


class Sink:
    """The sink process: `count()` asks it how many messages it accepted so far."""

    def __init__(self, kind: str) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, str(SINK), kind, str(self.port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None and self.proc.stdin is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise SystemExit("the SMTP sink did not start")

    def count(self) -> int:
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def wait_for(self, count: int, limit: float) -> None:
        began = time.perf_counter()
        while (got := self.count()) < count:
            if time.perf_counter() - began > limit:
                raise SystemExit(f"only {got} of {count} messages after {limit:.0f} s")
            time.sleep(0.01)

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)


def run_server(args: argparse.Namespace, workdir: Path, sink: Sink) -> float:
    os.environ["MKTOWS_SMTP_CONNECTIONS"] = str(args.connections)  # start_server passes the environment on
    proc, url = start_server(database_url(args.db, workdir), workdir, INSTANCE % {"smtp_port": sink.port})
    try:
        with httpx.Client(timeout=300) as client:
            ids: list[str] = []
            for start in range(0, args.recipients, 300):
                records = "".join(
                    f"<leadRecord><Email>r{i}@bench.example.com</Email><leadAttributeList><attribute>"
                    f"<attrName>FirstName</attrName><attrValue>R{i}</attrValue></attribute></leadAttributeList>"
                    "</leadRecord>"
                    for i in range(start, min(start + 300, args.recipients))
                )
                text = post(
                    client,
                    url,
                    f"<m:paramsSyncMultipleLeads><leadRecordList>{records}"
                    "</leadRecordList></m:paramsSyncMultipleLeads>",
                ).decode()
                ids += [part.split("</leadId>")[0] for part in text.split("<leadId>")[1:]]
            for start in range(0, len(ids), 1000):
                members = "".join(
                    f"<leadKey><keyType>IDNUM</keyType><keyValue>{i}</keyValue></leadKey>"
                    for i in ids[start : start + 1000]
                )
                post(
                    client,
                    url,
                    "<m:paramsListOperation><listOperation>ADDTOLIST</listOperation><listKey>"
                    "<keyType>MKTOLISTNAME</keyType><keyValue>Bench List</keyValue></listKey>"
                    f"<listMemberList>{members}</listMemberList></m:paramsListOperation>",
                )
            before = sink.count()
            began = time.perf_counter()
            post(
                client,
                url,
                "<m:paramsScheduleCampaign><programName>Bench Program</programName>"
                "<campaignName>Bench Batch</campaignName></m:paramsScheduleCampaign>",
            )
            sink.wait_for(before + args.recipients, limit=900)
            return time.perf_counter() - began
    finally:
        stop_server(proc)


def run_bare(count: int, connections: int, sink: Sink) -> float:
    """Pre-rendered messages over `connections` smtplib connections, one thread each."""
    messages: list[tuple[str, bytes]] = []
    for i in range(count):
        message = EmailMessage()
        message["From"] = "Bench <bench@example.com>"
        message["To"] = f"r{i}@bench.example.com"
        message["Subject"] = f"Hello R{i}"
        message.set_content(f"Hi R{i}: 10% off")
        message.add_alternative(f"<p>Hi R{i}: 10% off</p>", subtype="html")
        messages.append((f"r{i}@bench.example.com", message.as_bytes()))
    before = sink.count()

    def send(part: list[tuple[str, bytes]]) -> None:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as smtp:
            for to, data in part:
                smtp.sendmail("bench@example.com", [to], data)

    threads = [threading.Thread(target=send, args=(messages[n::connections],)) for n in range(connections)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sink.wait_for(before + count, limit=300)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=4, help="SMTP connections (server and bare smtplib)")
    parser.add_argument("--sink", choices=("aiosmtpd", "fast"), default="aiosmtpd")
    parser.add_argument("--db", default="sqlite")
    args = parser.parse_args()
    sink = Sink(args.sink)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            served = run_server(args, Path(tmp), sink)
        bare = run_bare(args.recipients, args.connections, sink)
        bare_one = run_bare(min(args.recipients, 2000), 1, sink) if args.connections != 1 else bare
    finally:
        sink.stop()
    n, k = args.recipients, args.connections
    one = min(n, 2000) if k != 1 else n
    print(
        f"backend: {args.db}; {n} recipients, one batch campaign run; {args.sink} sink in its own process; "
        f"{k} SMTP connection(s)"
    )
    print(
        f"campaign run         : {n / served:6.0f} emails/s ({served:.2f} s from scheduleCampaign to the last message)"
    )
    print(f"bare smtplib, {k} conn : {n / bare:6.0f} emails/s ({bare:.2f} s; the sink's ceiling at {k} connections)")
    print(f"bare smtplib, 1 conn : {one / bare_one:6.0f} emails/s")
    print(f"campaign run / bare smtplib over {k} connections: {bare / served:.0%}")


if __name__ == "__main__":
    main()
