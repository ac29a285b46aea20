"""Settings: environment variables and CLI flags (the instance file is `mktows.instance`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

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
    daily_quota: int = 10000
    rate_limit_calls: int = 100
    rate_limit_seconds: int = 20
    max_concurrency: int = 10
    limits_enabled: bool = True
    workers: int = 2  # job worker threads in `serve`; 0 runs no jobs in this process
    smtp_url: str | None = None  # wins over the instance file's smtp_url; none: capture only
    smtp_timeout: int = 30  # seconds per SMTP command
    smtp_connections: int = 4  # SMTP connections one delivery drain keeps open
    max_clones_per_day: int = 10  # scheduleCampaign cloneToProgramName calls per day (the vendor's SOAP limit)

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
FLAGS = {"db_url": "--db", "host": "--host", "port": "--port", "instance_file": "--instance"}
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
    "daily_quota": "Calls per day, counted from midnight America/Chicago (fault 20015).",
    "rate_limit_calls": "Calls allowed in one rolling window of `MKTOWS_RATE_LIMIT_SECONDS` (fault 20023).",
    "rate_limit_seconds": "Length of the rolling rate window, in seconds.",
    "max_concurrency": "Calls in flight at once (fault 20024).",
    "limits_enabled": "`0` (or `false`, `no`, `off`) switches the three call limits off.",
    "workers": "Job worker threads in `serve` (campaign runs, imports, delivery); `0` runs no jobs in that process.",
    "smtp_url": "SMTP server for email, over the instance file's `smtp_url`:"
    " `smtp://[user:pass@]host[:port][?starttls=true]` or `smtps://...`, options `timeout`,"
    " `cafile`, `verify=false`. None: messages stay `captured` in the outbox.",
    "smtp_timeout": "Seconds per SMTP command (the URL's `timeout=` wins).",
    "smtp_connections": "SMTP connections one delivery drain keeps open and sends over in parallel.",
    "max_clones_per_day": "scheduleCampaign calls with `cloneToProgramName` per day, counted from midnight"
    " America/Chicago (fault 20015).",
}
_INT_FIELDS = {f.name for f in fields(Settings) if f.type in ("int", int)}
_POSITIVE_FIELDS = {"smtp_connections", "max_sync_leads", "max_page_bytes", "max_batch_size"}


def _convert(name: str, raw: str, env_name: str) -> Any:
    if name == "limits_enabled":
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
