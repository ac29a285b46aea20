"""The marketing engine: domain rules over the store, no XML.

`Engine` is the one object the SOAP layer (and the CLI) talks to. Its methods take and
return the plain values of `engine.models` and raise `mktows.errors.MarketoError`
subclasses. Each write method runs in one transaction: it either applies fully, with its
activities, or changes nothing.
"""

from __future__ import annotations

from mktows.engine.activities.facade import ActivityCalls
from mktows.engine.admin.facade import AdminCalls
from mktows.engine.campaigns.facade import CampaignCalls
from mktows.engine.leads.facade import LeadCalls
from mktows.engine.lists.facade import ListCalls
from mktows.engine.objects.facade import ObjectCalls


class Engine(LeadCalls, ActivityCalls, ListCalls, CampaignCalls, ObjectCalls, AdminCalls):
    """The one facade: each family contributes its calls (`engine/<family>/facade.py`)."""


__all__ = ["Engine"]
