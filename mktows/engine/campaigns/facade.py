"""The campaigns family's calls on `Engine`: channels, tags, and requesting or scheduling campaigns."""

from __future__ import annotations

from datetime import datetime

from mktows.engine.base import EngineBase
from mktows.engine.campaigns import catalog, console_reads, programs
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

    # --- the web console: programs, emails, campaigns ---------------------------------------

    def program_page(self, *, after: str | None = None, limit: int = 50) -> list[console_reads.ProgramRow]:
        """Programs by name, those after the name `after` (keyset), with tags and costs."""
        with self.db.read() as conn:
            return console_reads.program_page(conn, after=after, limit=limit)

    def program_detail(self, program_id: int) -> console_reads.ProgramDetail | None:
        """A program with its My Tokens, lists, emails and campaigns; None when unknown."""
        with self.db.read() as conn:
            return console_reads.program_detail(conn, program_id)

    def set_program_tokens(
        self, program_id: int, values: list[tuple[str, str]], *, new: tuple[str, str] | None = None
    ) -> list[tuple[str, str]]:
        """New values for a program's My Tokens (and one more token with `new`); the tokens saved."""
        with self.db.write() as conn:
            return console_reads.set_program_tokens(conn, program_id, values, self.now(), new=new)

    def email_detail(self, email_id: int) -> console_reads.EmailDetail | None:
        """An email with its program, the campaigns that send it and the tokens it uses."""
        with self.db.read() as conn:
            return console_reads.email_detail(conn, email_id)

    def preview_email(
        self, email_id: int, lead: LeadKey, *, campaign_id: int | None = None
    ) -> console_reads.EmailPreview:
        """The email rendered for the lead as the campaign's send step would render it now."""
        with self.db.read() as conn:
            return console_reads.preview_email(conn, email_id, lead, campaign_id, self.now())

    def campaign_page(self, *, after_id: int | None = None, limit: int = 50) -> list[console_reads.CampaignRow]:
        """Campaigns by id, those after `after_id` (keyset), with their last and next runs."""
        with self.db.read() as conn:
            return console_reads.campaign_page(conn, after_id=after_id, limit=limit)

    def campaign_detail(self, campaign_id: int) -> console_reads.CampaignDetail | None:
        """A campaign with its smart list and flow; None when unknown."""
        with self.db.read() as conn:
            return console_reads.campaign_detail(conn, campaign_id)

    def campaign_run_page(
        self, campaign_id: int, *, before_id: int | None = None, limit: int = 20
    ) -> list[console_reads.RunRow]:
        """A campaign's runs, newest first, below the run id `before_id` (keyset), with progress."""
        with self.db.read() as conn:
            return console_reads.run_page(conn, campaign_id, before_id=before_id, limit=limit)
