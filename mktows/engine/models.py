"""Plain values that cross the line between the engine and the SOAP layer.

The SOAP layer builds the inputs from decoded requests and renders the outputs; the engine
never sees XML and the SOAP layer never sees SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple

SyncStatusName = Literal["CREATED", "UPDATED", "FAILED"]


@dataclass(frozen=True)
class LeadKey:
    """A LeadKeyRef name (IDNUM, EMAIL, COOKIE, SFDCLEADID, ...) and its value."""

    key_type: str
    key_value: str


@dataclass(frozen=True)
class FieldInfo:
    """One lead field as describeMObject, getLead and activities show it."""

    name: str  # API name, e.g. FirstName
    display_name: str  # UI label, e.g. First Name
    data_type: str  # string, integer, email, date, datetime, boolean, float, ...
    size: int | None = None
    read_only: bool = False
    custom: bool = False
    description: str | None = None


class LeadAttribute(NamedTuple):
    """One field value of a lead. A tuple, in the order the API writes an attribute's parts
    (name, type, value), since a page of leads holds thousands of them."""

    name: str
    data_type: str
    value: str


@dataclass
class Lead:
    id: int
    email: str | None
    foreign_sys_person_id: str | None
    foreign_sys_type: str | None
    # non-empty fields other than the four above, sorted by name, values already formatted
    attributes: list[LeadAttribute]
    created_at: datetime
    updated_at: datetime


@dataclass
class LeadInput:
    """One leadRecord of syncLead / syncMultipleLeads, as the client sent it."""

    id: int | None = None
    email: str | None = None
    foreign_sys_person_id: str | None = None
    foreign_sys_type: str | None = None
    attributes: list[tuple[str, str]] = field(default_factory=list)  # (API name, value)


@dataclass
class SyncOutcome:
    lead_id: int
    status: SyncStatusName
    error: str | None = None
    lead: Lead | None = None  # filled when the caller asked for it (returnLead)


@dataclass(frozen=True)
class KeySelector:
    key_type: str
    key_values: list[str]


@dataclass(frozen=True)
class ListSelector:
    list_name: str | None = None
    list_id: int | None = None


@dataclass(frozen=True)
class UpdatedAtSelector:
    oldest: datetime
    latest: datetime | None = None


LeadSelector = KeySelector | ListSelector | UpdatedAtSelector


@dataclass
class LeadPage:
    leads: list[Lead]
    remaining: int
    stream_position: str  # "" when nothing remains


@dataclass
class Activity:
    id: int
    created_at: datetime
    type_name: str  # display name, e.g. "Change Data Value"
    asset_name: str  # "" when none
    attributes: list[tuple[str, str]]  # ordered; "Lead ID" last
    campaign: str | None
    lead_id: int
    person_name: str | None = None
    org_name: str | None = None
    foreign_sys_id: str | None = None  # the lead's ForeignSysPersonId


@dataclass
class StreamPosition:
    """The complex stream position of getLeadActivity / getLeadChanges."""

    latest_created_at: datetime | None = None
    oldest_created_at: datetime | None = None
    activity_created_at: datetime | None = None
    offset: str | None = None


@dataclass
class ActivityPage:
    activities: list[Activity]
    remaining: int
    position: StreamPosition


@dataclass
class MergeOutcome:
    winner_id: int | None
    loser_ids: list[int]
    merged: bool
    error: str | None = None


@dataclass
class MemberStatus:
    key: LeadKey
    status: bool


@dataclass
class ListOperationOutcome:
    success: bool
    statuses: list[MemberStatus]


@dataclass
class ApiUser:
    user_id: str
    encryption_key: str
    enabled: bool = True
    strict: bool = False  # refuse what Marketo silently ignored, instead of logging it
    previous_key: str | None = None  # accepted too until previous_key_expires_at (a rotation)
    previous_key_expires_at: datetime | None = None


@dataclass
class ObjectField:
    """One field of describeMObject's metadata (all 14 elements are always emitted)."""

    name: str
    data_type: str
    description: str | None = None
    display_name: str | None = None
    source_object: str | None = None
    size: int | None = None
    read_only: bool = False
    update_blocked: bool = False
    is_name: bool | None = False
    primary_key: bool = False
    custom: bool = False
    dynamic: bool = False
    dynamic_field_ref: str | None = None
    updated_at: datetime | None = None


@dataclass
class ObjectMetadata:
    name: str
    description: str | None
    custom: bool
    virtual: bool
    fields: list[ObjectField]
    updated_at: datetime


# --- marketing assets ----------------------------------------------------------------------


@dataclass
class ProgramInfo:
    id: int
    name: str
    type: str
    channel: str | None
    workspace: str
    tokens: list[tuple[str, str]]  # (name without "my.", value), in declared order
    tags: list[tuple[str, str]] = field(default_factory=list)
    description: str | None = None


@dataclass
class EmailInfo:
    id: int
    program_id: int
    name: str
    from_name: str | None
    from_email: str
    reply_to: str | None
    subject: str
    html: str
    text: str


@dataclass
class CampaignInfo:
    id: int
    program_id: int | None
    program_name: str | None
    name: str  # the campaign's own name
    description: str
    kind: str  # trigger | batch
    sources: list[str]  # MKTOWS, SALES (trigger campaigns requested through the API)
    smart_list: list[dict[str, Any]]  # filters, as declared
    filter_logic: str  # all | any
    flow: list[dict[str, Any]]  # steps, as declared
    qualification: str  # every_time | once
    active: bool

    @property
    def full_name(self) -> str:
        """`Program Name.Campaign Name`, or the bare name outside programs."""
        return f"{self.program_name}.{self.name}" if self.program_name else self.name


@dataclass
class ImportStatus:
    """The last importToList into a list (getImportToListStatus)."""

    status: str  # PROCESSING | COMPLETE | FAILED | CANCELED
    started_at: datetime | None
    ended_at: datetime | None  # None while running
    estimated_seconds: int | None
    estimated_rows: int
    rows_imported: int
    rows_failed: int
    rows_ignored: int
    summary: str | None


# --- MObjects, channels and tags, custom objects --------------------------------------------


Pair = tuple[str, str]  # (name, value) as on the wire: Attrib, Attribute, token, key


@dataclass(frozen=True)
class ObjectRef:
    """An object named by its Marketo id or by an external key (field name, value)."""

    type: str
    id: int | None = None
    external_key: Pair | None = None


@dataclass(frozen=True)
class Criterion:
    """One getMObjects filter: `name` as the client spelt it, comparison EQ/NE/LT/LE/GT/GE."""

    name: str
    comparison: str
    value: str


@dataclass
class MObjectQuery:
    type: str
    id: int | None = None
    external_key: Pair | None = None
    criteria: list[Criterion] = field(default_factory=list)
    associations: list[ObjectRef] = field(default_factory=list)
    include_details: bool = False
    position: str | None = None


@dataclass
class MObject:
    """An MObject as read (all parts filled) or as given to syncMObjects/deleteMObjects."""

    type: str
    id: int | None = None
    external_key: Pair | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    attributes: list[Pair] = field(default_factory=list)
    type_attributes: list[tuple[str, list[Pair]]] = field(default_factory=list)  # (attrType, attrList)
    associations: list[ObjectRef] = field(default_factory=list)


@dataclass
class MObjectPage:
    objects: list[MObject]
    has_more: bool
    position: str


@dataclass
class MObjectStatus:
    """CREATED, UPDATED, UNCHANGED, SKIPPED, DELETED or FAILED (with `error`)."""

    status: str
    id: int | None = None
    external_key: Pair | None = None
    error: str | None = None


@dataclass
class ProgressionStatus:
    name: str
    step: int
    success: bool
    check_in: str | None = None  # event channels
    webinar: str | None = None  # webinar channels


@dataclass
class ChannelInfo:
    name: str
    kind: str  # program | event | webinar
    statuses: list[ProgressionStatus]


@dataclass
class TagTypeInfo:
    name: str
    values: list[str]


@dataclass
class CustomRecord:
    """One custom-object record: its key fields and its other fields, in declared order."""

    keys: list[Pair]
    attributes: list[Pair] = field(default_factory=list)


@dataclass
class CustomObjectPage:
    type_name: str  # canonical spelling
    records: list[CustomRecord]
    remaining: int
    position: str


@dataclass
class CustomObjectStatus:
    """CREATED, UPDATED, DELETED or FAILED (with `error`): the schema's SyncStatusEnum only."""

    type_name: str
    keys: list[Pair]
    status: str
    error: str | None = None
