"""`{request_campaign: Program.Campaign}`: queue the lead into another trigger campaign now.

Any active trigger campaign may be requested, whatever its API sources; a campaign cannot
request itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from mktows.engine.activities.types import by_code
from mktows.engine.admin.shapes import Checker
from mktows.engine.campaigns import programs
from mktows.engine.campaigns.steps.base import STEPS, Chunk, FlowStep, Resolver, Rewriter, RunPlan, Step, Stop
from mktows.engine.campaigns.steps.references import campaign_ref
from mktows.engine.leads.fields import FieldRegistry
from mktows.engine.models import CampaignInfo
from mktows.errors import BadParameter

if TYPE_CHECKING:
    from mktows.engine.leads.sync import LeadState

REQUEST_CAMPAIGN = by_code("RequestCampaign")
FLOW_ACTION_SOURCE = "Marketo Flow Action"  # the Source of a Request Campaign caused by a flow


class RequestCampaign(FlowStep):
    name = "request_campaign"

    def shape(self, checker: Checker, arg: Any, path: str) -> str:
        return checker.text(arg, path).strip()

    def resolve(self, resolver: Resolver, arg: str, path: str) -> str:
        full = resolver.campaign(arg, path)
        if programs.find_campaign(resolver.conn, None, full).kind != "trigger":
            raise resolver.fail(path, f"{full!r} is a batch campaign; only trigger campaigns can be requested")
        return full

    def rename(self, rewriter: Rewriter, arg: Any) -> Any:
        return rewriter.name(arg)

    def compile(self, conn: Connection, registry: FieldRegistry, plan: RunPlan, arg: Any) -> CampaignInfo:
        target = campaign_ref(conn, plan, str(arg))
        if target.kind != "trigger" or not target.active:
            raise BadParameter(f"{target.full_name} is not an active trigger campaign")
        if target.id == plan.campaign.id:
            raise BadParameter("a campaign cannot request itself")
        return target

    def run(self, chunk: Chunk, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> Stop | None:
        """Logged under the requested campaign; the caller starts it for the chunk's leads."""
        target: CampaignInfo = step.arg
        assert st.id is not None
        chunk.row(
            st,
            REQUEST_CAMPAIGN,
            target.full_name,
            [("Source", FLOW_ACTION_SOURCE), ("Campaign ID", str(target.id))],
            campaign=target.full_name,
        )
        chunk.result.requested.setdefault(target.id, (target, []))[1].append(st.id)
        return None


STEPS.add(RequestCampaign.name, RequestCampaign())
