"""`{interesting_moment: {type: Web, description: D}}`: an Interesting Moment (D may hold tokens)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from mktows.engine.activities.types import by_code
from mktows.engine.admin.shapes import Checker, choice
from mktows.engine.campaigns import tokens as tk
from mktows.engine.campaigns.steps.base import STEPS, Chunk, FlowStep, RunPlan, Step, Stop
from mktows.engine.leads.fields import FieldRegistry

if TYPE_CHECKING:
    from mktows.engine.leads.sync import LeadState

INTERESTING_MOMENT = by_code("InterestingMoment")
MOMENT_TYPES = {t.lower(): t for t in ("Web", "Email", "Milestone")}


class InterestingMoment(FlowStep):
    name = "interesting_moment"

    def shape(self, checker: Checker, arg: Any, path: str) -> dict[str, Any]:
        m = checker.mapping(arg, path, {"description"}, {"type"})
        kind = choice(checker, m["type"], f"{path}.type", MOMENT_TYPES) if "type" in m else "Web"
        return {"type": kind, "description": checker.text(m["description"], f"{path}.description")}

    def compile(self, conn: Connection, registry: FieldRegistry, plan: RunPlan, arg: Any) -> tuple[str, str]:
        spec = arg if isinstance(arg, dict) else {"description": arg}
        return str(spec.get("type") or "Web"), str(spec.get("description") or "")

    def run(self, chunk: Chunk, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> Stop | None:
        kind, template = step.arg
        description = tk.render(template, chunk.context(st, recipient), html=False)
        chunk.row(
            st, INTERESTING_MOMENT, description, [("Type", kind), ("Description", description), *step.attributes()]
        )
        return None


STEPS.add(InterestingMoment.name, InterestingMoment())
