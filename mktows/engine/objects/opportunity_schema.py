"""The fields of Opportunity and OpportunityPersonRole and their values.

The standard fields are declared once, here: describeMObject lists them, syncMObjects
validates against them, and each names the column that holds it. Custom fields come from the
instance file (`mobject_fields`) and keep their values as text rows in the form
`fields.normalize_value` gives (`YYYY-MM-DD`, `true`, plain decimals, UTC ISO date-times),
so criteria compare them as text, or as numbers after a CAST. Attribute values use the
vendor's layouts (`YYYY-MM-DD`, `YYYY-MM-DD hh:mm:ss` in UTC, `true`/`false`, plain decimals).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from mktows.engine.leads.fields import Field, decimal_text, normalize_value
from mktows.engine.timestamps import fits_int
from mktows.store.tables import ExactDecimal, mobject_fields

OPPORTUNITY = "Opportunity"
ROLE = "OpportunityPersonRole"
OBJECT_NAMES = (OPPORTUNITY, ROLE)


EXACT_LIMIT = Decimal(10) ** (ExactDecimal.PRECISION - ExactDecimal.SCALE)
_KINDS = {
    "integer": "integer",
    "score": "integer",
    "float": "number",
    "currency": "number",
    "percent": "number",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}


# --- fields --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MObjectField:
    """A field of Opportunity or OpportunityPersonRole: standard (a column) or custom (a row)."""

    name: str
    data_type: str  # a fields.FIELD_TYPES name, as describeMObject reports it
    size: int | None = None
    column: str | None = None  # standard fields: the column of the object's table
    field_id: int | None = None  # custom fields: mobject_fields.id
    display_name: str | None = None
    description: str | None = None
    external_key: bool = False
    read_only: bool = False  # never written by syncMObjects (Id)
    update_blocked: bool = False  # written on creation only (a role's links)

    @property
    def custom(self) -> bool:
        return self.column is None

    @property
    def label(self) -> str:
        return self.display_name or self.name

    @property
    def kind(self) -> str:
        """The comparison kind of `mobjects.criterion_clause`."""
        return _KINDS.get(self.data_type, "string")


def _standard(name: str, data_type: str, column: str, size: int | None = None, **flags: bool) -> MObjectField:
    return MObjectField(name, data_type, size, column, **flags)  # type: ignore[arg-type]


ID_FIELD = _standard("Id", "integer", "id", 10, read_only=True, update_blocked=True)
OPPORTUNITY_FIELDS: tuple[MObjectField, ...] = (
    ID_FIELD,
    _standard("Amount", "currency", "amount"),
    _standard("CloseDate", "date", "close_date"),
    _standard("Description", "text", "description"),
    _standard("ExpectedRevenue", "currency", "expected_revenue"),
    _standard("ExternalCreatedDate", "datetime", "external_created_date"),
    _standard("Fiscal", "string", "fiscal", 255),
    _standard("FiscalQuarter", "integer", "fiscal_quarter", 10),
    _standard("FiscalYear", "integer", "fiscal_year", 10),
    _standard("ForecastCategoryName", "string", "forecast_category_name", 255),
    _standard("IsClosed", "boolean", "is_closed"),
    _standard("IsWon", "boolean", "is_won"),
    _standard("LastActivityDate", "date", "last_activity_date"),
    _standard("LeadSource", "string", "lead_source", 255),
    _standard("Name", "string", "name", 255),
    _standard("NextStep", "string", "next_step", 255),
    _standard("Probability", "integer", "probability", 10),
    _standard("Quantity", "float", "quantity"),
    _standard("Stage", "string", "stage", 255),
    _standard("Type", "string", "type", 255),
)
ROLE_FIELDS: tuple[MObjectField, ...] = (
    ID_FIELD,
    _standard("OpportunityId", "integer", "opportunity_id", 10, update_blocked=True),
    _standard("PersonId", "integer", "lead_id", 10, update_blocked=True),
    _standard("Role", "string", "role", 255),
    _standard("IsPrimary", "boolean", "is_primary"),
    _standard("ExternalCreatedDate", "datetime", "external_created_date"),
)
STANDARD_FIELDS: dict[str, tuple[MObjectField, ...]] = {OPPORTUNITY: OPPORTUNITY_FIELDS, ROLE: ROLE_FIELDS}


def squash(name: str) -> str:
    """Field names match case-insensitively and ignoring spaces (`Close Date` is CloseDate)."""
    return "".join(name.split()).lower()


@dataclass
class Schema:
    """The fields of one object type: the standard ones, then the instance file's custom ones."""

    name: str
    fields: list[MObjectField]
    _by_name: dict[str, MObjectField] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name = {squash(f.name): f for f in self.fields}

    def get(self, name: str) -> MObjectField | None:
        return self._by_name.get(squash(name))

    @property
    def external_key(self) -> MObjectField | None:
        return next((f for f in self.fields if f.external_key), None)

    @property
    def custom(self) -> list[MObjectField]:
        return [f for f in self.fields if f.custom]


def load_schemas(conn: Connection) -> dict[str, Schema]:
    """Both objects' fields, custom ones in declaration order (one query)."""
    custom: dict[str, list[MObjectField]] = {name: [] for name in OBJECT_NAMES}
    for r in conn.execute(select(mobject_fields).order_by(mobject_fields.c.id)):
        custom.setdefault(r.object_name, []).append(
            MObjectField(
                r.name,
                r.data_type,
                r.size,
                field_id=r.id,
                display_name=r.display_name,
                description=r.description,
                external_key=bool(r.external_key),
            )
        )
    return {name: Schema(name, [*STANDARD_FIELDS[name], *custom[name]]) for name in OBJECT_NAMES}


def load_schema(conn: Connection, object_name: str) -> Schema:
    return load_schemas(conn)[object_name]


# --- values --------------------------------------------------------------------------------


def parse_value(f: MObjectField, raw: str | None) -> Any:
    """The typed value of `raw` for `f` (None when empty); ValueError says what is wrong."""
    if raw is None or raw.strip() == "":
        return None
    text = normalize_value(Field(f.name, f.label, f.data_type, f.size), raw)
    kind = f.kind
    if kind == "integer":
        number = int(text)
        if not fits_int(number):
            raise ValueError(f"Integer value for {f.name} out of range: {raw}")
        return number
    if kind == "number":
        exact = Decimal(text)
        if f.data_type == "currency" and f.column is not None:
            _check_exact(f.name, exact, raw)
        return exact
    if kind == "boolean":
        return text == "true"
    if kind == "date":
        return date.fromisoformat(text)
    if kind == "datetime":
        return datetime.fromisoformat(text)
    if f.size is not None and len(text) > f.size:
        raise ValueError(f"Value for {f.name} is longer than {f.size} characters")
    return text


def _check_exact(name: str, value: Decimal, raw: str) -> None:
    if abs(value) >= EXACT_LIMIT:
        raise ValueError(f"Value for {name} out of range: {raw} (at most {EXACT_LIMIT:,} exclusive)")
    if value.as_tuple().exponent < -ExactDecimal.SCALE:  # type: ignore[operator]
        raise ValueError(f"Value for {name} has more than {ExactDecimal.SCALE} decimal places: {raw}")


def render(f: MObjectField, value: Any) -> str | None:
    """A typed value as the attribute text (the vendor's layouts); None stays None."""
    if value is None:
        return None
    kind = f.kind
    if kind == "number":
        return decimal_text(repr(value) if isinstance(value, float) else str(value))
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "datetime":
        return str(value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"))
    if kind == "date":
        return str(value.isoformat())
    return str(value)


def stored_text(f: MObjectField, value: Any) -> str:
    """The text a custom value is stored as: the form `fields.normalize_value` produces."""
    if f.kind == "datetime":
        return str(value.astimezone(UTC).replace(microsecond=0).isoformat())
    if f.kind in ("number", "boolean", "date"):
        return render(f, value) or ""
    return str(value)


def column_value(f: MObjectField, value: Any) -> Any:
    return float(value) if value is not None and f.data_type == "float" else value
