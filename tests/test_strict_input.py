"""Input the server does not use: kept working by default but logged and counted, refused in strict
mode (the instance setting, or an API user's flag), in process."""

from __future__ import annotations

import logging

import pytest
from support.inprocess import in_process_server
from support.server import INSTANCE
from support.soap import DEFAULT_HEADERS, assert_fault, auth_header_xml, envelope, post, success

from mktows.instance import InstanceError, parse_instance
from mktows.observe.metrics import IGNORED_INPUT

STRICT_USER, STRICT_KEY = "strict_user", "strict-secret-key"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """An app whose default test user is lenient and whose `strict_user` is strict."""
    users = [*INSTANCE["api_users"], {"user_id": STRICT_USER, "encryption_key": STRICT_KEY, "strict": True}]
    instance = {**INSTANCE, "api_users": users}
    with in_process_server(tmp_path_factory.mktemp("strict"), instance=instance, env={"MKTOWS_WORKERS": "0"}) as a:
        yield a


def send(app, body: str, *, strict_user: bool = False, request_id: str = "strict-test-1"):
    header = auth_header_xml(STRICT_USER, STRICT_KEY) if strict_user else auth_header_xml()
    return post(app.endpoint("2_9"), envelope(body, header), {**DEFAULT_HEADERS, "X-Request-Id": request_id})


def sync_lead(email: str, email_tag: str = "Email", extra: str = "") -> str:
    return (
        f"<ns1:paramsSyncLead><leadRecord><{email_tag}>{email}</{email_tag}>{extra}<leadAttributeList><attribute>"
        "<attrName>FirstName</attrName><attrValue>Strict</attrValue></attribute></leadAttributeList></leadRecord>"
        "<returnLead>false</returnLead></ns1:paramsSyncLead>"
    )


def get_lead(email: str, extra: str = "") -> str:
    return (
        f"<ns1:paramsGetLead><leadKey><keyType>EMAIL</keyType><keyValue>{email}</keyValue>{extra}</leadKey>"
        "</ns1:paramsGetLead>"
    )


def lead_ids(app, email: str) -> list[str]:
    resp = send(app, get_lead(email))
    if resp.status_code == 500:
        assert_fault(resp, 20103)
        return []
    return [r.findtext("Id") for r in success(resp, "getLead").iterfind("result/leadRecordList/leadRecord")]


def ignored_count(kind: str, operation: str) -> float:
    return IGNORED_INPUT.labels(kind, operation)._value.get()


def notes(caplog) -> list[dict]:
    return [
        {**r.fields, "request_id": r.request_id}
        for r in caplog.records
        if r.name == "mktows.input" and r.levelno == logging.WARNING
    ]


# --------------------------------------------------------------------------- lenient (the default)


def test_a_miscased_name_is_read_logged_and_counted(app, unique_email, caplog):
    caplog.set_level(logging.WARNING, logger="mktows.input")
    email = unique_email("miscased")
    before = ignored_count("miscased_element", "syncLead")
    success(send(app, sync_lead(email, "email"), request_id="miscased-1"), "syncLead")
    success(send(app, sync_lead(email, "EMAIL")), "syncLead")
    assert len(lead_ids(app, email)) == 1, "the lower-case name matched the same lead, no duplicate"
    assert ignored_count("miscased_element", "syncLead") == before + 2
    [first, *_] = notes(caplog)
    assert first == {
        "operation": "syncLead",
        "kind": "miscased_element",
        "path": "paramsSyncLead/leadRecord/email",
        "detail": "Element email read as Email",
        "request_id": "miscased-1",
    }


def test_a_lower_case_id_updates_that_lead_instead_of_creating_another(app, unique_email, caplog):
    email = unique_email("lower-id")
    success(send(app, sync_lead(email)), "syncLead")
    [lead_id] = lead_ids(app, email)
    caplog.set_level(logging.WARNING, logger="mktows.input")
    body = (
        f"<ns1:paramsSyncLead><leadRecord><id>{lead_id}</id><leadAttributeList><attribute><attrName>LastName"
        "</attrName><attrValue>Same</attrValue></attribute></leadAttributeList></leadRecord>"
        "<returnLead>false</returnLead></ns1:paramsSyncLead>"
    )
    result = success(send(app, body), "syncLead")
    assert result.findtext("result/syncStatus/status") == "UPDATED"
    assert result.findtext("result/leadId") == lead_id
    assert lead_ids(app, email) == [lead_id]
    assert [(n["kind"], n["path"]) for n in notes(caplog)] == [("miscased_element", "paramsSyncLead/leadRecord/id")]


def test_an_unknown_element_is_ignored_logged_and_counted(app, unique_email, caplog):
    caplog.set_level(logging.WARNING, logger="mktows.input")
    email = unique_email("unknown")
    before = ignored_count("unknown_element", "syncLead")
    success(send(app, sync_lead(email, extra="<Colour>blue</Colour>")), "syncLead")
    assert len(lead_ids(app, email)) == 1
    assert ignored_count("unknown_element", "syncLead") == before + 1
    assert [(n["kind"], n["path"]) for n in notes(caplog)] == [("unknown_element", "paramsSyncLead/leadRecord/Colour")]


def test_a_repeated_element_keeps_the_first_and_is_logged(app, unique_email, caplog):
    caplog.set_level(logging.WARNING, logger="mktows.input")
    email = unique_email("repeat")
    success(send(app, sync_lead(email)), "syncLead")
    resp = send(app, get_lead(email, extra="<keyValue>someone-else@example.invalid</keyValue>"))
    assert len(success(resp, "getLead").findall("result/leadRecordList/leadRecord")) == 1
    assert [(n["kind"], n["path"]) for n in notes(caplog)] == [("duplicate_element", "paramsGetLead/leadKey/keyValue")]


def test_keys_past_the_hundredth_are_dropped_and_logged(app, caplog):
    caplog.set_level(logging.WARNING, logger="mktows.input")
    keys = "".join(f"<stringItem>{i}</stringItem>" for i in range(1, 106))
    body = (
        '<ns1:paramsGetMultipleLeads><leadSelector xsi:type="ns1:LeadKeySelector"><keyType>IDNUM</keyType>'
        f"<keyValues>{keys}</keyValues></leadSelector></ns1:paramsGetMultipleLeads>"
    )
    before = ignored_count("dropped_key", "getMultipleLeads")
    success(send(app, body), "getMultipleLeads")
    assert ignored_count("dropped_key", "getMultipleLeads") == before + 1
    [note] = notes(caplog)
    assert note["path"] == "paramsGetMultipleLeads/leadSelector/keyValues/stringItem[101]"
    assert note["detail"] == "5 keys past the first 100 ignored"


def test_a_well_formed_request_logs_nothing(app, unique_email, caplog):
    caplog.set_level(logging.WARNING, logger="mktows.input")
    success(send(app, sync_lead(unique_email("clean"))), "syncLead")
    assert notes(caplog) == []


# --------------------------------------------------------------------------- strict


@pytest.mark.parametrize(
    ("label", "body", "path"),
    [
        ("miscased", sync_lead("{email}", "email"), "paramsSyncLead/leadRecord/email"),
        ("unknown", sync_lead("{email}", extra="<Colour>blue</Colour>"), "paramsSyncLead/leadRecord/Colour"),
        (
            "repeated",
            sync_lead("{email}", extra="<Email>{email}</Email>"),
            "paramsSyncLead/leadRecord/Email",
        ),
    ],
)
def test_a_strict_user_gets_20110_naming_the_element_and_nothing_is_written(app, unique_email, label, body, path):
    email = unique_email(f"strict-{label}")
    fault = assert_fault(send(app, body.replace("{email}", email), strict_user=True), 20110)
    assert path in fault.message
    assert lead_ids(app, email) == []
    # the same request from a lenient user still works
    success(send(app, body.replace("{email}", email)), "syncLead")


def test_a_strict_user_is_refused_keys_past_the_limit_before_anything_runs(app):
    keys = "".join(f"<leadKey><keyType>IDNUM</keyType><keyValue>{i}</keyValue></leadKey>" for i in range(1, 102))
    body = (
        "<ns1:paramsRequestCampaign><source>MKTOWS</source><campaignId>987654</campaignId>"
        f"<leadList>{keys}</leadList></ns1:paramsRequestCampaign>"
    )
    fault = assert_fault(send(app, body, strict_user=True), 20110)
    assert "paramsRequestCampaign/leadList/leadKey[101]" in fault.message
    assert_fault(send(app, body), 20113)  # lenient: the keys are dropped, the unknown campaign is found out


def test_a_strict_user_with_a_clean_request_is_served(app, unique_email):
    email = unique_email("strict-clean")
    success(send(app, sync_lead(email), strict_user=True), "syncLead")
    assert len(lead_ids(app, email)) == 1


def test_the_instance_setting_makes_every_user_strict(tmp_path, unique_email):
    env = {"MKTOWS_STRICT_INPUT": "1", "MKTOWS_WORKERS": "0"}
    with in_process_server(tmp_path, env=env) as strict_app:
        email = unique_email("strict-instance")
        fault = assert_fault(send(strict_app, sync_lead(email, "email")), 20110)
        assert "paramsSyncLead/leadRecord/email" in fault.message
        success(send(strict_app, sync_lead(email)), "syncLead")


def test_a_strict_flag_that_is_not_a_boolean_is_refused_by_the_instance_file():
    with pytest.raises(InstanceError, match=r"api_users\[0\]\.strict"):
        parse_instance({"api_users": [{"user_id": "u", "encryption_key": "k", "strict": "yes"}]}, "test")
