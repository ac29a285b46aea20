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
    max_clones_per_day: int = 10  # scheduleCampaign cloneToProgramName calls per day (DECISIONS #7)

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
