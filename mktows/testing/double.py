"""mktows as a test double: a fresh server in this process, ready in milliseconds.

    with start_server() as mkto:              # or the pytest fixture `mktows_server`
        run_my_integration(mkto.endpoint, mkto.user_id, mkto.encryption_key)
        assert mkto.state.leads(email="ada@example.com")

How an instance is built (`build_app`, which the project's own test support uses too):

* fast (the default): the schema is migrated once per process into an in-memory template
  database; each new instance is a copy of it (SQLite's serialize/deserialize, about a
  millisecond) in memory, or written to a file when a path is given; then the instance file is
  applied, exactly as `mktows serve --instance` applies it;
* not fast: a SQLite file migrated with the migrations, as `mktows serve` does on a first start.

`start_server` then serves the app with uvicorn on a background thread of this process, on a
socket bound to a free port of 127.0.0.1: a real HTTP server that any client (PHP, Java, a
subprocess) can reach, while the test reads the state through the engine without SOAP.
With `process=True` it runs `mktows serve` in a process of its own instead
(mktows.testing.process), and the test reads the state through an engine of its own on the
same database.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from starlette.applications import Starlette

from mktows.app import create_app
from mktows.cli import engine_on, start_workers
from mktows.client import Client
from mktows.config import Settings
from mktows.delivery import deliver
from mktows.emulator.stub import Recording, stub_app
from mktows.engine import Engine
from mktows.engine.admin.state import (
    ActivityState,
    CampaignRunState,
    JobState,
    LeadState,
    MemberState,
    MessageState,
)
from mktows.instance import Instance, InstanceUser, apply_instance, load_instance, parse_instance
from mktows.soap.schema_model import VERSIONS
from mktows.store.database import MEMORY_URL, Database
from mktows.store.tables import server_meta
from mktows.testing.process import MktowsProcess, running_mktows, working_directory

DEFAULT_USER_ID = "mktows_test_user"
DEFAULT_ENCRYPTION_KEY = "mktows-test-encryption-key"
DEFAULT_VERSION = "2_9"
# What a test double changes of the server's defaults: no wait at shutdown.
DOUBLE_SETTINGS = {"MKTOWS_SHUTDOWN_GRACE_SECONDS": "1"}

InstanceSource = str | Path | Mapping[str, Any] | Instance | None

_template: bytes | None = None
_template_lock = threading.Lock()


def template_image() -> bytes:
    """A migrated, empty database as file bytes; built once per process (the migrations run
    once), without the server secret, which each copy draws anew."""
    global _template
    with _template_lock:
        if _template is None:
            database = Database(MEMORY_URL)
            try:
                database.migrate()
                with database.write() as conn:
                    conn.execute(server_meta.delete().where(server_meta.c.key == "hmac_secret"))
                _template = database.image()
            finally:
                database.dispose()
        return _template


def fresh_database(path: Path | None = None, *, fast: bool = True) -> Database:
    """A new, empty mktows database at the current schema: in memory (`path` None) or the
    SQLite file `path` (which must not exist yet). `fast` copies the template; otherwise the
    migrations run."""
    if path is not None:
        if fast:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(template_image())
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(MEMORY_URL)
        if fast:
            database.load_image(template_image())
    if fast:
        database.ensure_secret()
    else:
        database.migrate()
    return database


def read_instance(source: InstanceSource, *, base: Path | None = None, default_user: bool = True) -> Instance:
    """An instance from a file path (relative to `base`), a dict in the file's shape, or an
    Instance; None: one API user. With `default_user`, an instance without API users gets the
    default one (`DEFAULT_USER_ID`, `DEFAULT_ENCRYPTION_KEY`)."""
    if source is None:
        inst = Instance(source="<default>")
    elif isinstance(source, Instance):
        inst = source
    elif isinstance(source, Mapping):
        inst = parse_instance(dict(source), "<instance given as a dict>")
    else:
        path = Path(source)
        if base is not None and not path.is_absolute():
            path = base / path
        inst = load_instance(path)
    if default_user and not inst.api_users:
        inst = replace(inst, api_users=[InstanceUser(DEFAULT_USER_ID, DEFAULT_ENCRYPTION_KEY)])
    return inst


@dataclass
class BuiltApp:
    """An app as `mktows serve` builds it, with its engine and job workers (None: none run)."""

    settings: Settings
    instance: Instance
    engine: Engine
    app: Starlette
    workers: Any


def double_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings of a test double: the defaults, `DOUBLE_SETTINGS`, then `env` (MKTOWS_*
    variables), then `overrides`; the environment of the test process is not read."""
    return Settings.from_env({**DOUBLE_SETTINGS, **(env or {})}, **overrides)


@contextlib.contextmanager
def build_app(
    settings: Settings, instance: Instance, *, database: Database | None = None, fast: bool = True
) -> Iterator[BuiltApp]:
    """Migrate (or copy the template), apply `instance`, start the job workers the settings ask
    for and create the app, as `mktows serve` does; stop the workers and close the database on
    exit. `database` defaults to a fresh one in memory."""
    database = database if database is not None else fresh_database(fast=fast)
    workers = None
    try:
        engine = engine_on(settings, database)
        apply_instance(engine, instance)
        with contextlib.redirect_stdout(None):  # start_workers prints serve's line about email
            workers, _smtp = start_workers(settings, instance, database)
        yield BuiltApp(settings, instance, engine, create_app(settings, engine), workers)
    finally:
        if workers is not None:
            workers.stop()
        deliver.configure(None)  # start_workers configured this process's delivery
        database.dispose()


class MktowsState:
    """The instance's state read straight from its database, no SOAP involved. Every read
    returns frozen dataclasses (mktows.engine.admin.state), oldest first."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def leads(self, email: str | None = None) -> list[LeadState]:
        """Every lead (or those with this email, case ignored): id, email, fields by API name."""
        return self.engine.state_leads(email)

    def activities(self, lead_id: int | None = None, type: str | None = None) -> list[ActivityState]:
        """Activities, optionally of one lead and of one type name (`Request Campaign`, ...)."""
        return self.engine.state_activities(lead_id, type)

    def list_members(self, list_name: str) -> list[MemberState]:
        """The members of a static list (`NAME` or `PROGRAM.NAME`); KeyError for no such list."""
        return self.engine.state_list_members(list_name)

    def outbox(self) -> list[MessageState]:
        """Every email message the campaigns made: to, subject, status, bodies."""
        return self.engine.state_outbox()

    def job_runs(self) -> list[JobState]:
        """Every job queued (campaign runs, imports, delivery) with its status."""
        return self.engine.state_jobs()

    def campaign_runs(self) -> list[CampaignRunState]:
        """Every run of a smart campaign with its status and leads."""
        return self.engine.state_campaign_runs()

    def wait_for_jobs(self, timeout: float = 30.0) -> None:
        """Wait until no job that is due is queued or running (a requested campaign has run, its
        email is in the outbox); TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            horizon = datetime.now(UTC) + timedelta(seconds=1)
            pending = [j for j in self.job_runs() if j.status in ("queued", "running") and j.run_at <= horizon]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} job(s) still due after {timeout:g}s")
            time.sleep(0.02)


class MktowsInstance:
    """A running mktows test double: where it listens, who may call it, and its state.

    `endpoint` is the 2_9 SOAP endpoint (`endpoint_for(version)` any other), `wsdl_url` its
    WSDL; `user_id` and `encryption_key` the first API user of the instance; `env` the
    MKTOWS_ENDPOINT / MKTOWS_USER_ID / MKTOWS_ENCRYPTION_KEY variables for a subprocess;
    `client()` a mktows.client.Client; `state` reads the database without SOAP; `engine` is
    the engine on that database. `process` is the server's process when it runs in one of its
    own (`start_server(process=True)`), else None."""

    process: MktowsProcess | None = None

    def __init__(self, instance: Instance, base_url: str, settings: Settings, database_url: str) -> None:
        self.instance = instance
        self.base_url = base_url
        self.settings = settings
        self.database_url = database_url
        user = next((u for u in instance.api_users if u.enabled), instance.api_users[0])
        self.user_id = user.user_id
        self.encryption_key = user.encryption_key

    @property
    def engine(self) -> Engine:
        raise NotImplementedError

    @property
    def state(self) -> MktowsState:
        return MktowsState(self.engine)

    @property
    def endpoint(self) -> str:
        return self.endpoint_for(DEFAULT_VERSION)

    def endpoint_for(self, version: str) -> str:
        if version not in VERSIONS:
            raise ValueError(f"unknown API version {version!r}: expected one of {', '.join(VERSIONS)}")
        return f"{self.base_url}/soap/mktows/{version}"

    @property
    def wsdl_url(self) -> str:
        return self.endpoint + "?WSDL"

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    @property
    def env(self) -> dict[str, str]:
        return {
            "MKTOWS_ENDPOINT": self.endpoint,
            "MKTOWS_USER_ID": self.user_id,
            "MKTOWS_ENCRYPTION_KEY": self.encryption_key,
        }

    def client(self, version: str = DEFAULT_VERSION, **options: Any) -> Client:
        """A mktows.client.Client signed as this instance's API user (close it, or use `with`)."""
        return Client(self.endpoint_for(version), self.user_id, self.encryption_key, **options)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.endpoint} user {self.user_id}>"


class InThreadInstance(MktowsInstance):
    """A test double served by a thread of the test process: its engine is the server's own."""

    def __init__(self, built: BuiltApp, base_url: str, database_url: str) -> None:
        super().__init__(built.instance, base_url, built.settings, database_url)
        self.built = built

    @property
    def engine(self) -> Engine:
        return self.built.engine


class ProcessInstance(MktowsInstance):
    """A test double in a process of its own (`mktows serve`); the test reads its state through
    an engine of its own on the same database, opened when first asked for."""

    def __init__(self, process: MktowsProcess, instance: Instance, settings: Settings, database_url: str) -> None:
        super().__init__(instance, process.ready_match.rstrip("/"), settings, database_url)
        self.process = process
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        if self.database_url == MEMORY_URL:
            raise RuntimeError("a server in a process of its own on an in-memory database: its state is out of reach")
        with self._lock:
            if self._engine is None:
                self._engine = engine_on(self.settings, Database(self.database_url, create=False), seal=False)
            return self._engine

    def close(self) -> None:
        """Close the test's own connections to the server's database."""
        with self._lock:
            if self._engine is not None:
                self._engine.db.dispose()
                self._engine = None


class _ThreadServer:
    """uvicorn serving `app` on `sock` in a thread of its own (its own event loop)."""

    def __init__(self, app: Starlette, sock: socket.socket, grace: int) -> None:
        config = uvicorn.Config(
            app,
            log_config=None,  # the test process's logging stays as it is
            log_level="warning",
            lifespan="on",
            timeout_keep_alive=75,
            timeout_graceful_shutdown=grace,
        )
        self.server = uvicorn.Server(config)
        self._sock = sock
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="mktows-test-double", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve(sockets=[self._sock]))
        except BaseException as exc:  # reported by start()
            self._error = exc

    def start(self, timeout: float = 30.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the mktows test double did not start: {self._error!r}")
            time.sleep(0.0005)

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(30)
        self._sock.close()


def listen_socket() -> socket.socket:
    """A socket listening on a free port of 127.0.0.1 (the test double never listens elsewhere)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@contextlib.contextmanager
def start_server(
    instance: InstanceSource = None,
    *,
    env: Mapping[str, str] | None = None,
    fast: bool = True,
    database_path: Path | None = None,
    database_url: str | None = None,
    base: Path | None = None,
    process: bool = False,
    directory: Path | None = None,
    ready_timeout: float = 30.0,
) -> Iterator[MktowsInstance]:
    """A fresh mktows on a free port of 127.0.0.1, seeded from `instance` (a file, a dict in
    the file's shape, or None for one API user); `env` are MKTOWS_* settings.

    The database is in memory unless `database_path` names a SQLite file to create or
    `database_url` names a database to use as it is (a SQLite file, or PostgreSQL; migrated
    if it is new). `process` runs `mktows serve` in a process of its own (its files, the
    instance file and by default its SQLite database, go to `directory`, else a temporary one)."""
    if database_path is not None and database_url is not None:
        raise ValueError("give database_path or database_url, not both")
    if database_url is not None and (new_file := _new_sqlite_file(database_url)) is not None:
        database_path, database_url = new_file, None  # a new file: as fast as a path
    inst = read_instance(instance, base=base)  # checked here, so a bad file fails in the test
    settings = double_settings(env, host="127.0.0.1", port=0)
    if process:
        data = _instance_data(instance, inst, base)
        with _process_server(
            inst, data, settings, env, fast, database_path, database_url, directory, ready_timeout
        ) as srv:
            yield srv
        return
    if database_url is not None:
        database = Database(database_url)
        database.migrate()
    else:
        database = fresh_database(database_path, fast=fast)
    with build_app(settings, inst, database=database) as built:
        sock = listen_socket()
        server = _ThreadServer(built.app, sock, settings.shutdown_grace_seconds)
        server.start()
        host, port = sock.getsockname()[:2]
        try:
            yield InThreadInstance(built, f"http://{host}:{port}", database_url or database.url)
        finally:
            server.stop()


def _new_sqlite_file(url: str) -> Path | None:
    """The file of a `sqlite:///ABSOLUTE-PATH` URL that does not exist yet, else None."""
    if not url.startswith("sqlite:///"):
        return None
    path = Path(url.removeprefix("sqlite:///"))
    return path if path.is_absolute() and not path.exists() else None


@contextlib.contextmanager
def _process_server(
    inst: Instance,
    instance_data: dict[str, Any],
    settings: Settings,
    env: Mapping[str, str] | None,
    fast: bool,
    database_path: Path | None,
    database_url: str | None,
    directory: Path | None,
    ready_timeout: float,
) -> Iterator[ProcessInstance]:
    with working_directory(directory) as workdir:
        instance_file = workdir / "instance.yaml"
        instance_file.write_text(instance_yaml(instance_data), encoding="utf-8")
        if database_url is None:
            path = database_path if database_path is not None else workdir / "mktows.db"
            if fast:  # else `serve` migrates it, as on a first start
                fresh_database(path).dispose()
            database_url = f"sqlite:///{path}"
        args = ["serve", "--host", "127.0.0.1", "--port", "0", "--db", database_url, "--instance", str(instance_file)]
        settings_env = {**DOUBLE_SETTINGS, **(env or {})}
        with running_mktows(args, env=settings_env, cwd=workdir, ready_timeout=ready_timeout) as proc:
            double = ProcessInstance(proc, inst, settings, database_url)
            try:
                yield double
            finally:
                double.close()


def _instance_data(source: InstanceSource, inst: Instance, base: Path | None) -> dict[str, Any]:
    """The instance file's content for a server in its own process, with the API user
    `read_instance` gave an instance without one."""
    if isinstance(source, Instance):
        raise TypeError("a server in a process of its own reads an instance file: give a path or a dict")
    if source is None:
        data: dict[str, Any] = {}
    elif isinstance(source, Mapping):
        data = dict(source)
    else:
        path = Path(source)
        data = yaml.safe_load((base / path if base is not None and not path.is_absolute() else path).read_text("utf-8"))
        data = data or {}
    if not data.get("api_users"):
        data["api_users"] = [{"user_id": u.user_id, "encryption_key": u.encryption_key} for u in inst.api_users]
    return data


@contextlib.contextmanager
def start_stub(recording: str | Path) -> Iterator[str]:
    """`mktows stub RECORDING` in a thread of this process, on a free port of 127.0.0.1:
    yields the base URL (`BASE/soap/mktows/VERSION` answers the recorded calls)."""
    recorded = Recording(recording)
    sock = listen_socket()
    server = _ThreadServer(stub_app(recorded), sock, grace=1)
    server.start()
    host, port = sock.getsockname()[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def instance_yaml(instance: Mapping[str, Any]) -> str:
    """An instance given as a dict, as the YAML of an instance file."""
    return yaml.safe_dump(dict(instance), sort_keys=False)
