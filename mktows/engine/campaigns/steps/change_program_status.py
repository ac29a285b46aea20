"""`{change_program_status: {status: S, program: P}}`: a lead's status in a program.

P defaults to the campaign's program; S is one of its channel's progression statuses. The
status only moves forward in the progression, and success sticks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from mktows.engine.activities.types import by_code
from mktows.engine.admin.shapes import Checker
from mktows.engine.campaigns import catalog, programs
from mktows.engine.campaigns.steps.base import STEPS, Chunk, FlowStep, Resolver, Rewriter, RunPlan, Step, Stop
from mktows.engine.leads.fields import FieldRegistry
from mktows.engine.models import ProgramInfo, ProgressionStatus
from mktows.errors import BadParameter
from mktows.store.queries import upsert
from mktows.store.tables import program_members

if TYPE_CHECKING:
    from mktows.engine.leads.sync import LeadState

CHANGE_STATUS = by_code("ChangeStatusInProgression")


class ChangeProgramStatus(FlowStep):
    name = "change_program_status"

    def shape(self, checker: Checker, arg: Any, path: str) -> dict[str, Any]:
        """A bare status, or {status, program}."""
        m = checker.mapping(arg, path, {"status"}, {"program"}) if isinstance(arg, dict) else {"status": arg}
        out = {"status": checker.text(m["status"], f"{path}.status").strip()}
        if m.get("program") is not None:
            out["program"] = checker.text(m["program"], f"{path}.program").strip()
        return out

    def resolve(self, resolver: Resolver, arg: dict[str, Any], path: str) -> dict[str, Any]:
        """The status (and a given program) as stored; the program is kept only when given."""
        if "program" in arg:
            program = resolver.program_ref(arg["program"], f"{path}.program")
        elif resolver.program is not None:
            program = resolver.program
        else:
            raise resolver.fail(f"{path}.program", "is required for a campaign outside programs")
        statuses = catalog.channel_statuses(resolver.conn, program.channel)
        if not statuses:
            raise resolver.fail(path, f"program {program.name!r} has no channel with progression statuses")
        for s in statuses:
            if s.name.lower() == arg["status"].lower():
                out = {"status": s.name}
                return {**out, "program": program.name} if "program" in arg else out
        names = ", ".join(s.name for s in statuses)
        raise resolver.fail(
            f"{path}.status", f"{arg['status']!r} is not a status of channel {program.channel!r} ({names})"
        )

    def rename(self, rewriter: Rewriter, arg: Any) -> Any:
        return {**arg, "program": rewriter.program(arg["program"])} if "program" in arg else arg

    def compile(
        self, conn: Connection, registry: FieldRegistry, plan: RunPlan, arg: Any
    ) -> tuple[ProgramInfo, ProgressionStatus, dict[str, int]]:
        """(program, status, each status's step by lower-case name)."""
        program = programs.find_program(conn, str(arg["program"])) if arg.get("program") else plan.program
        if program is None:
            raise BadParameter("change_program_status needs a program for a campaign outside programs")
        statuses = catalog.channel_statuses(conn, program.channel)
        wanted = str(arg["status"]).strip().lower()
        status = next((s for s in statuses if s.name.lower() == wanted), None)
        if status is None:
            raise BadParameter(f"{arg['status']!r} is not a status of channel {program.channel!r}")
        steps = {s.name.lower(): s.step for s in statuses}
        return program, status, steps

    def run(self, chunk: Chunk, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> Stop | None:
        program, status, order = step.arg
        current = chunk.conn.execute(
            select(program_members.c.status, program_members.c.success).where(
                program_members.c.program_id == program.id, program_members.c.lead_id == st.id
            )
        ).first()
        old = current.status if current is not None else None
        if old is not None:
            if old.lower() == status.name.lower():
                return None
            if order.get(old.lower(), -1) > status.step:
                return None  # progression only moves forward
        success = status.success or bool(current is not None and current.success)
        stmt = upsert(chunk.conn, program_members).values(
            program_id=program.id, lead_id=st.id, status=status.name, success=success, updated_at=chunk.now
        )
        chunk.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[program_members.c.program_id, program_members.c.lead_id],
                set_={"status": status.name, "success": success, "updated_at": chunk.now},
            )
        )
        chunk.row(
            st,
            CHANGE_STATUS,
            program.name,
            [
                ("Old Status", old or "Not in Program"),
                ("New Status", status.name),
                ("Program ID", str(program.id)),
                ("Success", "true" if status.success else "false"),
                ("Reason", chunk.plan.reason("Change Program Status")),
                *step.attributes(),
            ],
        )
        return None


STEPS.add(ChangeProgramStatus.name, ChangeProgramStatus())
