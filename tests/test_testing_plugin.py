"""The pytest plugin of the test double (mktows.testing, docs/testing.md): its fixtures, the
instance it is seeded from, the `state` handle, and a run split over pytest-xdist workers."""

from __future__ import annotations

import httpx
import pytest
from support.smtp import smtp_sink

from mktows.client import MarketoFault
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
