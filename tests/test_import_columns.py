"""importToList header columns, driven as an integrator would: zeep and suds clients built from
the served ?WSDL against the session's real `mktows serve` (SQLite and PostgreSQL), whose
instance declares the program `Columns Program` with one list per scenario and client
(support/server.py: COLUMNS_PROGRAM, columns_list).

Columns are matched to lead fields by display name, then API name, case-insensitively. A column
that names no field is ignored: its values land nowhere, the server logs its name and
getImportToListStatus lists it in `importSummary`. A header without an Email column is still
refused (20110) before anything is queued.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from support.clients import LeadApi, attr_map, is_nil, items
from support.server import COLUMNS_PROGRAM as PROGRAM
from support.server import SEED_CUSTOM_FIELD, Server
from support.server import columns_list as list_for

CLIENTS = [("zeep", "3_1"), ("suds", "2_2")]


@pytest.fixture
def apis(lead_api) -> dict[str, LeadApi]:
    return {kind: lead_api(kind, version) for kind, version in CLIENTS}


def tag() -> str:
    return uuid.uuid4().hex[:8]


def import_rows(api: LeadApi, list_name: str, header: str, rows: list[str]) -> None:
    res = api.call(
        "importToList",
        programName=PROGRAM,
        listName=list_name,
        importFileHeader=header,
        importFileRows={"stringItem": rows},
        importListMode="UPSERTLEADS",
        clearList=False,
    )
    assert res["importStatus"] in ("PROCESSING", "COMPLETE"), res


def wait_complete(api: LeadApi, list_name: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        st = api.call("getImportToListStatus", programName=PROGRAM, listName=list_name)
        if st["status"] != "PROCESSING":
            return st
        assert time.monotonic() < deadline, f"the import into {list_name} did not finish: {st}"
        time.sleep(0.05)


def leads_by_email(api: LeadApi, emails: list[str]) -> dict[str, dict]:
    res = api.call("getMultipleLeads", leadSelector=api.key_selector("EMAIL", emails), batchSize=100)
    return {r["Email"].lower(): r for r in api.lead_records(res)}


def wait_output(srv: Server, text: str, timeout: float = 10) -> str:
    """The server's output once it holds `text` (the reader thread may lag a little)."""
    deadline = time.monotonic() + timeout
    while text not in srv.output() and time.monotonic() < deadline:
        time.sleep(0.05)
    return srv.output()


@pytest.mark.parametrize("kind", [k for k, _ in CLIENTS])
def test_columns_that_name_no_field_are_ignored_and_reported(server, apis, kind):
    api = apis[kind]
    list_name = list_for("Ignored", kind)
    t = tag()
    known, new = f"known-{t}@columns.example.com", f"new-{t}@columns.example.com"
    known_id = api.create_lead(known, {"FirstName": "Kept", "LastName": "Kept Too"})
    colour = f"Teal-{t}"
    # the vendor's own example header is `Email | First | Last`; First and Last name no field
    header = "Email,First,Last,Favourite Colour,Company Name,Seed Custom Field,Favourite Colour"
    import_rows(
        api,
        list_name,
        header,
        [
            f"{known},Changed-{t},Changed-{t},{colour},Acme {t},seed {t},{colour}-2",
            f"{new},Ann-{t},Lee-{t},{colour},Beta {t},,",
        ],
    )
    st = wait_complete(api, list_name)
    assert (st["status"], st["rowsImported"], st["rowsFailed"], st["rowsIgnored"]) == ("COMPLETE", 2, 0, 0)
    assert st["importSummary"].splitlines() == [
        'Ignored column "First": it names no lead field',
        'Ignored column "Last": it names no lead field',
        'Ignored column "Favourite Colour": it names no lead field',
        'Ignored column "Favourite Colour": it names no lead field',
    ]

    got = leads_by_email(api, [known, new])
    assert set(got) == {known, new}
    known_attrs, new_attrs = attr_map(got[known]), attr_map(got[new])
    assert (known_attrs["FirstName"], known_attrs["LastName"]) == ("Kept", "Kept Too")
    assert (known_attrs["Company"], known_attrs[SEED_CUSTOM_FIELD]) == (f"Acme {t}", f"seed {t}")
    assert new_attrs["Company"] == f"Beta {t}" and "FirstName" not in new_attrs and "LastName" not in new_attrs
    assert int(got[known]["Id"]) == known_id
    for email in (known, new):
        record = api.lead_records(api.get_lead("EMAIL", email))[0]
        activities = api.all_activities(int(record["Id"]))
        assert "Add to List" in [a["activityType"] for a in activities]
        on_the_lead = repr((record, activities))
        assert colour not in on_the_lead and f"Changed-{t}" not in on_the_lead and f"Ann-{t}" not in on_the_lead

    members = api.call("getMultipleLeads", leadSelector=api.list_selector(f"{PROGRAM}.{list_name}"), batchSize=100)
    assert sorted(r["Email"] for r in api.lead_records(members)) == sorted([known, new])
    logged = wait_output(server, f"into {PROGRAM}.{list_name}")
    [line] = [x for x in logged.splitlines() if f"into {PROGRAM}.{list_name}" in x]
    entry = json.loads(line)  # the server logs JSON lines when its output is not a terminal
    assert entry["level"] == "warning"
    assert '"First", "Last", "Favourite Colour", "Favourite Colour"' in entry["message"]


@pytest.mark.parametrize("kind", [k for k, _ in CLIENTS])
def test_columns_match_api_names_case_insensitively(apis, kind):
    api = apis[kind]
    list_name = list_for("Api Names", kind)
    t = tag()
    email = f"api-{t}@columns.example.com"
    import_rows(
        api,
        list_name,
        "email,firstname,LASTNAME,seed_custom_field,company name",
        [f"{email},Ann {t},Lee {t},seed {t},Gamma {t}"],
    )
    st = wait_complete(api, list_name)
    assert (st["status"], st["rowsImported"], st["rowsFailed"]) == ("COMPLETE", 1, 0)
    assert is_nil(st["importSummary"])  # every column named a field
    [record] = api.lead_records(api.get_lead("EMAIL", email))
    values = attr_map(record)
    assert (values["FirstName"], values["LastName"], values[SEED_CUSTOM_FIELD], values["Company"]) == (
        f"Ann {t}",
        f"Lee {t}",
        f"seed {t}",
        f"Gamma {t}",
    )


@pytest.mark.parametrize("kind", [k for k, _ in CLIENTS])
def test_a_header_without_email_is_refused_and_creates_nothing(apis, kind):
    api = apis[kind]
    list_name = list_for("No Email", kind)
    email = f"none-{tag()}@columns.example.com"
    base = dict(
        programName=PROGRAM,
        listName=list_name,
        importFileRows={"stringItem": [f"{email},Ann,Teal"]},
        importListMode="UPSERTLEADS",
        clearList=False,
    )
    fault = api.fault("importToList", importFileHeader="E-mail,First Name,Favourite Colour", **base)
    assert fault.code == 20110, fault
    assert "no Email Address column" in fault.message and "E-mail, Favourite Colour" in fault.message
    # a field named twice is still refused, also when one spelling is the API name
    fault = api.fault("importToList", importFileHeader="Email Address,email,Notes", **base)
    assert (fault.code, "twice" in fault.message) == (20110, True), fault
    assert api.fault("getLead", leadKey={"keyType": "EMAIL", "keyValue": email}).code == 20103
    status = api.fault("getImportToListStatus", programName=PROGRAM, listName=list_name)
    assert (status.code, status.message) == (20110, f"No import found for list {PROGRAM}.{list_name} (20110)")
    assert (
        items(
            api.call("getMultipleLeads", leadSelector=api.list_selector(f"{PROGRAM}.{list_name}"), batchSize=10),
            "leadRecordList",
            "leadRecord",
        )
        == []
    )
