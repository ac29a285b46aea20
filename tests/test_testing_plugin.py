"""The pytest plugin of the test double (mktows.testing, docs/testing.md): its fixtures, the
instance it is seeded from, the `state` handle, a run split over pytest-xdist workers, servers
in a process of their own and on PostgreSQL, and a recording served as a stub."""

from __future__ import annotations

import os

import httpx
import pytest
from support.pg import backends, temporary_database
from support.smtp import smtp_sink

from mktows.client import Client, MarketoFault
from mktows.instance import InstanceError
from mktows.testing.double import start_server

pytest_plugins = ["pytester"]


def test_the_default_server_has_one_api_user_and_an_empty_state(mktows_server):
    assert mktows_server.endpoint.startswith("http://127.0.0.1:")
    assert mktows_server.endpoint.endswith("/soap/mktows/2_9")
    assert mktows_server.endpoint_for("2_2").endswith("/soap/mktows/2_2")
    assert httpx.get(mktows_server.wsdl_url).status_code == 200
    assert mktows_server.env == {
        "MKTOWS_ENDPOINT": mktows_server.endpoint,
        "MKTOWS_USER_ID": mktows_server.user_id,
        "MKTOWS_ENCRYPTION_KEY": mktows_server.encryption_key,
    }
    assert mktows_server.state.leads() == [] and mktows_server.state.outbox() == []


INSTANCE = {
    "api_users": [{"user_id": "plugin_user", "encryption_key": "plugin-key"}],
    "lists": ["Newsletter"],
}


@pytest.mark.mktows(instance=INSTANCE)
def test_a_marker_seeds_the_server_and_state_reads_what_calls_did(mktows_server):
    assert mktows_server.user_id == "plugin_user"
    with mktows_server.client() as client:
        client.sync_lead(email="grace@example.com", attributes={"FirstName": "Grace"})
        [lead] = mktows_server.state.leads(email="GRACE@example.com")
        client.list_operation(list_operation="ADDTOLIST", list_key="Newsletter", list_member_list=[lead.id])
        with pytest.raises(MarketoFault):
            client.get_lead(lead_key=("EMAIL", "nobody@example.com"))
    assert lead.fields["FirstName"] == "Grace"
    assert [m.lead_id for m in mktows_server.state.list_members("Newsletter")] == [lead.id]
    assert [a.type for a in mktows_server.state.activities(lead_id=lead.id)] == ["New Lead", "Add to List"]
    assert mktows_server.state.activities(type="Add to List")[0].lead_id == lead.id
    with pytest.raises(KeyError):
        mktows_server.state.list_members("No Such List")


def test_the_session_server_is_shared(mktows_session_server, mktows_server):
    assert mktows_session_server.endpoint != mktows_server.endpoint


def test_an_xdist_run_gives_each_worker_its_own_servers(pytester):
    pytester.makeini("[pytest]\nmktows_instance = instance.yaml\n")
    pytester.makefile(".yaml", instance="api_users:\n  - {user_id: from_ini, encryption_key: ini-key}\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("n", range(6))
        def test_fresh(mktows_server, mktows_session_server, n):
            assert mktows_server.user_id == "from_ini"
            with mktows_server.client() as client:
                client.sync_lead(email=f"lead{n}@example.com")
            assert [lead.email for lead in mktows_server.state.leads()] == [f"lead{n}@example.com"]
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)


def _mailing_instance(port: int) -> dict:
    return {
        "api_users": [{"user_id": "mail_user", "encryption_key": "mail-key-12345"}],
        "smtp_url": f"smtp://127.0.0.1:{port}",
        "programs": [
            {
                "name": "Mail",
                "emails": [{"name": "Hello", "from": {"email": "team@example.com"}, "subject": "Hi", "text": "Hi"}],
                "campaigns": [
                    {
                        "name": "Send",
                        "trigger": {"campaign_is_requested": ["web_service_api"]},
                        "flow": [{"send_email": "Hello"}],
                    }
                ],
            }
        ],
    }


def test_servers_of_one_process_each_deliver_through_their_own_smtp_server():
    """Two in-memory servers side by side keep their own email settings: each sends through
    the SMTP server its instance file names, not the other's."""
    with smtp_sink() as first_sink, smtp_sink() as second_sink:
        with (
            start_server(_mailing_instance(first_sink.port)) as first,
            start_server(_mailing_instance(second_sink.port)) as second,
        ):
            for server, email in ((first, "one@example.com"), (second, "two@example.com")):
                with server.client() as client:
                    client.sync_lead(email=email)
                    client.request_campaign(program_name="Mail", campaign_name="Send", lead_list=[("EMAIL", email)])
            first_sink.wait_for(1)
            second_sink.wait_for(1)
            first.state.wait_for_jobs(30)
            second.state.wait_for_jobs(30)
    assert [m.rcpt_tos for m in first_sink.messages] == [["one@example.com"]]
    assert [m.rcpt_tos for m in second_sink.messages] == [["two@example.com"]]


# -- servers in a process of their own, on any database, started by the factory fixtures


@pytest.mark.mktows(instance=INSTANCE, process=True)
def test_a_server_in_its_own_process_is_read_across_the_process_boundary(mktows_server):
    assert mktows_server.process is not None and mktows_server.process.pid != os.getpid()
    assert "mktows ready on " + mktows_server.base_url in mktows_server.process.output()
    with mktows_server.client() as client:
        client.sync_lead(email="ada@example.com", attributes={"FirstName": "Ada"})
    [lead] = mktows_server.state.leads(email="ada@example.com")
    assert lead.fields["FirstName"] == "Ada"
    assert mktows_server.state.activities(lead_id=lead.id)[0].type == "New Lead"
    mktows_server.process.kill()
    with pytest.raises(httpx.ConnectError):
        httpx.get(mktows_server.wsdl_url, timeout=5)


def test_the_test_process_settings_do_not_reach_a_server_in_its_own_process(mktows_start, monkeypatch):
    monkeypatch.setenv("MKTOWS_LOG_FORMAT", "human")
    default = mktows_start(process=True)  # not a terminal: json lines
    assert '"message": "mktows starting"' in default.process.output()
    chosen = mktows_start(process=True, env={"MKTOWS_LOG_FORMAT": "human"})
    assert "mktows starting" in chosen.process.output()
    assert '"message": "mktows starting"' not in chosen.process.output()


def test_a_server_restarted_on_its_database_file_keeps_what_was_written(mktows_start, tmp_path):
    database = tmp_path / "kept.db"
    with mktows_start.running(INSTANCE, process=True, database_path=database, directory=tmp_path / "a") as first:
        with first.client() as client:
            client.sync_lead(email="kept@example.com")
    assert first.process.alive() is False
    again = mktows_start(INSTANCE, database_url=f"sqlite:///{database}")  # in this process this time
    assert [lead.email for lead in again.state.leads()] == ["kept@example.com"]


@pytest.mark.skipif("postgresql" not in backends(), reason="PostgreSQL is not among MKTOWS_TEST_BACKENDS")
@pytest.mark.parametrize("process", [False, True], ids=["in-thread", "own-process"])
def test_a_server_on_postgresql(mktows_start, process):
    with temporary_database("mktows_double") as url:
        with mktows_start.running(INSTANCE, database_url=url, process=process) as server:
            with server.client() as client:
                client.sync_lead(email="pg@example.com")
            assert [lead.email for lead in server.state.leads()] == ["pg@example.com"]
            assert server.database_url == url


def test_a_bad_instance_or_an_unknown_marker_option_is_one_clear_error(mktows_start, pytester):
    with pytest.raises(InstanceError, match="no_such_key"):
        mktows_start({"no_such_key": 1}, process=True)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.mktows(proces=True)
        def test_misspelt(mktows_server):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown option*proces*"])


def test_a_recording_is_served_as_a_stub_in_this_process(mktows_start, tmp_path):
    emulated = mktows_start(env={"MKTOWS_EMULATOR": "1"})
    recording = tmp_path / "calls.jsonl"
    httpx.post(emulated.base_url + "/_mktows/record", json={"path": str(recording)}).raise_for_status()
    with emulated.client() as client:
        client.sync_lead(email="stubbed@example.com")
        recorded = client.get_lead(lead_key=("EMAIL", "stubbed@example.com"))
    httpx.delete(emulated.base_url + "/_mktows/record").raise_for_status()
    stub_url = mktows_start.stub(recording)
    with Client(f"{stub_url}/soap/mktows/2_9", emulated.user_id, emulated.encryption_key, retries=0) as stub:
        assert stub.get_lead(lead_key=("EMAIL", "stubbed@example.com")) == recorded
        with pytest.raises(MarketoFault) as fault:
            stub.get_lead(lead_key=("EMAIL", "someone.else@example.com"))
    assert fault.value.code == 20017
