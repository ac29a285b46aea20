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
    UniqueConstraint,
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

# --- marketing assets (issue 3): workspaces, channels, tags, programs, emails, campaigns ----

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("name_lower", String(255), nullable=False, unique=True),
    Column("description", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

channels = Table(
    "channels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("name_lower", String(255), nullable=False, unique=True),
    Column("kind", String(32), nullable=False, default="program"),  # program, event, webinar
    # JSON list of {"name", "step", "success", "check_in"?, "webinar"?} in progression order
    Column("statuses", Text, nullable=False, default="[]"),
    Column("created_at", UTCDateTime, nullable=False),
)

tag_types = Table(
    "tag_types",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("name_lower", String(255), nullable=False, unique=True),
    Column("tag_values", Text, nullable=False, default="[]"),  # JSON list of allowed values
    Column("created_at", UTCDateTime, nullable=False),
)

programs = Table(
    "programs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("name_lower", String(255), nullable=False, unique=True),
    Column("type", String(64), nullable=False, default="Marketing Program"),
    Column("channel", String(255), nullable=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("folder", String(1024), nullable=False, default=""),  # "A/B" under the workspace
    Column("tags", Text, nullable=False, default="[]"),  # JSON list of [type, value]
    Column("tokens", Text, nullable=False, default="[]"),  # JSON list of [name, value], name without {{my.}}
    Column("archived", Boolean, nullable=False, default=False),
    Column("crm_id", String(255), nullable=True),
    Column("description", Text, nullable=True),
    Column("starts_at", UTCDateTime, nullable=True),
    Column("ends_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    sqlite_autoincrement=True,
)

program_costs = Table(
    "program_costs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("program_id", Integer, ForeignKey("programs.id", ondelete="CASCADE"), nullable=False),
    Column("month", String(10), nullable=False),  # YYYY-MM-01
    Column("amount", String(32), nullable=False),  # decimal text, exact
    Column("note", Text, nullable=True),
    Index("ix_program_costs_program", "program_id"),
    sqlite_autoincrement=True,
)

program_members = Table(
    "program_members",
    metadata,
    Column("program_id", Integer, ForeignKey("programs.id", ondelete="CASCADE"), nullable=False),
    Column("lead_id", Integer, ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(255), nullable=False),
    Column("success", Boolean, nullable=False, default=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("program_id", "lead_id", name="pk_program_members"),
    Index("ix_program_members_lead", "lead_id"),
)

emails = Table(
    "emails",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("program_id", Integer, ForeignKey("programs.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("name_lower", String(255), nullable=False),
    Column("from_name", String(255), nullable=True),
    Column("from_email", String(255), nullable=False),
    Column("reply_to", String(255), nullable=True),
    Column("subject", Text, nullable=False, default=""),
    Column("html", Text, nullable=False, default=""),
    Column("text", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("program_id", "name_lower", name="uq_emails_program_name"),
    sqlite_autoincrement=True,
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("program_id", Integer, ForeignKey("programs.id", ondelete="CASCADE"), nullable=True),
    Column("name", String(255), nullable=False),
    Column("name_lower", String(255), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("kind", String(16), nullable=False),  # trigger | batch
    Column("sources", Text, nullable=False, default="[]"),  # JSON list: MKTOWS, SALES
    Column("smart_list", Text, nullable=False, default="[]"),  # JSON list of filters
    Column("filter_logic", String(8), nullable=False, default="all"),  # all | any
    Column("flow", Text, nullable=False, default="[]"),  # JSON list of steps
    Column("qualification", String(16), nullable=False, default="every_time"),  # every_time | once
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("program_id", "name_lower", name="uq_campaigns_program_name"),
    sqlite_autoincrement=True,
)

# --- work that outlives a request: runs, imports, per-recipient tokens, jobs, outbox --------

campaign_runs = Table(
    "campaign_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign_id", Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("origin", String(16), nullable=False),  # request | schedule | flow
    Column("source", String(16), nullable=True),  # MKTOWS | SALES for requested runs
    Column("tokens", Text, nullable=False, default="[]"),  # JSON list of [name, value] overrides
    Column("run_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # scheduled | running | done | failed
    Column("lead_count", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Index("ix_campaign_runs_campaign", "campaign_id"),
    sqlite_autoincrement=True,
)

run_leads = Table(
    "run_leads",
    metadata,
    Column("run_id", Integer, ForeignKey("campaign_runs.id", ondelete="CASCADE"), nullable=False),
    Column("lead_id", Integer, ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
    # the next flow step to perform: a step's effects and this counter move in one transaction
    Column("next_step", Integer, nullable=False, default=0),
    Column("status", String(16), nullable=False),  # pending | waiting | done | removed
    Column("wake_at", UTCDateTime, nullable=True),
    Column("tokens", Text, nullable=True),  # per-recipient overrides bound by importToList
    PrimaryKeyConstraint("run_id", "lead_id", name="pk_run_leads"),
    Index("ix_run_leads_status", "run_id", "status"),
)

campaign_leads = Table(
    "campaign_leads",
    metadata,
    Column("campaign_id", Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("lead_id", Integer, ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
    Column("runs", Integer, nullable=False, default=0),
    Column("last_run_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("campaign_id", "lead_id", name="pk_campaign_leads"),
)

import_jobs = Table(
    "import_jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("list_id", Integer, ForeignKey("static_lists.id", ondelete="CASCADE"), nullable=False),
    Column("campaign_id", Integer, ForeignKey("campaigns.id", ondelete="SET NULL"), nullable=True),
    Column("mode", String(16), nullable=False),  # UPSERTLEADS | LISTONLY
    Column("clear_list", Boolean, nullable=False, default=False),
    Column("header", Text, nullable=False),
    Column("rows", Text, nullable=False),  # JSON list of CSV lines
    Column("status", String(16), nullable=False),  # PROCESSING | COMPLETE | FAILED | CANCELED
    Column("estimated_rows", Integer, nullable=False, default=0),
    Column("rows_imported", Integer, nullable=False, default=0),
    Column("rows_failed", Integer, nullable=False, default=0),
    Column("rows_ignored", Integer, nullable=False, default=0),
    Column("summary", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=True),
    Column("ended_at", UTCDateTime, nullable=True),
    Index("ix_import_jobs_list", "list_id", "id"),
    sqlite_autoincrement=True,
)

lead_tokens = Table(
    "lead_tokens",
    metadata,
    Column("campaign_id", Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("lead_id", Integer, ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
    Column("list_id", Integer, ForeignKey("static_lists.id", ondelete="CASCADE"), nullable=False),
    Column("tokens", Text, nullable=False),  # JSON list of [name, value], consumed by the next run
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("campaign_id", "lead_id", name="pk_lead_tokens"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("payload", Text, nullable=False, default="{}"),
    Column("run_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # queued | running | done | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("locked_by", String(64), nullable=True),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_jobs_status_run_at", "status", "run_at"),
    sqlite_autoincrement=True,
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("run_id", Integer, nullable=True),
    Column("lead_id", Integer, nullable=True),
    Column("step_index", Integer, nullable=True),
    Column("campaign", String(255), nullable=True),
    Column("email_id", Integer, nullable=True),
    Column("email_name", String(255), nullable=True),
    Column("to_addr", String(255), nullable=False),
    Column("from_name", String(255), nullable=True),
    Column("from_addr", String(255), nullable=False),
    Column("reply_to", String(255), nullable=True),
    Column("subject", Text, nullable=False),
    Column("html", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("status", String(16), nullable=False),  # queued | sending | sent | bounced | failed | captured
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    # each (run, lead, flow step) sends at most once
    UniqueConstraint("run_id", "lead_id", "step_index", name="uq_outbox_run_lead_step"),
    Index("ix_outbox_status", "status"),
    sqlite_autoincrement=True,
)

__all__ = [
    "UTCDateTime",
    "activities",
    "api_users",
    "campaign_leads",
    "campaign_runs",
    "campaigns",
    "channels",
    "cookies",
    "emails",
    "import_jobs",
    "jobs",
    "lead_fields",
    "lead_tokens",
    "lead_values",
    "leads",
    "list_members",
    "metadata",
    "outbox",
    "program_costs",
    "program_members",
    "programs",
    "run_leads",
    "server_meta",
    "static_lists",
    "tag_types",
    "workspaces",
]
