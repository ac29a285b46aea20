"""The marketing engine: domain rules over the store, no XML.

`Engine` is the one object the SOAP layer (and the CLI) talks to. Its methods take and
return the plain values of `engine.models` and raise `mktows.errors.MarketoError`
subclasses. Each write method runs in one transaction: it either applies fully, with its
activities, or changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from mktows.engine.models import (
    ActivityPage,
    ApiUser,
    FieldInfo,
    Lead,
    LeadInput,
    LeadKey,
    LeadPage,
    LeadSelector,
    ListOperationOutcome,
    MergeOutcome,
    ObjectMetadata,
    StreamPosition,
    SyncOutcome,
)
from mktows.store.database import Database


class Engine:
    def __init__(self, database: Database, *, max_window_days: int = 30, max_batch_size: int = 1000) -> None:
        raise NotImplementedError

    # --- API users -------------------------------------------------------------------------
    def api_user(self, user_id: str) -> ApiUser | None: ...
    def put_api_user(self, user_id: str, encryption_key: str) -> ApiUser: ...

    # --- fields ---------------------------------------------------------------------------
    def lead_fields(self) -> list[FieldInfo]: ...
    def add_lead_field(self, field: FieldInfo) -> None: ...

    # --- leads (SPEC 7.1 - 7.5) -----------------------------------------------------------
    def get_leads(self, key: LeadKey) -> list[Lead]: ...
    def sync_lead(
        self,
        record: LeadInput,
        *,
        return_lead: bool,
        cookie: str | None = None,
        move_cookie: bool = False,
        workspace: str | None = None,
    ) -> SyncOutcome: ...
    def sync_leads(self, records: list[LeadInput], *, dedup: bool = True) -> list[SyncOutcome]: ...
    def page_leads(
        self,
        selector: LeadSelector,
        *,
        position: str | None = None,
        batch_size: int | None = None,
        include_attributes: list[str] | None = None,
    ) -> LeadPage: ...
    def merge_leads(
        self, winner: list[tuple[str, str]], losers: list[list[tuple[str, str]]]
    ) -> MergeOutcome: ...

    # --- activities (SPEC 7.6, 7.7) -------------------------------------------------------
    def lead_activity(
        self,
        key: LeadKey,
        *,
        include_types: list[str] | None = None,
        exclude_types: list[str] | None = None,
        position: StreamPosition | None = None,
        batch_size: int | None = None,
    ) -> ActivityPage: ...
    def lead_changes(
        self,
        position: StreamPosition,
        *,
        include_types: list[str] | None = None,
        exclude_types: list[str] | None = None,
        names: list[str] | None = None,
        batch_size: int | None = None,
        selector: LeadSelector | None = None,
    ) -> ActivityPage: ...

    # --- lists (SPEC 7.8) -----------------------------------------------------------------
    def list_operation(
        self,
        operation: str,
        list_key_type: str,
        list_name: str,
        members: list[LeadKey],
        *,
        strict: bool = False,
        skip_activity_log: bool = False,
    ) -> ListOperationOutcome: ...
    def add_list(self, name: str) -> int: ...

    # --- metadata (SPEC 7.17, 7.18) -------------------------------------------------------
    def describe(self, object_name: str) -> ObjectMetadata: ...
    def object_names(self) -> list[str]: ...

    def now(self) -> datetime: ...
