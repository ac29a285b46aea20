"""The campaigns family's calls on `Engine`: channels, tags, and requesting or scheduling campaigns."""

from __future__ import annotations

from datetime import datetime

from mktows.engine.base import EngineBase
from mktows.engine.campaigns import catalog, programs
from mktows.engine.campaigns import requests as campaign_calls
from mktows.engine.models import (
    CampaignInfo,
    ChannelInfo,
    LeadKey,
    TagTypeInfo,
)


class CampaignCalls(EngineBase):
    def get_channels(self, names: list[str] | None = None) -> list[ChannelInfo]:
        """Every channel, or those named (unknown names left out), by name."""
        with self.db.read() as conn:
            return catalog.get_channels(conn, names)

    def get_tags(self, wanted: list[tuple[str, list[str]]] | None = None) -> list[TagTypeInfo]:
        """The tag types (not Channel), filtered by (type, values) pairs when given."""
        with self.db.read() as conn:
            return catalog.get_tags(conn, wanted)

    def campaigns_for_source(self, source: str, name: str | None = None, exact: bool = False) -> list[CampaignInfo]:
        with self.db.read() as conn:
            return programs.campaigns_for_source(conn, source, name, exact)

    def request_campaign(
        self,
        source: str,
        lead_keys: list[LeadKey],
        *,
        campaign_id: int | None = None,
        program_name: str | None = None,
        campaign_name: str | None = None,
        tokens: list[tuple[str, str]] | None = None,
    ) -> int:
        """requestCampaign: queue existing leads into a requestable trigger campaign; the run id."""
        with self.db.write() as conn:
            return campaign_calls.request_campaign(
                conn,
                source,
                lead_keys,
                campaign_id=campaign_id,
                program_name=program_name,
                campaign_name=campaign_name,
                tokens=tokens or [],
                now=self.now(),
            )

    def schedule_campaign(
        self,
        program_name: str,
        campaign_name: str,
        *,
        run_at: datetime | None = None,
        tokens: list[tuple[str, str]] | None = None,
        clone_to: str | None = None,
    ) -> int:
        """scheduleCampaign: a run of a batch campaign (on a fresh clone of its program); the run id."""
        with self.db.write() as conn:
            return campaign_calls.schedule_campaign(
                conn,
                program_name,
                campaign_name,
                run_at=run_at,
                tokens=tokens or [],
                clone_to=clone_to,
                max_clones_per_day=self.max_clones_per_day,
                now=self.now(),
            )
