"""describeMObject / listMObjects from the engine's own tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from mktows.engine.leads.fields import FieldRegistry
from mktows.engine.models import ObjectField, ObjectMetadata
from mktows.engine.objects.custom import CustomType
from mktows.engine.objects.opportunity_schema import OPPORTUNITY, ROLE, STANDARD_FIELDS, Schema
from mktows.errors import BadParameter

OBJECT_NAMES = ["ActivityRecord", "LeadRecord", OPPORTUNITY, ROLE]
EPOCH = datetime(2010, 1, 1, tzinfo=UTC)
DESCRIPTIONS = {OPPORTUNITY: "Opportunity", ROLE: "Role of a person in an opportunity"}

# name, sourceObject, dataType, size, isName, isPrimaryKey
_ACTIVITY_FIELDS: tuple[tuple[str, str, str, int | None, bool, bool], ...] = (
    ("id", "Event", "integer", 10, False, True),
    ("activityDateTime", "Event", "dateTime", None, False, False),
    ("activityType", "Event", "string", 255, True, False),
    ("mktgAssetName", "Event", "string", 255, False, False),
    ("activityAttributes", "Event", "Array", None, False, False),
    ("campaign", "Campaign", "string", 255, False, False),
    ("personName", "Lead", "string", 255, False, False),
    ("mktPersonId", "Lead", "integer", 10, False, False),
    ("foreignSysId", "Lead", "string", 50, False, False),
    ("orgName", "Company", "string", 255, False, False),
    ("foreignSysOrgId", "Company", "string", 50, False, False),
)


def object_names() -> list[str]:
    return list(OBJECT_NAMES)


def _activity_record() -> ObjectMetadata:
    fields = [
        ObjectField(
            name=name,
            data_type=dtype,
            description=f"{source} {name}",
            display_name=None,
            source_object=source,
            size=size,
            read_only=True,
            update_blocked=True,
            is_name=is_name,
            primary_key=pk,
            updated_at=EPOCH,
        )
        for name, source, dtype, size, is_name, pk in _ACTIVITY_FIELDS
    ]
    return ObjectMetadata(
        name="ActivityRecord",
        description="Composite of Event, Campaign, Lead and Company",
        custom=False,
        virtual=True,
        fields=fields,
        updated_at=EPOCH,
    )


def _lead_record(registry: FieldRegistry) -> ObjectMetadata:
    fields = [
        ObjectField(
            name="Id",
            data_type="integer",
            display_name="Id",
            source_object="Lead",
            size=10,
            read_only=True,
            update_blocked=True,
            primary_key=True,
            updated_at=EPOCH,
        )
    ]
    for f in registry:
        fields.append(
            ObjectField(
                name=f.name,
                data_type=f.data_type,
                display_name=f.display_name,
                source_object="Company"
                if f.name in ("Company", "Industry", "AnnualRevenue", "NumberOfEmployees")
                else "Lead",
                size=f.size,
                read_only=f.read_only,
                update_blocked=f.read_only,
                is_name=False,
                custom=f.custom,
                updated_at=EPOCH,
            )
        )
    return ObjectMetadata(
        name="LeadRecord",
        description="Composite of Lead and Company",
        custom=False,
        virtual=True,
        fields=fields,
        updated_at=EPOCH,
    )


def _standard(schema: Schema, description: str) -> ObjectMetadata:
    """Opportunity / OpportunityPersonRole: the standard fields, then the custom ones."""
    fields = [
        ObjectField(
            name=f.name,
            data_type=f.data_type,
            description=f.description,
            display_name=f.label,
            source_object=schema.name,
            size=f.size,
            read_only=f.read_only,
            update_blocked=f.update_blocked,
            is_name=f.name == "Name",
            primary_key=f.name == "Id",
            custom=f.custom,
            updated_at=EPOCH,
        )
        for f in schema.fields
    ]
    return ObjectMetadata(
        name=schema.name, description=description, custom=False, virtual=False, fields=fields, updated_at=EPOCH
    )


def _custom_object(ctype: CustomType) -> ObjectMetadata:
    """A custom object type: its dedupe (key) fields are the primary key; the link field says
    which lead field it holds."""
    fields = [
        ObjectField(
            name=f.name,
            data_type=f.type,
            display_name=f.display_name,
            description=f"Links the record to the lead whose {f.link} it holds" if f.link else None,
            source_object=ctype.name,
            update_blocked=f.dedupe,
            is_name=False,
            primary_key=f.dedupe,
            custom=True,
            updated_at=EPOCH,
        )
        for f in ctype.fields
    ]
    return ObjectMetadata(
        name=ctype.name, description=ctype.display_name, custom=True, virtual=False, fields=fields, updated_at=EPOCH
    )


def describe(
    object_name: str,
    registry: FieldRegistry,
    schemas: Mapping[str, Schema] | None = None,
    custom_types: Sequence[CustomType] = (),
) -> ObjectMetadata:
    """Metadata of one API object; any other name is fault 20110. `schemas` (opportunity_fields.load_schemas)
    adds the instance's custom Opportunity and OpportunityPersonRole fields. The instance's
    custom object types are described too (by case-insensitive name), although listMObjects
    keeps to the vendor's four names, which clients may compare literally."""
    name = (object_name or "").strip()
    if name == "ActivityRecord":
        return _activity_record()
    if name == "LeadRecord":
        return _lead_record(registry)
    if name in DESCRIPTIONS:
        schema = (schemas or {}).get(name) or Schema(name, list(STANDARD_FIELDS[name]))
        return _standard(schema, DESCRIPTIONS[name])
    for ctype in custom_types:
        if ctype.name.lower() == name.lower():
            return _custom_object(ctype)
    raise BadParameter(f"Unknown object: {object_name}")
