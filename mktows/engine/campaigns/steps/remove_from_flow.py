"""`{remove_from_flow: [Program.Campaign, ...]}`: take the lead out of campaigns' running flows.

The lead is marked `removed` in the unfinished runs of the named campaigns; naming the
campaign itself (the default) ends the lead's current flow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, update

from mktows.engine.activities.types import by_code
from mktows.engine.admin.shapes import Checker
from mktows.engine.campaigns.steps.base import ACTIVE, STEPS, Chunk, FlowStep, Resolver, Rewriter, RunPlan, Step, Stop
from mktows.engine.campaigns.steps.references import campaign_ref
from mktows.engine.leads.fields import FieldRegistry
from mktows.engine.models import CampaignInfo
from mktows.store.tables import campaign_runs, run_leads

if TYPE_CHECKING:
    from mktows.engine.leads.sync import LeadState

REMOVE_FROM_FLOW = by_code("RemoveFromFlow")


class RemoveFromFlow(FlowStep):
    name = "remove_from_flow"

    def shape(self, checker: Checker, arg: Any, path: str) -> list[str]:
        """One name or a list of names; none means this campaign."""
        names = arg if isinstance(arg, list) else [] if arg is None else [arg]
        return [checker.text(n, f"{path}[{i}]").strip() for i, n in enumerate(names)]

    def resolve(self, resolver: Resolver, arg: list[str], path: str) -> list[str]:
        return [resolver.campaign(n, f"{path}[{i}]") for i, n in enumerate(arg)]

    def rename(self, rewriter: Rewriter, arg: Any) -> Any:
        return [rewriter.name(a) for a in arg]

    def compile(self, conn: Connection, registry: FieldRegistry, plan: RunPlan, arg: Any) -> list[CampaignInfo]:
        names = [] if arg in (None, "") else [arg] if isinstance(arg, str) else list(arg)
        return [campaign_ref(conn, plan, str(n)) for n in names] or [plan.campaign]

    def run(self, chunk: Chunk, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> Stop | None:
        """`Remove from Flow` (asset: the campaign) where the lead was in one of its runs."""
        own = False
        for target in step.arg:
            removed = chunk.conn.execute(
                update(run_leads)
                .where(
                    run_leads.c.lead_id == st.id,
                    run_leads.c.status.in_(ACTIVE),
                    run_leads.c.run_id != chunk.plan.run_id,
                    run_leads.c.run_id.in_(
                        select(campaign_runs.c.id).where(
                            campaign_runs.c.campaign_id == target.id, campaign_runs.c.status.not_in(("done", "failed"))
                        )
                    ),
                )
                .values(status="removed", wake_at=None)
            ).rowcount
            here = target.id == chunk.plan.campaign.id
            own = own or here
            if removed or here:
                chunk.row(st, REMOVE_FROM_FLOW, target.full_name, [("Campaign ID", str(target.id)), *step.attributes()])
        return Stop("removed") if own else None


STEPS.add(RemoveFromFlow.name, RemoveFromFlow())
