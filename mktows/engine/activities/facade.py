"""The activities family's calls on `Engine`: one lead's activities and the change stream of all leads."""

from __future__ import annotations

from mktows.engine.activities import reads as activities
from mktows.engine.base import EngineBase
from mktows.engine.models import (
    ActivityPage,
    LeadKey,
    LeadSelector,
    StreamPosition,
)


class ActivityCalls(EngineBase):
    def lead_activity(
        self,
        key: LeadKey,
        *,
        include_types: list[str] | None = None,
        exclude_types: list[str] | None = None,
        position: StreamPosition | None = None,
        batch_size: int | None = None,
    ) -> ActivityPage:
        with self.db.read() as conn:
            return activities.lead_activity(
                conn,
                key,
                include_types=include_types,
                exclude_types=exclude_types,
                position=position,
                batch_size=batch_size,
                now=self.now(),
            )

    def lead_changes(
        self,
        position: StreamPosition,
        *,
        include_types: list[str] | None = None,
        exclude_types: list[str] | None = None,
        names: list[str] | None = None,
        batch_size: int | None = None,
        selector: LeadSelector | None = None,
    ) -> ActivityPage:
        with self.db.read() as conn:
            return activities.lead_changes(
                conn,
                position,
                include_types=include_types,
                exclude_types=exclude_types,
                names=names,
                batch_size=batch_size,
                selector=selector,
            )
