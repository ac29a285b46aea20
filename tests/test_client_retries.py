"""Retries of `mktows.client`: against real servers whose limits are set low (a rate of 5 calls
in 2 seconds; 2 calls in flight, refused at once), a client whose clock is an hour behind the
server's, a TCP server that takes the connection and hangs up, and a port nothing listens on.

What is retried: the faults the server gives before running a call (20016, 20023, 20024) and
lost connections, except that a lost connection which may have carried the request is not
retried for requestCampaign, scheduleCampaign and importToList (they would run twice).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from support.client_server import (
    CLIENT_INSTANCE,
    PROGRAM,
    TRIGGER,
    client_for,
    closed_port_url,
    eventually,
    hanging_up_server,
)
from support.server import (
    SEED_CUSTOM_FIELD,
    SEED_INT_FIELD,
    TEST_LIMITS,
    write_instance,
)
from support.soap import TEST_KEY, TEST_USER

from mktows.client import AsyncClient, Client, MarketoConnectionError, MarketoFault
from mktows.client.errors import NOT_REPEATABLE, is_retryable
from mktows.testing.double import MktowsInstance, start_server
from mktows.testing.process import running_mktows

FAST = {"backoff": 0.02, "max_backoff": 2.0}


# The two servers with low limits are test doubles of the pytest plugin (mktows.testing): real
# HTTP servers on a free port, started in this process in milliseconds.


@pytest.fixture(scope="module")
def rate_server() -> Iterator[MktowsInstance]:
    env = {**TEST_LIMITS, "MKTOWS_RATE_LIMIT_CALLS": "5", "MKTOWS_RATE_LIMIT_SECONDS": "2"}
    with start_server(CLIENT_INSTANCE, env=env) as server:
        yield server


@pytest.fixture(scope="module")
def busy_server() -> Iterator[MktowsInstance]:
    env = {"MKTOWS_MAX_CONCURRENCY": "2", "MKTOWS_CONCURRENCY_WAIT_SECONDS": "0"}
    with start_server(CLIENT_INSTANCE, env=env) as server:
        yield server


def test_which_errors_are_retried_for_which_operations():
    def lost(sent: bool) -> MarketoConnectionError:
        return MarketoConnectionError("lost", operation="x", sent=sent)

    for retryable in (20016, 20023, 20024):
        assert is_retryable(MarketoFault(retryable, "m", operation="requestCampaign"), repeatable=False)
    for final in (20014, 20015, 20013, 20102, 20103, 20110, 10001):
        assert not is_retryable(MarketoFault(final, "m", operation="getLead"), repeatable=True)
    assert NOT_REPEATABLE == {"requestCampaign", "scheduleCampaign", "importToList"}
    assert is_retryable(lost(sent=False), repeatable=False) and is_retryable(lost(sent=True), repeatable=True)
    assert not is_retryable(lost(sent=True), repeatable=False)


def test_the_client_completes_under_a_low_rate_limit(rate_server):
    with client_for(rate_server, retries=10, **FAST) as client:
        started = time.monotonic()
        for _ in range(12):
            assert client.list_mobjects().objects
        assert client.calls_retried >= 1, "12 calls at 5 per 2 seconds must have hit the limit"
        assert client.calls_sent == 12 + client.calls_retried
        assert time.monotonic() - started >= 2  # it waited for the window rather than giving up


def test_without_retries_the_rate_limit_fault_is_raised(rate_server):
    with client_for(rate_server, retries=0) as client:
        with pytest.raises(MarketoFault) as refused:
            for _ in range(20):
                client.list_mobjects()
        assert refused.value.code == 20023 and refused.value.retryable
        assert refused.value.retry_after is not None
        assert client.calls_retried == 0


def test_the_client_completes_under_a_concurrency_limit(busy_server):
    with client_for(busy_server, retries=30, **FAST) as client:
        since = datetime.now(UTC)
        created: dict[int, str] = {}
        lock = threading.Lock()

        def load(part: int) -> None:
            rows = [
                {"Email": f"busy-{part}-{i}@client-test.example.com", "LastName": f"B{part}-{i}"} for i in range(150)
            ]
            statuses = client.sync_multiple_leads(lead_record_list=rows).sync_status_list
            with lock:
                created.update((s.lead_id, r["LastName"]) for r, s in zip(rows, statuses, strict=True))

        threads = [threading.Thread(target=load, args=(part,)) for part in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(created) == 1500
        loaded_retries = client.calls_retried
        assert loaded_retries >= 1, "10 writers against 2 slots must have been refused"

        leads = list(
            client.iter_leads_updated(since, datetime.now(UTC), fields=["LastName"], windows=10, batch_size=50)
        )
        assert {r.id: r.attributes["LastName"] for r in leads} == created
        assert len(leads) == len(created)
        assert client.calls_retried > loaded_retries, "10 windows at once against 2 slots must have been refused"


def test_an_expired_request_is_signed_again_with_the_servers_time(busy_server):
    def an_hour_behind() -> datetime:
        return datetime.now(UTC) - timedelta(hours=1)

    with client_for(busy_server, retries=0, clock=an_hour_behind) as strict:
        with pytest.raises(MarketoFault) as expired:
            strict.list_mobjects()
        assert expired.value.code == 20016 and "behind server time" in expired.value.message

    with client_for(busy_server, clock=an_hour_behind, **FAST) as client:
        assert client.list_mobjects().objects
        assert (client.calls_sent, client.calls_retried) == (2, 1)
        assert client.list_mobjects().objects  # the server's time is known now: no second refusal
        assert (client.calls_sent, client.calls_retried) == (3, 1)

        # requestCampaign too: the server refused it before running it, so it runs once
        email = f"expired-{time.time_ns()}@client-test.example.com"
        lead_id = client.sync_lead(email=email).lead_id
    with client_for(busy_server, clock=an_hour_behind, **FAST) as client:
        assert client.request_campaign(program_name=PROGRAM, campaign_name=TRIGGER, lead_list=[lead_id]).success
        assert client.calls_retried == 1
        lead = eventually(
            lambda: (client.get_lead(lead_key=("IDNUM", lead_id)).lead_record_list or [])[0],
            lambda r: r.attributes.get(SEED_CUSTOM_FIELD) == "from the program",
        )
        time.sleep(1)
        lead = (client.get_lead(lead_key=("IDNUM", lead_id)).lead_record_list or [])[0]
        assert lead.attributes[SEED_INT_FIELD] == "1", "the campaign ran once"


def test_request_campaign_is_not_retried_once_the_connection_was_made():
    with hanging_up_server() as (url, accepted):
        with Client(url, TEST_USER, TEST_KEY, retries=3, **FAST) as client:
            with pytest.raises(MarketoConnectionError) as lost:
                client.request_campaign(program_name=PROGRAM, campaign_name=TRIGGER, lead_list=[1])
            assert lost.value.sent is True and lost.value.operation == "requestCampaign"
            assert (accepted[0], client.calls_sent, client.calls_retried) == (1, 1, 0)
            for name, call in (
                ("scheduleCampaign", lambda: client.schedule_campaign(program_name=PROGRAM, campaign_name="x")),
                (
                    "importToList",
                    lambda: client.import_to_list(
                        program_name=PROGRAM, import_file_header="Email Address", import_file_rows=[], list_name="x"
                    ),
                ),
            ):
                with pytest.raises(MarketoConnectionError) as other:
                    call()
                assert other.value.sent is True and other.value.operation == name
            assert (accepted[0], client.calls_retried) == (3, 0)

            # a read is repeatable: it is tried again on a new connection
            with pytest.raises(MarketoConnectionError):
                client.get_lead(lead_key=("IDNUM", 1))
            assert (accepted[0], client.calls_retried) == (7, 3)


def test_request_campaign_is_retried_when_the_connection_was_refused():
    with Client(closed_port_url(), TEST_USER, TEST_KEY, retries=3, **FAST) as client:
        with pytest.raises(MarketoConnectionError) as refused:
            client.request_campaign(program_name=PROGRAM, campaign_name=TRIGGER, lead_list=[1])
        assert refused.value.sent is False
        assert "never left this machine" in str(refused.value)
        assert (client.calls_sent, client.calls_retried) == (0, 3)


def test_request_campaign_reaches_a_server_that_starts_while_it_retries(tmp_path):
    url = closed_port_url()
    port = url.split(":")[2].split("/")[0]
    instance = write_instance(tmp_path / "instance.yaml", CLIENT_INSTANCE)
    args = ["serve", "--host", "127.0.0.1", "--port", port, "--db", f"sqlite:///{tmp_path / 'mktows.db'}"]
    with Client(url, TEST_USER, TEST_KEY, retries=60, backoff=0.25, max_backoff=0.5) as client:
        outcome: list[object] = []

        def request() -> None:
            try:
                client.request_campaign(program_name=PROGRAM, campaign_name=TRIGGER, lead_list=[1])
            except Exception as error:  # checked below
                outcome.append(error)

        caller = threading.Thread(target=request)
        caller.start()
        time.sleep(0.5)  # the first attempts are refused: nothing listens yet
        with running_mktows([*args, "--instance", str(instance)], env=TEST_LIMITS):
            caller.join(60)
        assert client.calls_retried >= 1 and client.calls_sent == 1
        # the request reached the server and was answered: no lead 1 on a fresh database (20103)
        [answer] = outcome
        assert isinstance(answer, MarketoFault) and answer.code == 20103, answer


# -- the asyncio client


def test_async_client_retries_under_the_rate_limit_and_after_refused_connections(rate_server):
    async def scenario() -> None:
        async with AsyncClient(rate_server.endpoint_for("2_9"), TEST_USER, TEST_KEY, retries=10, **FAST) as client:
            results = await asyncio.gather(*(client.list_mobjects() for _ in range(12)))
            assert all(r.objects for r in results)
            assert client.calls_retried >= 1 and client.calls_sent == 12 + client.calls_retried
        async with AsyncClient(closed_port_url(), TEST_USER, TEST_KEY, retries=2, **FAST) as refused:
            try:
                await refused.request_campaign(program_name=PROGRAM, campaign_name=TRIGGER, lead_list=[1])
            except MarketoConnectionError as error:
                assert error.sent is False
            else:
                raise AssertionError("no error")
            assert (refused.calls_sent, refused.calls_retried) == (0, 2)

    asyncio.run(scenario())


def test_async_request_campaign_is_not_retried_once_the_connection_was_made():
    async def scenario(url: str) -> None:
        async with AsyncClient(url, TEST_USER, TEST_KEY, retries=3, **FAST) as client:
            try:
                await client.request_campaign(program_name=PROGRAM, campaign_name=TRIGGER, lead_list=[1])
            except MarketoConnectionError as error:
                assert error.sent is True
            else:
                raise AssertionError("no error")
            assert client.calls_retried == 0

    with hanging_up_server() as (url, accepted):
        asyncio.run(scenario(url))
        assert accepted[0] == 1
