"""The lists family's calls on `Engine`: static lists, membership and list imports."""

from __future__ import annotations

from mktows.engine.base import EngineBase
from mktows.engine.lists import imports
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
