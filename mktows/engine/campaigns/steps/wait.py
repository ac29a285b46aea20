"""`{wait: {seconds|minutes|hours|days: N}}`: the lead continues after the delay."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from mktows.engine.admin.shapes import Checker
from mktows.engine.campaigns.steps.base import STEPS, Chunk, FlowStep, RunPlan, Step, Stop
from mktows.engine.leads.fields import FieldRegistry
from mktows.errors import BadParameter

if TYPE_CHECKING:
    from mktows.engine.leads.sync import LeadState

DECLARED_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}  # the instance file's
UNITS = {**DECLARED_UNITS, "weeks": 604800}  # what a stored flow may name


class Wait(FlowStep):
    name = "wait"

    def shape(self, checker: Checker, arg: Any, path: str) -> dict[str, Any]:
        """Normalised to {"seconds": N}."""
        m = checker.mapping(arg, path, set(), set(DECLARED_UNITS))
        if not m:
            raise checker.fail(path, "expected one of: seconds, minutes, hours, days")
        total = 0
        for unit, amount in m.items():
            if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
                raise checker.fail(f"{path}.{unit}", "expected a whole number, 0 or more")
            total += amount * DECLARED_UNITS[unit]
        if total <= 0:
            raise checker.fail(path, "a wait must last at least one second")
        return {"seconds": total}

    def compile(self, conn: Connection, registry: FieldRegistry, plan: RunPlan, arg: Any) -> timedelta:
        spec = arg if isinstance(arg, dict) else {"seconds": arg}
        seconds = 0.0
        for unit, amount in spec.items():
            if unit not in UNITS:
                raise BadParameter(f"unknown wait unit {unit!r} (seconds, minutes, hours, days, weeks)")
            seconds += float(amount) * UNITS[unit]
        if seconds < 0:
            raise BadParameter("a wait cannot be negative")
        return timedelta(seconds=seconds)

    def run(self, chunk: Chunk, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> Stop | None:
        """The lead waits; the caller enqueues a run job for when it wakes."""
        wake_at = chunk.now + step.arg
        chunk.result.wake_times.add(wake_at)
        return Stop("waiting", wake_at)


STEPS.add(Wait.name, Wait())
