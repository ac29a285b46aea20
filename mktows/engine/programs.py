"""Programs, their lists, emails and campaigns: lookups and cloning.

INTERFACE (issue 3). Names match case-insensitively; unknown programs and campaigns raise
CampaignNotFound (20113), unknown lists ListNotFound (20111).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from mktows.engine.models import CampaignInfo, EmailInfo, ProgramInfo


def find_program(conn: Connection, name: str) -> ProgramInfo:
    raise NotImplementedError


def program_by_id(conn: Connection, program_id: int) -> ProgramInfo:
    raise NotImplementedError


def find_campaign(conn: Connection, program_name: str | None, campaign_name: str) -> CampaignInfo:
    """By program + campaign name; `campaign_name` may also be `Program.Campaign`."""
    raise NotImplementedError


def campaign_by_id(conn: Connection, campaign_id: int) -> CampaignInfo:
    raise NotImplementedError


def campaigns_for_source(conn: Connection, source: str, name: str | None, exact: bool) -> list[CampaignInfo]:
    """Active trigger campaigns requestable from `source` (MKTOWS/SALES), filtered on the full
    name (exact, or case-insensitive contains), sorted by full name then id (SPEC 7.11)."""
    raise NotImplementedError


def find_email(conn: Connection, program_id: int | None, name: str) -> EmailInfo:
    """An email of the program by name, or `Program.Email` anywhere."""
    raise NotImplementedError


def program_list_id(conn: Connection, program_name: str, list_name: str) -> int:
    """The static list `list_name` inside `program_name` (importToList, getImportToListStatus)."""
    raise NotImplementedError


def channel_statuses(conn: Connection, channel: str) -> list[dict]:
    """The channel's progression statuses, in step order: {"name", "step", "success"}."""
    raise NotImplementedError


def clone_program(conn: Connection, program: ProgramInfo, new_name: str, now: datetime) -> ProgramInfo:
    """Copy the program with its lists (empty), emails, campaigns, tokens, tags and costs;
    BadParameter (20110) when `new_name` is taken."""
    raise NotImplementedError
