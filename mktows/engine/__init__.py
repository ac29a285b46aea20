"""The marketing engine: domain rules over the store, no XML.

`Engine` is the one object the SOAP layer (and the CLI) talks to. Its methods take and
return the plain values of `engine.models` and raise `mktows.errors.MarketoError`
subclasses. Each write method runs in one transaction: it either applies fully, with its
activities, or changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select

from mktows.engine import (
    activities,
    campaign_calls,
    catalog,
    custom_objects,
    definitions,
    imports,
    leads,
    lists,
    merge,
    metadata,
    mobjects,
    opportunity_fields,
    programs,
    sync,
    users,
)
from mktows.engine.leads import one_lead_id
from mktows.engine.models import (
    ActivityPage,
    ApiUser,
    CampaignInfo,
    ChannelInfo,
    CustomObjectPage,
    CustomObjectStatus,
    CustomRecord,
    FieldInfo,
    ImportStatus,
    Lead,
    LeadInput,
    LeadKey,
    LeadPage,
    LeadSelector,
    ListOperationOutcome,
    MergeOutcome,
    MObject,
    MObjectPage,
    MObjectQuery,
    MObjectStatus,
    ObjectMetadata,
    Pair,
    StreamPosition,
    SyncOutcome,
    TagTypeInfo,
)
from mktows.errors import BadParameter
from mktows.store.database import Database
from mktows.store.tables import static_lists


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Engine:
    def __init__(
        self,
        database: Database,
        *,
        max_window_days: int = 30,
        max_batch_size: int = 1000,
        max_sync_leads: int = 1000,
        max_page_bytes: int = 32 * 1024 * 1024,
        max_clones_per_day: int = 10,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.db = database
        self.max_window_days = max_window_days
        self.max_batch_size = max_batch_size
        self.max_sync_leads = max_sync_leads
        self.max_page_bytes = max_page_bytes
        self.max_clones_per_day = max_clones_per_day
        self._clock = clock
        self._secret: bytes | None = None
        self._users = users.UserCache(self.api_users)

    def _hmac_secret(self) -> bytes:
        if self._secret is None:
            value = self.db.meta("hmac_secret")
            if value is None:
                raise RuntimeError("database not migrated: run `mktows migrate`")
            self._secret = value.encode()
        return self._secret

    # --- API users -------------------------------------------------------------------------
    def api_user(self, user_id: str, *, fresh: bool = False) -> ApiUser | None:
        """The user as this process last read it (`fresh`: as the database has it now)."""
        return self._users.get(user_id, fresh=fresh)

    def api_users(self) -> list[ApiUser]:
        with self.db.read() as conn:
            return users.all_users(conn)

    def put_api_user(self, user_id: str, encryption_key: str, *, enabled: bool = True) -> ApiUser:
        with self.db.write() as conn:
            user = users.put_user(conn, user_id, encryption_key, self.now(), enabled)
        self._users.reload()
        return user

    # --- fields ---------------------------------------------------------------------------
    def lead_fields(self) -> list[FieldInfo]:
        with self.db.read() as conn:
            return [f.info() for f in users.registry(conn)]

    def add_lead_field(self, field: FieldInfo) -> None:
        with self.db.write() as conn:
            users.put_field(conn, field, self.now())

    # --- leads ----------------------------------------------------------------------------
    def get_leads(self, key: LeadKey) -> list[Lead]:
        with self.db.read() as conn:
            return leads.get_leads(conn, users.registry(conn), key)

    def sync_lead(
        self,
        record: LeadInput,
        *,
        return_lead: bool,
        cookie: str | None = None,
        move_cookie: bool = False,
        workspace: str | None = None,
    ) -> SyncOutcome:
        """syncLead: upsert one lead by Id > foreign id > anonymous cookie > email (docs/leads.md)."""
        with self.db.write() as conn:
            return sync.sync_lead(
                conn,
                users.registry(conn),
                record,
                self.now(),
                return_lead=return_lead,
                cookie=cookie,
                move_cookie=move_cookie,
                workspace=workspace,
            )

    def sync_leads(self, records: list[LeadInput], *, dedup: bool = True) -> list[SyncOutcome]:
        """syncMultipleLeads: per-record outcomes; an unknown field name fails the whole call."""
        if len(records) > self.max_sync_leads:
            raise BadParameter(
                f"syncMultipleLeads takes at most {self.max_sync_leads} leadRecords a call, got {len(records)}: "
                "send them in batches (300 a call is the usual size)"
            )
        with self.db.write() as conn:
            return sync.sync_leads(conn, users.registry(conn), records, self.now(), dedup=dedup)

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
                users.registry(conn),
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

    # --- activities -----------------------------------------------------------------------
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

    # --- lists ----------------------------------------------------------------------------
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

    def apply_definitions(self, defs: definitions.Definitions) -> None:
        """The instance file's users, fields and marketing assets, all or nothing (idempotent)."""
        with self.db.write() as conn:
            definitions.apply_definitions(conn, defs, self.now())
        self._users.reload()

    def add_list(self, name: str, program: str | None = None) -> int:
        with self.db.write() as conn:
            return lists.add_list(conn, name, program, self.now())

    def list_names(self) -> list[tuple[int, str, str | None]]:
        """(id, name, program) of every static list."""
        with self.db.read() as conn:
            rows = conn.execute(select(static_lists.c.id, static_lists.c.name, static_lists.c.program_name))
            return [(r.id, r.name, r.program_name) for r in rows.all()]

    def lead_id_for(self, key: LeadKey) -> int:
        """The single lead a key names (most recently updated on ties), or 20103."""
        with self.db.read() as conn:
            return one_lead_id(conn, key)

    # --- metadata -------------------------------------------------------------------------
    def describe(self, object_name: str) -> ObjectMetadata:
        with self.db.read() as conn:
            return metadata.describe(
                object_name, users.registry(conn), opportunity_fields.load_schemas(conn), custom_objects.all_types(conn)
            )

    def object_names(self) -> list[str]:
        return metadata.object_names()

    # --- MObjects -------------------------------------------------------------------------
    def get_mobjects(self, query: MObjectQuery) -> MObjectPage:
        secret = self._hmac_secret()
        with self.db.read() as conn:
            return mobjects.get_mobjects(conn, query, secret=secret)

    def sync_mobjects(self, objects: list[MObject], operation: str) -> list[MObjectStatus]:
        """Per-object statuses in input order; each object applies fully or not at all."""
        with self.db.write() as conn:
            return mobjects.sync_mobjects(conn, objects, operation, self.now())

    def delete_mobjects(self, objects: list[MObject]) -> list[MObjectStatus]:
        with self.db.write() as conn:
            return mobjects.delete_mobjects(conn, objects, self.now())

    # --- channels and tags ----------------------------------------------------------------
    def get_channels(self, names: list[str] | None = None) -> list[ChannelInfo]:
        """Every channel, or those named (unknown names left out), by name."""
        with self.db.read() as conn:
            return catalog.get_channels(conn, names)

    def get_tags(self, wanted: list[tuple[str, list[str]]] | None = None) -> list[TagTypeInfo]:
        """The tag types (not Channel), filtered by (type, values) pairs when given."""
        with self.db.read() as conn:
            return catalog.get_tags(conn, wanted)

    # --- custom objects -------------------------------------------------------------------
    def get_custom_objects(
        self,
        type_name: str,
        *,
        keys: list[Pair] | None = None,
        include: list[str] | None = None,
        batch_size: int | None = None,
        position: str | None = None,
    ) -> CustomObjectPage:
        """Records matching a partial key (equality on key fields), 100 per page at most."""
        secret = self._hmac_secret()
        with self.db.read() as conn:
            return custom_objects.get_records(
                conn,
                type_name,
                keys=keys or [],
                include=include or [],
                batch_size=batch_size,
                position=position,
                secret=secret,
                now=self.now(),
            )

    def sync_custom_objects(
        self, type_name: str, records: list[CustomRecord], operation: str | None = None
    ) -> list[CustomObjectStatus]:
        """Per-record statuses in input order; operation absent means UPSERT."""
        with self.db.write() as conn:
            return custom_objects.sync_records(conn, users.registry(conn), type_name, records, operation, self.now())

    def delete_custom_objects(self, type_name: str, key_lists: list[list[Pair]]) -> list[CustomObjectStatus]:
        with self.db.write() as conn:
            return custom_objects.delete_records(conn, type_name, key_lists, self.now())

    # --- campaigns and imports ---------------------------------------------------------------
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

    def now(self) -> datetime:
        return self._clock()
