"""`{send_email: NAME}`: render the campaign's email for the lead and queue it in the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from mktows.engine.activities.types import by_code
from mktows.engine.admin.shapes import Checker
from mktows.engine.campaigns import programs
from mktows.engine.campaigns import tokens as tk
from mktows.engine.campaigns.outbox import Message, existing_steps
from mktows.engine.campaigns.steps.base import STEPS, Chunk, FlowStep, Resolver, Rewriter, RunPlan, Step, Stop
from mktows.engine.leads.fields import FieldRegistry
from mktows.engine.models import EmailInfo

if TYPE_CHECKING:
    from mktows.engine.leads.sync import LeadState

SEND_EMAIL = by_code("SendEmail")


class SendEmail(FlowStep):
    """NAME is an email of the campaign's program, or `Program.Email`."""

    name = "send_email"

    def shape(self, checker: Checker, arg: Any, path: str) -> str:
        return checker.text(arg, path).strip()

    def resolve(self, resolver: Resolver, arg: str, path: str) -> str:
        """The email's stored name, prefixed with its program when that is not the campaign's."""
        home = resolver.program
        found = programs.email_or_none(resolver.conn, home.id if home else None, arg)
        if found is None:
            where = f"in program {home.name!r} " if home else ""
            raise resolver.fail(path, f"unknown email {arg!r} {where}(declare it under emails, or use Program.Email)")
        if home is not None and found.program_id == home.id:
            return found.name
        return f"{programs.program_by_id(resolver.conn, found.program_id).name}.{found.name}"

    def rename(self, rewriter: Rewriter, arg: Any) -> Any:
        return rewriter.name(arg)

    def compile(self, conn: Connection, registry: FieldRegistry, plan: RunPlan, arg: Any) -> EmailInfo:
        return programs.find_email(conn, plan.campaign.program_id, str(arg))

    def prepare(self, chunk: Chunk, lead_ids: Sequence[int]) -> None:
        """The chunk's leads that already have this run's message of a step (a resumed run)."""
        chunk.queued.update(existing_steps(chunk.conn, chunk.plan.run_id, lead_ids))

    def run(self, chunk: Chunk, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> Stop | None:
        email: EmailInfo = step.arg
        if not_mailed(st) is not None:
            return None  # Marketo does not mail leads without an address or unsubscribed
        assert st.id is not None
        if (st.id, step.index) in chunk.queued:
            return None  # this (run, lead, step) already has its message: nobody gets it twice
        chunk.queued.add((st.id, step.index))
        chunk.outgoing.append(
            render_message(
                email,
                chunk.context(st, recipient),
                st,
                run_id=chunk.plan.run_id,
                step_index=step.index,
                campaign=chunk.full,
            )
        )
        chunk.row(st, SEND_EMAIL, email.name, [("Mailing ID", str(email.id)), *step.attributes()])
        return None


def not_mailed(st: LeadState) -> str | None:
    """Why a send skips the lead (no address, unsubscribed); None when it is mailed."""
    if not (st.cols.get("email") or "").strip():
        return "it has no email address"
    if st.values.get("Unsubscribed") == "true":
        return "it is unsubscribed"
    return None


def render_message(
    email: EmailInfo,
    ctx: tk.TokenContext,
    st: LeadState,
    *,
    run_id: int | None,
    step_index: int | None,
    campaign: str | None,
) -> Message:
    """The email as the lead gets it, its tokens resolved from `ctx`: what the step queues,
    and what the console's preview shows."""
    return Message(
        to_addr=(st.cols.get("email") or "").strip(),
        from_addr=tk.render(email.from_email, ctx, html=False),
        from_name=tk.render(email.from_name, ctx, html=False) if email.from_name else None,
        reply_to=tk.render(email.reply_to, ctx, html=False) if email.reply_to else None,
        subject=tk.render(email.subject, ctx, html=False),
        html=tk.render(email.html, ctx, html=True),
        text=tk.render(email.text, ctx, html=False),
        lead_id=st.id,
        run_id=run_id,
        step_index=step_index,
        campaign=campaign,
        email_id=email.id,
        email_name=email.name,
    )


STEPS.add(SendEmail.name, SendEmail())
