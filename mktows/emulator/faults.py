"""Fault rules: which SOAP calls the emulator answers wrongly, and how.

A rule matches an operation (or `*`, every one). A matching call draws from the rule's own
random generator, seeded, so a run with the same calls fails the same calls; when the draw is
under `probability` the rule fires: its latency first, then the connection dropped, an HTTP
status, or a Marketo fault (whichever it names, in that order; with only a latency the call
is then answered as usual). `times` caps how often it fires; the rule then goes away.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from mktows import errors


class RuleError(ValueError):
    """A rule that cannot be used; the message says which field is wrong."""


@dataclass
class FaultRule:
    operation: str
    fault_code: int | None = None
    latency_ms: int = 0
    drop_connection: bool = False
    http_status: int | None = None
    probability: float = 1.0
    seed: int | None = None
    times: int | None = None
    fired: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def describe(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "fault_code": self.fault_code,
            "latency_ms": self.latency_ms,
            "drop_connection": self.drop_connection,
            "http_status": self.http_status,
            "probability": self.probability,
            "seed": self.seed,
            "times": self.times,
            "fired": self.fired,
        }

    def error(self) -> errors.MarketoError:
        code = self.fault_code if self.fault_code is not None else errors.InternalError.code
        return errors.MarketoError(f"Fault injected by the emulator ({code})", code=code, reason="emulated")


_FIELDS = {"operation", "fault_code", "latency_ms", "drop_connection", "http_status", "probability", "seed", "times"}


def parse_rule(data: Any) -> FaultRule:
    """A rule from its JSON object; RuleError names what is wrong."""
    if not isinstance(data, dict):
        raise RuleError("expected a JSON object")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise RuleError(f"unknown field(s) {', '.join(unknown)}; expected {', '.join(sorted(_FIELDS))}")
    operation = data.get("operation")
    if not isinstance(operation, str) or not operation:
        raise RuleError('"operation" must name an operation (getLead) or be "*"')
    rule = FaultRule(
        operation=operation,
        fault_code=_int(data, "fault_code", None),
        latency_ms=_int(data, "latency_ms", 0) or 0,
        drop_connection=_bool(data, "drop_connection"),
        http_status=_int(data, "http_status", None),
        probability=_probability(data),
        seed=_int(data, "seed", None),
        times=_int(data, "times", None),
    )
    if rule.fault_code is not None and rule.fault_code not in errors.SHORT_MESSAGES:
        known = ", ".join(str(c) for c in sorted(errors.SHORT_MESSAGES))
        raise RuleError(f"fault_code {rule.fault_code} is not a Marketo fault code; known: {known}")
    if rule.http_status is not None and not 100 <= rule.http_status <= 599:
        raise RuleError("http_status must be an HTTP status (100-599)")
    if rule.latency_ms < 0 or (rule.times is not None and rule.times < 1):
        raise RuleError("latency_ms must be 0 or more, times 1 or more")
    if not (rule.fault_code or rule.latency_ms or rule.drop_connection or rule.http_status):
        raise RuleError("a rule needs at least one of fault_code, latency_ms, drop_connection, http_status")
    rule.rng = random.Random(rule.seed)
    return rule


def _int(data: dict[str, Any], key: str, default: int | None) -> int | None:
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleError(f'"{key}" must be an integer')
    return value


def _bool(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise RuleError(f'"{key}" must be true or false')
    return value


def _probability(data: dict[str, Any]) -> float:
    value = data.get("probability", 1.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise RuleError('"probability" must be a number from 0 to 1')
    return float(value)


class FaultRules:
    """The rules in force, in the order they were added; the first one that fires wins."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return bool(self._rules)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> int:
        with self._lock:
            count = len(self._rules)
            self._rules.clear()
            return count

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.describe() for rule in self._rules]

    def draw(self, operation: str | None) -> FaultRule | None:
        """The rule that fires for a call of `operation` (None: no rule does)."""
        with self._lock:
            for rule in self._rules:
                if rule.operation != "*" and rule.operation != operation:
                    continue
                if rule.rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                if rule.times is not None and rule.fired >= rule.times:
                    self._rules.remove(rule)
                return rule
        return None
