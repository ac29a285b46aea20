"""describeMObject / listMObjects (SPEC 7.17, 7.18, 8.5) from the engine's own tables."""

from __future__ import annotations

from datetime import UTC, datetime

from mktows.engine.fields import FieldRegistry
from mktows.engine.models import ObjectField, ObjectMetadata
from mktows.errors import BadParameter

OBJECT_NAMES = ["ActivityRecord", "LeadRecord", "Opportunity", "OpportunityPersonRole"]
EPOCH = datetime(2010, 1, 1, tzinfo=UTC)

# name, sourceObject, dataType, size, isName, isPrimaryKey  (SPEC 7.17)
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

# name, dataType, size (SPEC 8.5)
_OPPORTUNITY_FIELDS: tuple[tuple[str, str, int | None], ...] = (
    ("Id", "integer", 10),
    ("Amount", "currency", None),
    ("CloseDate", "date", None),
    ("Description", "text", None),
    ("ExpectedRevenue", "currency", None),
    ("ExternalCreatedDate", "datetime", None),
    ("Fiscal", "string", 255),
    ("FiscalQuarter", "integer", 10),
    ("FiscalYear", "integer", 10),
    ("ForecastCategoryName", "string", 255),
    ("IsClosed", "boolean", None),
    ("IsWon", "boolean", None),
    ("LastActivityDate", "date", None),
    ("LeadSource", "string", 255),
    ("Name", "string", 255),
    ("NextStep", "string", 255),
    ("Probability", "integer", 10),
    ("Quantity", "float", None),
    ("Stage", "string", 255),
    ("Type", "string", 255),
)
_ROLE_FIELDS: tuple[tuple[str, str, int | None], ...] = (
    ("Id", "integer", 10),
    ("OpportunityId", "integer", 10),
    ("PersonId", "integer", 10),
    ("Role", "string", 255),
    ("IsPrimary", "boolean", None),
    ("ExternalCreatedDate", "datetime", None),
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
                source_object="Company" if f.name in ("Company", "Industry", "AnnualRevenue", "NumberOfEmployees") else "Lead",
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


def _standard(name: str, spec: tuple[tuple[str, str, int | None], ...], description: str) -> ObjectMetadata:
    fields = [
        ObjectField(
            name=fname,
            data_type=dtype,
            display_name=fname,
            source_object=name,
            size=size,
            read_only=fname == "Id",
            update_blocked=fname == "Id",
            is_name=fname == "Name",
            primary_key=fname == "Id",
            updated_at=EPOCH,
        )
        for fname, dtype, size in spec
    ]
    return ObjectMetadata(name=name, description=description, custom=False, virtual=False, fields=fields, updated_at=EPOCH)


def describe(object_name: str, registry: FieldRegistry) -> ObjectMetadata:
    """Metadata of one API object; any other name is fault 20110."""
    name = (object_name or "").strip()
    if name == "ActivityRecord":
        return _activity_record()
    if name == "LeadRecord":
        return _lead_record(registry)
    if name == "Opportunity":
        return _standard("Opportunity", _OPPORTUNITY_FIELDS, "Opportunity")
    if name == "OpportunityPersonRole":
        return _standard("OpportunityPersonRole", _ROLE_FIELDS, "Role of a person in an opportunity")
    raise BadParameter(f"Unknown object: {object_name}")
