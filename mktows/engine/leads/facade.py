"""The leads family's calls on `Engine`: lead fields, and reading, syncing, merging and paging leads."""

from __future__ import annotations

from mktows.engine.base import EngineBase
from mktows.engine.leads import console_reads, merge, sync
from mktows.engine.leads import reads as leads
from mktows.engine.leads.reads import one_lead_id
from mktows.engine.leads.registry import field_registry, put_field
from mktows.engine.models import (
    FieldInfo,
    Lead,
    LeadInput,
    LeadKey,
    LeadPage,
    LeadSelector,
    MergeOutcome,
    SyncOutcome,
)
from mktows.errors import BadParameter


class LeadCalls(EngineBase):
    def lead_fields(self) -> list[FieldInfo]:
        with self.db.read() as conn:
            return [f.info() for f in field_registry(conn)]

    def add_lead_field(self, field: FieldInfo) -> None:
        with self.db.write() as conn:
            put_field(conn, field, self.now())

    def search_leads(
        self,
        query: str,
        *,
        before_id: int | None = None,
        after: tuple[str, int] | None = None,
        limit: int = 50,
    ) -> console_reads.LeadPage:
        """The console's lead search: exact keys, email and name prefixes, paged by keyset."""
        with self.db.read() as conn:
            return console_reads.search(conn, query, before_id=before_id, after=after, limit=limit)

    def lead_memberships(self, lead_id: int) -> list[console_reads.Membership]:
        with self.db.read() as conn:
            return console_reads.memberships(conn, lead_id)

    def get_leads(self, key: LeadKey) -> list[Lead]:
        with self.db.read() as conn:
            return leads.get_leads(conn, field_registry(conn), key)

    def sync_lead(
        self,
        record: LeadInput,
        *,
        return_lead: bool,
        cookie: str | None = None,
        move_cookie: bool = False,
        workspace: str | None = None,
        cause: sync.ChangeCause | None = None,
    ) -> SyncOutcome:
        """syncLead: upsert one lead by Id > foreign id > anonymous cookie > email (docs/leads.md);
        the changes are logged with `cause` when they are not the SOAP API's."""
        with self.db.write() as conn:
            return sync.sync_lead(
                conn,
                field_registry(conn),
                record,
                self.now(),
                return_lead=return_lead,
                cookie=cookie,
                move_cookie=move_cookie,
                workspace=workspace,
                cause=cause,
            )

    def sync_leads(self, records: list[LeadInput], *, dedup: bool = True) -> list[SyncOutcome]:
        """syncMultipleLeads: per-record outcomes; an unknown field name fails the whole call."""
        if len(records) > self.max_sync_leads:
            raise BadParameter(
                f"syncMultipleLeads takes at most {self.max_sync_leads} leadRecords a call, got {len(records)}: "
                "send them in batches (300 a call is the usual size)"
            )
        with self.db.write() as conn:
            return sync.sync_leads(conn, field_registry(conn), records, self.now(), dedup=dedup)

    def page_leads(
        self,
        selector: LeadSelector,
        *,
        position: str | None = None,
        batch_size: int | None = None,
        include_attributes: list[str] | None = None,
    ) -> LeadPage:
        secret = self._hmac_secret()
        with self.db.read() as conn:
            return leads.page_leads(
                conn,
                field_registry(conn),
                selector,
                secret=secret,
                now=self.now(),
                position=position,
                batch_size=batch_size,
                include_attributes=include_attributes,
                max_batch_size=self.max_batch_size,
                max_window_days=self.max_window_days,
                max_page_bytes=self.max_page_bytes,
            )

    def merge_leads(self, winner: list[tuple[str, str]], losers: list[list[tuple[str, str]]]) -> MergeOutcome:
        with self.db.write() as conn:
            return merge.merge_leads(conn, winner, losers, self.now())

    def track_cookie(self, cookie: str) -> int:
        """The lead a Munchkin cookie belongs to, creating an anonymous lead for a new cookie."""
        with self.db.write() as conn:
            return sync.track_cookie(conn, cookie, self.now())

    def lead_id_for(self, key: LeadKey) -> int:
        """The single lead a key names (most recently updated on ties), or 20103."""
        with self.db.read() as conn:
            return one_lead_id(conn, key)
