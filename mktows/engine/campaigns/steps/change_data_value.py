"""`{change_data_value: {field: F, value: V}}`: set a lead field; V may hold tokens, empty clears."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from mktows.engine.admin.shapes import Checker, scalar
from mktows.engine.campaigns import tokens as tk
from mktows.engine.campaigns.steps.base import STEPS, Chunk, FlowStep, Resolver, RunPlan, Step, Stop
from mktows.engine.campaigns.steps.references import lead_field
from mktows.engine.leads.fields import Field, FieldRegistry, normalize_value
from mktows.errors import BadParameter

if TYPE_CHECKING:
    from mktows.engine.leads.sync import LeadState

log = logging.getLogger("mktows.flow")


class ChangeDataValue(FlowStep):
    name = "change_data_value"

    def shape(self, checker: Checker, arg: Any, path: str) -> dict[str, Any]:
        m = checker.mapping(arg, path, {"field"}, {"value"})
        return {
            "field": checker.text(m["field"], f"{path}.field").strip(),
            "value": scalar(checker, m.get("value"), f"{path}.value"),
        }

    def resolve(self, resolver: Resolver, arg: dict[str, Any], path: str) -> dict[str, Any]:
        """A writable field by API name; a value without tokens must fit the field now."""
        f = resolver.field(arg["field"], f"{path}.field")
        if f.read_only:
            raise resolver.fail(f"{path}.field", f"{f.name} is read-only")
        value = arg["value"]
        if value != "" and not tk.TOKEN_RE.search(value):
            try:
                normalize_value(f, value)
            except ValueError as exc:
                raise resolver.fail(f"{path}.value", str(exc)) from None
        return {"field": f.name, "value": value}

    def compile(self, conn: Connection, registry: FieldRegistry, plan: RunPlan, arg: Any) -> tuple[Field, str | None]:
        f = lead_field(registry, arg["field"])
        if f.read_only:
            raise BadParameter(f"{f.name} is read-only")
        value = arg.get("value")
        return f, None if value is None else str(value)

    def run(self, chunk: Chunk, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> Stop | None:
        """A value the tokens make invalid for the field skips the step for this lead."""
        f, template = step.arg
        text = tk.render(template, chunk.context(st, recipient), html=False) if template else ""
        if text.strip() == "":
            new = None
        else:
            try:
                new = normalize_value(f, text)
            except ValueError as exc:
                log.info("campaign %s: lead %s: change_data_value skipped: %s", chunk.full, st.id, exc)
                return None
        chunk.batch.apply(st, [(f, new)], chunk.cause(step, "Change Data Value"))
        return None


STEPS.add(ChangeDataValue.name, ChangeDataValue())
