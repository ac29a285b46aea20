"""`{add_to_list: NAME}` / `{remove_from_list: NAME}`: static list membership, logged on a real change.

NAME is a list name as listOperation takes it (`Program.List`, or a bare name that is unique).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from mktows.engine.activities.types import ADD_TO_LIST, REMOVE_FROM_LIST
from mktows.engine.admin.shapes import Checker
from mktows.engine.campaigns import programs
from mktows.engine.campaigns.steps.base import STEPS, Chunk, FlowStep, Resolver, Rewriter, RunPlan, Step, Stop
from mktows.engine.leads.fields import FieldRegistry
from mktows.engine.lists import members
from mktows.store.tables import static_lists

if TYPE_CHECKING:
    from mktows.engine.leads.sync import LeadState


class _ListStep(FlowStep):
    """What adding and removing share: the list reference and its resolution."""

    def shape(self, checker: Checker, arg: Any, path: str) -> str:
        return checker.text(arg, path).strip()

    def resolve(self, resolver: Resolver, arg: str, path: str) -> str:
        return resolver.list_ref(arg, path)

    def rename(self, rewriter: Rewriter, arg: Any) -> Any:
        return rewriter.name(arg)

    def compile(self, conn: Connection, registry: FieldRegistry, plan: RunPlan, arg: Any) -> tuple[int, str]:
        """(list id, the list's name as activities show it)."""
        list_id, _ = programs.list_reference(conn, str(arg), plan.campaign.program_name)
        return list_id, conn.execute(select(static_lists.c.name).where(static_lists.c.id == list_id)).scalar_one()


class AddToList(_ListStep):
    name = "add_to_list"

    def run(self, chunk: Chunk, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> Stop | None:
        list_id, label = step.arg
        assert st.id is not None
        if members.add_members(chunk.conn, list_id, [st.id], chunk.now, log_activities=False):
            chunk.batch.log(st, members.list_event(ADD_TO_LIST, st.id, list_id, label, chunk.now, chunk.full))
        return None


class RemoveFromList(_ListStep):
    name = "remove_from_list"

    def run(self, chunk: Chunk, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> Stop | None:
        list_id, label = step.arg
        assert st.id is not None
        if members.remove_members(chunk.conn, list_id, [st.id], chunk.now, log_activities=False):
            chunk.batch.log(st, members.list_event(REMOVE_FROM_LIST, st.id, list_id, label, chunk.now, chunk.full))
        return None


STEPS.add(AddToList.name, AddToList())
STEPS.add(RemoveFromList.name, RemoveFromList())
