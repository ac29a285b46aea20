"""Plain Python values -> the generated request dataclasses, shared by `Client` and
`AsyncClient` so that both take the same arguments and send the same requests.

Each operation's builder takes either a ready request object or keyword arguments (never
both); the conveniences are small and regular: a lead key is a `LeadKey` or a
`(key_type, value)` pair (a bare int is an IDNUM where only ids are allowed), an attribute or
token list is a `dict`, a time is a `datetime` (a naive one is UTC).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from mktows.client.codec import format_scalar
from mktows.client.types import (
    ActivityTypeFilter,
    Attrib,
    Attribute,
    CustomObj,
    LeadKey,
    LeadRecord,
    LeadSelector,
    ListKey,
    MObjAssociation,
    MObjCriteria,
    MObject,
    ParamsDeleteCustomObjects,
    ParamsDeleteMObjects,
    ParamsDescribeMObject,
    ParamsGetCampaignsForSource,
    ParamsGetChannels,
    ParamsGetCustomObjects,
    ParamsGetImportToListStatus,
    ParamsGetLead,
    ParamsGetLeadActivity,
    ParamsGetLeadChanges,
    ParamsGetMObjects,
    ParamsGetMultipleLeads,
    ParamsGetTags,
    ParamsImportToList,
    ParamsListOperation,
    ParamsMergeLeads,
    ParamsRequestCampaign,
    ParamsScheduleCampaign,
    ParamsSyncCustomObjects,
    ParamsSyncLead,
    ParamsSyncMObjects,
    ParamsSyncMultipleLeads,
    StreamPosition,
    Tag,
)

R = TypeVar("R")

LeadKeyLike = LeadKey | tuple[str, str | int]
AttributesLike = Mapping[str, object] | Sequence[Attribute]
AttribsLike = Mapping[str, object] | Sequence[Attrib]
LeadRecordLike = LeadRecord | Mapping[str, object]
CustomObjLike = CustomObj | tuple[AttributesLike, AttributesLike]
# The LeadRecord elements a record dict may name (any case); every other key is a field.
_KEY_ELEMENTS = {"id": "id", "email": "email", "foreignsyspersonid": "foreign_sys_person_id"}
_KEY_ELEMENTS["foreignsystype"] = "foreign_sys_type"


# -- small values


def text(value: object) -> str:
    """A field value as the API writes it: None clears the field (empty), a bool is
    `true`/`false`, a datetime ISO 8601."""
    return "" if value is None else format_scalar(value)


def aware(moment: datetime) -> datetime:
    """`moment` with a time zone (a naive datetime is taken as UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def make_lead_key(key: LeadKeyLike | int) -> LeadKey:
    """A `LeadKey` from a `LeadKey`, a `("EMAIL", "a@example.com")` pair, or a lead id."""
    if isinstance(key, LeadKey):
        return key
    if isinstance(key, int):
        return LeadKey(key_type="IDNUM", key_value=str(key))
    key_type, value = key
    return LeadKey(key_type=key_type.upper(), key_value=str(value))


def attribute_list(values: AttributesLike) -> list[Attribute]:
    """`{"FirstName": "Ada"}` -> `[Attribute(attr_name="FirstName", attr_value="Ada")]`."""
    if isinstance(values, Mapping):
        return [Attribute(attr_name=name, attr_value=text(value)) for name, value in values.items()]
    return list(values)


def attrib_list(values: AttribsLike) -> list[Attrib]:
    """`{"Name": "Deal"}` -> `[Attrib(name="Name", value="Deal")]`."""
    if isinstance(values, Mapping):
        return [Attrib(name=name, value=text(value)) for name, value in values.items()]
    return list(values)


def token_name(name: str) -> str:
    """`my.Offer` or `Offer` -> `{{my.Offer}}`, the form the campaign calls take."""
    if name.startswith("{{"):
        return name
    return "{{" + (name if name.lower().startswith("my.") else f"my.{name}") + "}}"


def token_list(values: AttribsLike) -> list[Attrib]:
    """Program tokens: a dict of name -> value (names completed to `{{my.Name}}`) or Attribs."""
    if isinstance(values, Mapping):
        return [Attrib(name=token_name(name), value=text(value)) for name, value in values.items()]
    return list(values)


def make_lead_record(
    record: LeadRecordLike | None = None,
    *,
    id: int | None = None,
    email: str | None = None,
    foreign_sys_person_id: str | None = None,
    foreign_sys_type: str | None = None,
    attributes: AttributesLike | None = None,
) -> LeadRecord:
    """A `LeadRecord` from keys and a dict of fields, or from one dict where `Id`, `Email`,
    `ForeignSysPersonId` and `ForeignSysType` are the keys and every other entry a field."""
    if isinstance(record, LeadRecord):
        return record
    keys: dict[str, object] = {
        "id": id,
        "email": email,
        "foreign_sys_person_id": foreign_sys_person_id,
        "foreign_sys_type": foreign_sys_type,
    }
    fields: dict[str, object] = {}
    for name, value in (record or {}).items():
        key = _KEY_ELEMENTS.get(name.lower())
        if key is None:
            fields[name] = value
        elif value is not None and value != "":
            keys[key] = value
    field_list = attribute_list(fields) if fields else []
    if attributes is not None:
        field_list += attribute_list(attributes)
    return LeadRecord(
        id=int(str(keys["id"])) if keys["id"] is not None else None,
        email=_str_or_none(keys["email"]),
        foreign_sys_person_id=_str_or_none(keys["foreign_sys_person_id"]),
        foreign_sys_type=_str_or_none(keys["foreign_sys_type"]),
        lead_attribute_list=field_list or None,
    )


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def make_custom_obj(keys: AttributesLike, attributes: AttributesLike | None = None) -> CustomObj:
    """A custom-object record: its key fields (link and dedupe fields) and its other fields."""
    return CustomObj(
        custom_obj_key_list=attribute_list(keys),
        custom_obj_attribute_list=attribute_list(attributes) if attributes is not None else None,
    )


def _custom_obj(value: CustomObjLike) -> CustomObj:
    return value if isinstance(value, CustomObj) else make_custom_obj(*value)


def _criteria(value: MObjCriteria | tuple[str, str, object]) -> MObjCriteria:
    if isinstance(value, MObjCriteria):
        return value
    name, comparison, attr_value = value
    return MObjCriteria(attr_name=name, comparison=comparison.upper(), attr_value=text(attr_value))


def _tag(value: Tag | str) -> Tag:
    return value if isinstance(value, Tag) else Tag(type=value)


def given(request: R, *others: object) -> R:
    """`request`, refusing keyword arguments given beside it."""
    if any(value is not None for value in others):
        raise TypeError(f"pass a {type(request).__name__} or keyword arguments, not both")
    return request


def required(name: str, value: R | None) -> R:
    if value is None:
        raise missing(name)
    return value


def missing(name: str) -> TypeError:
    return TypeError(f"missing argument {name!r}")


# -- one builder per operation


def get_lead(request: ParamsGetLead | None, *, lead_key: LeadKeyLike | None) -> ParamsGetLead:
    if request is not None:
        return given(request, lead_key)
    if lead_key is None:
        raise missing("lead_key")
    return ParamsGetLead(lead_key=make_lead_key(lead_key))


def get_multiple_leads(
    request: ParamsGetMultipleLeads | None,
    *,
    lead_selector: LeadSelector | None,
    last_updated_at: datetime | None,
    stream_position: str | None,
    batch_size: int | None,
    include_attributes: Sequence[str] | None,
) -> ParamsGetMultipleLeads:
    if request is not None:
        return given(request, lead_selector, last_updated_at, stream_position, batch_size, include_attributes)
    if lead_selector is None and last_updated_at is None:
        raise TypeError("getMultipleLeads needs a lead_selector (or the deprecated last_updated_at)")
    return ParamsGetMultipleLeads(
        lead_selector=lead_selector,
        last_updated_at=last_updated_at,
        stream_position=stream_position or None,
        batch_size=batch_size,
        include_attributes=list(include_attributes) if include_attributes is not None else None,
    )


def sync_lead(
    request: ParamsSyncLead | None,
    *,
    lead_record: LeadRecordLike | None,
    id: int | None,
    email: str | None,
    foreign_sys_person_id: str | None,
    foreign_sys_type: str | None,
    attributes: AttributesLike | None,
    return_lead: bool | None,
    marketo_cookie: str | None,
) -> ParamsSyncLead:
    others = (lead_record, id, email, foreign_sys_person_id, foreign_sys_type, attributes, return_lead, marketo_cookie)
    if request is not None:
        return given(request, *others)
    record = make_lead_record(
        lead_record,
        id=id,
        email=email,
        foreign_sys_person_id=foreign_sys_person_id,
        foreign_sys_type=foreign_sys_type,
        attributes=attributes,
    )
    return ParamsSyncLead(lead_record=record, return_lead=bool(return_lead), marketo_cookie=marketo_cookie)


def sync_multiple_leads(
    request: ParamsSyncMultipleLeads | None,
    *,
    lead_record_list: Sequence[LeadRecordLike] | None,
    dedup_enabled: bool | None,
) -> ParamsSyncMultipleLeads:
    if request is not None:
        return given(request, lead_record_list, dedup_enabled)
    records = [make_lead_record(r) for r in required("lead_record_list", lead_record_list)]
    return ParamsSyncMultipleLeads(lead_record_list=records, dedup_enabled=dedup_enabled)


def merge_leads(
    request: ParamsMergeLeads | None,
    *,
    winning_lead_key_list: AttributesLike | None,
    losing_lead_key_lists: Sequence[AttributesLike] | None,
    merge_in_sales: bool | None,
) -> ParamsMergeLeads:
    if request is not None:
        return given(request, winning_lead_key_list, losing_lead_key_lists, merge_in_sales)
    if winning_lead_key_list is None or losing_lead_key_lists is None:
        raise missing("winning_lead_key_list" if winning_lead_key_list is None else "losing_lead_key_lists")
    return ParamsMergeLeads(
        winning_lead_key_list=attribute_list(winning_lead_key_list),
        losing_lead_key_lists=[attribute_list(k) for k in losing_lead_key_lists],
        merge_in_sales=merge_in_sales,
    )


def get_lead_activity(
    request: ParamsGetLeadActivity | None,
    *,
    lead_key: LeadKeyLike | None,
    activity_filter: ActivityTypeFilter | None,
    start_position: StreamPosition | None,
    batch_size: int | None,
) -> ParamsGetLeadActivity:
    if request is not None:
        return given(request, lead_key, activity_filter, start_position, batch_size)
    if lead_key is None:
        raise missing("lead_key")
    return ParamsGetLeadActivity(
        lead_key=make_lead_key(lead_key),
        activity_filter=activity_filter,
        start_position=start_position,
        batch_size=batch_size,
    )


def get_lead_changes(
    request: ParamsGetLeadChanges | None,
    *,
    start_position: StreamPosition | datetime | None,
    activity_filter: ActivityTypeFilter | None,
    activity_name_filter: Sequence[str] | None,
    batch_size: int | None,
    lead_selector: LeadSelector | None,
) -> ParamsGetLeadChanges:
    if request is not None:
        return given(request, start_position, activity_filter, activity_name_filter, batch_size, lead_selector)
    if start_position is None:
        raise missing("start_position")
    position = start_position
    if isinstance(position, datetime):
        position = StreamPosition(oldest_created_at=position)
    return ParamsGetLeadChanges(
        start_position=position,
        activity_filter=activity_filter,
        activity_name_filter=list(activity_name_filter) if activity_name_filter is not None else None,
        batch_size=batch_size,
        lead_selector=lead_selector,
    )


def list_operation(
    request: ParamsListOperation | None,
    *,
    list_operation: str | None,
    list_key: ListKey | str | None,
    list_member_list: Sequence[LeadKeyLike | int] | None,
    strict: bool | None,
) -> ParamsListOperation:
    if request is not None:
        return given(request, list_operation, list_key, list_member_list, strict)
    if list_key is None:
        raise missing("list_key")
    return ParamsListOperation(
        list_operation=required("list_operation", list_operation).upper(),
        list_key=list_key if isinstance(list_key, ListKey) else ListKey(key_type="MKTOLISTNAME", key_value=list_key),
        list_member_list=[make_lead_key(k) for k in required("list_member_list", list_member_list)],
        strict=strict,
    )


def import_to_list(
    request: ParamsImportToList | None,
    *,
    program_name: str | None,
    import_file_header: str | None,
    import_file_rows: Sequence[str] | None,
    import_list_mode: str | None,
    list_name: str | None,
    clear_list: bool | None,
    campaign_name: str | None,
) -> ParamsImportToList:
    others = (program_name, import_file_header, import_file_rows, import_list_mode, list_name, clear_list)
    if request is not None:
        return given(request, *others, campaign_name)
    return ParamsImportToList(
        program_name=required("program_name", program_name),
        import_file_header=required("import_file_header", import_file_header),
        import_file_rows=list(required("import_file_rows", import_file_rows)),
        import_list_mode=(import_list_mode or "UPSERTLEADS").upper(),
        list_name=required("list_name", list_name),
        clear_list=bool(clear_list),
        campaign_name=campaign_name,
    )


def get_import_to_list_status(
    request: ParamsGetImportToListStatus | None, *, program_name: str | None, list_name: str | None
) -> ParamsGetImportToListStatus:
    if request is not None:
        return given(request, program_name, list_name)
    return ParamsGetImportToListStatus(program_name=program_name, list_name=list_name)


def get_campaigns_for_source(
    request: ParamsGetCampaignsForSource | None, *, source: str | None, name: str | None, exact_name: bool | None
) -> ParamsGetCampaignsForSource:
    if request is not None:
        return given(request, source, name, exact_name)
    return ParamsGetCampaignsForSource(source=(source or "MKTOWS").upper(), name=name, exact_name=exact_name)


def request_campaign(
    request: ParamsRequestCampaign | None,
    *,
    source: str | None,
    campaign_id: int | None,
    lead_list: Sequence[LeadKeyLike | int] | None,
    program_name: str | None,
    campaign_name: str | None,
    program_token_list: AttribsLike | None,
) -> ParamsRequestCampaign:
    if request is not None:
        return given(request, source, campaign_id, lead_list, program_name, campaign_name, program_token_list)
    return ParamsRequestCampaign(
        source=(source or "MKTOWS").upper(),
        campaign_id=campaign_id,
        lead_list=[make_lead_key(k) for k in lead_list] if lead_list is not None else None,
        program_name=program_name,
        campaign_name=campaign_name,
        program_token_list=token_list(program_token_list) if program_token_list is not None else None,
    )


def schedule_campaign(
    request: ParamsScheduleCampaign | None,
    *,
    program_name: str | None,
    campaign_name: str | None,
    campaign_run_at: datetime | None,
    program_token_list: AttribsLike | None,
) -> ParamsScheduleCampaign:
    if request is not None:
        return given(request, program_name, campaign_name, campaign_run_at, program_token_list)
    return ParamsScheduleCampaign(
        program_name=required("program_name", program_name),
        campaign_name=required("campaign_name", campaign_name),
        campaign_run_at=campaign_run_at,
        program_token_list=token_list(program_token_list) if program_token_list is not None else None,
    )


def get_mobjects(
    request: ParamsGetMObjects | None,
    *,
    type: str | None,
    id: int | None,
    external_key: Attrib | tuple[str, str] | None,
    m_obj_criteria_list: Sequence[MObjCriteria | tuple[str, str, object]] | None,
    m_obj_association_list: Sequence[MObjAssociation] | None,
    include_details: bool | None,
    stream_position: str | None,
) -> ParamsGetMObjects:
    others = (type, id, external_key, m_obj_criteria_list, m_obj_association_list, include_details, stream_position)
    if request is not None:
        return given(request, *others)
    if isinstance(external_key, tuple):
        external_key = Attrib(name=external_key[0], value=external_key[1])
    return ParamsGetMObjects(
        type=required("type", type),
        id=id,
        external_key=external_key,
        m_obj_criteria_list=[_criteria(c) for c in m_obj_criteria_list] if m_obj_criteria_list is not None else None,
        m_obj_association_list=list(m_obj_association_list) if m_obj_association_list is not None else None,
        include_details=include_details,
        stream_position=stream_position or None,
    )


def sync_mobjects(
    request: ParamsSyncMObjects | None, *, m_object_list: Sequence[MObject] | None, operation: str | None
) -> ParamsSyncMObjects:
    if request is not None:
        return given(request, m_object_list, operation)
    return ParamsSyncMObjects(
        m_object_list=list(required("m_object_list", m_object_list)),
        operation=required("operation", operation).upper(),
    )


def delete_mobjects(
    request: ParamsDeleteMObjects | None, *, m_object_list: Sequence[MObject] | None
) -> ParamsDeleteMObjects:
    if request is not None:
        return given(request, m_object_list)
    return ParamsDeleteMObjects(m_object_list=list(required("m_object_list", m_object_list)))


def describe_mobject(request: ParamsDescribeMObject | None, *, object_name: str | None) -> ParamsDescribeMObject:
    if request is not None:
        return given(request, object_name)
    return ParamsDescribeMObject(object_name=required("object_name", object_name))


def get_channels(request: ParamsGetChannels | None, *, tag: Tag | Sequence[str] | None) -> ParamsGetChannels:
    if request is not None:
        return given(request, tag)
    if tag is not None and not isinstance(tag, Tag):
        tag = Tag(values=list(tag))
    return ParamsGetChannels(tag=tag)


def get_tags(request: ParamsGetTags | None, *, tag_list: Sequence[Tag | str] | None) -> ParamsGetTags:
    if request is not None:
        return given(request, tag_list)
    return ParamsGetTags(tag_list=[_tag(t) for t in tag_list] if tag_list is not None else None)


def get_custom_objects(
    request: ParamsGetCustomObjects | None,
    *,
    obj_type_name: str | None,
    stream_position: str | None,
    batch_size: int | None,
    custom_obj_key_list: AttributesLike | None,
    include_attributes: Sequence[str] | None,
) -> ParamsGetCustomObjects:
    if request is not None:
        return given(request, obj_type_name, stream_position, batch_size, custom_obj_key_list, include_attributes)
    return ParamsGetCustomObjects(
        obj_type_name=required("obj_type_name", obj_type_name),
        stream_position=stream_position or None,
        batch_size=batch_size,
        custom_obj_key_list=attribute_list(custom_obj_key_list) if custom_obj_key_list is not None else None,
        include_attributes=list(include_attributes or ()),
    )


def sync_custom_objects(
    request: ParamsSyncCustomObjects | None,
    *,
    obj_type_name: str | None,
    custom_obj_list: Sequence[CustomObjLike] | None,
    operation: str | None,
) -> ParamsSyncCustomObjects:
    if request is not None:
        return given(request, obj_type_name, custom_obj_list, operation)
    return ParamsSyncCustomObjects(
        obj_type_name=required("obj_type_name", obj_type_name),
        custom_obj_list=[_custom_obj(o) for o in required("custom_obj_list", custom_obj_list)],
        operation=operation.upper() if operation is not None else None,
    )


def delete_custom_objects(
    request: ParamsDeleteCustomObjects | None,
    *,
    obj_type_name: str | None,
    custom_obj_key_lists: Sequence[AttributesLike] | None,
) -> ParamsDeleteCustomObjects:
    if request is not None:
        return given(request, obj_type_name, custom_obj_key_lists)
    return ParamsDeleteCustomObjects(
        obj_type_name=required("obj_type_name", obj_type_name),
        custom_obj_key_lists=[attribute_list(k) for k in required("custom_obj_key_lists", custom_obj_key_lists)],
    )


# -- whether running a call twice is harmless (see errors.NOT_REPEATABLE for the operations)


def sync_multiple_leads_repeatable(request: ParamsSyncMultipleLeads) -> bool:
    """With dedupEnabled false every email-only record creates a lead: a repeat duplicates them."""
    return request.dedup_enabled is not False


def sync_mobjects_repeatable(request: ParamsSyncMObjects) -> bool:
    """An object with neither id nor external key is created anew by every INSERT or UPSERT."""
    return request.operation == "UPDATE" or all(
        o.id is not None or o.external_key is not None for o in request.m_object_list
    )
