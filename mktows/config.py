"""Settings: environment variables and CLI flags (the instance file is `mktows.instance`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from mktows.runtime.jobs import ENGINE_NAMES
from mktows.soap.limits import PROFILES, SELF_HOSTED

DEFAULT_DB_URL = "sqlite:///./mktows-data/mktows.db"


@dataclass(frozen=True)
class Settings:
    db_url: str = DEFAULT_DB_URL
    host: str = "127.0.0.1"
    port: int = 8080
    instance_file: str | None = None
    freshness_window_seconds: int = 900
    max_body_bytes: int = 10 * 1024 * 1024
    max_window_days: int = 30
    max_batch_size: int = 1000
    max_sync_leads: int = 1000  # leadRecords in one syncMultipleLeads (one transaction, about a second)
    max_page_bytes: int = 32 * 1024 * 1024  # lead values in one getMultipleLeads page
    max_body_bytes_in_flight: int | None = None  # none: max(64 MiB, 4 x max_body_bytes)
    body_read_timeout_seconds: int = 30
    limits_profile: str = SELF_HOSTED
    daily_quota: int | None = None  # none: the profile's (this and the three below)
    rate_limit_calls: int | None = None
    rate_limit_seconds: int = 20
    max_concurrency: int | None = None
    concurrency_wait_seconds: int | None = None
    user_max_concurrency: int = 0
    user_rate_limit_calls: int = 0
    user_rate_limit_seconds: int = 20
    limits_enabled: bool = True
    strict_input: bool = False  # refuse (fault 20110) what is otherwise ignored and logged
    workers: int = 2  # job worker threads in `serve`; 0 runs no jobs in this process
    worker_metrics_port: int = 0  # `mktows worker` serves /metrics here (on `host`); 0: none
    job_engine: str | None = None  # builtin | procrastinate; stored as the instance's; none: the stored one
    smtp_url: str | None = None  # wins over the instance file's smtp_url; stored as the instance's; none: capture
    smtp_timeout: int = 30  # seconds per SMTP command
    smtp_connections: int = 4  # SMTP connections one delivery drain keeps open
    max_clones_per_day: int = 10  # scheduleCampaign cloneToProgramName calls per day (the vendor's SOAP limit)
    master_key: str | None = field(default=None, repr=False)  # encrypts API user keys at rest; never printed
    log_format: str = "auto"  # json | human | auto (human on a terminal, json otherwise)
    log_level: str = "info"
    shutdown_grace_seconds: int = 20  # on SIGTERM, how long calls in flight may take to finish
    forwarded_allow_ips: str = "127.0.0.1"  # proxies whose X-Forwarded-Proto / -For headers are believed
    auth_throttle_failures: int = 5  # failed authentications in a row from one address before answers slow down
    auth_throttle_max_delay_ms: int = 2000
    emulator: bool = False  # the /_mktows/ control API of a test double; never in production
    request_log: bool = False  # keep each SOAP call's request and response in the database
    request_log_max_mb: int = 100
    request_log_max_days: int = 7
    request_log_max_body_kb: int = 256  # per body; the rest is cut off (and the entry says so)
    idempotency_window_seconds: int = 0  # 0: repeated calls always run again

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults < MKTOWS_* environment variables < explicit overrides (CLI flags; None = unset)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = ENV_NAMES.get(f.name, "MKTOWS_" + f.name.upper())
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f.name, raw, name)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)


ENV_NAMES = {"db_url": "MKTOWS_DB", "instance_file": "MKTOWS_INSTANCE"}
# The command-line flag of a setting, where `mktows serve` (or every command, for --db) has one.
FLAGS = {
    "db_url": "--db",
    "host": "--host",
    "port": "--port",
    "instance_file": "--instance",
    "emulator": "--emulator",
    "log_format": "--log-format",
    "log_level": "--log-level",
}
# What each setting means, one line each: docs/settings.md is generated from this table.
DESCRIPTIONS = {
    "db_url": "Database URL: `sqlite:///PATH` or `postgresql://...`.",
    "host": "Interface `serve` listens on.",
    "port": "Port `serve` listens on.",
    "instance_file": "Instance file applied when `serve` starts. None: no file is applied.",
    "freshness_window_seconds": "How far `requestTimestamp` may be from the server's clock, either way"
    " (fault 20016 outside it).",
    "max_body_bytes": "Largest request body accepted (fault 20012 above it).",
    "max_window_days": "Longest window a `LastUpdateAtSelector` of getMultipleLeads may span when it gives"
    " both dates (fault 20022).",
    "max_batch_size": "Most leads in one getMultipleLeads page; a larger `batchSize` is cut to it.",
    "max_sync_leads": "Most `leadRecord`s in one syncMultipleLeads (fault 20110 above it). One call is one"
    " transaction, so this bounds how long it holds the write lock.",
    "max_page_bytes": "Most bytes of lead values in one getMultipleLeads page: a page that would hold more"
    " ends early and the stream position continues after its last lead.",
    "max_body_bytes_in_flight": "Bytes of request bodies held in memory at once, authenticated or not; a"
    " request past it is refused with 20024 (busy). None: the larger of 64 MiB and 4 x `MKTOWS_MAX_BODY_BYTES`.",
    "body_read_timeout_seconds": "Seconds a request body may take to arrive (fault 20012 after); `0`: no limit.",
    "limits_profile": "`self-hosted` (a concurrency ceiling sized to the server, no quota or rate) or"
    " `marketo` (the vendor's quota, rate and concurrency); see [limits.md](limits.md).",
    "daily_quota": "Calls per day, counted from midnight America/Chicago (fault 20015); `0`: none."
    " None: the profile's (marketo 10000, self-hosted none).",
    "rate_limit_calls": "Calls allowed in one rolling window of `MKTOWS_RATE_LIMIT_SECONDS` (fault 20023);"
    " `0`: none. None: the profile's (marketo 100, self-hosted none).",
    "rate_limit_seconds": "Length of the rolling rate window, in seconds.",
    "max_concurrency": "Calls in flight at once (fault 20024); `0`: no ceiling. None: the profile's"
    " (marketo 10, self-hosted sized to the CPUs and database, [limits.md](limits.md)).",
    "concurrency_wait_seconds": "How long a call past `MKTOWS_MAX_CONCURRENCY` waits for a slot before"
    " fault 20024. None: the profile's (marketo 0, self-hosted 30).",
    "user_max_concurrency": "Calls in flight at once per API user (fault 20024 at once); `0`: no cap."
    " Ignored in the marketo profile.",
    "user_rate_limit_calls": "Calls per API user in one rolling window of `MKTOWS_USER_RATE_LIMIT_SECONDS`"
    " (fault 20023); `0`: no cap. Ignored in the marketo profile.",
    "user_rate_limit_seconds": "Length of the per-user rolling rate window, in seconds.",
    "limits_enabled": "`0` (or `false`, `no`, `off`) switches every call limit off (not the body budget).",
    "strict_input": "`1` (or `true`, `yes`, `on`) answers fault 20110 for request parts that are otherwise"
    " ignored and logged: unknown or repeated elements, names in another case, keys past a call's limit;"
    " an API user's `strict` flag does the same for that user. See docs/input.md.",
    "workers": "Job worker threads in `serve` (campaign runs, imports, delivery); `0` runs no jobs in that process."
    " Also the jobs one `mktows worker` runs at once.",
    "worker_metrics_port": "Port on which `mktows worker` serves Prometheus metrics (its job events and SMTP"
    " outcomes), on `MKTOWS_HOST`; `0`: none. API processes serve theirs at `/metrics`.",
    "job_engine": "What runs the instance's jobs: `builtin` (a queue table and worker threads; SQLite's only"
    " choice) or `procrastinate` (PostgreSQL; for `mktows worker` processes beside stateless API processes)."
    " Stored as the instance's setting, which a process given none follows; a switch waits for the old"
    " engine's jobs to finish. See [deploy.md](deploy.md).",
    "smtp_url": "SMTP server for email, over the instance file's `smtp_url`:"
    " `smtp://[user:pass@]host[:port][?starttls=true]` or `smtps://...`, options `timeout`,"
    " `cafile`, `verify=false`. Stored as the instance's setting, which a process given none uses;"
    " `none` stores capture (messages stay `captured` in the outbox), as does nothing ever stored.",
    "smtp_timeout": "Seconds per SMTP command (the URL's `timeout=` wins).",
    "smtp_connections": "SMTP connections one delivery drain keeps open and sends over in parallel.",
    "max_clones_per_day": "scheduleCampaign calls with `cloneToProgramName` per day, counted from midnight"
    " America/Chicago (fault 20015).",
    "master_key": "Fernet key that encrypts API user keys in the database (several, comma-separated: the first"
    " encrypts, any decrypts). None: keys are stored as given. See docs/deploy.md.",
    "log_format": "Log lines on stderr: `json` (one object a line), `human`, or `auto` (human on a terminal,"
    " json otherwise); see [operations.md](operations.md).",
    "log_level": "Least severe log level written: `debug`, `info`, `warning` or `error`.",
    "shutdown_grace_seconds": "On SIGTERM (or Ctrl-C) `serve` stops accepting connections at once and gives"
    " calls in flight this many seconds to finish before it cancels them; job workers stop claiming jobs,"
    " and a job still running when the process exits runs again on the next start.",
    "forwarded_allow_ips": "Comma-separated addresses or networks (`10.0.0.0/8`), or `*`, of reverse proxies trusted for"
    " `X-Forwarded-Proto` (the scheme of the WSDL's `soap:address`) and `X-Forwarded-For` (the client"
    " address). The host and port come from the `Host` header the proxy passes on.",
    "auth_throttle_failures": "Failed authentications in a row from one client address after which its"
    " fault answers are delayed; `0` never delays.",
    "auth_throttle_max_delay_ms": "Longest delay of a throttled fault answer, in milliseconds.",
    "emulator": "`1` (or `true`, `yes`, `on`) turns on the emulator control API under `/_mktows/` (reset, state,"
    " clock, fault injection, recording, snapshots) for using mktows as a test double; see"
    " [emulator.md](emulator.md). A testing tool: never on a production instance, since one call resets everything.",
    "request_log": "`1` (or `true`, `yes`, `on`) keeps every SOAP call's request (its `requestSignature` replaced"
    " by `REDACTED`) and response in the database, for `/console/requests` and `mktows requests`;"
    " see [operations.md](operations.md).",
    "request_log_max_mb": "Most megabytes of bodies the request log keeps; the oldest entries go first.",
    "request_log_max_days": "Days an entry stays in the request log.",
    "request_log_max_body_kb": "Kilobytes kept of each request and response body in the request log; the rest"
    " is cut off and the entry says how large the body was.",
    "idempotency_window_seconds": "Seconds within which a repeated requestCampaign, scheduleCampaign or"
    " importToList (same API user, same body) is answered with the first call's answer instead of running"
    " again; `0`: off. See [limits.md](limits.md).",
}
_INT_FIELDS = {f.name for f in fields(Settings) if f.type in ("int", int, "int | None")}
_POSITIVE_FIELDS = {"smtp_connections", "max_sync_leads", "max_page_bytes", "max_batch_size"}
_POSITIVE_FIELDS |= {"rate_limit_seconds", "user_rate_limit_seconds"}
_POSITIVE_FIELDS |= {"request_log_max_mb", "request_log_max_days", "request_log_max_body_kb"}


_CHOICES = {
    "log_format": ("auto", "json", "human"),
    "log_level": ("debug", "info", "warning", "error"),
    "limits_profile": PROFILES,
    "job_engine": ENGINE_NAMES,
}


def _convert(name: str, raw: str, env_name: str) -> Any:
    if name in _CHOICES:
        if raw.strip().lower() not in _CHOICES[name]:
            raise ValueError(f"{env_name}: expected one of {', '.join(_CHOICES[name])}, got {raw!r}")
        return raw.strip().lower()
    if name in ("limits_enabled", "strict_input", "request_log", "emulator"):
        low = raw.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{env_name}: expected a boolean, got {raw!r}")
    if name in _INT_FIELDS:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"{env_name}: expected an integer, got {raw!r}") from None
        if name in _POSITIVE_FIELDS and value < 1:
            raise ValueError(f"{env_name}: expected at least 1, got {value}")
        return value
    return raw
