"""Cloning a program (scheduleCampaign with cloneToProgramName).

The copy gets the program's lists (empty), emails, campaigns, tokens, tags and costs; each
copied smart list and flow step points its `Old.X` references at the copy (each step renames
its own references: `steps/`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, literal, select

from mktows.engine.campaigns import programs as programs_
from mktows.engine.campaigns.programs import name_key
from mktows.engine.campaigns.smartlists import LIST_FILTERS
from mktows.engine.campaigns.steps import STEPS
from mktows.engine.models import ProgramInfo
from mktows.errors import BadParameter
from mktows.store.tables import campaigns, emails, program_costs, program_tags, programs, static_lists


def clone_program(conn: Connection, program: ProgramInfo, new_name: str, now: datetime) -> ProgramInfo:
    """Copy the program with its lists (empty), emails, campaigns, tokens, tags and costs;
    BadParameter (20110) when `new_name` is taken.

    References of the copied campaigns to the original's lists, emails and campaigns
    (`Old.X`) are pointed at the copies (`New.X`), as Marketo rewires local assets.
    """
    new_name = (new_name or "").strip()
    if not new_name:
        raise BadParameter("cloneToProgramName is empty")
    if programs_.program_or_none(conn, new_name) is not None:
        raise BadParameter(f"Program already exists: {new_name}")
    src = conn.execute(select(programs).where(programs.c.id == program.id)).one()._asdict()
    for key in ("id",):
        src.pop(key)
    # a clone is a new, live program: not archived, and not the CRM's campaign of the original
    src.update(name=new_name, name_lower=new_name.lower(), created_at=now, updated_at=now, archived=False, crm_id=None)
    new_id = int(conn.execute(insert(programs).values(**src).returning(programs.c.id)).scalar_one())
    _clone_rows(conn, program_costs, program.id, new_id, {})
    copied_tags = select(literal(new_id), program_tags.c.tag_type, program_tags.c.tag_value)
    conn.execute(
        insert(program_tags).from_select(
            ["program_id", "tag_type", "tag_value"], copied_tags.where(program_tags.c.program_id == program.id)
        )
    )
    _clone_rows(conn, emails, program.id, new_id, {"created_at": now, "updated_at": now})
    owned = func.lower(static_lists.c.program_name) == program.name.lower()
    for row in conn.execute(select(static_lists.c.name).where(owned).order_by(static_lists.c.id)).all():
        conn.execute(insert(static_lists).values(name=row.name, program_name=new_name, created_at=now))
    rewrite = _Rewriter(program.name, new_name)
    for row in conn.execute(select(campaigns).where(campaigns.c.program_id == program.id)).all():
        values = row._asdict()
        values.pop("id")
        values.update(
            program_id=new_id,
            created_at=now,
            updated_at=now,
            smart_list=json.dumps(rewrite.filters(json.loads(row.smart_list))),
            flow=json.dumps(rewrite.steps(json.loads(row.flow))),
        )
        conn.execute(insert(campaigns).values(**values))
    return programs_.program_by_id(conn, new_id)


def _clone_rows(conn: Connection, table: Any, old_id: int, new_id: int, extra: dict[str, Any]) -> None:
    rows = []
    for row in conn.execute(select(table).where(table.c.program_id == old_id).order_by(table.c.id)):
        values = row._asdict()
        values.pop("id")
        values.update(program_id=new_id, **extra)
        rows.append(values)
    if rows:
        conn.execute(insert(table), rows)


class _Rewriter:
    """Points `Old.X` references of copied campaigns at `New.X`."""

    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def name(self, ref: Any) -> Any:
        if isinstance(ref, str) and ref.lower().startswith(self.old.lower() + "."):
            return f"{self.new}.{ref[len(self.old) + 1 :]}"
        return ref

    def program(self, name: str) -> str:
        """A bare program name: the copy's when it names the original."""
        return self.new if name_key(name) == self.old.lower() else name

    def filters(self, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: self.name(v) if k in LIST_FILTERS else v for k, v in f.items()} for f in filters]

    def steps(self, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each step renames its own references (`steps/`); an unknown one is copied as is."""
        out = []
        for step in steps:
            ((kind, arg),) = step.items()
            flow_step = STEPS.get(kind)
            out.append({kind: flow_step.rename(self, arg) if flow_step is not None else arg})
        return out
