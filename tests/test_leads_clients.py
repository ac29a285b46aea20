"""Lead operations through zeep and suds clients built from the served ?WSDL (2_2 and 3_1).

The scenarios live in support/scenarios.py and run unchanged through zeep and suds;
every response body is validated against the served schema by the client hook.
"""

from __future__ import annotations

import pytest
from support import scenarios


@pytest.fixture(
    params=[("zeep", "2_2"), ("zeep", "3_1"), ("suds", "2_2"), ("suds", "3_1")], ids=lambda p: f"{p[0]}-{p[1]}"
)
def api(request, lead_api):
    kind, version = request.param
    return lead_api(kind, version)


def test_sync_lead_create_then_get(api, unique_email):
    scenarios.sync_lead_create_then_get(api, unique_email)


def test_attribute_types_and_formats(api, unique_email):
    scenarios.attribute_types_and_formats(api, unique_email)


def test_sync_lead_updates_only_listed_fields(api, unique_email):
    scenarios.sync_lead_updates_only_listed_fields(api, unique_email)


def test_sync_lead_email_as_attribute(api, unique_email):
    scenarios.sync_lead_email_as_attribute(api, unique_email)


def test_sync_lead_marketo_cookie(api, unique_email):
    scenarios.sync_lead_cookie(api, unique_email)


def test_sync_lead_key_precedence(api, unique_email):
    scenarios.sync_lead_key_precedence(api, unique_email)


def test_get_lead_unknown_is_20103(api, unique_email):
    scenarios.get_lead_unknown_is_20103(api, unique_email)


def test_sync_lead_unknown_field_is_20105(api, unique_email):
    scenarios.sync_lead_unknown_field_is_20105(api, unique_email)


def test_sync_multiple_leads_dedup_enabled(api, unique_email):
    scenarios.sync_multiple_dedup_true(api, unique_email)


def test_sync_multiple_leads_dedup_disabled(api, unique_email):
    scenarios.sync_multiple_dedup_false_creates_duplicates(api, unique_email)


def test_sync_multiple_leads_per_record_status(api, unique_email):
    scenarios.sync_multiple_per_record_status(api, unique_email)


def test_sync_multiple_leads_email_key_rule(api, unique_email):
    scenarios.sync_multiple_email_key_not_changed_by_other_key(api, unique_email)


def test_sync_lead_unmatched_foreign_id_creates_a_lead(api, unique_email):
    scenarios.sync_lead_unmatched_foreign_id_creates_a_lead(api, unique_email)


def test_sync_multiple_leads_foreign_id_rules(api, unique_email):
    scenarios.sync_multiple_foreign_id_rules(api, unique_email)


def test_get_multiple_leads_by_keys(api, unique_email):
    scenarios.get_multiple_by_keys(api, unique_email)


def test_get_multiple_leads_by_static_list(api, unique_email, fresh_list):
    scenarios.get_multiple_by_static_list(api, unique_email, fresh_list)


def test_get_multiple_leads_by_last_update(api, unique_email):
    scenarios.get_multiple_by_last_update(api, unique_email)


def test_merge_leads(api, unique_email, fresh_list):
    scenarios.merge_leads(api, unique_email, fresh_list)


def test_merge_leads_unknown_loser(api, unique_email):
    scenarios.merge_leads_unknown_loser_fails(api, unique_email)


@pytest.mark.parametrize("kind", ["zeep", "suds"])
def test_sync_lead_move_cookie_on_3_1(lead_api, unique_email, kind):
    scenarios.sync_lead_move_cookie(lead_api(kind, "3_1"), unique_email)
