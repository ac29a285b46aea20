"""The `mktows` command line (every command and option: docs/cli.md).

`serve` prints its endpoint and API users, then `mktows ready on URL` only once the
socket listens, flushing each line so a parent process reading the pipe sees it at once.
A bad setting (database URL, host, port, choice) is one `error:` line on stderr and exit
code 2, before anything is created. Only `serve`, `migrate` and `load` create a database;
every other command needs one that exists and says where it looked when there is none.
"""

from __future__ import annotations

import errno
import gc
import ipaddress
import json
import logging
import secrets
import signal
import socket
import sys
import threading
from dataclasses import asdict, replace
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Annotated, Any, Literal, NoReturn

import typer
from sqlalchemy.exc import SQLAlchemyError

from mktows import cli_remote
from mktows.config import _CHOICES as SETTING_CHOICES
from mktows.config import DEFAULT_DB_URL, Settings
from mktows.engine import Engine
from mktows.engine.admin import users as api_users
from mktows.engine.admin.console_users import ConsoleUserError
from mktows.engine.admin.key_cipher import MasterKeyError
from mktows.engine.campaigns.outbox import STATUSES as OUTBOX_STATUSES
from mktows.engine.models import FieldInfo
from mktows.errors import MarketoError
from mktows.instance import InstanceError, apply_instance, load_instance
from mktows.observe import logs
from mktows.runtime import jobs
from mktows.soap.schema_model import VERSIONS
from mktows.store.database import (
    MEMORY_URL,
    Database,
    DatabaseError,
    DatabaseMissing,
    describe_url,
    head_revision,
    parse_url,
)

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Self-hosted Marketo SOAP API server.")
users_app = typer.Typer(no_args_is_help=True, help="API users (client access ids and keys).")
fields_app = typer.Typer(no_args_is_help=True, help="Custom lead fields.")
lists_app = typer.Typer(no_args_is_help=True, help="Static lists.")
app.add_typer(users_app, name="users")
app.add_typer(fields_app, name="fields")
app.add_typer(lists_app, name="lists")
outbox_app = typer.Typer(help="Email messages kept in the outbox: `outbox` or `outbox list`, and `outbox show ID`.")
app.add_typer(outbox_app, name="outbox")
admins_app = typer.Typer(no_args_is_help=True, help="Web console users (who may sign in at /console).")
app.add_typer(admins_app, name="admins")
campaigns_app = typer.Typer(no_args_is_help=True, help="Smart campaigns.")
app.add_typer(campaigns_app, name="campaigns")
app.add_typer(cli_remote.leads_app, name="leads")
app.add_typer(cli_remote.activity_app, name="activity")
campaigns_app.command("list")(cli_remote.campaigns_list)
requests_app = typer.Typer(no_args_is_help=True, help="The request log (MKTOWS_REQUEST_LOG): list, show, resend.")
app.add_typer(requests_app, name="requests")
campaigns_app.command("request")(cli_remote.campaigns_request)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL: sqlite:///PATH, sqlite:///:memory: (serve only) or postgresql://user@host/db"
        f" (env MKTOWS_DB; default {DEFAULT_DB_URL}).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON array instead of lines.")]
log = logging.getLogger("mktows.cli")
# What a command may do to the database: create it (and migrate), write to an existing one
# (migrating it up), or read one already at the current schema.
Access = Literal["create", "write", "read"]


def _version() -> str:
    try:
        return package_version("mktows")
    except PackageNotFoundError:  # pragma: no cover - running from a tree that was never installed
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        say(f"mktows {_version()}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, callback=_print_version, help="Print the version and exit.")
    ] = False,
) -> None:
    """Self-hosted Marketo SOAP API server."""


def say(text: str) -> None:
    print(text, flush=True)


def _reason(exc: BaseException) -> str:
    """The driver's own words on one line (a psycopg error spans several)."""
    orig = getattr(exc, "orig", None) or exc
    return " ".join(str(orig).split()) or type(orig).__name__


def open_database(url: str, access: Access) -> Database:
    """The database at `url`, or one `error:` line naming what is wrong with it."""
    where = describe_url(url)
    try:
        database = Database(url, create=access == "create")
        if access == "create":
            database.migrate()
            return database
        revision = database.revision()
        if revision is not None and access == "write":
            database.migrate()
    except DatabaseMissing as exc:
        _fail(str(exc) if where == MEMORY_URL else f"{exc} (create it with `mktows migrate --db {where}`)")
    except DatabaseError as exc:
        _fail(str(exc))
    except (SQLAlchemyError, OSError) as exc:
        reason = _reason(exc)
        if "does not exist" in reason and not where.startswith("sqlite"):
            reason += " (create it with createdb; mktows creates the tables, not the database)"
        _fail(f"cannot open database {where}: {reason}")
    if revision is None:
        _fail(f"no mktows database at {database.description} (create it with `mktows migrate --db {where}`)")
    if access == "read" and revision != head_revision():
        _fail(
            f"the database at {database.description} has schema {revision}, this mktows expects"
            f" {head_revision()} (upgrade it with `mktows migrate --db {where}`)"
        )
    return database


def _check_choice(flag: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        _fail(f"{flag} {value!r} is not accepted: expected one of {', '.join(choices)}")


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings.from_env(**overrides)
    except ValueError as exc:
        _fail(str(exc))


def open_engine(settings: Settings, access: Access = "write") -> Engine:
    """The engine on the configured database; `access` says whether it may create it."""
    try:
        return engine_on(settings, open_database(settings.db_url, access), seal=access != "read")
    except MasterKeyError as exc:
        _fail(str(exc))


def engine_on(settings: Settings, database: Database, *, seal: bool = True) -> Engine:
    """The engine with the settings' limits and master key on an open database (`seal`: encrypt
    keys stored as given)."""
    engine = Engine(
        database,
        max_window_days=settings.max_window_days,
        max_batch_size=settings.max_batch_size,
        max_sync_leads=settings.max_sync_leads,
        max_page_bytes=settings.max_page_bytes,
        max_clones_per_day=settings.max_clones_per_day,
    )
    engine.use_master_key(settings.master_key, seal=seal)
    return engine


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def print_rows(columns: list[str], rows: list[list[Any]], as_json: bool) -> None:
    """A header line then one tab-separated line per row; or one JSON array of objects."""
    if as_json:
        say(json.dumps([dict(zip(columns, row, strict=True)) for row in rows], default=str, ensure_ascii=False))
        return
    say("\t".join(name.upper() for name in columns))
    for row in rows:
        say("\t".join("" if value is None else str(value) for value in row))


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help=f"Interface to listen on (env MKTOWS_HOST; default {Settings.host}).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help=f"Port (env MKTOWS_PORT; default {Settings.port}; 0 picks a free port).")
    ] = None,
    db: DbOption = None,
    instance: Annotated[str | None, typer.Option("--instance", help="Instance YAML file to apply.")] = None,
    log_format: Annotated[
        str | None,
        typer.Option(
            "--log-format",
            help=f"Log lines on stderr: {', '.join(SETTING_CHOICES['log_format'])} (env MKTOWS_LOG_FORMAT;"
            f" default {Settings.log_format}: auto is human on a terminal, else json).",
        ),
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option(
            "--log-level",
            help=f"Least severe level logged: {', '.join(SETTING_CHOICES['log_level'])} (env MKTOWS_LOG_LEVEL;"
            f" default {Settings.log_level}).",
        ),
    ] = None,
    emulator: Annotated[
        bool | None,
        typer.Option(
            "--emulator",
            help="Turn on the emulator control API under /_mktows/ (env MKTOWS_EMULATOR); for tests only,"
            " never in production: see docs/emulator.md.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Migrate, apply the instance file, and serve the SOAP API."""
    import uvicorn

    _check_choice("--log-format", log_format, SETTING_CHOICES["log_format"])
    _check_choice("--log-level", log_level, SETTING_CHOICES["log_level"])
    settings = _settings(
        host=host,
        port=port,
        db_url=db,
        instance_file=instance,
        log_format=log_format,
        log_level=log_level,
        emulator=emulator or None,
    )
    _check_proxies(settings.forwarded_allow_ips)
    check_job_engine(settings)
    chosen_format = logs.configure(settings.log_format, settings.log_level)
    listener = bind_listener(settings.host, settings.port)
    try:
        inst = load_instance(settings.instance_file) if settings.instance_file else None
    except InstanceError as exc:
        _fail(str(exc))
    engine = open_engine(settings, "create")
    if inst is not None:
        try:
            apply_instance(engine, inst)
        except InstanceError as exc:
            _fail(str(exc))
    created: dict[str, str] = {}
    if not engine.api_users():
        user_id = "mktows_" + secrets.token_hex(6)
        key = api_users.generate_key()
        engine.put_api_user(user_id, key)
        created[user_id] = key

    from mktows.app import create_app

    asgi = create_app(settings, engine)
    bound_port = listener.getsockname()[1]
    base = f"http://{_url_host(settings.host)}:{bound_port}"
    say(f"mktows endpoint: {base}/soap/mktows/2_9")
    say(f"  other API versions: {', '.join(f'{base}/soap/mktows/{v}' for v in VERSIONS if v != '2_9')}")
    say(f"  WSDL: {base}/soap/mktows/2_9?WSDL")
    say(f"database: {engine.db.description}")
    say(f"logs: {chosen_format} lines on stderr, level {settings.log_level}")
    for user in engine.api_users():
        if user.user_id in created:
            say(f"API user: {user.user_id}  encryption key: {created[user.user_id]}  (created now; keep it)")
        else:
            say(f"API user: {user.user_id}")

    config = uvicorn.Config(
        asgi,
        host=settings.host,
        port=bound_port,
        log_level="warning",
        timeout_keep_alive=75,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )
    server = announcing_server(config, base)
    job_engine = use_job_engine(settings, engine.db)
    say(
        f"jobs: {job_engine} job engine, "
        + (f"{settings.workers} at once here" if settings.workers > 0 else "none run here")
    )
    workers, smtp = start_workers(settings, inst, engine.db)
    log.info("mktows starting", extra={"fields": startup_fields(settings, engine.db, bound_port, smtp)})
    stopper = _GracefulStop(server, workers, settings.shutdown_grace_seconds)
    # What start-up built (schema, WSDL types, compiled statements) lives as long as the
    # process: keep it out of the collector's full passes, which would otherwise pause calls.
    gc.freeze()
    try:
        server.run(sockets=[listener])
    finally:
        stopper.finish()
    if not server.started:
        raise typer.Exit(1)
    log.info("mktows stopped")


def announcing_server(config: Any, base: str) -> Any:
    """A uvicorn server that prints `mktows ready on BASE` once its socket listens, the line a
    parent process waits for."""
    import uvicorn

    server = uvicorn.Server(config)
    original_startup = server.startup

    async def startup(sockets: Any = None) -> None:
        await original_startup(sockets=sockets)
        if server.started:
            say(f"mktows ready on {base}")

    server.startup = startup  # type: ignore[method-assign]
    return server


def _check_proxies(value: str) -> None:
    """uvicorn would take a misspelt proxy address as a name no peer ever has: refuse it."""
    for item in (part.strip() for part in value.split(",")):
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            _fail(f"MKTOWS_FORWARDED_ALLOW_IPS: {item!r} is not an IP address, a network (10.0.0.0/8) or *")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def bind_listener(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything else starts, so that a bad host or a port
    in use is one line and not a server that printed its banner and then died."""
    if not 0 <= port <= 65535:
        _fail(f"port {port} is out of range: expected 1 to 65535, or 0 for any free port")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (OSError, UnicodeError):
        _fail(f"cannot listen on {host!r}: not an address or host name of this machine")
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            _fail(f"port {port} on {host} is in use")
        if exc.errno == errno.EADDRNOTAVAIL:
            _fail(f"cannot listen on {host}: not an address of this machine")
        if exc.errno == errno.EACCES:
            _fail(f"port {port} on {host} needs privileges this process does not have")
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    return sock


def startup_fields(settings: Settings, database: Database, port: int, smtp: Any) -> dict[str, Any]:
    """The effective configuration for the start-up log line: every setting, the database
    without its password, the SMTP server's host only (its URL may hold a password)."""
    fields = {k: v for k, v in asdict(settings).items() if not any(word in k for word in _SECRET_WORDS)}
    fields.update(
        version=_version(),
        database=database.description,
        port=port,
        smtp=f"{smtp.host}:{smtp.port}" if smtp else None,
    )
    return fields


# Settings whose name has one of these words are, or may hold, secrets (a URL may carry a
# password): never logged. The database is logged as described, without its password.
_SECRET_WORDS = ("key", "secret", "password", "token", "url")


class _GracefulStop:
    """On SIGTERM or Ctrl-C: uvicorn stops accepting and waits for calls in flight (at most
    `shutdown_grace_seconds`); meanwhile the job workers stop claiming jobs and are asked to
    stop. A job still running when the process exits keeps its lease, which the next start
    on this host ends at once (the process is gone), so the job runs again."""

    def __init__(self, server: Any, workers: Any, grace: float) -> None:
        self.server, self.workers, self.grace = server, workers, grace
        self.thread: threading.Thread | None = None
        self.signalled = False
        self._uvicorn_exit = server.handle_exit
        server.handle_exit = self.handle_exit
        # Until uvicorn installs its handlers, and after it restores these and raises the signal
        # again once it has shut down (which would otherwise end the process with that signal).
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.handle_exit)

    def handle_exit(self, sig: int, frame: Any) -> None:
        self._uvicorn_exit(sig, frame)
        if not self.signalled:
            self.signalled = True
            log.info("mktows stopping", extra={"fields": {"signal": signal.Signals(sig).name, "grace": self.grace}})
            if self.workers is not None:
                self.thread = threading.Thread(
                    target=self.workers.stop, kwargs={"timeout": self.grace}, name="mktows-stop", daemon=True
                )
                self.thread.start()

    def finish(self) -> None:
        if self.workers is None:
            return
        if self.thread is None:
            self.workers.stop(timeout=self.grace)
        else:
            self.thread.join(self.grace + 1)


@app.command()
def load(
    file: Annotated[str, typer.Argument(help="Instance YAML file.")],
    db: DbOption = None,
) -> None:
    """Apply an instance file to the database, creating it if needed (idempotent; a broken
    file applies nothing)."""
    from mktows.delivery.deliver import configure_from, parse_setting

    settings = _settings(db_url=db)
    try:
        inst = load_instance(file)
        parse_setting(settings.smtp_url)  # a bad MKTOWS_SMTP_URL applies nothing
    except InstanceError as exc:
        _fail(str(exc))
    except ValueError as exc:
        _fail(f"SMTP: {exc}")
    try:
        engine = open_engine(settings, "create")
        apply_instance(engine, inst)
    except InstanceError as exc:
        _fail(str(exc))
    if settings.smtp_url or inst.smtp_url:  # the SMTP setting given becomes the instance's
        try:
            configure_from(settings, inst, engine.db)
        except (ValueError, MasterKeyError) as exc:
            _fail(f"SMTP: {exc}")
    counts = {
        "api users": len(inst.api_users),
        "lead fields": len(inst.lead_fields),
        "channels": len(inst.channels),
        "programs": len(inst.programs),
        "emails": sum(len(p.emails) for p in inst.programs),
        "campaigns": len(inst.campaigns) + sum(len(p.campaigns) for p in inst.programs),
        "lists": len(inst.lists) + sum(len(p.lists) for p in inst.programs),
    }
    say(f"loaded {file}: " + ", ".join(f"{n} {what}" for what, n in counts.items()))


JobEngineOption = Annotated[
    str | None,
    typer.Option(
        "--job-engine",
        help=f"What runs the instance's jobs: {', '.join(SETTING_CHOICES['job_engine'])} (env MKTOWS_JOB_ENGINE);"
        " stored as the instance's. Default: the stored one (builtin when none).",
    ),
]


@app.command()
def migrate(db: DbOption = None, job_engine: JobEngineOption = None) -> None:
    """Create or upgrade the database schema (and the chosen job engine's tables)."""
    _check_choice("--job-engine", job_engine, SETTING_CHOICES["job_engine"])
    settings = _settings(db_url=db, job_engine=job_engine)
    check_job_engine(settings)
    engine = open_engine(settings, "create")
    say(f"database migrated: {engine.db.description}")
    say(f"job engine: {use_job_engine(settings, engine.db)}")


def serve_worker_metrics(host: str, port: int) -> None:
    """This process's metrics over HTTP (prometheus-client's own server, on a thread)."""
    from prometheus_client import start_http_server

    from mktows.observe.metrics import REGISTRY

    try:
        start_http_server(port, addr=host, registry=REGISTRY)
    except OSError as exc:
        _fail(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}")
    say(f"metrics: http://{_url_host(host)}:{port}/metrics")


def check_job_engine(settings: Settings) -> None:
    """Refuse a job engine the database cannot run before anything is created."""
    if settings.job_engine:
        try:
            on_sqlite = parse_url(settings.db_url).get_backend_name() == "sqlite"
            jobs.refuse_unfit(settings.job_engine, on_sqlite=on_sqlite)
        except (jobs.JobEngineError, DatabaseError) as exc:
            _fail(str(exc))


def use_job_engine(settings: Settings, database: Database) -> str:
    """Store the job engine given (MKTOWS_JOB_ENGINE or --job-engine) as the instance's, with
    its tables at the installed version; the name of the one this process then follows."""
    try:
        with database.read() as conn:
            name = settings.job_engine or jobs.engine_name(conn)
        jobs.choose_engine(database, name)
    except jobs.JobEngineError as exc:
        _fail(str(exc))
    return name


@app.command()
def worker(
    db: DbOption = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", min=1, help=f"Jobs run at once (env MKTOWS_WORKERS; default {Settings.workers})."
        ),
    ] = None,
    job_engine: JobEngineOption = None,
) -> None:
    """Run jobs (campaign runs, imports, email delivery) until SIGTERM or Ctrl-C, beside API
    processes started with MKTOWS_WORKERS=0."""
    _check_choice("--job-engine", job_engine, SETTING_CHOICES["job_engine"])
    settings = _settings(db_url=db, workers=concurrency, job_engine=job_engine)
    check_job_engine(settings)
    chosen_format = logs.configure(settings.log_format, settings.log_level)
    engine = open_engine(settings)
    name = use_job_engine(settings, engine.db)
    settings = replace(settings, workers=max(settings.workers, 1))
    stop = threading.Event()

    def on_signal(sig: int, frame: Any) -> None:
        if not stop.is_set():
            log.info("mktows worker stopping", extra={"fields": {"signal": signal.Signals(sig).name}})
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    if settings.worker_metrics_port:
        serve_worker_metrics(settings.host, settings.worker_metrics_port)
    pool, smtp = start_workers(settings, None, engine.db)
    say(f"mktows worker: {name} job engine, {settings.workers} job(s) at once, database {engine.db.description}")
    say(f"logs: {chosen_format} lines on stderr, level {settings.log_level}")
    log.info("mktows worker starting", extra={"fields": startup_fields(settings, engine.db, 0, smtp)})
    while not stop.wait(1.0):
        if pool is not None and not pool.alive():
            log.error("the job workers stopped; exiting")
            raise typer.Exit(1)
    if pool is not None:
        pool.stop(timeout=settings.shutdown_grace_seconds)
    log.info("mktows worker stopped")


@users_app.command("add")
def users_add(
    user_id: Annotated[str, typer.Argument(help="Client access id (mktowsUserId).")],
    key: Annotated[str | None, typer.Option("--key", help="Encryption key; generated when omitted.")] = None,
    rotate: Annotated[
        bool, typer.Option("--rotate", help="Give an existing user a new key (an existing user is refused without it).")
    ] = False,
    overlap: Annotated[
        str | None,
        typer.Option(
            "--overlap", help="With --rotate: how long the old key still works: 30m, 24h, 7d, or 0 (none). Default 1h."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Create an API user, or with --rotate change its key; prints the key."""
    if overlap is not None and not rotate:
        _fail("--overlap applies to --rotate")
    engine = open_engine(_settings(db_url=db))
    try:
        if rotate:
            span = api_users.DEFAULT_OVERLAP if overlap is None else api_users.parse_overlap(overlap)
            user = engine.rotate_api_key(user_id, key or api_users.generate_key(), span)
        else:
            user = engine.add_api_user(user_id, key or api_users.generate_key())
    except api_users.UserExists:
        _fail(f"API user {user_id} exists; use --rotate to change its key")
    except api_users.UnknownUser:
        _fail(f"no API user {user_id}; `mktows users add {user_id}` creates it")
    except MarketoError as exc:
        _fail(exc.detail)
    say(f"API user: {user.user_id}")
    say(f"encryption key: {user.encryption_key}")
    if rotate:
        until = user.previous_key_expires_at
        say(f"previous key: works until {until.isoformat(timespec='seconds')}" if until else "previous key: ended")


@users_app.command("list")
def users_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List API users: id, enabled, strict, and until when a rotated-out key still works (never keys)."""
    engine = open_engine(_settings(db_url=db), "read")
    now = engine.now()
    rows = [
        [u.user_id, u.enabled, u.strict, until.isoformat(timespec="seconds") if until and until > now else None]
        for u in engine.api_users()
        for until in [u.previous_key_expires_at if u.previous_key else None]
    ]
    print_rows(["user_id", "enabled", "strict", "previous_key_until"], rows, as_json)


UserIdArgument = Annotated[str, typer.Argument(help="The API user's id (mktowsUserId).")]


def _change_user(user_id: str, db: str | None, change: str) -> None:
    engine = open_engine(_settings(db_url=db))
    try:
        if change == "remove":
            engine.remove_api_user(user_id)
        else:
            engine.set_api_user_enabled(user_id, change == "enable")
    except api_users.UnknownUser:
        _fail(f"no API user {user_id}")
    say(f"API user {user_id}: {'removed' if change == 'remove' else change + 'd'}")


@users_app.command("remove")
def users_remove(user_id: UserIdArgument, db: DbOption = None) -> None:
    """Delete an API user: its calls fault with 20014 (an instance file that declares it brings it back on load)."""
    _change_user(user_id, db, "remove")


@users_app.command("disable")
def users_disable(user_id: UserIdArgument, db: DbOption = None) -> None:
    """Disable an API user: its correctly signed calls fault with 20013 until it is enabled."""
    _change_user(user_id, db, "disable")


@users_app.command("enable")
def users_enable(user_id: UserIdArgument, db: DbOption = None) -> None:
    """Enable a disabled API user."""
    _change_user(user_id, db, "enable")


@users_app.command("encrypt-keys")
def users_encrypt_keys(db: DbOption = None) -> None:
    """Encrypt every stored API user key under the master key (MKTOWS_MASTER_KEY's first key)."""
    settings = _settings(db_url=db)
    if not settings.master_key:
        _fail("set MKTOWS_MASTER_KEY to the master key to encrypt API user keys with")
    engine = open_engine(settings)  # which encrypts the keys stored as given
    engine.encrypt_api_keys()  # and this those of an older master key
    say(f"{len(engine.api_users())} API user keys are encrypted under the current master key")


@admins_app.command("add")
def admins_add(
    name: Annotated[str, typer.Argument(help="Sign-in name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin (scripts).")
    ] = False,
    db: DbOption = None,
) -> None:
    """Create a console user; asks for the password (at least 10 characters) twice."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        open_engine(_settings(db_url=db)).add_console_user(name, password)
    except ConsoleUserError as exc:
        _fail(str(exc))
    say(f"console user: {name}")


@admins_app.command("list")
def admins_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List console users (never passwords)."""
    users = open_engine(_settings(db_url=db), "read").console_users()
    print_rows(["name", "created"], [[n, c.isoformat(timespec="seconds")] for n, c in users], as_json)


@admins_app.command("remove")
def admins_remove(name: Annotated[str, typer.Argument(help="Sign-in name.")], db: DbOption = None) -> None:
    """Remove a console user and end its sessions."""
    try:
        open_engine(_settings(db_url=db)).remove_console_user(name)
    except ConsoleUserError as exc:
        _fail(str(exc))
    say(f"console user removed: {name}")


@fields_app.command("add")
def fields_add(
    name: Annotated[str, typer.Argument(help="API name, e.g. Favorite_Color.")],
    display_name: Annotated[str | None, typer.Option("--display-name", help="UI label.")] = None,
    type_: Annotated[str, typer.Option("--type", help="Field type (string, integer, date, ...).")] = "string",
    db: DbOption = None,
) -> None:
    """Add or update a custom lead field (no schema change)."""
    engine = open_engine(_settings(db_url=db))
    try:
        engine.add_lead_field(FieldInfo(name=name, display_name=display_name or name, data_type=type_, custom=True))
    except MarketoError as exc:
        _fail(exc.detail)
    say(f"lead field: {name} ({type_.lower()})")


@fields_app.command("list")
def fields_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List the lead fields, standard and custom: API name, label, type, custom, read-only."""
    fields = open_engine(_settings(db_url=db), "read").lead_fields()
    rows = [[f.name, f.display_name, f.data_type, f.custom, f.read_only] for f in fields]
    print_rows(["name", "display_name", "type", "custom", "read_only"], rows, as_json)


@lists_app.command("list")
def lists_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List static lists by name: id, Program.List, members counted up to 10,000 (more_members: beyond)."""
    engine = open_engine(_settings(db_url=db), "read")
    rows: list[list[Any]] = []
    after: tuple[str, int] | None = None
    while page := engine.list_page(after=after, limit=500):
        rows += [[r.id, r.full_name, r.members, r.more_members, _stamp(r.created_at)] for r in page]
        after = (page[-1].name, page[-1].id)
    print_rows(["id", "name", "members", "more_members", "created"], rows, as_json)


@campaigns_app.command("status")
def campaigns_status(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Every smart campaign's state, last run and next scheduled run, read from the database."""
    engine = open_engine(_settings(db_url=db), "read")
    rows: list[list[Any]] = []
    after: int | None = None
    while page := engine.campaign_page(after_id=after, limit=500):
        for row in page:
            c, last, upcoming = row.campaign, row.last_run, row.next_run
            rows.append(
                [
                    c.id,
                    c.full_name,
                    c.kind,
                    "active" if c.active else "inactive",
                    f"{last.id} {last.status}" if last else None,
                    _stamp(last.finished_at or last.started_at or last.run_at) if last else None,
                    _stamp(upcoming.run_at) if upcoming else ("when requested" if c.kind == "trigger" else None),
                ]
            )
        after = page[-1].campaign.id
    print_rows(["id", "name", "kind", "state", "last_run", "last_run_at", "next_run_at"], rows, as_json)


def _stamp(moment: Any) -> str:
    return str(moment.isoformat(timespec="seconds"))


@lists_app.command("add")
def lists_add(
    name: Annotated[str, typer.Argument(help="List name.")],
    program: Annotated[str | None, typer.Option("--program", help="Program the list lives in.")] = None,
    db: DbOption = None,
) -> None:
    """Create a static list (idempotent); prints its id."""
    list_id = open_engine(_settings(db_url=db)).add_list(name, program)
    say(f"list {list_id}: {name if program is None else f'{program}.{name}'}")


def start_workers(settings: Settings, instance: Any, database: Database) -> tuple[Any, Any]:
    """Configure delivery (MKTOWS_SMTP_URL over the instance's smtp_url, stored as the
    instance's; given neither, the stored one) and start the job workers; returns them (None
    with `workers` 0) and the instance's SMTP server (None: capture only)."""
    from mktows.delivery.deliver import configure_from
    from mktows.workers import worker_pool

    try:
        delivery = configure_from(settings, instance, database)
    except (ValueError, MasterKeyError) as exc:
        _fail(f"SMTP: {exc}")
    smtp = delivery.smtp
    say(f"email: {'SMTP ' + smtp.host + ':' + str(smtp.port) if smtp else 'captured in the outbox (no SMTP server)'}")
    if settings.workers <= 0:
        return None, smtp
    workers = worker_pool(database, settings.workers)
    workers.start()
    return workers, smtp


StatusOption = Annotated[
    str | None,
    typer.Option("--status", help=f"Only messages in this state: {', '.join(OUTBOX_STATUSES)}."),
]
LimitOption = Annotated[int, typer.Option("--limit", help="At most this many (at least 1), newest first.")]


@outbox_app.callback(invoke_without_command=True)
def outbox_default(
    ctx: typer.Context,
    status: StatusOption = None,
    limit: LimitOption = 50,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Messages kept in the outbox (every message sent or captured)."""
    if ctx.invoked_subcommand is None:
        outbox_list(status=status, limit=limit, db=db, as_json=as_json)


@outbox_app.command("list")
def outbox_list(
    status: StatusOption = None,
    limit: LimitOption = 50,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List messages: id, status, to, subject, created."""
    from mktows.engine.campaigns.outbox import list_messages

    _check_choice("--status", status, OUTBOX_STATUSES)
    if limit < 1:
        _fail(f"--limit {limit} is not accepted: expected at least 1")
    database = open_database(_settings(db_url=db).db_url, "read")
    rows = [
        [m.id, m.status, m.to_addr, m.subject, m.created_at.strftime("%Y-%m-%d %H:%M:%S")]
        for m in list_messages(database, status=status, limit=limit)
    ]
    print_rows(["id", "status", "to", "subject", "created"], rows, as_json)


@outbox_app.command("show")
def outbox_show(
    message_id: Annotated[int, typer.Argument(metavar="ID", help="Outbox id (from `mktows outbox`).")],
    db: DbOption = None,
) -> None:
    """Print one message: headers, then the text and HTML bodies."""
    from mktows.engine.campaigns.outbox import get_message

    m = get_message(open_database(_settings(db_url=db).db_url, "read"), message_id)
    if m is None:
        _fail(f"no outbox message {message_id}")
        return
    sender = f"{m.from_name} <{m.from_addr}>" if m.from_name else m.from_addr
    for name, value in (
        ("Id", m.id),
        ("Status", m.status),
        ("Message-ID", m.message_id),
        ("From", sender),
        ("Reply-To", m.reply_to),
        ("To", m.to_addr),
        ("Subject", m.subject),
        ("Created", m.created_at.isoformat()),
        ("Sent", m.sent_at and m.sent_at.isoformat()),
        ("Attempts", m.attempts),
        ("Error", m.error),
        ("Campaign", m.campaign),
        ("Email", m.email_name),
        ("Lead", m.lead_id),
    ):
        if value is not None:
            say(f"{name}: {value}")
    say("\n--- text ---")
    say(m.text)
    say("--- html ---")
    say(m.html)


def _logged(request_id: str, db: str | None) -> Any:
    """The newest request log entry with `request_id` (or with that entry number), or exit."""
    from mktows.runtime import request_log

    database = open_database(_settings(db_url=db).db_url, "read")
    entry = request_log.get_entry(database, request_id=request_id)
    if entry is None and request_id.isdigit() and len(request_id) < 10:
        entry = request_log.get_entry(database, entry_id=int(request_id))
    if entry is None:
        _fail(f"no request {request_id} in the request log")
    return entry


@requests_app.command("list")
def requests_list(
    operation: Annotated[str | None, typer.Option("--operation", help="Only calls of this operation.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only calls naming this API user.")] = None,
    fault: Annotated[int | None, typer.Option("--fault", help="Only calls answered with this fault code.")] = None,
    limit: LimitOption = 50,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List logged calls, newest first: time, request id, operation, user, status, fault, ms."""
    from mktows.runtime import request_log

    if limit < 1:
        _fail(f"--limit {limit} is not accepted: expected at least 1")
    database = open_database(_settings(db_url=db).db_url, "read")
    found = request_log.list_entries(database, operation=operation, user_id=user, fault_code=fault, limit=limit)
    rows = [
        [e.at.isoformat(timespec="seconds"), e.request_id, e.version, e.operation, e.user_id, e.client, e.status]
        + [e.fault_code, e.duration_ms]
        for e in found
    ]
    columns = ["time", "request_id", "version", "operation", "user", "client", "status", "fault_code", "duration_ms"]
    print_rows(columns, rows, as_json)


@requests_app.command("show")
def requests_show(
    request_id: Annotated[str, typer.Argument(metavar="REQUEST_ID", help="The call's request id (X-Request-Id).")],
    db: DbOption = None,
) -> None:
    """Print one logged call: what is known of it, then the request and the response as kept."""
    entry = _logged(request_id, db)
    for name, value in (
        ("Time", entry.at.isoformat()),
        ("Request-Id", entry.request_id),
        ("Version", entry.version),
        ("Operation", entry.operation),
        ("User", entry.user_id),
        ("Client", entry.client),
        ("Status", entry.status),
        ("Fault", entry.fault_code or None),
        ("Duration-Ms", entry.duration_ms),
        ("Request-Size", entry.request_size),
        ("Response-Size", entry.response_size),
    ):
        if value is not None:
            say(f"{name}: {value}")
    cut = " (cut short)"
    say(f"\n--- request{cut if entry.request_cut else ''} ---")
    say(entry.request_body.decode("utf-8", errors="replace"))
    say(f"--- response{cut if entry.response_cut else ''} ---")
    say(entry.response_body.decode("utf-8", errors="replace"))


@requests_app.command("resend")
def requests_resend(
    request_id: Annotated[str, typer.Argument(metavar="REQUEST_ID", help="The call's request id (X-Request-Id).")],
    endpoint: Annotated[
        str,
        typer.Option(
            "--endpoint", help="Server to send it to: its base URL (http://host:port) or the endpoint's own URL."
        ),
    ],
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            envvar="MKTOWS_ENCRYPTION_KEY",
            help="The API user's key to sign with (env MKTOWS_ENCRYPTION_KEY); none: the key the database holds.",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Send a logged call again, signed anew, and print the answer (its status, request id and body)."""
    import httpx

    from mktows.soap.resend import NotResendable, resign

    entry = _logged(request_id, db)
    if entry.request_cut:
        _fail("the logged request was cut short, so it cannot be sent again")
    if key is None:
        user = open_engine(_settings(db_url=db), "read").api_user(entry.user_id) if entry.user_id else None
        if user is None:
            _fail(f"no API user {entry.user_id!r} in the database: give its key with --key")
        key = user.encryption_key
    try:
        body = resign(entry.request_body, entry.user_id, key)
    except NotResendable as exc:
        _fail(str(exc))
    url = endpoint if "/soap/" in endpoint else f"{endpoint.rstrip('/')}/soap/mktows/{entry.version}"
    try:
        answer = httpx.post(
            url, content=body, headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'}, timeout=300
        )
    except httpx.HTTPError as exc:
        _fail(f"cannot reach {url}: {exc}")
    say(f"Status: {answer.status_code}")
    say(f"Request-Id: {answer.headers.get('x-request-id', '')}")
    say("")
    say(answer.text)


@app.command()
def backup(
    out: Annotated[str, typer.Argument(metavar="OUT", help="New file to write the copy to.")],
    db: DbOption = None,
) -> None:
    """Copy a live SQLite database to OUT, consistent while the server writes (PostgreSQL: pg_dump)."""
    from mktows.backup import BackupError
    from mktows.backup import backup as copy_database

    try:
        report = copy_database(_settings(db_url=db).db_url, out)
    except BackupError as exc:
        _fail(str(exc))
    say(f"backup written: {report.path} ({report.size} bytes, {report.pages} pages, integrity ok)")


@app.command()
def stub(
    recording: Annotated[str, typer.Argument(metavar="RECORDING", help="A recording made by /_mktows/record.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free port).")] = 8080,
) -> None:
    """Serve a recording of SOAP calls: each recorded request gets its recorded answer (docs/emulator.md)."""
    import uvicorn

    from mktows.emulator.stub import Recording, RecordingError, stub_app

    try:
        loaded = Recording(recording)
    except RecordingError as exc:
        _fail(str(exc))
    listener = bind_listener(host, port)
    base = f"http://{_url_host(host)}:{listener.getsockname()[1]}"
    say(f"mktows stub: {loaded.calls} recorded call(s) from {loaded.path}")
    say(f"mktows endpoint: {base}/soap/mktows/2_9")
    server = announcing_server(uvicorn.Config(stub_app(loaded), log_level="warning"), base)
    server.run(sockets=[listener])


def main() -> None:
    app()


if __name__ == "__main__":
    main()
