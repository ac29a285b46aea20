"""Shape checks of declared data (the instance file's YAML), with the path of each problem.

They live in the engine so that what an engine part declares (a flow step's arguments)
is checked next to the part itself; `mktows.instance` uses them for the whole file.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any


class ShapeError(ValueError):
    """Declared data has the wrong shape; the message names the source, the path and the problem."""


class Checker:
    """Checks values at a path of one source and raises `error` naming both."""

    def __init__(self, source: str, error: type[ShapeError] = ShapeError) -> None:
        self.source = source
        self.error = error

    def fail(self, path: str, problem: str) -> ShapeError:
        return self.error(f"{self.source}: {path}: {problem}")

    def mapping(
        self, value: Any, path: str, required: Collection[str], optional: Collection[str] = frozenset()
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {type(value).__name__}")
        for name in value:
            if name not in required and name not in optional:
                allowed = ", ".join(sorted(set(required) | set(optional)))
                raise self.fail(f"{path}.{name}", f"unknown key (expected: {allowed})")
        for name in sorted(required):
            if name not in value:
                raise self.fail(f"{path}.{name}", "is required")
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


def key(value: Any) -> str:
    """A choice as it is compared: case and spaces-versus-underscores do not matter."""
    return str(value).strip().lower().replace(" ", "_")


def scalar(c: Checker, value: Any, path: str) -> str:
    """A YAML scalar as the text it stands for (true -> "true", 2026-01-02 -> "2026-01-02")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if hasattr(value, "isoformat"):  # a date or datetime
        return str(value.isoformat())
    raise c.fail(path, f"expected a single value, got {type(value).__name__}")


def choice(
    c: Checker, value: Any, path: str, choices: Mapping[str, str] | tuple[str, ...], shown: tuple[str, ...] = ()
) -> str:
    """One of the choices, matched case-insensitively with spaces or underscores."""
    wanted = key(c.text(value, path))
    pairs = choices.items() if isinstance(choices, Mapping) else ((k, k) for k in choices)
    options = {key(k): v for k, v in pairs}
    if wanted not in options:
        listed = shown or tuple(dict.fromkeys(choices.values() if isinstance(choices, Mapping) else choices))
        raise c.fail(path, f"unknown value {value!r} (expected one of: {', '.join(listed)})")
    return options[wanted]
