"""The one table of activity types: WSDL enum code (in the schema's order) and display name.

The SOAP layer generates the WSDL `ActivityType` enumeration from `ACTIVITY_TYPE_ENUMS`;
records and `activityNameFilter` use the display names.
"""

from __future__ import annotations

from dataclasses import dataclass

from mktows.errors import ActivityKeyBad


@dataclass(frozen=True)
class ActivityType:
    code: str | None  # WSDL enum value; None for display-only types
    name: str  # display name used in records and activityNameFilter


_ENUM_TYPES: tuple[tuple[str, str], ...] = (
    ("VisitWebpage", "Visit Webpage"),
    ("FillOutForm", "Fill Out Form"),
    ("ClickLink", "Click Link"),
    ("SendEmail", "Send Email"),
    ("EmailDelivered", "Email Delivered"),
    ("EmailBounced", "Email Bounced"),
    ("UnsubscribeEmail", "Unsubscribe Email"),
    ("OpenEmail", "Open Email"),
    ("ClickEmail", "Click Email"),
    ("NewLead", "New Lead"),
    ("ChangeDataValue", "Change Data Value"),
    ("LeadAssigned", "Lead Assigned"),
    ("NewSFDCOpprtnty", "New SFDC Opportunity"),
    ("Wait", "Wait"),
    ("RunSubflow", "Run Subflow"),
    ("RemoveFromFlow", "Remove from Flow"),
    ("PushLeadToSales", "Sync Lead to SFDC"),
    ("CreateTask", "Create Task"),
    ("ConvertLead", "Convert Lead"),
    ("ChangeScore", "Change Score"),
    ("ChangeOwner", "Change Owner"),
    ("AddToList", "Add to List"),
    ("RemoveFromList", "Remove from List"),
    ("SFDCActivity", "SFDC Activity"),
    ("EmailBouncedSoft", "Email Bounced Soft"),
    ("PushLeadUpdatesToSales", "Sync Lead Updates to SFDC"),
    ("DeleteLeadFromSales", "Delete Lead from SFDC"),
    ("SFDCActivityUpdated", "SFDC Activity Updated"),
    ("SFDCMergeLeads", "SFDC Merge Leads"),
    ("MergeLeads", "Merge Leads"),
    ("ResolveConflicts", "Resolve Conflicts"),
    ("AssocWithOpprtntyInSales", "Add to Opportunity"),
    ("DissocFromOpprtntyInSales", "Remove from Opportunity"),
    ("UpdateOpprtntyInSales", "Update Opportunity"),
    ("DeleteLead", "Delete Lead"),
    ("SendAlert", "Send Alert"),
    ("SendSalesEmail", "Send Sales Email"),
    ("OpenSalesEmail", "Open Sales Email"),
    ("ClickSalesEmail", "Click Sales Email"),
    ("AddtoSFDCCampaign", "Add to SFDC Campaign"),
    ("RemoveFromSFDCCampaign", "Remove from SFDC Campaign"),
    ("ChangeStatusInSFDCCampaign", "Change Status in SFDC Campaign"),
    ("ReceiveSalesEmail", "Receive Sales Email"),
    ("InterestingMoment", "Interesting Moment"),
    ("RequestCampaign", "Request Campaign"),
    ("SalesEmailBounced", "Sales Email Bounced"),
    ("ChangeLeadPartition", "Change Lead Partition"),
    ("ChangeRevenueStage", "Change Revenue Stage"),
    ("ChangeRevenueStageManually", "Change Revenue Stage Manually"),
    ("ComputeDataValue", "Compute Data Value"),
    ("ChangeStatusInProgression", "Change Status in Progression"),
    ("ChangeFieldInProgram", "Change Program Data"),
    ("EnrichWithDatacom", "Enrich with Data.com"),
    ("ChangeSegment", "Change Segment"),
    ("ResolveRuleset", "Resolve Ruleset"),
    ("SmartCampaignTest", "Smart Campaign Test"),
    ("SmartCampaignTestTrigger", "Smart Campaign Test Trigger"),
)

_NAME_ONLY_TYPES: tuple[str, ...] = (
    "Add to Nurture",
    "Add to Segment",
    "Add to Smart Campaign",
    "Assign Nurture Content",
    "Capture Campaign Membership History",
    "Capture List Membership History",
    "Change Account Owner",
    "Change Attribute Datatype",
    "Change CRM User",
    "Change Custom Object",
    "Change Nurture Cadence",
    "Change Nurture Exhausted",
    "Change Nurture Track",
    "Click Shared Link",
    "Nurture Deploy",
    "Received Forward to Friend Email",
    "Reward Test Group Variant",
    "Segmentation Approval",
    "Sent Forward to Friend Email",
    "Share Content",
)

ACTIVITY_TYPES: tuple[ActivityType, ...] = tuple(ActivityType(c, n) for c, n in _ENUM_TYPES) + tuple(
    ActivityType(None, n) for n in _NAME_ONLY_TYPES
)
ACTIVITY_TYPE_ENUMS: list[str] = [code for code, _ in _ENUM_TYPES]

_BY_CODE: dict[str, ActivityType] = {t.code: t for t in ACTIVITY_TYPES if t.code}
_BY_NAME_LOWER: dict[str, ActivityType] = {t.name.lower(): t for t in ACTIVITY_TYPES}

NEW_LEAD = _BY_CODE["NewLead"]
CHANGE_DATA_VALUE = _BY_CODE["ChangeDataValue"]
ADD_TO_LIST = _BY_CODE["AddToList"]
REMOVE_FROM_LIST = _BY_CODE["RemoveFromList"]
MERGE_LEADS = _BY_CODE["MergeLeads"]


def by_code(code: str) -> ActivityType:
    """The type for a WSDL enum value; anything else is fault 20107."""
    found = _BY_CODE.get(code)
    if found is None:
        raise ActivityKeyBad(f"Unknown activity type: {code}")
    return found


def by_name(name: str) -> ActivityType | None:
    """The type for a display name, case-insensitively; None when unknown (a filter name then matches nothing)."""
    return _BY_NAME_LOWER.get(name.strip().lower())
