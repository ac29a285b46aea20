"""The `mktows` command line (every command and option: docs/cli.md).

`serve` prints its endpoint and API users, then `mktows ready on URL` only once the
socket listens, flushing each line so a parent process reading the pipe sees it at once.
"""

from __future__ import annotations

import gc
import secrets
import string
from typing import Annotated, Any

import typer

from mktows.config import Settings
from mktows.engine import Engine
from mktows.engine.models import FieldInfo
from mktows.errors import MarketoError
from mktows.instance import InstanceError, apply_instance, load_instance
from mktows.soap.schema_model import VERSIONS
from mktows.store.database import Database

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Self-hosted Marketo SOAP API server.")
users_app = typer.Typer(no_args_is_help=True, help="API users (client access ids and keys).")
fields_app = typer.Typer(no_args_is_help=True, help="Custom lead fields.")
lists_app = typer.Typer(no_args_is_help=True, help="Static lists.")
app.add_typer(users_app, name="users")
app.add_typer(fields_app, name="fields")
app.add_typer(lists_app, name="lists")
outbox_app = typer.Typer(help="Email messages kept in the outbox: `outbox` or `outbox list`, and `outbox show ID`.")
app.add_typer(outbox_app, name="outbox")

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (env MKTOWS_DB).")]


def say(text: str) -> None:
    print(text, flush=True)


def generate_key(length: int = 24) -> str:
    """A random key with letters and at least one digit (as Marketo's admin screen makes them)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        key = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c.isdigit() for c in key) and any(c.isalpha() for c in key):
            return key


def open_engine(settings: Settings) -> Engine:
    database = Database(settings.db_url)
    database.migrate()
    return Engine(
        database,
        max_window_days=settings.max_window_days,
        max_batch_size=settings.max_batch_size,
        max_sync_leads=settings.max_sync_leads,
        max_page_bytes=settings.max_page_bytes,
        max_clones_per_day=settings.max_clones_per_day,
    )


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (env MKTOWS_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (env MKTOWS_PORT).")] = None,
    db: DbOption = None,
    instance: Annotated[str | None, typer.Option("--instance", help="Instance YAML file to apply.")] = None,
) -> None:
    """Migrate, apply the instance file, and serve the SOAP API."""
    import uvicorn

    try:
        settings = Settings.from_env(host=host, port=port, db_url=db, instance_file=instance)
    except ValueError as exc:
        _fail(str(exc))
    try:
        inst = load_instance(settings.instance_file) if settings.instance_file else None
    except InstanceError as exc:
        _fail(str(exc))
    engine = open_engine(settings)
    if inst is not None:
        try:
            apply_instance(engine, inst)
        except InstanceError as exc:
            _fail(str(exc))
    created: dict[str, str] = {}
    if not engine.api_users():
        user_id = "mktows_" + secrets.token_hex(6)
        key = generate_key()
        engine.put_api_user(user_id, key)
        created[user_id] = key

    from mktows.app import create_app

    asgi = create_app(settings, engine)
    base = f"http://{settings.host}:{settings.port}"
    say(f"mktows endpoint: {base}/soap/mktows/2_9")
    say(f"  other API versions: {', '.join(f'{base}/soap/mktows/{v}' for v in VERSIONS if v != '2_9')}")
    say(f"  WSDL: {base}/soap/mktows/2_9?WSDL")
    for user in engine.api_users():
        if user.user_id in created:
            say(f"API user: {user.user_id}  encryption key: {created[user.user_id]}  (created now; keep it)")
        else:
            say(f"API user: {user.user_id}")

    config = uvicorn.Config(asgi, host=settings.host, port=settings.port, log_level="warning", timeout_keep_alive=75)
    server = uvicorn.Server(config)
    original_startup = server.startup

    async def startup(sockets: Any = None) -> None:
        await original_startup(sockets=sockets)
        if server.started:
            say(f"mktows ready on {base}")

    server.startup = startup  # type: ignore[method-assign]
    workers = start_workers(settings, inst, engine.db)
    # What start-up built (schema, WSDL types, compiled statements) lives as long as the
    # process: keep it out of the collector's full passes, which would otherwise pause calls.
    gc.freeze()
    try:
        server.run()
    finally:
        if workers is not None:
            workers.stop()
    if not server.started:
        raise typer.Exit(1)


@app.command()
def load(
    file: Annotated[str, typer.Argument(help="Instance YAML file.")],
    db: DbOption = None,
) -> None:
    """Apply an instance file to the database (idempotent; a broken file applies nothing)."""
    settings = Settings.from_env(db_url=db)
    try:
        inst = load_instance(file)
        apply_instance(open_engine(settings), inst)
    except InstanceError as exc:
        _fail(str(exc))
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


@app.command()
def migrate(db: DbOption = None) -> None:
    """Create or upgrade the database schema."""
    settings = Settings.from_env(db_url=db)
    open_engine(settings)
    say(f"database migrated: {settings.db_url}")


@users_app.command("add")
def users_add(
    user_id: Annotated[str, typer.Argument(help="Client access id (mktowsUserId).")],
    key: Annotated[str | None, typer.Option("--key", help="Encryption key; generated when omitted.")] = None,
    db: DbOption = None,
) -> None:
    """Create an API user, or replace its key; prints the key."""
    engine = open_engine(Settings.from_env(db_url=db))
    try:
        user = engine.put_api_user(user_id, key or generate_key())
    except MarketoError as exc:
        _fail(exc.detail)
    say(f"API user: {user.user_id}")
    say(f"encryption key: {user.encryption_key}")


@users_app.command("list")
def users_list(db: DbOption = None) -> None:
    """List API user ids."""
    for user in open_engine(Settings.from_env(db_url=db)).api_users():
        say(user.user_id + ("" if user.enabled else " (disabled)"))


@fields_app.command("add")
def fields_add(
    name: Annotated[str, typer.Argument(help="API name, e.g. Favorite_Color.")],
    display_name: Annotated[str | None, typer.Option("--display-name", help="UI label.")] = None,
    type_: Annotated[str, typer.Option("--type", help="Field type (string, integer, date, ...).")] = "string",
    db: DbOption = None,
) -> None:
    """Add or update a custom lead field (no schema change)."""
    engine = open_engine(Settings.from_env(db_url=db))
    try:
        engine.add_lead_field(FieldInfo(name=name, display_name=display_name or name, data_type=type_, custom=True))
    except MarketoError as exc:
        _fail(exc.detail)
    say(f"lead field: {name} ({type_.lower()})")


@lists_app.command("add")
def lists_add(
    name: Annotated[str, typer.Argument(help="List name.")],
    program: Annotated[str | None, typer.Option("--program", help="Program the list lives in.")] = None,
    db: DbOption = None,
) -> None:
    """Create a static list (idempotent); prints its id."""
    list_id = open_engine(Settings.from_env(db_url=db)).add_list(name, program)
    say(f"list {list_id}: {name if program is None else f'{program}.{name}'}")


def start_workers(settings: Settings, instance: Any, database: Database) -> Any:
    """Configure delivery (MKTOWS_SMTP_URL over the instance's smtp_url) and start the job workers."""
    from mktows.delivery.deliver import configure_from
    from mktows.workers import Workers

    try:
        delivery = configure_from(settings, instance)
    except ValueError as exc:
        _fail(f"SMTP: {exc}")
    smtp = delivery.smtp
    say(f"email: {'SMTP ' + smtp.host + ':' + str(smtp.port) if smtp else 'captured in the outbox (no SMTP server)'}")
    if settings.workers <= 0:
        return None
    workers = Workers(database, threads=settings.workers)
    workers.start()
    return workers


@outbox_app.callback(invoke_without_command=True)
def outbox_default(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help="Only messages in this state.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 50,
    db: DbOption = None,
) -> None:
    """Messages kept in the outbox (every message sent or captured)."""
    if ctx.invoked_subcommand is None:
        outbox_list(status=status, limit=limit, db=db)


@outbox_app.command("list")
def outbox_list(
    status: Annotated[str | None, typer.Option("--status", help="Only messages in this state.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 50,
    db: DbOption = None,
) -> None:
    """List messages: id, status, to, subject, created."""
    from mktows.engine.campaigns.outbox import list_messages

    database = open_engine(Settings.from_env(db_url=db)).db
    for m in list_messages(database, status=status, limit=limit):
        created = m.created_at.strftime("%Y-%m-%d %H:%M:%S")
        say(f"{m.id}\t{m.status}\t{m.to_addr}\t{m.subject}\t{created}")


@outbox_app.command("show")
def outbox_show(
    message_id: Annotated[int, typer.Argument(metavar="ID", help="Outbox id (from `mktows outbox`).")],
    db: DbOption = None,
) -> None:
    """Print one message: headers, then the text and HTML bodies."""
    from mktows.engine.campaigns.outbox import get_message

    m = get_message(open_engine(Settings.from_env(db_url=db)).db, message_id)
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
