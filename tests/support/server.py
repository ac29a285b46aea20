"""Start a real `mktows serve` subprocess on a free 127.0.0.1 port.

    with running_server(db_url, tmp_path) as srv:
        srv.endpoint("2_2")  # http://127.0.0.1:PORT/soap/mktows/2_2

The harness waits for the line `mktows ready on http://127.0.0.1:PORT`; if the process
exits (or stays silent for `ready_timeout` seconds) it raises with everything the server
printed, so a broken start-up is reported as such and not as a wall of failing tests.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

from .soap import HOLDOUT_KEY, HOLDOUT_USER, TEST_KEY, TEST_USER

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_RE = re.compile(r"mktows ready on (http://\S+)")
WORKER_READY_RE = re.compile(r"mktows worker: (\S+) job engine")

SEED_CUSTOM_FIELD = "Seed_Custom_Field"
SEED_INT_FIELD = "Seed_Score"
SEED_LIST = "Seed List"
OTHER_LIST = "Other List"
# Per-test static lists (handed out by Server.fresh_list()) so list counts are exact on a
# server shared by the whole session.
POOL_LISTS = [f"Test List {i:03d}" for i in range(60)]
# tests/test_import_columns.py: each scenario and client imports into a list of its own (the
# import status reports the last import of a list).
COLUMNS_PROGRAM = "Columns Program"
COLUMNS_SCENARIOS = ("Ignored", "Api Names", "No Email")
COLUMNS_CLIENTS = ("zeep", "suds")


def columns_list(scenario: str, kind: str) -> str:
    return f"{scenario} {kind}"


INSTANCE = {
    "api_users": [
        {"user_id": TEST_USER, "encryption_key": TEST_KEY},
        {"user_id": HOLDOUT_USER, "encryption_key": HOLDOUT_KEY},
    ],
    "lead_fields": [
        {"name": SEED_CUSTOM_FIELD, "display_name": "Seed Custom Field", "type": "string"},
        {"name": SEED_INT_FIELD, "display_name": "Seed Score", "type": "integer"},
    ],
    "lists": [SEED_LIST, OTHER_LIST, *POOL_LISTS],
    # the importToList wire samples import into Seed Program.Seed List
    "programs": [
        {"name": "Seed Program", "lists": [SEED_LIST]},
        # programs as MObjects, channels, tags (tests/test_mobjects_programs.py)
        {
            "name": "Spring Webinar",
            "type": "Marketing Event",
            "channel": "Webinar",
            "folder": "Events/2026",
            "tags": {"Region": "North"},
            "costs": [{"month": "2026-03", "amount": 3000, "note": "Venue"}],
            "tokens": {"my.Speaker": "Ada Lovelace"},
        },
        {
            "name": "EMEA Blog",
            "channel": "Blog",
            "workspace": "EMEA",
            "folder": "Content",
            "tags": {"Region": "EMEA", "Product Line": "Cloud"},
            "costs": [{"month": "2026-01", "amount": 120}, {"month": "2026-02", "amount": 80.5, "note": "Ads"}],
        },
        # list names: one program list whose bare name is unique, and one name two programs share
        {"name": "Autumn Summit", "lists": ["Summit Attendees", "Follow Ups"]},
        {"name": "Winter Summit", "lists": ["Follow Ups"]},
        {
            "name": COLUMNS_PROGRAM,
            "lists": [columns_list(s, k) for s in COLUMNS_SCENARIOS for k in COLUMNS_CLIENTS],
        },
    ],
    "workspaces": ["Default", "EMEA"],
    "channels": [
        {
            "name": "Webinar",
            "type": "webinar",
            "statuses": [
                {"name": "Invited", "step": 10},
                {"name": "Registered", "step": 20, "webinar": "Registered"},
                {"name": "No Show", "step": 30, "webinar": "No Show"},
                {"name": "Attended", "step": 40, "success": True, "webinar": "Attended"},
            ],
        },
        {
            "name": "Tradeshow",
            "type": "event",
            "statuses": [
                {"name": "Registered", "step": 10, "check_in": "None"},
                {"name": "Visited Booth", "step": 20, "success": True, "check_in": "Attended"},
            ],
        },
        {
            "name": "Blog",
            "statuses": [{"name": "Subscribed", "step": 10}, {"name": "Engaged", "step": 20, "success": True}],
        },
    ],
    "tag_types": [
        {"name": "Region", "values": ["North", "South", "EMEA"]},
        {"name": "Product Line", "values": ["Core", "Cloud"]},
    ],
    # opportunities without a CRM, custom objects
    "opportunity_fields": [
        {"name": "ExternalOpportunityId", "type": "string", "external_key": True},
        {"name": "Region", "type": "string"},
    ],
    "opportunity_role_fields": [{"name": "Influence", "type": "integer"}],
    "custom_objects": [
        {
            "name": "Roadshow",
            "display_name": "Road Show",
            "description": "Roadshow visits",
            "fields": [
                {"name": "MKTOID", "type": "integer", "link": "Id", "dedupe": True},
                {"name": "rid", "type": "string", "dedupe": True},
                {"name": "city", "type": "string"},
                {"name": "visited_on", "type": "date"},
                {"name": "attendees", "type": "integer"},
            ],
        },
    ],
}

VERSIONS = ("2_2", "2_3", "2_7", "2_9", "3_1")

# The default profile has no daily quota and no rate limit; the tests' servers raise its
# concurrency ceiling too, so that parallel clients never wait for a slot.
TEST_LIMITS = {
    "MKTOWS_MAX_CONCURRENCY": "1000",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerStartError(RuntimeError):
    pass


class ListPool:
    """Hands out the instance file's pool lists, each to one test."""

    def __init__(self) -> None:
        self._lists = iter(POOL_LISTS)
        self._lock = threading.Lock()

    def fresh_list(self) -> str:
        """A static list (declared in the instance file) that no other test uses."""
        with self._lock:
            try:
                return next(self._lists)
            except StopIteration:  # pragma: no cover - grow POOL_LISTS
                raise RuntimeError("out of pool lists; add more to POOL_LISTS") from None


class MktowsProcess:
    """A `python -m mktows ...` process the tests started: its output so far, and a hard kill."""

    def __init__(self, proc: subprocess.Popen, output: list[str]) -> None:
        self.proc, self._output = proc, output

    def output(self) -> str:
        return "".join(self._output)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL (for crash tests): no chance to finish calls or hand jobs back."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class Server(MktowsProcess, ListPool):
    def __init__(self, proc: subprocess.Popen, base_url: str, db_url: str, output: list[str]) -> None:
        MktowsProcess.__init__(self, proc, output)
        ListPool.__init__(self)
        self.base_url = base_url.rstrip("/")
        self.db_url = db_url

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    @property
    def backend(self) -> str:
        return "postgresql" if self.db_url.startswith("postgresql") else "sqlite"

    def endpoint(self, version: str = "2_2") -> str:
        return f"{self.base_url}/soap/mktows/{version}"

    def wsdl_url(self, version: str = "2_2") -> str:
        return self.endpoint(version) + "?WSDL"


def _reader(stream, sink: list[str], ready: threading.Event, found: list[str], ready_re: re.Pattern[str]) -> None:
    for line in iter(stream.readline, ""):
        sink.append(line)
        if not found:
            m = ready_re.search(line)
            if m:
                found.append(m.group(1))
                ready.set()
    ready.set()  # EOF: wake the waiter so it notices the exit


def write_instance(path: Path, instance: dict | None = None) -> Path:
    path.write_text(yaml.safe_dump(instance or INSTANCE, sort_keys=False), encoding="utf-8")
    return path


@contextlib.contextmanager
def running_process(
    args: list[str], ready_re: re.Pattern[str], *, env: dict[str, str] | None = None, ready_timeout: float = 30.0
) -> Iterator[tuple[subprocess.Popen, str, list[str]]]:
    """`python -m mktows ARGS`, once it printed a line `ready_re` matches: the process, the
    match's first group and the output so far (growing); terminated on exit."""
    cmd = [sys.executable, "-m", "mktows", *args]
    proc_env = {**os.environ, "PYTHONUNBUFFERED": "1", **TEST_LIMITS, **(env or {})}
    proc = subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        env=proc_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    output: list[str] = []
    ready = threading.Event()
    found: list[str] = []
    reader = threading.Thread(target=_reader, args=(proc.stdout, output, ready, found, ready_re), daemon=True)
    reader.start()
    what = f"mktows {args[0]}"
    try:
        deadline = time.monotonic() + ready_timeout
        while not found:
            remaining = deadline - time.monotonic()
            if proc.poll() is not None:
                reader.join(5)
                raise ServerStartError(
                    f"{what} exited with code {proc.returncode} before it was ready.\n"
                    f"command: {' '.join(cmd)}\n--- output ---\n{''.join(output)}"
                )
            if remaining <= 0:
                raise ServerStartError(
                    f"{what} printed no line matching {ready_re.pattern!r} within {ready_timeout:.0f}s.\n"
                    f"command: {' '.join(cmd)}\n--- output ---\n{''.join(output)}"
                )
            ready.wait(min(remaining, 0.2))
            if ready.is_set() and not found:  # output closed; wait for the exit code
                time.sleep(0.05)
        yield proc, found[0], output
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        reader.join(10)
        if proc.stdout is not None:
            proc.stdout.close()


@contextlib.contextmanager
def running_server(
    db_url: str,
    workdir: Path,
    *,
    instance: dict | None = None,
    env: dict[str, str] | None = None,
    ready_timeout: float = 30.0,
) -> Iterator[Server]:
    workdir.mkdir(parents=True, exist_ok=True)
    instance_file = write_instance(workdir / "instance.yaml", instance)
    port = free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--db", db_url, "--instance", str(instance_file)]
    with running_process(args, READY_RE, env=env, ready_timeout=ready_timeout) as (proc, base_url, output):
        server = Server(proc, base_url, db_url, output)
        expected = f"http://127.0.0.1:{port}"
        if server.base_url != expected:
            raise ServerStartError(f"ready line announced {server.base_url}, expected {expected}")
        yield server


class Worker(MktowsProcess):
    """A `mktows worker` process; `engine` is the job engine it said it runs."""

    def __init__(self, proc: subprocess.Popen, engine: str, output: list[str]) -> None:
        super().__init__(proc, output)
        self.engine = engine


@contextlib.contextmanager
def running_worker(db_url: str, *, env: dict[str, str] | None = None, concurrency: int = 2) -> Iterator[Worker]:
    args = ["worker", "--db", db_url, "--concurrency", str(concurrency)]
    with running_process(args, WORKER_READY_RE, env=env) as (proc, engine, output):
        yield Worker(proc, engine, output)
