"""The Marketo error-code table, the one place that knows codes and their short texts.

The engine raises these exceptions; the SOAP layer renders any `MarketoError` as the
vendor's fault shape (`soap/faults.py`). The short message is what goes into
`faultstring`; the long message (with the code appended) goes into
`detail/serviceException/message`.
"""

from __future__ import annotations

SHORT_MESSAGES: dict[int, str] = {
    10001: "Internal Error",
    20011: "Internal Error",
    20012: "Request Not Understood",
    20013: "Access Denied",
    20014: "Authentication failed",
    20015: "Request Limit Exceeded",
    20016: "Request Expired",
    20017: "Invalid Request",
    20018: "Bad Encoding",
    20019: "Unsupported Operation",
    20022: "Time range specified in query filter exceeded limit",
    20023: "Rate Limit Exceeded",
    20024: "Concurrency Limit Exceeded",
    20101: "Lead Key Required",
    20102: "Lead Key Bad",
    20103: "Lead not found",
    20104: "Lead Detail Required",
    20105: "Unknown lead field",
    20106: "Lead Sync Failed",
    20107: "Activity Key Bad",
    20108: "Lead Owner Not Found",
    20109: "Parameter Required",
    20110: "Bad Parameter",
    20111: "List Not Found",
    20113: "Campaign Not Found",
    20114: "Bad Parameter",
    20122: "Bad Stream Position",
    20123: "Stream at End",
}

# When mktows returns each code, one line each: docs/faults.md is generated from this table.
WHEN_RETURNED: dict[int, str] = {
    10001: "An unexpected error in the server (the server's log has the traceback).",
    20011: "A response the server built does not fit the schema of the endpoint's version (a server bug).",
    20012: "The body is empty, too large, slower to arrive than the body read timeout, not well-formed XML,"
    " has a DOCTYPE, is not a SOAP 1.1 Envelope, or its Body does not hold exactly one operation element.",
    20013: "The API user exists and signed the call, but is disabled.",
    20014: "The AuthenticationHeader is missing, names an unknown user, or its signature does not match.",
    20015: "The daily call quota is used up, or scheduleCampaign has used up the day's `cloneToProgramName` calls.",
    20016: "`requestTimestamp` cannot be read, or is further from the server's clock than the freshness window.",
    20017: "A required element is missing, or an element's value is not of its schema type.",
    20018: "The request's bytes are not valid in its declared character encoding.",
    20019: "The Body names an element that is not an operation of the WSDL.",
    20022: "getMultipleLeads: a `LastUpdateAtSelector` gives both dates and they are further apart than"
    " the window limit.",
    20023: "More calls in the rolling rate window than allowed, for the server or for the API user.",
    20024: "More calls in flight at once than allowed (after waiting for a slot, in the self-hosted profile),"
    " for the server or for the API user; or the server is busy: request bodies in memory are at their limit.",
    20101: "A lead key, its type or its value is missing (getLead, getLeadActivity, syncLead without key or"
    " cookie, mergeLeads, requestCampaign).",
    20102: "A lead key type that does not apply to the call, or a lead id that is not a number"
    " (listOperation takes IDNUM keys only; requestCampaign refuses COOKIE).",
    20103: "No lead matches the key (getLead, syncLead by `Id`, requestCampaign when no listed lead exists).",
    20104: "syncLead has no `leadRecord`, or syncMultipleLeads no `leadRecord` at all.",
    20105: "A lead attribute names no lead field (the whole sync call fails, naming it).",
    20106: "syncLead names a workspace the instance does not declare, or finds a lead outside the workspace"
    " of its `MktowsContextHeader`.",
    20107: "An activity type filter names an unknown activity type.",
    20108: "A `LEADOWNEREMAIL` key matches no lead owner.",
    20109: "A parameter the call needs is missing (for example importToList token columns without `campaignName`).",
    20110: "A parameter has a value the call cannot use: a bad enumeration value, a count over a limit,"
    " an unknown object type, field or criterion, an ambiguous list name, and the like.",
    20111: "The static list named does not exist.",
    20113: "The program or campaign named does not exist, or the campaign cannot be run by this call.",
    20114: "Not returned by mktows: object parameter problems are 20110.",
    20122: "A stream position or offset that was altered, expired, comes from another query, or cannot be read.",
    20123: "Not returned by mktows: reading past the end gives an empty page.",
}


class MarketoError(Exception):
    """An error the client sees as a SOAP fault with a Marketo code."""

    code: int = 10001

    def __init__(self, message: str | None = None, *, code: int | None = None, reason: str | None = None) -> None:
        if code is not None:
            self.code = code
        self.detail = message or SHORT_MESSAGES[self.code]
        # what exactly went wrong, for the server's log and metrics only: never rendered to the client
        self.reason = reason
        super().__init__(self.detail)

    @property
    def short_message(self) -> str:
        return SHORT_MESSAGES[self.code]

    @property
    def long_message(self) -> str:
        return f"{self.detail} ({self.code})"


def _error(name: str, code: int) -> type[MarketoError]:
    return type(name, (MarketoError,), {"code": code, "__doc__": SHORT_MESSAGES[code]})


InternalError = _error("InternalError", 10001)
ServiceLayerError = _error("ServiceLayerError", 20011)
RequestNotUnderstood = _error("RequestNotUnderstood", 20012)
AccessDenied = _error("AccessDenied", 20013)
AuthenticationFailed = _error("AuthenticationFailed", 20014)
RequestLimitExceeded = _error("RequestLimitExceeded", 20015)
RequestExpired = _error("RequestExpired", 20016)
InvalidRequest = _error("InvalidRequest", 20017)
BadEncoding = _error("BadEncoding", 20018)
UnsupportedOperation = _error("UnsupportedOperation", 20019)
TimeRangeExceeded = _error("TimeRangeExceeded", 20022)
RateLimitExceeded = _error("RateLimitExceeded", 20023)
ConcurrencyLimitExceeded = _error("ConcurrencyLimitExceeded", 20024)
LeadKeyRequired = _error("LeadKeyRequired", 20101)
LeadKeyBad = _error("LeadKeyBad", 20102)
LeadNotFound = _error("LeadNotFound", 20103)
LeadDetailRequired = _error("LeadDetailRequired", 20104)
UnknownLeadField = _error("UnknownLeadField", 20105)
LeadSyncFailed = _error("LeadSyncFailed", 20106)
ActivityKeyBad = _error("ActivityKeyBad", 20107)
LeadOwnerNotFound = _error("LeadOwnerNotFound", 20108)
ParameterRequired = _error("ParameterRequired", 20109)
BadParameter = _error("BadParameter", 20110)
ListNotFound = _error("ListNotFound", 20111)
CampaignNotFound = _error("CampaignNotFound", 20113)
BadObjectParameter = _error("BadObjectParameter", 20114)
BadStreamPosition = _error("BadStreamPosition", 20122)
StreamAtEnd = _error("StreamAtEnd", 20123)
