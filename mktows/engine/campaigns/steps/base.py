"""What a flow step provides, and the values the flow runtime hands it.

A flow step (`{send_email: Welcome}` in a campaign's flow) lives in one module of this
package, which registers its `FlowStep` in `STEPS`; the step holds every stage of its life,
so adding one touches nothing else:
- `shape`: its instance-file form, checked and normalised (`mktows.instance`);
- `resolve`: its references checked when the file is applied (`admin/definitions.py`);
- `rename`: its references pointed at the copy when a program is cloned (`clones.py`);
- `compile`: its stored form resolved once per run pass (`flow.py`);
- `run`: what it does to one lead (`flow.py`).

The list of step modules is in `__init__.py`; `flow.py`, `clones.py`, the instance file and
its definitions look steps up in `STEPS`, never by name in code.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection

from mktows.engine.admin.shapes import Checker
from mktows.engine.campaigns.outbox import Message
from mktows.engine.campaigns.tokens import TokenContext
from mktows.engine.leads.fields import Field, FieldRegistry
from mktows.engine.models import CampaignInfo, ProgramInfo
from mktows.runtime.registry import Registry

if TYPE_CHECKING:
    from mktows.engine.leads.sync import ChangeCause, LeadState, SyncBatch

ACTIVE = ("pending", "waiting")  # run_leads states of a lead still in a flow


@dataclass
class Step:
    """One compiled flow step; `error` says why the whole run skips it."""

    index: int
    kind: str
    arg: Any = None
    error: str | None = None

    @property
    def step_id(self) -> str:
        """`Step ID` of activities: the step's 1-based position in the flow."""
        return str(self.index + 1)

    def attributes(self) -> tuple[tuple[str, str], ...]:
        return (("Step ID", self.step_id), ("Choice Number", "0"))


@dataclass
class RunPlan:
    run_id: int
    campaign: CampaignInfo
    program: ProgramInfo | None
    run_tokens: list[tuple[str, str]]  # the call's overrides (campaign_runs.tokens)
    steps: list[Step]

    def reason(self, action: str) -> str:
        return f"Changed by Smart Campaign {self.campaign.full_name} action {action}"


@dataclass
class ChunkResult:
    """What the caller (engine.campaigns) finishes in the same transaction."""

    processed: int = 0
    requested: dict[int, tuple[CampaignInfo, list[int]]] = field(default_factory=dict)  # flow requests
    wake_times: set[datetime] = field(default_factory=set)  # enqueue a run job at each


class Stop:
    """A step outcome that ends the lead's pass: waiting until `wake_at`, or removed."""

    def __init__(self, status: str, wake_at: datetime | None = None) -> None:
        self.status = status
        self.wake_at = wake_at


class Resolver(Protocol):
    """What `resolve` may ask of the instance being applied; `fail` is the error to raise."""

    @property
    def conn(self) -> Connection: ...

    @property
    def program(self) -> ProgramInfo | None:
        """The campaign's own program."""
        ...

    def fail(self, path: str, problem: str) -> Exception: ...

    def field(self, name: str, path: str) -> Field: ...

    def list_ref(self, name: str, path: str) -> str: ...

    def program_ref(self, name: str, path: str) -> ProgramInfo: ...

    def campaign(self, name: str, path: str) -> str: ...


class Rewriter(Protocol):
    """Points references to the cloned program (`Old.X`, `Old`) at the copy."""

    def name(self, ref: Any) -> Any: ...

    def program(self, name: str) -> str: ...


class Chunk(Protocol):
    """The chunk of leads a run takes through its steps, in one write transaction (flow.py)."""

    conn: Connection
    now: datetime
    full: str  # the campaign's full name
    plan: RunPlan
    batch: SyncBatch
    result: ChunkResult
    outgoing: list[Message]  # stored together when the chunk ends
    queued: set[tuple[int, int]]  # (lead, step) already in the outbox

    def value(self, st: LeadState, f: Field) -> str | None: ...

    def context(self, st: LeadState, recipient: list[tuple[str, str]]) -> TokenContext: ...

    def row(
        self, st: LeadState, kind: Any, asset: str, attrs: Sequence[tuple[str, str]], campaign: str | None = None
    ) -> None: ...

    def cause(self, step: Step, action: str) -> ChangeCause: ...


class FlowStep(ABC):
    """One kind of flow step, from the instance file to what it does to a lead."""

    name: str

    @abstractmethod
    def shape(self, checker: Checker, arg: Any, path: str) -> Any:
        """The instance file's argument, checked and normalised (`checker.fail` when wrong)."""

    def resolve(self, resolver: Resolver, arg: Any, path: str) -> Any:
        """The argument as stored, its references checked against the instance."""
        return arg

    def rename(self, rewriter: Rewriter, arg: Any) -> Any:
        """The stored argument for the copy of a cloned program's campaign."""
        return arg

    @abstractmethod
    def compile(self, conn: Connection, registry: FieldRegistry, plan: RunPlan, arg: Any) -> Any:
        """The stored argument resolved for a run pass; an error skips the step for the run."""

    def prepare(self, chunk: Chunk, lead_ids: Sequence[int]) -> None:
        """Read once per chunk what `run` needs for all its leads; most steps need nothing."""
        return None

    @abstractmethod
    def run(self, chunk: Chunk, step: Step, st: LeadState, recipient: list[tuple[str, str]]) -> Stop | None:
        """Apply the compiled step to one lead; a `Stop` ends the lead's pass."""


STEPS: Registry[FlowStep] = Registry("flow step")
