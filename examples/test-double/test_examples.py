"""The sign-up integration of this folder, tested against the mktows test double.

Each test starts a fresh mktows (the `mktows_server` fixture of the mktows pytest plugin),
seeded from instance.yaml, runs the integration script the way it runs in production (a
subprocess that finds the API in MKTOWS_ENDPOINT, MKTOWS_USER_ID and MKTOWS_ENCRYPTION_KEY),
then checks what it did through `mktows_server.state`, without a SOAP call: the lead exists
with its first name, the campaign ran for it, and its welcome email is in the outbox.

The PHP test needs php-cli and php-soap: it skips without them, unless MKTOWS_REQUIRE_CLIENTS=1
(CI), which makes their absence a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
EMAIL = "ada.lovelace@example.com"


def run_integration(cmd: list[str], mktows_server) -> str:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    env.update(mktows_server.env, NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def check_state(mktows_server, output: str) -> None:
    [lead] = mktows_server.state.leads(email=EMAIL)
    assert output.splitlines() == [f"lead {lead.id} CREATED", "campaign requested"]
    assert lead.fields["FirstName"] == "Ada"

    mktows_server.state.wait_for_jobs()  # the campaign runs as a job, after the call answered
    [run] = mktows_server.state.campaign_runs()
    assert (run.campaign, run.status, run.lead_ids) == ("Welcome Email", "done", (lead.id,))
    assert [a.type for a in mktows_server.state.activities(lead_id=lead.id)] == [
        "New Lead",
        "Request Campaign",
        "Send Email",
    ]
    [message] = mktows_server.state.outbox()
    assert (message.to, message.subject, message.status) == (EMAIL, "Welcome, Ada", "captured")
    assert "thanks for signing up" in message.text


def php_missing() -> str | None:
    if shutil.which("php") is None:
        return "php is not installed (scripts/install-test-clients.sh)"
    probe = subprocess.run(["php", "-r", "exit(extension_loaded('soap') ? 0 : 3);"], capture_output=True)
    return None if probe.returncode == 0 else "the php soap extension is not loaded (scripts/install-test-clients.sh)"


@pytest.mark.mktows(instance="instance.yaml")
def test_the_zeep_integration_signs_up_a_lead(mktows_server):
    output = run_integration(
        [sys.executable, str(HERE / "python" / "sync_and_request.py"), EMAIL, "Ada"], mktows_server
    )
    check_state(mktows_server, output)


@pytest.mark.mktows(instance="instance.yaml")
def test_the_php_integration_signs_up_a_lead(mktows_server):
    reason = php_missing()
    if reason is not None:
        if os.environ.get("MKTOWS_REQUIRE_CLIENTS") == "1":
            pytest.fail(f"MKTOWS_REQUIRE_CLIENTS=1 but {reason}")
        pytest.skip(reason)
    output = run_integration(["php", str(HERE / "php" / "sync_and_request.php"), EMAIL, "Ada"], mktows_server)
    check_state(mktows_server, output)


def test_each_test_gets_an_empty_instance(mktows_server):
    """Nothing of another test's server is here: no leads, runs or messages."""
    assert mktows_server.state.leads() == []
    assert mktows_server.state.campaign_runs() == []
    assert mktows_server.state.outbox() == []
    assert mktows_server.user_id == "mktows_test_user"  # no instance file: the default API user
