"""How syncLead and syncMultipleLeads find the lead a record means, through zeep and suds:
foreign ids as keys of their own, cookies joining the lead the keys find, and workspaces."""

from __future__ import annotations

import uuid

import pytest
from support.clients import LeadApi, attr_map, items

KINDS_VERSIONS = [("zeep", "2_2"), ("zeep", "3_1"), ("suds", "2_2"), ("suds", "3_1")]


@pytest.fixture(params=KINDS_VERSIONS, ids=[f"{k}-{v}" for k, v in KINDS_VERSIONS])
def api(request, lead_api) -> LeadApi:
    return lead_api(*request.param)


def _crm_id() -> str:
    return f"crm-{uuid.uuid4().hex[:10]}"


def _by_id(api: LeadApi, key_type: str, value: str) -> dict[int, dict]:
    return {int(r["Id"]): r for r in api.lead_records(api.get_lead(key_type, value))}


def _cookie() -> str:
    return f"id:561-HYG-937&token:_mch-example.com-{uuid.uuid4().int % 10**13}-{uuid.uuid4().hex[:5]}"


# --------------------------------------------------------------------------- foreign ids


def test_two_crm_contacts_sharing_an_email_are_two_leads(api, unique_email):
    email = unique_email("shared")
    email_only = api.create_lead(email, {"FirstName": "Web Form"})
    first_crm, second_crm = _crm_id(), _crm_id()
    first = api.sync_lead(email, {"FirstName": "Ann"}, fspi=first_crm, fstype="SFDC")
    second = api.sync_lead(email, {"FirstName": "Bob"}, fspi=second_crm, fstype="SFDC")
    assert [first["syncStatus"]["status"], second["syncStatus"]["status"]] == ["CREATED", "CREATED"]

    leads = _by_id(api, "EMAIL", email)
    assert len(leads) == 3, "the web-form lead and one lead per CRM contact"
    assert leads[email_only]["ForeignSysPersonId"] is None, "another lead's foreign id is never overwritten"
    assert attr_map(leads[email_only])["FirstName"] == "Web Form"
    by_crm = {r["ForeignSysPersonId"]: attr_map(r)["FirstName"] for r in leads.values() if r["ForeignSysPersonId"]}
    assert by_crm == {first_crm: "Ann", second_crm: "Bob"}

    again = api.sync_lead(email, {"LastName": "Again"}, fspi=first_crm, fstype="SFDC")
    assert (again["syncStatus"]["status"], int(again["leadId"])) == ("UPDATED", int(first["leadId"]))


def test_sync_multiple_leads_keeps_crm_contacts_apart_and_dedupes_plain_emails(api, unique_email):
    email = unique_email("multi-shared")
    email_only = api.create_lead(email, {"FirstName": "Existing"})
    first_crm, second_crm = _crm_id(), _crm_id()
    res = api.call(
        "syncMultipleLeads",
        leadRecordList={
            "leadRecord": [
                api.lead_record(email, {"FirstName": "Ann"}, fspi=first_crm, fstype="SFDC"),
                api.lead_record(email, {"FirstName": "Bob"}, fspi=second_crm, fstype="SFDC"),
                api.lead_record(email, {"LastName": "No Foreign Id"}),
            ]
        },
    )
    statuses = items(res, "syncStatusList", "syncStatus")
    assert [s["status"] for s in statuses] == ["CREATED", "CREATED", "UPDATED"]
    created = {int(statuses[0]["leadId"]), int(statuses[1]["leadId"])}
    assert len(created) == 2 and email_only not in created
    leads = _by_id(api, "EMAIL", email)
    assert set(leads) == {email_only, *created}
    assert leads[email_only]["ForeignSysPersonId"] is None
    # the record with only an email went to the most recently updated lead with that email
    assert int(statuses[2]["leadId"]) in leads
    assert attr_map(leads[int(statuses[2]["leadId"])])["LastName"] == "No Foreign Id"


# --------------------------------------------------------------------------- cookies


def test_a_cookie_joins_the_known_lead_and_brings_its_history(api, unique_email, fresh_list):
    cookie = _cookie()
    visit = api.call(
        "syncLead",
        leadRecord={"leadAttributeList": {"attribute": [{"attrName": "LastName", "attrValue": "From Web"}]}},
        returnLead=False,
        marketoCookie=cookie,
    )
    anonymous = int(visit["leadId"])
    assert visit["syncStatus"]["status"] == "CREATED"
    [anon_record] = api.lead_records(api.get_lead("COOKIE", cookie))
    assert int(anon_record["Id"]) == anonymous and anon_record["Email"] is None
    api.call(
        "listOperation",
        listOperation="ADDTOLIST",
        listKey={"keyType": "MKTOLISTNAME", "keyValue": fresh_list},
        listMemberList={"leadKey": [{"keyType": "IDNUM", "keyValue": str(anonymous)}]},
    )
    email = unique_email("known")
    known = api.create_lead(email, {"FirstName": "Known"})

    res = api.sync_lead(email, {"Company": "Acme"}, cookie=cookie)
    assert (res["syncStatus"]["status"], int(res["leadId"])) == ("UPDATED", known)

    assert list(_by_id(api, "EMAIL", email)) == [known], "no second lead with that email"
    assert list(_by_id(api, "COOKIE", cookie)) == [known], "the cookie now names the known lead"
    assert api.fault("getLead", leadKey={"keyType": "IDNUM", "keyValue": str(anonymous)}).code == 20103
    fields = attr_map(_by_id(api, "IDNUM", str(known))[known])
    assert (fields["FirstName"], fields["LastName"], fields["Company"]) == ("Known", "From Web", "Acme")
    activity = api.all_activities(known)
    new_leads = [a for a in activity if a["activityType"] == "New Lead"]
    assert len(new_leads) == 2, "the anonymous lead's New Lead activity moved to the known lead"
    assert any(a["activityType"] == "Add to List" and a["mktgAssetName"] == fresh_list for a in activity)
    member = api.call(
        "listOperation",
        listOperation="ISMEMBEROFLIST",
        listKey={"keyType": "MKTOLISTNAME", "keyValue": fresh_list},
        listMemberList={"leadKey": [{"keyType": "IDNUM", "keyValue": str(known)}]},
    )
    assert member["success"] is True, "the list membership moved too"


def test_a_cookie_of_a_known_lead_stays_with_it(api, unique_email):
    cookie = _cookie()
    owner = int(api.sync_lead(unique_email("owner"), {"FirstName": "Owner"}, cookie=cookie)["leadId"])
    other_email = unique_email("other")
    other = api.sync_lead(other_email, {"FirstName": "Other"}, cookie=cookie)
    assert other["syncStatus"]["status"] == "CREATED" and int(other["leadId"]) != owner
    assert list(_by_id(api, "COOKIE", cookie)) == [owner]
    assert list(_by_id(api, "EMAIL", other_email)) == [int(other["leadId"])]


def test_a_cookie_alone_updates_the_lead_it_belongs_to(api, unique_email):
    cookie = _cookie()
    email = unique_email("by-cookie")
    lead = int(api.sync_lead(email, {"FirstName": "Before"}, cookie=cookie)["leadId"])
    res = api.call(
        "syncLead",
        leadRecord={"leadAttributeList": {"attribute": [{"attrName": "FirstName", "attrValue": "After"}]}},
        returnLead=False,
        marketoCookie=cookie,
    )
    assert (res["syncStatus"]["status"], int(res["leadId"])) == ("UPDATED", lead)
    assert attr_map(_by_id(api, "EMAIL", email)[lead])["FirstName"] == "After"


# --------------------------------------------------------------------------- workspaces


def _sync_in(zeep_api: LeadApi, workspace: str, record: dict) -> dict:
    return zeep_api.call(
        "syncLead", leadRecord=record, returnLead=False, _soapheaders={"mktowsContext": {"targetWorkspace": workspace}}
    )


def _fault_in(zeep_api: LeadApi, workspace: str, record: dict):
    return zeep_api.fault(
        "syncLead", leadRecord=record, returnLead=False, _soapheaders={"mktowsContext": {"targetWorkspace": workspace}}
    )


@pytest.mark.parametrize("version", ["2_2", "3_1"])
def test_sync_lead_into_a_declared_workspace(lead_api, unique_email, version):
    api = lead_api("zeep", version)
    emea_email = unique_email("emea")
    crm = _crm_id()
    created = _sync_in(api, "emea", api.lead_record(emea_email, {"FirstName": "Emea"}, fspi=crm, fstype="SFDC"))
    assert created["syncStatus"]["status"] == "CREATED"
    emea_lead = int(created["leadId"])

    # named by id or foreign id, a lead must live in the target workspace
    assert (
        _sync_in(api, "EMEA", api.lead_record(None, {"LastName": "Ok"}, lead_id=emea_lead))["syncStatus"]["status"]
        == "UPDATED"
    )
    for record in (
        api.lead_record(None, {"LastName": "Wrong"}, lead_id=emea_lead),
        api.lead_record(None, {"LastName": "Wrong"}, fspi=crm, fstype="SFDC"),
    ):
        fault = _fault_in(api, "Default", record)
        assert (fault.code, fault.faultstring) == (20106, "20106 - Lead Sync Failed")
        assert "EMEA" in fault.message and "Default" in fault.message
    assert attr_map(_by_id(api, "IDNUM", str(emea_lead))[emea_lead])["LastName"] == "Ok", (
        "a refused call changed nothing"
    )

    # found by email, a lead is updated wherever it lives
    default_email = unique_email("default")
    default_lead = api.create_lead(default_email, {"FirstName": "Default"})
    res = _sync_in(api, "EMEA", api.lead_record(default_email, {"LastName": "Via Email"}))
    assert (res["syncStatus"]["status"], int(res["leadId"])) == ("UPDATED", default_lead)
    assert _fault_in(api, "EMEA", api.lead_record(None, {"LastName": "No"}, lead_id=default_lead)).code == 20106

    unknown = _fault_in(api, "Mars", api.lead_record(unique_email("mars")))
    assert unknown.code == 20106 and "Mars" in unknown.message and "EMEA" in unknown.message
