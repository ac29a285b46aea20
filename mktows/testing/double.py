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
    `client()` a mktows.client.Client; `state` reads the database without SOAP."""

    def __init__(self, built: BuiltApp, base_url: str) -> None:
        self.built = built
        self.engine = built.engine
        self.settings = built.settings
        self.base_url = base_url
        user = next((u for u in built.instance.api_users if u.enabled), built.instance.api_users[0])
        self.user_id = user.user_id
        self.encryption_key = user.encryption_key
        self.state = MktowsState(built.engine)

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
        return f"<MktowsInstance {self.endpoint} user {self.user_id}>"


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
    base: Path | None = None,
) -> Iterator[MktowsInstance]:
    """A fresh mktows on a free port of 127.0.0.1, seeded from `instance` (a file, a dict in
    the file's shape, or None for one API user); `env` are MKTOWS_* settings. The database is
    in memory unless `database_path` names a SQLite file to create."""
    inst = read_instance(instance, base=base)
    settings = double_settings(env, host="127.0.0.1", port=0)
    database = fresh_database(database_path, fast=fast)
    with build_app(settings, inst, database=database) as built:
        sock = listen_socket()
        server = _ThreadServer(built.app, sock, settings.shutdown_grace_seconds)
        server.start()
        host, port = sock.getsockname()[:2]
        try:
            yield MktowsInstance(built, f"http://{host}:{port}")
        finally:
            server.stop()


def instance_yaml(instance: Mapping[str, Any]) -> str:
    """An instance given as a dict, as the YAML of an instance file."""
    return yaml.safe_dump(dict(instance), sort_keys=False)
