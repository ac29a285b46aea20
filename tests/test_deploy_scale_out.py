"""deploy/scale-out/run.sh, for real: two `mktows serve` processes and two `mktows worker`s on a
fresh PostgreSQL database behind Debian's haproxy, every check made through haproxy's port.

(a) The WSDL read through haproxy names haproxy's address; the API processes see the client's
    own address and scheme, never ones the client made up.
(b) Calls are spread over both API processes (their `/metrics` call counters).
(c) A lead synced and then requested into a campaign through haproxy gets exactly one email,
    sent by the workers (the API processes run no jobs).
(d) With a rate limit of 10 calls a minute, the 11th call is refused with 20023 though the ten
    went to both processes.
(e) An API process killed outright: calls through haproxy keep succeeding, and its health check
    takes the process out.
Whenever the script is stopped (SIGTERM), nothing it started is left running.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from lxml import etree
from support.clients import LeadApi, make_zeep_client
from support.mailchecks import address, wait_for
from support.pg import temporary_database
from support.server import INSTANCE, REPO_ROOT, free_port, write_instance
from support.smtp import SmtpSink, smtp_sink
from support.soap import TEST_KEY, TEST_USER, WSDL_NS, assert_fault, call, envelope, get, post, success, validator_for

RUN_SH = REPO_ROOT / "deploy" / "scale-out" / "run.sh"
READY_RE = re.compile(r"mktows scale-out ready on (http://\S+)/soap/mktows/2_9")
STARTED_RE = re.compile(r"mktows scale-out: (\S+) pid (\d+)")
SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
LIST_MOBJECTS = "<ns1:paramsListMObjects/>"
PROGRAM = "Balanced Program"
STOPPED_BY_SIGTERM = 143


def campaign_instance(smtp_port: int) -> dict:
    return {
        "api_users": INSTANCE["api_users"],
        "programs": [
            {
                "name": PROGRAM,
                "lists": ["Balanced List"],
                "emails": [
                    {
                        "name": "Hello",
                        "from": {"name": "Balanced", "email": "team@example.com"},
                        "subject": "Hello {{lead.First Name:default=friend}}",
                        "text": "Hi {{lead.First Name:default=friend}}",
                    }
                ],
                "campaigns": [
                    {
                        "name": "Requested",
                        "trigger": {"campaign_is_requested": ["web_service_api"]},
                        "flow": [{"send_email": "Hello"}],
                    }
                ],
            }
        ],
        "smtp_url": f"smtp://127.0.0.1:{smtp_port}",
    }


@dataclass
class ScaleOut:
    lb: str  # haproxy's base URL
    api: dict[str, str]  # "api-1" -> that process's base URL
    pids: dict[str, int]  # what the script started: api-1, api-2, worker-1, worker-2, haproxy
    run_dir: Path

    def endpoint(self, version: str = "2_9") -> str:
        return f"{self.lb}/soap/mktows/{version}"

    def log(self, name: str) -> str:
        return (self.run_dir / f"{name}.log").read_text(encoding="utf-8", errors="replace")


def logs_tail(run_dir: Path) -> str:
    return "".join(
        f"\n--- {p.name} ---\n" + "\n".join(p.read_text(errors="replace").splitlines()[-30:])
        for p in sorted(run_dir.glob("*.log"))
    )


def leftovers(group: int, marks: list[str]) -> str:
    """Processes still running from the script's process group, or naming one of `marks`."""
    found = subprocess.run(["pgrep", "-a", "-g", str(group)], capture_output=True, text=True).stdout
    for mark in marks:
        found += subprocess.run(["pgrep", "-af", mark], capture_output=True, text=True).stdout
    return found


@contextlib.contextmanager
def scale_out(db_url: str, instance: dict, env: dict[str, str] | None = None) -> Iterator[ScaleOut]:
    """run.sh on free ports until it says it is ready; then SIGTERM, and nothing may be left."""
    run_dir = Path(tempfile.mkdtemp(prefix="mktows-lb-"))  # short: haproxy's socket lives there
    ports = {name: str(free_port()) for name in ("LB_PORT", "API_PORT_1", "API_PORT_2")}
    script_env = {
        **os.environ,
        **ports,
        "MKTOWS_DB": db_url,
        "MKTOWS_INSTANCE": str(write_instance(run_dir / "instance.yaml", instance)),
        "MKTOWS_PYTHON": sys.executable,
        "RUN_DIR": str(run_dir),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    proc = subprocess.Popen(
        ["bash", str(RUN_SH)],
        cwd=REPO_ROOT,
        env=script_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: what is left of it can be found
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 90
        while not (ready := [m for line in list(output) if (m := READY_RE.search(line))]):
            if proc.poll() is not None or time.monotonic() > deadline:
                reader.join(5)
                raise AssertionError(f"run.sh did not get ready:\n{''.join(output)}{logs_tail(run_dir)}")
            time.sleep(0.1)
        pids = {m[1]: int(m[2]) for line in list(output) if (m := STARTED_RE.search(line))}
        api = {f"api-{n}": f"http://127.0.0.1:{ports[f'API_PORT_{n}']}" for n in (1, 2)}
        assert ready[0][1] == f"http://127.0.0.1:{ports['LB_PORT']}"
        assert sorted(pids) == ["api-1", "api-2", "haproxy", "worker-1", "worker-2"], output
        yield ScaleOut(ready[0][1], api, pids, run_dir)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            code = None
        reader.join(10)
        proc.stdout.close()
        left = leftovers(proc.pid, [db_url.rsplit("/", 1)[1], str(run_dir)])
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        report = f"\n{''.join(output)}{logs_tail(run_dir)}"
        shutil.rmtree(run_dir, ignore_errors=True)
    assert code == STOPPED_BY_SIGTERM, f"run.sh ended with {code} after SIGTERM{report}"
    assert left == "", f"run.sh left processes behind:\n{left}{report}"


def calls_answered(base_url: str, outcome: str | None = None) -> int:
    """SOAP calls the process at `base_url` answered (its mktows_calls counter), optionally
    only those with `outcome` (ok, fault)."""
    total = 0.0
    for line in get(f"{base_url}/metrics").text.splitlines():
        m = re.match(r"mktows_calls_total\{([^}]*)\} (\S+)$", line)
        if m and (outcome is None or f'outcome="{outcome}"' in m[1]):
            total += float(m[2])
    return int(total)


def backend_status(deployment: ScaleOut) -> dict[str, str]:
    """haproxy's view of each API process (UP, DOWN, ...), from its stats socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(deployment.run_dir / "haproxy.sock"))
        s.sendall(b"show stat\n")
        data = b"".join(iter(lambda: s.recv(65536), b""))
    rows = csv.DictReader(io.StringIO(data.decode().removeprefix("# ")))
    return {r["svname"]: r["status"] for r in rows if r["pxname"] == "mktows" and r["svname"].startswith("api")}


def refuses(base_url: str) -> bool:
    host, port = base_url.removeprefix("http://").split(":")
    try:
        socket.create_connection((host, int(port)), 1).close()
    except ConnectionRefusedError:
        return True
    return False


def list_mobjects(deployment: ScaleOut) -> None:
    success(call(deployment.endpoint(), LIST_MOBJECTS), "listMObjects")


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as s:
        yield s


@pytest.fixture(scope="module")
def deployment(sink) -> Iterator[ScaleOut]:
    with temporary_database("mktows_lb") as db_url, scale_out(db_url, campaign_instance(sink.port)) as running:
        yield running


def test_a_the_wsdl_names_haproxy_and_the_processes_see_the_real_client(deployment):
    for version in ("2_9", "2_2"):
        wsdl = etree.fromstring(get(deployment.endpoint(version) + "?WSDL").content)
        [location] = wsdl.xpath("//wsdl:service//soap:address/@location", namespaces={"wsdl": WSDL_NS, "soap": SOAP_NS})
        assert location == deployment.endpoint(version)
    # a client on 127.0.0.2 that claims another address and scheme: haproxy sets both headers
    made_up = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    validator_for(deployment.endpoint())  # fetched now, not between the two calls below
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), headers=made_up) as client:
        wsdl_text = client.get(deployment.endpoint() + "?WSDL").text
        assert f'location="{deployment.endpoint()}"' in wsdl_text  # http, as the client came
        for _ in range(2):  # one call to each process
            resp = post(deployment.endpoint(), envelope(LIST_MOBJECTS), client=client)
            success(resp, "listMObjects")
    for name in ("api-1", "api-2"):
        clients = [
            json.loads(line).get("client")
            for line in deployment.log(name).splitlines()
            if line.startswith("{") and '"operation": "listMObjects"' in line
        ]
        assert "127.0.0.2" in clients, (name, clients)
        assert "203.0.113.9" not in clients


def test_b_calls_are_spread_over_both_api_processes(deployment):
    before = {name: calls_answered(url) for name, url in deployment.api.items()}
    for _ in range(10):
        list_mobjects(deployment)
    spread = {name: calls_answered(url) - before[name] for name, url in deployment.api.items()}
    assert sum(spread.values()) == 10, spread
    assert min(spread.values()) >= 3, f"round robin should share 10 calls about evenly: {spread}"


def test_c_a_requested_campaign_delivers_one_email_through_the_workers(deployment, sink):
    api = LeadApi("zeep", make_zeep_client(deployment.endpoint("2_9")), "2_9")
    email = f"lb-{uuid.uuid4().hex[:8]}@balanced.example.com"
    lead_id = api.create_lead(email, {"FirstName": "Ada"})
    res = api.call(
        "requestCampaign",
        source="MKTOWS",
        leadList={"leadKey": [{"keyType": "IDNUM", "keyValue": str(lead_id)}]},
        programName=PROGRAM,
        campaignName="Requested",
    )
    assert res["success"] is True
    wait_for(lambda: [m for m in list(sink.messages) if address(m) == email], 60, "the campaign's email")
    time.sleep(3)  # a second message would arrive now
    got = [m for m in list(sink.messages) if address(m) == email]
    assert len(got) == 1, f"{len(got)} messages to {email}"
    assert got[0].message["Subject"] == "Hello Ada"
    for name in ("api-1", "api-2"):  # the API processes run no jobs: the workers sent it
        assert "jobs: procrastinate job engine, none run here" in deployment.log(name)


def test_d_the_rate_limit_holds_through_the_load_balancer():
    env = {"MKTOWS_RATE_LIMIT_CALLS": "10", "MKTOWS_RATE_LIMIT_SECONDS": "60"}
    instance = {"api_users": [{"user_id": TEST_USER, "encryption_key": TEST_KEY}]}
    with temporary_database("mktows_lb_rate") as db_url, scale_out(db_url, instance, env) as running:
        before = {name: calls_answered(url, "ok") for name, url in running.api.items()}
        for _ in range(10):
            list_mobjects(running)
        served = {name: calls_answered(url, "ok") - before[name] for name, url in running.api.items()}
        assert sum(served.values()) == 10 and min(served.values()) > 0, served
        refused_before = {name: calls_answered(url, "fault") for name, url in running.api.items()}
        for _ in range(2):  # the 11th and 12th calls, one on each process
            fault = assert_fault(call(running.endpoint(), LIST_MOBJECTS), 20023)
            assert "More than 10 calls in 60 seconds; retry in" in fault.message
        refused = {name: calls_answered(url, "fault") - refused_before[name] for name, url in running.api.items()}
        assert refused == {"api-1": 1, "api-2": 1}, refused


def test_e_calls_keep_succeeding_when_an_api_process_dies(deployment):
    both_up = {"api1": "UP", "api2": "UP"}  # "UP 1/2" until a first check passes after a start
    wait_for(lambda: backend_status(deployment) == both_up, 10, "both processes UP in haproxy")
    os.kill(deployment.pids["api-1"], signal.SIGKILL)
    # Gone once its port refuses connections (milliseconds later; a call sent to it while it
    # dies is lost, as one in flight is). Until the health check takes it out (two failed checks
    # a second apart), haproxy tries the calls it sends there again on the other process.
    wait_for(lambda: refuses(deployment.api["api-1"]), 10, "the killed process's port to close", 0.01)
    for _ in range(10):
        list_mobjects(deployment)
    wait_for(lambda: backend_status(deployment)["api1"].startswith("DOWN"), 15, "haproxy to take api1 out")
    assert backend_status(deployment)["api2"] == "UP"
    before = calls_answered(deployment.api["api-2"])
    for _ in range(10):
        list_mobjects(deployment)
    assert calls_answered(deployment.api["api-2"]) - before == 10
