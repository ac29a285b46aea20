"""The database schema as SQLAlchemy Core tables: the one place that names tables and columns.

Custom lead fields are rows (`lead_fields` + `lead_values`), never DDL, so adding a field
at run time needs no migration. Timestamps are stored as UTC and always read back aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
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
        moment: datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """Exact decimals with up to `SCALE` places: NUMERIC on PostgreSQL; on SQLite (whose NUMERIC is
    a float) an integer count of 1/10**SCALE, so values round-trip and still compare numerically."""

    SCALE = 4
    PRECISION = 19
    impl = Numeric(PRECISION, SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.PRECISION, self.SCALE))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = Decimal(str(value)).quantize(Decimal(1).scaleb(-self.SCALE))
        return int(exact.scaleb(self.SCALE)) if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value).scaleb(-self.SCALE) if dialect.name == "sqlite" else Decimal(value)


# BIGINT on PostgreSQL; on SQLite only INTEGER PRIMARY KEY aliases the rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

server_meta = Table(
    "server_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Call counts shared by every server process on this database (mktows/runtime/call_counters.py):
# kind "day" counts the calls of a quota day (slot: its ordinal), kind "second" those of one
# wall-clock second (slot: seconds since the epoch) for the rolling rate window.
call_counters = Table(
    "call_counters",
    metadata,
    Column("kind", String(8), nullable=False),
    Column("slot", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    PrimaryKeyConstraint("kind", "slot"),
)

# Calls answered per minute (since the epoch), API user (the authenticated caller; '' for a
# call that failed authentication or came before it), operation and fault code (0: none),
# added to by every process (mktows/runtime/call_stats.py): the console's charts of calls and
# faults, and each API user's calls today.
call_minutes = Table(
    "call_minutes",
    metadata,
    Column("minute", BigInteger, nullable=False),
    Column("user_id", String(255), nullable=False, server_default=""),
    Column("operation", String(64), nullable=False),
    Column("fault_code", Integer, nullable=False),
    Column("count", Integer, nullable=False),
    PrimaryKeyConstraint("minute", "user_id", "operation", "fault_code"),
)

api_users = Table(
    "api_users",
    metadata,
    Column("user_id", String(255), primary_key=True),
    # the key itself (HMAC needs it), or its ciphertext when a master key is configured
    Column("encryption_key", Text, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("strict", Boolean, nullable=False, server_default=false()),
    Column("previous_key", Text, nullable=True),  # still accepted until previous_key_expires_at
    Column("previous_key_expires_at", UTCDateTime, nullable=True),
)

# People who sign in to the web console (`mktows admins add`), and their sessions: a session
# is a row, so signing out ends it in every process; the cookie holds a token whose SHA-256
# is the key, so the table alone cannot be replayed.
console_users = Table(
    "console_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),  # scrypt$n$r$p$salt$hash
    Column("created_at", UTCDateTime, nullable=False),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
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
    Index("ix_leads_created_at", "created_at"),  # the console's leads-created-per-day chart
    Index("ix_leads_sfdc_account_id", "sfdc_account_id"),
    Index("ix_leads_sfdc_lead_owner_id", "sfdc_lead_owner_id"),
    Index("ix_leads_sfdc_oppty_id", "sfdc_oppty_id"),
    # LEADOWNEREMAIL keys compare lower(lead_owner_email); on SQLite the index holds the
    # values of the Unicode-aware lower() every connection of Database installs
    Index("ix_leads_lead_owner_email_lower", func.lower(text("lead_owner_email"))),
    sqlite_autoincrement=True,
)

# the lead fields the console searches by name (the partial index below holds only their values)
NAME_FIELDS = ("FirstName", "LastName")
NAME_FIELDS_SQL = "name IN ('FirstName', 'LastName')"

lead_values = Table(
    "lead_values",
    metadata,
    # no foreign key: PostgreSQL's row-by-row check cost more than the rest of a sync; the
    # engine writes values only with their lead and deletes them before it (see migration 0008)
    Column("lead_id", Integer, nullable=False),
    Column("name", String(255), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("lead_id", "name", name="pk_lead_values"),
    # the console's search by the beginning of a first or last name, case ignored
    Index(
        "ix_lead_values_names_lower",
        func.lower(text("value")),
        "lead_id",
        sqlite_where=text(NAME_FIELDS_SQL),
        postgresql_where=text(NAME_FIELDS_SQL),
    ),
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

# --- marketing assets: workspaces, channels, tags, programs, emails, campaigns --------------

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

# A program's tags: at most one value per tag type, both in the catalogue's spelling. The
# channel is not a row here (it is `programs.channel`) although the API shows it as a tag.
program_tags = Table(
    "program_tags",
    metadata,
    Column("program_id", Integer, ForeignKey("programs.id", ondelete="CASCADE"), nullable=False),
    Column("tag_type", String(255), nullable=False),
    Column("tag_value", String(255), nullable=False),
    PrimaryKeyConstraint("program_id", "tag_type", name="pk_program_tags"),
    Index("ix_program_tags_type_value", "tag_type", "tag_value"),
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
    Index("ix_campaign_runs_campaign", "campaign_id", "id"),  # a campaign's runs, newest first (console)
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
    Index("ix_run_leads_lead", "lead_id"),  # deleting (merging) a lead
)

campaign_leads = Table(
    "campaign_leads",
    metadata,
    Column("campaign_id", Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("lead_id", Integer, ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
    Column("runs", Integer, nullable=False, default=0),
    Column("last_run_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("campaign_id", "lead_id", name="pk_campaign_leads"),
    Index("ix_campaign_leads_lead", "lead_id"),  # a merge moves a lead's rows
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
    Index("ix_lead_tokens_lead", "lead_id"),  # a merge moves a lead's rows
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
    Index("ix_outbox_sent_at", "sent_at"),  # the console's emails-delivered-per-day chart
    sqlite_autoincrement=True,
)

# --- opportunities and their person roles: MObjects without a CRM -------------------------
# The standard fields are typed columns; engine/opportunities.py maps each field
# name onto its column. Custom fields of both objects are rows (definitions + values).

opportunities = Table(
    "opportunities",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("amount", ExactDecimal, nullable=True),
    Column("close_date", Date, nullable=True),
    Column("description", Text, nullable=True),
    Column("expected_revenue", ExactDecimal, nullable=True),
    Column("external_created_date", UTCDateTime, nullable=True),
    Column("fiscal", String(255), nullable=True),
    Column("fiscal_quarter", Integer, nullable=True),
    Column("fiscal_year", Integer, nullable=True),
    Column("forecast_category_name", String(255), nullable=True),
    Column("is_closed", Boolean, nullable=True),
    Column("is_won", Boolean, nullable=True),
    Column("last_activity_date", Date, nullable=True),
    Column("lead_source", String(255), nullable=True),
    Column("next_step", String(255), nullable=True),
    Column("probability", Integer, nullable=True),
    Column("quantity", Float, nullable=True),
    Column("stage", String(255), nullable=True),
    Column("type", String(255), nullable=True),
    # the Company association as the client gave it (there is no Company object here)
    Column("company_id", Integer, nullable=True),
    Column("company_key_name", String(255), nullable=True),
    Column("company_key_value", String(255), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_opportunities_company_id", "company_id"),
    # Name criteria and Company associations by externalKey compare ignoring case
    Index("ix_opportunities_name_lower", func.lower(text("name"))),
    Index("ix_opportunities_company_key_value_lower", func.lower(text("company_key_value"))),
    sqlite_autoincrement=True,
)

opportunity_roles = Table(
    "opportunity_roles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("opportunity_id", Integer, ForeignKey("opportunities.id", ondelete="CASCADE"), nullable=False),
    Column("lead_id", Integer, ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(255), nullable=True),
    Column("is_primary", Boolean, nullable=True),
    Column("external_created_date", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("opportunity_id", "lead_id", name="uq_opportunity_roles_opportunity_lead"),
    Index("ix_opportunity_roles_lead", "lead_id"),
    sqlite_autoincrement=True,
)

# Custom fields of Opportunity and OpportunityPersonRole (instance file), one row per field.
mobject_fields = Table(
    "mobject_fields",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("object_name", String(64), nullable=False),  # Opportunity | OpportunityPersonRole
    Column("name", String(255), nullable=False),
    Column("name_lower", String(255), nullable=False),
    Column("display_name", String(255), nullable=False),
    Column("data_type", String(32), nullable=False),
    Column("size", Integer, nullable=True),
    Column("external_key", Boolean, nullable=False, default=False),
    Column("description", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("object_name", "name_lower", name="uq_mobject_fields_object_name"),
    sqlite_autoincrement=True,
)

# Custom values, normalised per type (engine/fields.normalize_value), so criteria compare
# them as text (dates, booleans) or after a CAST (numbers).
opportunity_values = Table(
    "opportunity_values",
    metadata,
    Column("opportunity_id", Integer, ForeignKey("opportunities.id", ondelete="CASCADE"), nullable=False),
    Column("field_id", Integer, ForeignKey("mobject_fields.id", ondelete="CASCADE"), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("opportunity_id", "field_id", name="pk_opportunity_values"),
    Index("ix_opportunity_values_field", "field_id"),
    # externalKey lookups and text criteria compare lower(value) within one field
    Index("ix_opportunity_values_field_lower", "field_id", func.lower(text("value"))),
)

opportunity_role_values = Table(
    "opportunity_role_values",
    metadata,
    Column("role_id", Integer, ForeignKey("opportunity_roles.id", ondelete="CASCADE"), nullable=False),
    Column("field_id", Integer, ForeignKey("mobject_fields.id", ondelete="CASCADE"), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("role_id", "field_id", name="pk_opportunity_role_values"),
    Index("ix_opportunity_role_values_field", "field_id"),
    Index("ix_opportunity_role_values_field_lower", "field_id", func.lower(text("value"))),
)

# --- custom objects: types from the instance file and their records --------------------

custom_object_types = Table(
    "custom_object_types",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("name_lower", String(255), nullable=False, unique=True),
    Column("display_name", String(255), nullable=True),
    Column("description", Text, nullable=True),
    # JSON list of {"name", "type", "display_name", "dedupe", "link"} in declared order
    Column("fields", Text, nullable=False, default="[]"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    sqlite_autoincrement=True,
)

custom_object_records = Table(
    "custom_object_records",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("type_id", Integer, ForeignKey("custom_object_types.id", ondelete="CASCADE"), nullable=False),
    # the lead the link field names; NULL only for types without a link field
    Column("lead_id", Integer, ForeignKey("leads.id", ondelete="CASCADE"), nullable=True),
    Column("key_text", Text, nullable=False),  # JSON list of the dedupe values in declared order
    Column("field_values", Text, nullable=False, default="{}"),  # JSON {field: value} of the other fields
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("type_id", "key_text", name="uq_custom_object_records_key"),
    Index("ix_custom_object_records_type_id", "type_id", "id"),
    Index("ix_custom_object_records_lead", "lead_id"),
    sqlite_autoincrement=True,
)

# One row per dedupe (and link) value of a record, so a partial-key filter is an indexed join.
custom_object_keys = Table(
    "custom_object_keys",
    metadata,
    Column("record_id", BigId, ForeignKey("custom_object_records.id", ondelete="CASCADE"), nullable=False),
    Column("type_id", Integer, ForeignKey("custom_object_types.id", ondelete="CASCADE"), nullable=False),
    Column("field", String(255), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("record_id", "field", name="pk_custom_object_keys"),
    Index("ix_custom_object_keys_lookup", "type_id", "field", "value", "record_id"),
)

# Each SOAP call's request and response, when the request log is on
# (mktows/runtime/request_log.py): newest first by id, by request id, operation, user, fault.
request_log = Table(
    "request_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("version", String(8), nullable=False),
    Column("operation", String(64), nullable=False),
    Column("user_id", String(255), nullable=False, server_default=""),
    Column("client", String(64), nullable=True),
    Column("status", Integer, nullable=False),
    Column("fault_code", Integer, nullable=False),  # 0: none
    Column("duration_ms", Float, nullable=False),
    Column("request_size", Integer, nullable=False),  # the whole body's, before any cut
    Column("response_size", Integer, nullable=False),
    Column("request_body", LargeBinary, nullable=False),  # the signature redacted; cut at the cap
    Column("response_body", LargeBinary, nullable=False),
    Column("stored_bytes", Integer, nullable=False),  # both bodies as kept: what the size bound counts
    Index("ix_request_log_request_id", "request_id", "id"),
    Index("ix_request_log_at", "at"),
    Index("ix_request_log_operation_id", "operation", "id"),
    Index("ix_request_log_user_id_id", "user_id", "id"),
    Index("ix_request_log_fault_code_id", "fault_code", "id"),
    sqlite_autoincrement=True,
)

# The bytes of bodies the request log keeps (its size bound), one row: each write and prune
# moves it in the same transaction, so a prune reads it instead of summing the log.
request_log_total = Table(
    "request_log_total",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("stored_bytes", BigInteger, nullable=False),
)

# The first answer to an operation that repeats would run again (requestCampaign,
# scheduleCampaign, importToList), per API user and request body, while the idempotency window
# lasts (mktows/runtime/idempotency.py). `payload` is empty while the first call runs; `token`
# names the call that holds the row.
idempotent_calls = Table(
    "idempotent_calls",
    metadata,
    Column("user_id", String(255), nullable=False),
    Column("operation", String(64), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("token", String(32), nullable=False),
    Column("payload", LargeBinary, nullable=True),
    PrimaryKeyConstraint("user_id", "operation", "digest"),
    Index("ix_idempotent_calls_created_at", "created_at"),
)

__all__ = [
    "ExactDecimal",
    "UTCDateTime",
    "activities",
    "api_users",
    "campaign_leads",
    "campaign_runs",
    "campaigns",
    "channels",
    "cookies",
    "custom_object_keys",
    "custom_object_records",
    "custom_object_types",
    "emails",
    "idempotent_calls",
    "import_jobs",
    "jobs",
    "lead_fields",
    "lead_tokens",
    "lead_values",
    "leads",
    "list_members",
    "metadata",
    "mobject_fields",
    "opportunities",
    "opportunity_role_values",
    "opportunity_roles",
    "opportunity_values",
    "outbox",
    "program_costs",
    "program_members",
    "program_tags",
    "programs",
    "run_leads",
    "request_log",
    "request_log_total",
    "server_meta",
    "static_lists",
    "tag_types",
    "workspaces",
]
