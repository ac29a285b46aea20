"""Settings (environment + CLI flags) and the instance file (YAML) that seeds a tenant.

`load_instance` validates the whole file up front and names the file, the path inside it
and what is wrong, so a typo never half-applies; `apply_instance` is idempotent.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mktows.engine.fields import FIELD_TYPES, STANDARD_BY_LOWER
from mktows.engine.models import FieldInfo

if TYPE_CHECKING:
    from mktows.engine import Engine

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
    daily_quota: int = 10000
    rate_limit_calls: int = 100
    rate_limit_seconds: int = 20
    max_concurrency: int = 10
    limits_enabled: bool = True
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
            return int(raw)
        except ValueError:
            raise ValueError(f"{env_name}: expected an integer, got {raw!r}") from None
    return raw


# --- instance file -------------------------------------------------------------------------


class InstanceError(ValueError):
    """The instance file is invalid; the message names the file, the path and the problem."""


@dataclass(frozen=True)
class InstanceUser:
    user_id: str
    encryption_key: str
    enabled: bool = True


@dataclass(frozen=True)
class InstanceList:
    name: str
    program: str | None = None


@dataclass(frozen=True)
class Instance:
    api_users: list[InstanceUser] = field(default_factory=list)
    lead_fields: list[FieldInfo] = field(default_factory=list)
    lists: list[InstanceList] = field(default_factory=list)
    source: str = ""


KNOWN_KEYS = {"api_users", "lead_fields", "lists"}
FUTURE_KEYS = {"channels", "programs", "workspaces", "tag_types", "smtp_url", "custom_objects"}


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, problem: str) -> InstanceError:
        return InstanceError(f"{self.source}: {path}: {problem}")

    def mapping(self, value: Any, path: str, required: set[str], optional: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {type(value).__name__}")
        for key in value:
            if key not in required and key not in optional:
                allowed = ", ".join(sorted(required | set(optional)))
                raise self.fail(f"{path}.{key}", f"unknown key (expected: {allowed})")
        for key in sorted(required):
            if key not in value:
                raise self.fail(f"{path}.{key}", "is required")
        return value

    def text(self, value: Any, path: str) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)) or str(value).strip() == "":
            raise self.fail(path, "expected a non-empty string")
        return str(value)

    def items(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(path, f"expected a list, got {type(value).__name__}")
        return value


def parse_instance(data: Any, source: str = "<instance>") -> Instance:
    """Validate already-parsed YAML data."""
    c = _Checker(source)
    if data is None:
        return Instance(source=source)
    if not isinstance(data, dict):
        raise c.fail("(top level)", f"expected a mapping, got {type(data).__name__}")
    for key in data:
        if key not in KNOWN_KEYS and key not in FUTURE_KEYS:
            raise c.fail(str(key), f"unknown top-level key (expected: {', '.join(sorted(KNOWN_KEYS))})")
    users: list[InstanceUser] = []
    seen: set[str] = set()
    for i, item in enumerate(c.items(data.get("api_users"), "api_users")):
        path = f"api_users[{i}]"
        m = c.mapping(item, path, {"user_id", "encryption_key"}, {"enabled"})
        uid = c.text(m["user_id"], f"{path}.user_id")
        if uid in seen:
            raise c.fail(f"{path}.user_id", f"duplicate user id {uid!r}")
        seen.add(uid)
        enabled = m.get("enabled", True)
        if not isinstance(enabled, bool):
            raise c.fail(f"{path}.enabled", "expected true or false")
        users.append(InstanceUser(uid, c.text(m["encryption_key"], f"{path}.encryption_key"), enabled))
    lead_fields: list[FieldInfo] = []
    names: set[str] = set()
    for i, item in enumerate(c.items(data.get("lead_fields"), "lead_fields")):
        path = f"lead_fields[{i}]"
        m = c.mapping(item, path, {"name", "type"}, {"display_name", "size", "read_only", "description"})
        name = c.text(m["name"], f"{path}.name").strip()
        if any(ch.isspace() for ch in name):
            raise c.fail(f"{path}.name", f"field API names cannot contain spaces: {name!r}")
        if name.lower() in STANDARD_BY_LOWER:
            raise c.fail(f"{path}.name", f"{name!r} is a standard field")
        if name.lower() in names:
            raise c.fail(f"{path}.name", f"duplicate field {name!r}")
        names.add(name.lower())
        dtype = c.text(m["type"], f"{path}.type").strip().lower()
        if dtype not in FIELD_TYPES:
            raise c.fail(f"{path}.type", f"unknown type {m['type']!r} (expected one of: {', '.join(sorted(FIELD_TYPES))})")
        size = m.get("size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise c.fail(f"{path}.size", "expected a positive integer")
        read_only = m.get("read_only", False)
        if not isinstance(read_only, bool):
            raise c.fail(f"{path}.read_only", "expected true or false")
        display = c.text(m["display_name"], f"{path}.display_name") if "display_name" in m else name
        lead_fields.append(
            FieldInfo(name=name, display_name=display, data_type=dtype, size=size, read_only=read_only, custom=True)
        )
    lists: list[InstanceList] = []
    for i, item in enumerate(c.items(data.get("lists"), "lists")):
        path = f"lists[{i}]"
        if isinstance(item, dict):
            m = c.mapping(item, path, {"name"}, {"program"})
            program = c.text(m["program"], f"{path}.program") if m.get("program") is not None else None
            lists.append(InstanceList(c.text(m["name"], f"{path}.name"), program))
        else:
            lists.append(InstanceList(c.text(item, path)))
    return Instance(api_users=users, lead_fields=lead_fields, lists=lists, source=source)


def load_instance(path: str | Path) -> Instance:
    """Read and validate an instance file; InstanceError names the file and the problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InstanceError(f"{p}: cannot read: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InstanceError(f"{p}: invalid YAML: {exc}") from None
    return parse_instance(data, str(p))


def apply_instance(engine: Engine, instance: Instance) -> None:
    """Create or update users, fields and lists; running it again changes nothing."""
    for user in instance.api_users:
        engine.put_api_user(user.user_id, user.encryption_key, enabled=user.enabled)
    for info in instance.lead_fields:
        engine.add_lead_field(info)
    for lst in instance.lists:
        engine.add_list(lst.name, lst.program)
