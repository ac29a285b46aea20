"""Emails per second a campaign run delivers to a local SMTP server.

    .venv/bin/python bench/email_throughput.py [--recipients 2000] [--db sqlite|postgresql://...]

Starts an aiosmtpd sink and a real `mktows serve` whose instance file declares a program with
one email and a batch campaign over a static list; syncs the recipients, adds them to the
list, calls scheduleCampaign and times the run until the sink holds every message. The lower
bound in the same run: bare smtplib sending the same number of pre-rendered messages over one
connection to the same sink. Bounded: one run, a fixed number of messages, a time limit.
"""

from __future__ import annotations

import argparse
import smtplib
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller
from soapbench import bench_user_yaml, database_url, free_port, post, start_server, stop_server

INSTANCE = bench_user_yaml() + """
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


class Sink:
    """Counts messages; aiosmtpd runs it on its own thread."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd hook name)
        with self.lock:
            self.count += 1
        return "250 OK"


def wait_for(sink: Sink, count: int, limit: float) -> float:
    began = time.perf_counter()
    while sink.count < count:
        if time.perf_counter() - began > limit:
            raise SystemExit(f"only {sink.count} of {count} messages after {limit:.0f} s")
        time.sleep(0.02)
    return time.perf_counter() - began


def run_server(args: argparse.Namespace, workdir: Path, sink: Sink, smtp_port: int) -> float:
    proc, url = start_server(database_url(args.db, workdir), workdir, INSTANCE % {"smtp_port": smtp_port})
    try:
        with httpx.Client(timeout=300) as client:
            ids: list[str] = []
            for start in range(0, args.recipients, 300):
                records = "".join(
                    f"<leadRecord><Email>r{i}@bench.example.com</Email><leadAttributeList><attribute>"
                    f"<attrName>FirstName</attrName><attrValue>R{i}</attrValue></attribute></leadAttributeList>"
                    "</leadRecord>" for i in range(start, min(start + 300, args.recipients)))
                text = post(client, url, f"<m:paramsSyncMultipleLeads><leadRecordList>{records}"
                                         "</leadRecordList></m:paramsSyncMultipleLeads>").decode()
                ids += [part.split("</leadId>")[0] for part in text.split("<leadId>")[1:]]
            for start in range(0, len(ids), 1000):
                members = "".join(f"<leadKey><keyType>IDNUM</keyType><keyValue>{i}</keyValue></leadKey>"
                                  for i in ids[start:start + 1000])
                post(client, url, "<m:paramsListOperation><listOperation>ADDTOLIST</listOperation><listKey>"
                                  "<keyType>MKTOLISTNAME</keyType><keyValue>Bench List</keyValue></listKey>"
                                  f"<listMemberList>{members}</listMemberList></m:paramsListOperation>")
            began = time.perf_counter()
            post(client, url, "<m:paramsScheduleCampaign><programName>Bench Program</programName>"
                              "<campaignName>Bench Batch</campaignName></m:paramsScheduleCampaign>")
            wait_for(sink, args.recipients, limit=600)
            return time.perf_counter() - began
    finally:
        stop_server(proc)


def run_bare(count: int, sink: Sink, smtp_port: int) -> float:
    start_count = sink.count
    began = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
        for i in range(count):
            message = EmailMessage()
            message["From"] = "Bench <bench@example.com>"
            message["To"] = f"r{i}@bench.example.com"
            message["Subject"] = f"Hello R{i}"
            message.set_content(f"Hi R{i}: 10% off")
            message.add_alternative(f"<p>Hi R{i}: 10% off</p>", subtype="html")
            smtp.send_message(message)
    wait_for(sink, start_count + count, limit=120)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--db", default="sqlite")
    args = parser.parse_args()
    sink = Sink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            served = run_server(args, Path(tmp), sink, smtp_port)
        bare = run_bare(args.recipients, sink, smtp_port)
    finally:
        controller.stop()
    print(f"backend: {args.db}; {args.recipients} recipients, one batch campaign run, local aiosmtpd sink")
    print(f"campaign run : {args.recipients / served:8.0f} emails/s ({served:.2f} s from scheduleCampaign "
          f"to the last message)")
    print(f"bare smtplib : {args.recipients / bare:8.0f} emails/s ({bare:.2f} s); ratio {served / bare:.1f}x")


if __name__ == "__main__":
    main()
