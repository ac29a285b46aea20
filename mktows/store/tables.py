"""The database schema as SQLAlchemy Core tables: the one place that names tables and columns.

Custom lead fields are rows (`lead_fields` + `lead_values`), never DDL, so adding a field
at run time needs no migration. Timestamps are stored as UTC and always read back aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,

)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both SQLite (naive text, always UTC) and PostgreSQL (timestamptz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# BIGINT on PostgreSQL; on SQLite only INTEGER PRIMARY KEY aliases the rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

server_meta = Table(
    "server_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

api_users = Table(
    "api_users",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("encryption_key", String(255), nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
)

lead_fields = Table(
    "lead_fields",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("name_lower", String(255), nullable=False, unique=True),
    Column("display_name", String(255), nullable=False),
    Column("data_type", String(32), nullable=False),
    Column("size", Integer, nullable=True),
    Column("read_only", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
)

leads = Table(
    "leads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(255), nullable=True),
    Column("email_lower", String(255), nullable=True),
    Column("foreign_sys_person_id", String(255), nullable=True),
    Column("foreign_sys_type", String(32), nullable=True),
    Column("sfdc_lead_id", String(64), nullable=True),
    Column("sfdc_contact_id", String(64), nullable=True),
    Column("sfdc_account_id", String(64), nullable=True),
    Column("sfdc_lead_owner_id", String(64), nullable=True),
    Column("sfdc_oppty_id", String(64), nullable=True),
    Column("lead_owner_email", String(255), nullable=True),
    Column("workspace", String(255), nullable=False, default="Default"),
    Column("partition", String(255), nullable=False, default="Default"),
    Column("anonymous", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_leads_email_lower", "email_lower"),
    Index("ix_leads_foreign_sys_person_id", "foreign_sys_person_id"),
    Index("ix_leads_sfdc_lead_id", "sfdc_lead_id"),
    Index("ix_leads_sfdc_contact_id", "sfdc_contact_id"),
    Index("ix_leads_updated_at_id", "updated_at", "id"),
    sqlite_autoincrement=True,
)

lead_values = Table(
    "lead_values",
    metadata,
    Column("lead_id", Integer, ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("lead_id", "name", name="pk_lead_values"),
)

cookies = Table(
    "cookies",
    metadata,
    Column("cookie", String(255), primary_key=True),
    Column("lead_id", Integer, ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_cookies_lead_id", "lead_id"),
)

static_lists = Table(
    "static_lists",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("program_name", String(255), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_static_lists_name", "name"),
    sqlite_autoincrement=True,
)

list_members = Table(
    "list_members",
    metadata,
    Column("list_id", Integer, ForeignKey("static_lists.id", ondelete="CASCADE"), nullable=False),
    Column("lead_id", Integer, ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("list_id", "lead_id", name="pk_list_members"),
    Index("ix_list_members_lead_id", "lead_id"),
)

activities = Table(
    "activities",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("lead_id", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("type_code", String(64), nullable=True),
    Column("type_name", String(128), nullable=False),
    Column("asset_name", String(255), nullable=False, default=""),
    Column("campaign", String(255), nullable=True),
    Column("attributes", Text, nullable=False, default="[]"),
    Index("ix_activities_lead_created_id", "lead_id", "created_at", "id"),
    Index("ix_activities_created_id", "created_at", "id"),
    sqlite_autoincrement=True,
)

__all__ = [
    "UTCDateTime",
    "activities",
    "api_users",
    "cookies",
    "lead_fields",
    "lead_values",
    "leads",
    "list_members",
    "metadata",
    "server_meta",
    "static_lists",
]
