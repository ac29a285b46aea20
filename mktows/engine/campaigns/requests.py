"""The rules of requestCampaign and scheduleCampaign around the campaign runtime.

These functions resolve and check what the caller named (campaign, leads, tokens, clone)
and hand a run to `engine.campaigns`, inside the caller's write transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Integer, String, cast, delete

from mktows.engine.campaigns import clones, programs
from mktows.engine.campaigns import runs as campaigns
from mktows.engine.campaigns import tokens as token_syntax
from mktows.engine.leads.reads import find_ids, not_found
from mktows.engine.models import CampaignInfo, LeadKey
from mktows.errors import (
    BadParameter,
    CampaignNotFound,
    LeadKeyBad,
    LeadKeyRequired,
    LeadNotFound,
    MarketoError,
    RequestLimitExceeded,
)
from mktows.runtime.quota_day import quota_day
from mktows.store.queries import upsert
from mktows.store.tables import server_meta

MAX_KEYS = 100  # requestCampaign: keys beyond the first 100 are ignored, as the vendor's did
# The clone limit resets with the call quota: midnight US Central.
CLONE_COUNTER_PREFIX = "clones_on:"


def override_tokens(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """programTokenList attribs -> (token name without `my.`, value); a later name wins."""
    out: dict[str, tuple[str, str]] = {}
    for raw_name, value in pairs:
        name = token_syntax.token_name(raw_name or "") if (raw_name or "").strip() else ""
        if not name:
            raise BadParameter(f"programTokenList holds a token without a name: {raw_name!r}")
        out[name.lower()] = (name, value or "")
    return list(out.values())


def resolve_campaign(
    conn: Connection, *, campaign_id: int | None, program_name: str | None, campaign_name: str | None
) -> CampaignInfo:
    if campaign_id is not None:
        return programs.campaign_by_id(conn, campaign_id)
    return programs.find_campaign(conn, program_name, campaign_name or "")


def resolve_leads(conn: Connection, keys: list[LeadKey]) -> list[int]:
    """The leads of (the first 100) keys, in key order without repeats; unknown ones skipped."""
    if not keys:
        raise LeadKeyRequired("requestCampaign needs a leadList with at least one leadKey")
    keys = keys[:MAX_KEYS]
    for key in keys:
        if (key.key_type or "").strip().upper() == "COOKIE":
            raise LeadKeyBad("COOKIE lead keys are not allowed in requestCampaign")
    ids: list[int] = []
    missing: MarketoError | None = None
    for key in keys:
        if key.key_value is None or str(key.key_value).strip() == "":
            raise LeadKeyRequired(f"leadKey {key.key_type} needs a keyValue")
        found = find_ids(conn, key, newest_first=True)
        if found:
            ids.append(found[0])
        elif missing is None:
            missing = not_found(key)
    unique = list(dict.fromkeys(ids))
    if not unique:
        if len(keys) == 1 and missing is not None:
            raise missing
        raise LeadNotFound("No lead found for any key in leadList")
    return unique


def request_campaign(
    conn: Connection,
    source: str,
    lead_keys: list[LeadKey],
    *,
    campaign_id: int | None,
    program_name: str | None,
    campaign_name: str | None,
    tokens: list[tuple[str, str]],
    now: datetime,
) -> int:

    source = (source or "").strip().upper()
    campaign = resolve_campaign(conn, campaign_id=campaign_id, program_name=program_name, campaign_name=campaign_name)
    if campaign.kind != "trigger" or not campaign.active or source not in campaign.sources:
        raise CampaignNotFound(
            f"Campaign {campaign.full_name} cannot be requested from {campaigns.SOURCE_NAMES.get(source, source)}"
            + (" (it is a batch campaign)" if campaign.kind != "trigger" else "")
            + (" (it is inactive)" if not campaign.active else "")
        )
    lead_ids = resolve_leads(conn, lead_keys)
    return campaigns.request_campaign(conn, campaign, lead_ids, source=source, tokens=override_tokens(tokens), now=now)


def schedule_campaign(
    conn: Connection,
    program_name: str,
    campaign_name: str,
    *,
    run_at: datetime | None,
    tokens: list[tuple[str, str]],
    clone_to: str | None,
    max_clones_per_day: int,
    now: datetime,
) -> int:

    program = programs.find_program(conn, (program_name or "").strip())
    campaign = programs.find_campaign(conn, program.name, (campaign_name or "").strip())  # within the program
    if campaign.kind != "batch":
        raise CampaignNotFound(
            f"Campaign {campaign.full_name} is a trigger campaign; scheduleCampaign runs batch campaigns"
        )
    overrides = override_tokens(tokens)
    clone_to = (clone_to or "").strip() or None
    if clone_to is not None:
        # a taken name is 20110 whatever the count; the count then rolls back with the clone
        clone = clones.clone_program(conn, program, clone_to, now)
        count_clone(conn, now, max_clones_per_day)
        campaign = programs.find_campaign(conn, clone.name, campaign.name)
    when = run_at if run_at is not None and run_at > now else now
    return campaigns.schedule_campaign(conn, campaign, run_at=when, tokens=overrides, now=now)


def count_clone(conn: Connection, now: datetime, limit: int) -> int:
    """Count one cloneToProgramName call of today (US Central); 20015 past the daily limit.

    One statement counts and checks, so calls on several processes at once never count past
    the limit: the row lock of the upsert orders them, each sees the count the last one left."""
    day = quota_day(now).isoformat()
    key = CLONE_COUNTER_PREFIX + day
    conn.execute(
        delete(server_meta).where(server_meta.c.key.like(CLONE_COUNTER_PREFIX + "%"), server_meta.c.key != key)
    )
    used = None
    if limit > 0:
        count = cast(server_meta.c.value, Integer)
        stmt = upsert(conn, server_meta).values(key=key, value="1")
        stmt = stmt.on_conflict_do_update(
            index_elements=[server_meta.c.key], set_={"value": cast(count + 1, String)}, where=count < limit
        )
        used = conn.execute(stmt.returning(server_meta.c.value)).scalar()
    if used is None:
        raise RequestLimitExceeded(f"cloneToProgramName is limited to {limit} calls per day")
    return int(used)
