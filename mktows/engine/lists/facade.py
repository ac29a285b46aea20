"""The lists family's calls on `Engine`: static lists, membership and list imports."""

from __future__ import annotations

from mktows.engine.base import EngineBase
from mktows.engine.lists import console_reads, imports
from mktows.engine.lists import members as lists
from mktows.engine.models import (
    ImportStatus,
    LeadKey,
    ListOperationOutcome,
)


class ListCalls(EngineBase):
    def list_operation(
        self,
        operation: str,
        list_key_type: str,
        list_name: str,
        members: list[LeadKey],
        *,
        strict: bool = False,
        skip_activity_log: bool = False,
    ) -> ListOperationOutcome:
        with self.db.write() as conn:
            return lists.list_operation(
                conn,
                operation,
                list_key_type,
                list_name,
                members,
                strict=strict,
                skip_activity_log=skip_activity_log,
                now=self.now(),
            )

    def add_list(self, name: str, program: str | None = None) -> int:
        with self.db.write() as conn:
            return lists.add_list(conn, name, program, self.now())

    def list_names(self) -> list[tuple[int, str, str | None]]:
        """(id, name, program) of every static list."""
        with self.db.read() as conn:
            return lists.list_names(conn)

    def import_to_list(
        self,
        program_name: str | None,
        list_name: str | None,
        header: str | None,
        rows: list[str],
        *,
        mode: str | None,
        clear_list: bool = False,
        campaign_name: str | None = None,
    ) -> str:
        """importToList: queue the import; its status (PROCESSING)."""
        with self.db.write() as conn:
            return imports.import_to_list(
                conn,
                program_name=program_name,
                list_name=list_name,
                header=header,
                rows=rows,
                mode=mode,
                clear_list=clear_list,
                campaign_name=campaign_name,
                now=self.now(),
            )

    def import_status(self, program_name: str | None, list_name: str | None) -> ImportStatus:
        with self.db.read() as conn:
            return imports.import_status(conn, program_name, list_name)

    # --- the web console: lists and imports -------------------------------------------------

    def list_page(self, *, after: tuple[str, int] | None = None, limit: int = 50) -> list[console_reads.ListRow]:
        """Static lists by name then id, after the (name, id) `after` (keyset), members counted up to a bound."""
        with self.db.read() as conn:
            return console_reads.list_page(conn, after=after, limit=limit)

    def list_detail(self, list_id: int, *, count_all: bool = True) -> console_reads.ListRow | None:
        """A static list with all its members counted (a read of its whole index range: about
        30 ms a million members), or counted up to MEMBERS_COUNTED; None when unknown."""
        with self.db.read() as conn:
            return console_reads.list_detail(conn, list_id, count_all=count_all)

    def list_member_page(
        self, list_id: int, *, after_lead_id: int | None = None, limit: int = 50
    ) -> list[console_reads.MemberRow]:
        """A list's members by lead id, above `after_lead_id` (keyset)."""
        with self.db.read() as conn:
            return console_reads.member_page(conn, list_id, after_lead_id=after_lead_id, limit=limit)

    def import_page(
        self, *, before_id: int | None = None, list_id: int | None = None, limit: int = 50
    ) -> list[console_reads.ImportRow]:
        """Imports newest first, below the id `before_id` (keyset); with `list_id`, into that list only."""
        with self.db.read() as conn:
            return console_reads.import_page(conn, before_id=before_id, list_id=list_id, limit=limit)

    def import_detail(self, import_id: int) -> console_reads.ImportDetail | None:
        """An import with its counters, timing, summary and first failed rows; None when unknown."""
        with self.db.read() as conn:
            return console_reads.import_detail(conn, import_id, self.now())
