"""`{change_score: {field: LeadScore, change: "+10"}}`: `+N`, `-N` or `=N` on an integer or score field."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from mktows.engine.activities.types import by_code
from mktows.engine.admin.shapes import Checker
from mktows.engine.campaigns.steps.base import STEPS, Chunk, FlowStep, Resolver, RunPlan, Step, Stop
from mktows.engine.campaigns.steps.references import lead_field
from mktows.engine.leads.fields import Field, FieldRegistry
from mktows.errors import BadParameter

if TYPE_CHECKING:
    from mktows.engine.leads.sync import LeadState

CHANGE_SCORE = by_code("ChangeScore")
CHANGE_RE = re.compile(r"^[+\-=]?\d+$")


class ChangeScore(FlowStep):
    name = "change_score"

    def shape(self, checker: Checker, arg: Any, path: str) -> dict[str, Any]:
        """A bare change (`+10`) or {change, field}; a change without a sign adds."""
        m = checker.mapping(arg, path, {"change"}, {"field"}) if isinstance(arg, dict) else {"change": arg}
        change = m["change"]
        if isinstance(change, bool) or not isinstance(change, (int, str)) or not CHANGE_RE.match(str(change).strip()):
            raise checker.fail(f"{path}.change", f"expected +N, -N or =N, got {change!r}")
        text = str(change).strip()
        if text[0] not in "+-=":
            text = "+" + text
        field_name = checker.text(m["field"], f"{path}.field").strip() if "field" in m else "LeadScore"
        return {"field": field_name, "change": text}

    def resolve(self, resolver: Resolver, arg: dict[str, Any], path: str) -> dict[str, Any]:
        f = resolver.field(arg["field"], f"{path}.field")
        if f.data_type not in ("integer", "score"):
            raise resolver.fail(f"{path}.field", f"{f.name} is a {f.data_type} field, not an integer or score")
        return {"field": f.name, "change": arg["change"]}

    def compile(self, conn: Connection, registry: FieldRegistry, plan: RunPlan, arg: Any) -> tuple[Field, str, int]:
        spec = arg if isinstance(arg, dict) else {"change": arg}
        f = lead_field(registry, spec.get("field") or "LeadScore")
        if f.data_type not in ("integer", "score"):
            raise BadParameter(f"{f.name} is a {f.data_type} field, not an integer or score")
        change = str(spec.get("change", "")).strip().replace(" ", "")
        sign = change[0] if change[:1] in ("+", "-", "=") else "+"
        return f, sign, int(change.lstrip("+-="))

    def run(self, chunk: Chunk, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> Stop | None:
        """`Change Score` with the vendor's attributes, then the field's Change Data Value."""
        f, sign, amount = step.arg
        stored = chunk.value(st, f)
        try:
            old = int(stored) if stored else 0
        except ValueError:
            return None
        new = old + amount if sign == "+" else old - amount if sign == "-" else amount
        if new == old and stored:
            return None
        change = f"{sign}{amount}"
        reason = chunk.plan.reason("Change Score")
        chunk.row(
            st,
            CHANGE_SCORE,
            f.display_name,
            [("Change Value", change), ("New Value", str(new)), ("Old Value", str(old)), ("Reason", reason)],
        )
        chunk.batch.apply(st, [(f, str(new))], chunk.cause(step, "Change Score"))
        return None


STEPS.add(ChangeScore.name, ChangeScore())
