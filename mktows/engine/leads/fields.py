"""The lead field registry: standard fields plus custom ones from the database.

Lookups are case-insensitive; output always uses the canonical API name.
Values are validated and normalised per data type on the way in, so what is stored is
already in the output format (`YYYY-MM-DD`, `true`/`false`, plain decimals).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from mktows.engine.models import FieldInfo

FIELD_TYPES: frozenset[str] = frozenset(
    {
        "string",
        "integer",
        "url",
        "date",
        "email",
        "phone",
        "text",
        "boolean",
        "float",
        "currency",
        "datetime",
        "score",
        "percent",
        "reference",
    }
)


@dataclass(frozen=True)
class Field:
    """A lead field; `column` names the `leads` column when the value is not in lead_values."""

    name: str
    display_name: str
    data_type: str
    size: int | None = None
    read_only: bool = False
    custom: bool = False
    column: str | None = None
    choices: tuple[str, ...] = ()  # the only values allowed (upper case), when not empty

    def info(self) -> FieldInfo:
        return FieldInfo(
            name=self.name,
            display_name=self.display_name,
            data_type=self.data_type,
            size=self.size,
            read_only=self.read_only,
            custom=self.custom,
        )


def _f(name: str, display: str, data_type: str = "string", size: int | None = 255, **kw: object) -> Field:
    return Field(name, display, data_type, size, **kw)  # type: ignore[arg-type]


# The ForeignSysType enumeration of the WSDL: the value is echoed in a typed element.
FOREIGN_SYS_TYPES = ("CUSTOM", "SFDC", "NETSUITE")

# Fields that are top-level LeadRecord elements, never repeated in leadAttributeList.
TOP_LEVEL = frozenset({"Email", "ForeignSysPersonId", "ForeignSysType"})

STANDARD_FIELDS: tuple[Field, ...] = (
    _f("Email", "Email Address", "email", column="email"),
    _f("ForeignSysPersonId", "Foreign Sys Person Id", column="foreign_sys_person_id"),
    _f("ForeignSysType", "Foreign Sys Type", size=32, column="foreign_sys_type", choices=FOREIGN_SYS_TYPES),
    _f("Salutation", "Salutation"),
    _f("FirstName", "First Name"),
    _f("MiddleName", "Middle Name"),
    _f("LastName", "Last Name"),
    _f("Title", "Job Title"),
    _f("Company", "Company Name"),
    _f("Phone", "Phone Number"),  # string, as in the vendor's getLead sample
    _f("MobilePhone", "Mobile Phone Number", "phone"),
    _f("Fax", "Fax Number", "phone"),
    _f("Website", "Website", "url"),
    _f("Address", "Address", "text", None),
    _f("City", "City"),
    _f("State", "State"),
    _f("PostalCode", "Postal Code"),
    _f("Country", "Country"),
    _f("Industry", "Industry"),
    _f("AnnualRevenue", "Annual Revenue", "currency", None),
    _f("NumberOfEmployees", "Num Employees", "integer", 10),
    _f("LeadSource", "Lead Source"),
    _f("LeadStatus", "Lead Status"),
    _f("Rating", "Lead Rating"),
    _f("LeadScore", "Lead Score", "integer", 10),
    _f("DoNotCall", "Do Not Call", "boolean", None),
    _f("DoNotCallReason", "Do Not Call Reason"),
    _f("Unsubscribed", "Unsubscribed", "boolean", None),
    _f("UnsubscribedReason", "Unsubscribed Reason", "text", None),
    _f("DateOfBirth", "Date of Birth", "date", None),
    _f("AnonymousIP", "Anonymous IP"),
    _f("InferredCompany", "Inferred Company", read_only=True),
    _f("InferredCountry", "Inferred Country", read_only=True),
    _f("LeadOwnerEmail", "Lead Owner Email Address", "email", column="lead_owner_email"),
    _f("SFDCLeadId", "SFDC Lead ID", size=64, column="sfdc_lead_id"),
    _f("SFDCContactId", "SFDC Contact ID", size=64, column="sfdc_contact_id"),
    _f("SFDCAccountId", "SFDC Account ID", size=64, column="sfdc_account_id"),
    _f("SFDCLeadOwnerId", "SFDC Lead Owner ID", size=64, column="sfdc_lead_owner_id"),
    _f("SFDCOpptyId", "SFDC Opportunity ID", size=64, column="sfdc_oppty_id"),
)

STANDARD_BY_LOWER: dict[str, Field] = {f.name.lower(): f for f in STANDARD_FIELDS}


class FieldRegistry:
    """Standard + custom fields, loaded once per call."""

    def __init__(self, custom: Iterable[Field] = ()) -> None:
        self.fields: list[Field] = list(STANDARD_FIELDS)
        for f in custom:
            if f.name.lower() not in STANDARD_BY_LOWER:
                self.fields.append(f)
        self._by_lower = {f.name.lower(): f for f in self.fields}
        self._by_name = {f.name: f for f in self.fields}  # the usual spelling, without folding

    def get(self, name: str) -> Field | None:
        return self._by_name.get(name) or self._by_lower.get(name.strip().lower())

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.fields)

    def unknown(self, names: Iterable[str]) -> list[str]:
        """Names not in the registry, in first-seen order, without duplicates."""
        out: list[str] = []
        for n in names:
            if self.get(n) is None and n not in out:
                out.append(n)
        return out


def decimal_text(raw: str) -> str:
    """A number as exact decimal text without exponent or trailing zeros ("3E+3" -> "3000");
    ValueError when it is not a finite number."""
    try:
        number = Decimal(raw.strip())
    except InvalidOperation:
        raise ValueError(raw) from None
    if not number.is_finite():
        raise ValueError(raw)
    return format(number.normalize(), "f")


# Types whose values are text, and the longest value each takes when the field names no size:
# a one-line field holds 255 characters, a text area 65,535 (so one value stays far below
# what a request or a response page may hold).
TEXT_TYPE_MAX_LENGTH: dict[str, int] = {
    "string": 255,
    "email": 255,
    "url": 255,
    "phone": 255,
    "reference": 255,
    "text": 65535,
}


def max_length(field: Field) -> int | None:
    """The longest value the field stores, in characters; None for numbers, dates and flags."""
    default = TEXT_TYPE_MAX_LENGTH.get(field.data_type)
    if default is None:
        return None
    return field.size or default


def normalize_value(field: Field, raw: str) -> str:
    """Validate `raw` for the field's type and return the stored form; ValueError if bad."""
    value = raw.strip() if field.data_type not in ("string", "text") else raw
    limit = max_length(field)
    if limit is not None and len(value) > limit:
        raise ValueError(f"Value for {field.name} is longer than {limit} characters ({len(value)} given)")
    if field.choices:
        if value.strip().upper() not in field.choices:
            raise ValueError(f"Invalid value for {field.name}: {raw} (expected one of {', '.join(field.choices)})")
        return value.strip().upper()
    t = field.data_type
    if t in ("integer", "score"):
        try:
            return str(int(value))
        except ValueError:
            raise ValueError(f"Invalid integer value for {field.name}: {raw}") from None
    if t in ("float", "currency", "percent"):
        try:
            return decimal_text(value)
        except ValueError:
            raise ValueError(f"Invalid {t} value for {field.name}: {raw}") from None
    if t == "boolean":
        low = value.lower()
        if low in ("true", "1", "yes", "y"):
            return "true"
        if low in ("false", "0", "no", "n"):
            return "false"
        raise ValueError(f"Invalid boolean value for {field.name}: {raw}")
    if t == "date":
        try:
            return date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            raise ValueError(f"Invalid date value for {field.name}: {raw}") from None
    if t == "datetime":
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"Invalid datetime value for {field.name}: {raw}") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.astimezone(UTC).replace(microsecond=0).isoformat()
    return value
