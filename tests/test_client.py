"""`mktows.client` against a real `mktows serve`: every operation of the API through its
typed method, faults as exceptions, the iterators following stream positions, a small
parallel export, and the asyncio client on a subset.

The server is this module's own (its instance file adds a program with a requestable and a
batch campaign: support/client_server.py); tests/test_client_retries.py covers retries and
lost connections, tests/test_client_export.py the export of 100,000 leads.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from support.client_server import (
    BATCH,
    CLIENT_INSTANCE,
    PROGRAM,
    PROGRAM_LIST,
    TRIGGER,
    client_for,
    eventually,
)
from support.server import SEED_CUSTOM_FIELD, SEED_INT_FIELD, Server, running_server
from support.soap import TEST_KEY, TEST_USER

from mktows.client import (
    ActivityTypeFilter,
    AsyncClient,
    Attrib,
    Client,
    LastUpdateAtSelector,
    LeadKey,
    LeadKeySelector,
    LeadRecord,
    MarketoFault,
    MObject,
    ParamsGetLead,
    StaticListSelector,
    make_lead_record,
)
from mktows.client.types import OPERATIONS


@pytest.fixture(scope="module")
def client_server(tmp_path_factory, mktows_session_start) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("client")
    with running_server(
        mktows_session_start, f"sqlite:///{workdir / 'mktows.db'}", workdir, instance=CLIENT_INSTANCE
    ) as server:
        yield server


@pytest.fixture(scope="module")
def client(client_server) -> Iterator[Client]:
    with client_for(client_server) as c:
        yield c


def _email(tag: str = "") -> str:
    return f"c-{tag}-{uuid.uuid4().hex[:10]}@client-test.example.com"


def _method(operation: str) -> str:
    """getMObjects -> get_mobjects, getLeadActivity -> get_lead_activity."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation.replace("MObject", "Mobject")).lower()


def test_every_operation_of_the_wsdl_has_a_typed_method():
    assert len(OPERATIONS) == 23
    for operation in OPERATIONS:
        for cls in (Client, AsyncClient):
            assert callable(getattr(cls, _method(operation), None)), f"{cls.__name__} has no {_method(operation)}"


def test_the_async_client_takes_the_same_arguments():
    def public(cls: type) -> set[str]:
        return {n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n))}

    assert public(Client) - {"close"} == public(AsyncClient) - {"aclose"}
    for name in sorted(public(Client) - {"close"}):
        sync_params = inspect.signature(getattr(Client, name)).parameters.values()
        async_params = inspect.signature(getattr(AsyncClient, name)).parameters.values()
        assert [(p.name, p.kind, p.default) for p in sync_params] == [
            (p.name, p.kind, p.default) for p in async_params
        ], name


# -- one call of every operation, with typed results


def test_lead_calls(client):
    email = _email("lead")
    synced = client.sync_lead(email=email, attributes={"FirstName": "Ada", SEED_INT_FIELD: 3}, return_lead=True)
    assert synced.sync_status.status == "CREATED" and synced.lead_id > 0
    assert synced.lead_record is not None and synced.lead_record.attributes["FirstName"] == "Ada"

    found = client.get_lead(lead_key=("EMAIL", email))
    assert found.count == 1
    [lead] = found.lead_record_list or []
    assert isinstance(lead, LeadRecord)
    assert (lead.id, lead.email) == (synced.lead_id, email)
    assert lead.attributes["FirstName"] == "Ada" and lead.attributes[SEED_INT_FIELD] == "3"
    # the generated request object is accepted as it is
    assert client.get_lead(ParamsGetLead(lead_key=LeadKey(key_type="IDNUM", key_value=str(lead.id)))).count == 1
    with pytest.raises(TypeError, match="not both"):
        client.get_lead(ParamsGetLead(lead_key=LeadKey(key_type="IDNUM", key_value="1")), lead_key=("IDNUM", 1))

    emails = [_email(f"many{i}") for i in range(3)]
    rows = [{"Email": e, "FirstName": f"F{i}", "LastName": "Many"} for i, e in enumerate(emails)]
    many = client.sync_multiple_leads(
        lead_record_list=[*rows, make_lead_record(email=email, attributes={"City": "Oslo"})]
    )
    assert [s.status for s in many.sync_status_list] == ["CREATED", "CREATED", "CREATED", "UPDATED"]

    page = client.get_multiple_leads(
        lead_selector=LeadKeySelector(key_type="EMAIL", key_values=emails), include_attributes=["FirstName"]
    )
    assert (page.return_count, page.remaining_count) == (3, 0)
    assert sorted(r.attributes["FirstName"] for r in page.lead_record_list or []) == ["F0", "F1", "F2"]

    ids = [s.lead_id for s in many.sync_status_list[:3]]
    merged = client.merge_leads(winning_lead_key_list={"IDNUM": ids[0]}, losing_lead_key_lists=[{"IDNUM": ids[1]}])
    assert merged.merge_status.status == "MERGED"
    assert merged.merge_status.winning_lead_id == ids[0] and merged.merge_status.losing_lead_id_list == [ids[1]]


def test_activity_calls(client):
    email = _email("activity")
    lead_id = client.sync_lead(email=email).lead_id
    client.sync_lead(email=email, attributes={"FirstName": "Grace"})

    activity = client.get_lead_activity(lead_key=("IDNUM", lead_id))
    assert activity.return_count == 2
    assert [r.activity_type for r in activity.activity_record_list or []] == ["Change Data Value", "New Lead"]
    change = (activity.activity_record_list or [])[0]
    assert change.attributes["New Value"] == "Grace" and change.mkt_person_id == str(lead_id)
    assert isinstance(change.activity_date_time, datetime) and change.activity_date_time.tzinfo is not None

    changes = client.get_lead_changes(
        start_position=datetime.now(UTC) - timedelta(hours=1),
        lead_selector=LeadKeySelector(key_type="IDNUM", key_values=[str(lead_id)]),
    )
    assert [r.activity_type for r in changes.lead_change_record_list or []] == ["New Lead", "Change Data Value"]
    assert changes.remaining_count == 0


def test_list_and_import_calls(client, client_server):
    name = client_server.fresh_list()
    ids = [
        s.lead_id
        for s in client.sync_multiple_leads(
            lead_record_list=[{"Email": _email("l")} for _ in range(3)]
        ).sync_status_list
    ]
    added = client.list_operation(list_operation="ADDTOLIST", list_key=name, list_member_list=ids[:2])
    assert added.success is True
    check = client.list_operation(list_operation="ISMEMBEROFLIST", list_key=name, list_member_list=ids)
    assert [s.status for s in check.status_list or []] == [True, True, False]
    assert [s.lead_key.key_value for s in check.status_list or []] == [str(i) for i in ids]

    rows = [f"{_email('import')},Imported{i}" for i in range(4)]
    queued = client.import_to_list(
        program_name=PROGRAM,
        import_file_header="Email Address,First Name",
        import_file_rows=rows,
        list_name=PROGRAM_LIST,
    )
    assert queued.import_status in ("PROCESSING", "COMPLETE")
    status = eventually(
        lambda: client.get_import_to_list_status(program_name=PROGRAM, list_name=PROGRAM_LIST),
        lambda s: s.status != "PROCESSING",
    )
    assert (status.status, status.rows_imported, status.rows_failed) == ("COMPLETE", 4, 0)
    assert isinstance(status.started_time, datetime)


def test_campaign_calls(client):
    campaigns = client.get_campaigns_for_source(name=TRIGGER, exact_name=False)
    assert [c.name for c in campaigns.campaign_record_list or []] == [f"{PROGRAM}.{TRIGGER}"]
    assert campaigns.return_count == 1

    email = _email("campaign")
    lead_id = client.sync_lead(email=email).lead_id
    requested = client.request_campaign(
        program_name=PROGRAM,
        campaign_name=TRIGGER,
        lead_list=[("EMAIL", email)],
        program_token_list={"my.Note": "from the client"},
    )
    assert requested.success is True
    lead = eventually(
        lambda: (client.get_lead(lead_key=("IDNUM", lead_id)).lead_record_list or [])[0],
        lambda r: r.attributes.get(SEED_CUSTOM_FIELD) == "from the client",
    )
    assert lead.attributes[SEED_INT_FIELD] == "1"

    scheduled = client.schedule_campaign(
        program_name=PROGRAM, campaign_name=BATCH, campaign_run_at=datetime.now(UTC) + timedelta(days=1)
    )
    assert scheduled.success is True


def test_mobject_calls(client):
    assert client.list_mobjects().objects == ["ActivityRecord", "LeadRecord", "Opportunity", "OpportunityPersonRole"]
    described = client.describe_mobject(object_name="Opportunity").metadata
    assert described.name == "Opportunity" and "ExternalOpportunityId" in {f.name for f in described.field_list}

    programs = client.get_mobjects(
        type="Program", m_obj_criteria_list=[("Name", "EQ", "Spring Webinar")], include_details=True
    )
    [program] = programs.m_object_list or []
    assert program.attributes["Name"] == "Spring Webinar" and programs.has_more is False
    kinds = {t.attr_type for t in program.type_attrib_list or []}
    assert {"Tag", "Cost", "Token"} <= kinds

    key = f"opp-{uuid.uuid4().hex[:10]}"
    opportunity = MObject(
        type="Opportunity",
        attrib_list=[Attrib(name="Name", value="Deal"), Attrib(name="ExternalOpportunityId", value=key)],
    )
    synced = client.sync_mobjects(m_object_list=[opportunity], operation="INSERT")
    [status] = synced.m_obj_status_list
    assert status.status == "CREATED" and status.id is not None
    fetched = client.get_mobjects(type="Opportunity", id=status.id)
    assert [o.attributes["Name"] for o in fetched.m_object_list or []] == ["Deal"]
    deleted = client.delete_mobjects(m_object_list=[MObject(type="Opportunity", id=status.id)])
    assert [s.status for s in deleted.m_obj_status_list] == ["DELETED"]


def test_channel_and_tag_calls(client):
    channels = client.get_channels(tag=["Webinar"])
    [webinar] = channels.tags
    assert webinar.tag_value == "Webinar"
    assert [dict((a.name, a.value) for a in s.progression_status or [])["Status"] for s in webinar.status_list][:1]
    tags = client.get_tags(tag_list=["Region"])
    assert [(t.type, t.values) for t in tags.tag_list] == [("Region", ["North", "South", "EMEA"])]


def test_custom_object_calls(client):
    lead_id = client.sync_lead(email=_email("co")).lead_id
    synced = client.sync_custom_objects(
        obj_type_name="Roadshow",
        custom_obj_list=[
            ({"MKTOID": lead_id, "rid": f"r{i}"}, {"city": f"City {i}", "attendees": i}) for i in range(3)
        ],
    )
    assert [s.status for s in synced.sync_custom_obj_status_list] == ["CREATED"] * 3
    page = client.get_custom_objects(obj_type_name="Roadshow", custom_obj_key_list={"MKTOID": lead_id})
    assert page.return_count == 3 and page.remaining_count == 0
    assert sorted(o.attributes["city"] for o in page.custom_obj_list or []) == ["City 0", "City 1", "City 2"]
    assert {o.keys_dict["rid"] for o in page.custom_obj_list or []} == {"r0", "r1", "r2"}
    deleted = client.delete_custom_objects(
        obj_type_name="Roadshow", custom_obj_key_lists=[{"MKTOID": lead_id, "rid": "r0"}]
    )
    assert [s.status for s in deleted.delete_custom_obj_status_list] == ["DELETED"]


# -- faults


def test_faults_raise_with_their_code_and_are_not_retried(client, client_server):
    sent = client.calls_sent
    with pytest.raises(MarketoFault) as bad_key:
        client.get_lead(lead_key=("BOGUS", "x"))
    assert (bad_key.value.code, bad_key.value.operation) == (20102, "getLead")
    assert not bad_key.value.retryable
    with pytest.raises(MarketoFault) as missing:
        client.get_lead(lead_key=("EMAIL", _email("nobody")))
    assert missing.value.code == 20103 and missing.value.message.startswith("No lead found with EMAIL = ")
    assert client.calls_sent == sent + 2

    with Client(client_server.endpoint("2_9"), TEST_USER, "not-the-key-1", retries=5) as wrong:
        with pytest.raises(MarketoFault) as refused:
            wrong.list_mobjects()
        assert refused.value.code == 20014
        assert (wrong.calls_sent, wrong.calls_retried) == (1, 0)


def test_missing_settings_name_the_variable(monkeypatch):
    for name in ("MKTOWS_ENDPOINT", "MKTOWS_USER_ID", "MKTOWS_ENCRYPTION_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="MKTOWS_ENDPOINT"):
        Client()
    monkeypatch.setenv("MKTOWS_ENDPOINT", "http://127.0.0.1:1/soap/mktows/2_9")
    with pytest.raises(ValueError, match="MKTOWS_USER_ID"):
        Client()
    with pytest.raises(ValueError, match="MKTOWS_ENCRYPTION_KEY"):
        Client(user_id="someone")
    monkeypatch.setenv("MKTOWS_USER_ID", "someone")
    monkeypatch.setenv("MKTOWS_ENCRYPTION_KEY", "some-key-1")
    with Client() as c:
        assert c.endpoint == "http://127.0.0.1:1/soap/mktows/2_9"


# -- iterators follow stream positions to the end, each record once


def test_iter_multiple_leads_follows_the_stream(client, client_server):
    name = client_server.fresh_list()
    ids = []
    for start in range(0, 250, 125):
        rows = [{"Email": _email(f"it{start + i}"), "FirstName": f"N{start + i}"} for i in range(125)]
        ids += [s.lead_id for s in client.sync_multiple_leads(lead_record_list=rows).sync_status_list]
    client.list_operation(list_operation="ADDTOLIST", list_key=name, list_member_list=ids)
    before = client.calls_sent
    records = list(client.iter_multiple_leads(StaticListSelector(static_list_name=name), batch_size=100))
    assert client.calls_sent - before == 3
    assert [r.id for r in records] == sorted(ids)
    assert {r.attributes["FirstName"] for r in records} == {f"N{i}" for i in range(250)}


def test_iter_lead_changes_and_activity_follow_positions(client):
    email = _email("changes")
    lead_id = client.sync_lead(email=email).lead_id
    for n in range(6):
        client.sync_lead(email=email, attributes={"FirstName": f"V{n}"})
    selector = LeadKeySelector(key_type="IDNUM", key_values=[str(lead_id)])
    since = datetime.now(UTC) - timedelta(hours=1)
    paged = list(client.iter_lead_changes(since, lead_selector=selector, batch_size=2))
    whole = client.get_lead_changes(start_position=since, lead_selector=selector, batch_size=1000)
    assert [r.id for r in paged] == [r.id for r in whole.lead_change_record_list or []]
    assert len(paged) == len({r.id for r in paged}) == 7

    activity = list(client.iter_lead_activity(("IDNUM", lead_id), batch_size=3))
    assert [r.id for r in activity] == sorted((r.id for r in paged), reverse=True)
    only_changes = list(
        client.iter_lead_activity(
            ("EMAIL", email), activity_filter=ActivityTypeFilter(include_types=["ChangeDataValue"]), batch_size=4
        )
    )
    assert [r.attributes["New Value"] for r in only_changes] == [f"V{n}" for n in reversed(range(6))]


def test_iter_mobjects_and_custom_objects_follow_positions(client):
    region = f"r-{uuid.uuid4().hex[:8]}"
    opportunities = [
        MObject(
            type="Opportunity",
            attrib_list=[
                Attrib(name="Name", value=f"Deal {i}"),
                Attrib(name="Region", value=region),
                Attrib(name="ExternalOpportunityId", value=f"{region}-{i}"),
            ],
        )
        for i in range(130)
    ]
    for start in range(0, 130, 100):
        client.sync_mobjects(m_object_list=opportunities[start : start + 100], operation="UPSERT")
    found = list(client.iter_mobjects("Opportunity", m_obj_criteria_list=[("Region", "EQ", region)]))
    assert sorted(o.attributes["Name"] for o in found) == sorted(f"Deal {i}" for i in range(130))
    assert len({o.id for o in found}) == 130

    lead_id = client.sync_lead(email=_email("co-pages")).lead_id
    records = [({"MKTOID": lead_id, "rid": f"p{i:03d}"}, {"city": "Lyon"}) for i in range(150)]
    for start in range(0, 150, 100):
        client.sync_custom_objects(obj_type_name="Roadshow", custom_obj_list=records[start : start + 100])
    read = list(client.iter_custom_objects("Roadshow", custom_obj_key_list={"MKTOID": lead_id}, batch_size=40))
    assert sorted(o.keys_dict["rid"] for o in read) == [f"p{i:03d}" for i in range(150)]


def test_iter_leads_updated_yields_each_lead_of_the_range_once(client):
    since = datetime.now(UTC)  # the server shares this host's clock
    rows = [{"Email": _email(f"w{i}"), "LastName": f"W{i}"} for i in range(300)]
    created = {
        s.lead_id: r["LastName"]
        for r, s in zip(rows, client.sync_multiple_leads(lead_record_list=rows).sync_status_list, strict=True)
    }
    until = datetime.now(UTC)
    before = client.calls_sent
    leads = list(client.iter_leads_updated(since, until, fields=["LastName"], windows=4, concurrency=4, batch_size=50))
    assert {r.id: r.attributes["LastName"] for r in leads} == created
    assert len(leads) == len(created)
    assert all(set(r.attributes) == {"LastName"} for r in leads)
    assert client.calls_sent - before >= 300 // 50


def test_update_windows_never_span_more_than_thirty_days(client):
    from mktows.client.paging import update_windows

    start = datetime(2026, 1, 1, tzinfo=UTC)
    windows = update_windows(start, start + timedelta(days=365), 10, datetime.now(UTC))
    assert len(windows) == 13
    assert windows[0].oldest_updated_at == start and windows[-1].latest_updated_at == start + timedelta(days=365)
    assert all(
        w.latest_updated_at is not None and w.latest_updated_at - w.oldest_updated_at <= timedelta(days=30)
        for w in windows
    )
    assert all(a.latest_updated_at == b.oldest_updated_at for a, b in zip(windows, windows[1:], strict=False))
    open_ended = update_windows(start, None, 3, start + timedelta(days=3))
    assert [w.latest_updated_at for w in open_ended] == [start + timedelta(days=1), start + timedelta(days=2), None]


def test_results_are_frozen_dataclasses(client):
    result = client.list_mobjects()
    assert dataclasses.is_dataclass(result)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.objects = []  # type: ignore[misc]


# -- the asyncio client


def test_async_client_calls_faults_and_iterators(client_server):
    async def scenario() -> None:
        async with AsyncClient(client_server.endpoint("2_9"), TEST_USER, TEST_KEY) as aclient:
            since = datetime.now(UTC)
            emails = [_email(f"a{i}") for i in range(120)]
            results = await asyncio.gather(
                *(aclient.sync_lead(email=e, attributes={"FirstName": e[:8]}) for e in emails[:20])
            )
            assert {r.sync_status.status for r in results} == {"CREATED"}
            rest = await aclient.sync_multiple_leads(lead_record_list=[{"Email": e} for e in emails[20:]])
            ids = {r.lead_id for r in results} | {s.lead_id for s in rest.sync_status_list}
            lead = await aclient.get_lead(lead_key=("EMAIL", emails[0]))
            assert (lead.lead_record_list or [])[0].email == emails[0]
            try:
                await aclient.get_lead(lead_key=("EMAIL", _email("none")))
            except MarketoFault as fault:
                assert fault.code == 20103
            else:
                raise AssertionError("no fault")
            selector = LeadKeySelector(key_type="EMAIL", key_values=emails[:100])
            paged = [r.id async for r in aclient.iter_multiple_leads(selector, batch_size=30)]
            assert len(paged) == len(set(paged)) == 100
            until = datetime.now(UTC)
            updated = [r async for r in aclient.iter_leads_updated(since, until, windows=5, batch_size=25)]
            assert {r.id for r in updated} == ids and len(updated) == 120
            assert aclient.calls_sent >= 20 + 1 + 2 + 4 + 120 // 25

    asyncio.run(scenario())


def test_async_client_takes_the_same_request_objects(client_server):
    async def scenario() -> None:
        async with AsyncClient(client_server.endpoint("2_9"), TEST_USER, TEST_KEY) as aclient:
            now = datetime.now(UTC)
            page = await aclient.get_multiple_leads(
                lead_selector=LastUpdateAtSelector(oldest_updated_at=now + timedelta(days=1)), batch_size=10
            )
            assert (page.return_count, page.remaining_count, page.lead_record_list) == (0, 0, [])

    asyncio.run(scenario())
