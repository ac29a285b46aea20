"""Real `mktows serve` processes for the tests, started by the project's own pytest plugin
(mktows.testing, in its process mode), with the tests' instance file and limits.

    def test_x(mktows_start, tmp_path):
        with running_server(mktows_start, f"sqlite:///{tmp_path / 'm.db'}", tmp_path) as srv:
            srv.endpoint("2_2")  # http://127.0.0.1:PORT/soap/mktows/2_2

The plugin waits for the line `mktows ready on http://127.0.0.1:PORT`; if the process exits
(or stays silent for `ready_timeout` seconds) it raises with everything the server printed, so
a broken start-up is reported as such and not as a wall of failing tests.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import yaml

from mktows.testing import ServerFactory
from mktows.testing.double import MktowsInstance
from mktows.testing.process import MktowsProcess, running_mktows

from .soap import HOLDOUT_KEY, HOLDOUT_USER, TEST_KEY, TEST_USER

REPO_ROOT = Path(__file__).resolve().parents[2]
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


class ProcessHandle:
    """A mktows process the plugin started: its output, whether it runs, a hard kill, and the
    `subprocess.Popen` (`proc`) for other signals."""

    def __init__(self, process: MktowsProcess) -> None:
        self.process = process
        self.proc = process.proc

    def output(self) -> str:
        return self.process.output()

    def alive(self) -> bool:
        return self.process.alive()

    def kill(self) -> None:
        self.process.kill()


class Server(ProcessHandle, ListPool):
    """A `mktows serve` process the plugin started (`MktowsInstance.process`), as the tests use
    it: endpoints by version, its database URL and backend, its output and a hard kill."""

    def __init__(self, double: MktowsInstance) -> None:
        assert double.process is not None, "support.server.Server wraps a server in a process of its own"
        ProcessHandle.__init__(self, double.process)
        ListPool.__init__(self)
        self.double = double
        self.base_url = double.base_url
        self.db_url = double.database_url

    @property
    def port(self) -> int:
        return self.double.port

    @property
    def backend(self) -> str:
        return "postgresql" if self.db_url.startswith("postgresql") else "sqlite"

    def endpoint(self, version: str = "2_2") -> str:
        return self.double.endpoint_for(version)

    def wsdl_url(self, version: str = "2_2") -> str:
        return self.endpoint(version) + "?WSDL"


def write_instance(path: Path, instance: dict | None = None) -> Path:
    path.write_text(yaml.safe_dump(instance or INSTANCE, sort_keys=False), encoding="utf-8")
    return path


@contextlib.contextmanager
def running_server(
    start: ServerFactory,
    db_url: str,
    workdir: Path,
    *,
    instance: dict | None = None,
    env: dict[str, str] | None = None,
    ready_timeout: float = 30.0,
) -> Iterator[Server]:
    """`mktows serve` on `db_url` in a process of its own, started by the plugin's factory
    fixture `start` (`mktows_start`, or `mktows_session_start` for a longer-lived server), with
    the tests' instance file and limits."""
    with start.running(
        instance or INSTANCE,
        process=True,
        database_url=db_url,
        directory=workdir,
        env={**TEST_LIMITS, **(env or {})},
        ready_timeout=ready_timeout,
    ) as double:
        yield Server(double)


class Worker(ProcessHandle):
    """A `mktows worker` process; `engine` is the job engine it said it runs."""

    def __init__(self, process: MktowsProcess) -> None:
        super().__init__(process)
        self.engine = process.ready_match


@contextlib.contextmanager
def running_worker(db_url: str, *, env: dict[str, str] | None = None, concurrency: int = 2) -> Iterator[Worker]:
    args = ["worker", "--db", db_url, "--concurrency", str(concurrency)]
    with running_mktows(args, WORKER_READY_RE, env={**TEST_LIMITS, **(env or {})}, cwd=REPO_ROOT) as process:
        yield Worker(process)
