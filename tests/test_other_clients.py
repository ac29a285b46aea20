"""Third-party SOAP clients that Marketo users run, against a real `mktows serve`.

Each client runs a small script of its own (tests/clients/*/scenario.*; the connection, signed
header and JSON report live in common.php / common.js / MktowsSoap.pm, shared with the MObject
scripts of tests/test_other_clients_mobjects.py) as a subprocess:
* PHP SoapClient, built from the served ?WSDL (as the vendor's PHP samples do), with and
  without SOAP_SINGLE_ELEMENT_ARRAYS, LeadKeySelector passed as a SoapVar;
* node-soap (npm `soap`, pinned in tests/clients/node/package-lock.json), built from the
  served ?WSDL, LeadKeySelector through its `attributes.xsi_type` mechanism;
* Perl SOAP::Lite without WSDL (proxy + uri, autotyped leaves), as in the wire samples.

Each script signs its own AuthenticationHeader in the client's natural timestamp format,
runs syncLead -> getLead -> getMultipleLeads -> listOperation ADDTOLIST/ISMEMBEROFLIST ->
getLeadActivity -> getLead of an unknown email (a SOAP fault), and prints one JSON
object; the assertions below are what a user of that client would check.

The runtimes come from `scripts/install-test-clients.sh`. A test skips only when its
runtime is really absent (no php / php-soap, no node or no installed node_modules, no perl
SOAP::Lite); set MKTOWS_REQUIRE_CLIENTS=1 to turn those skips into failures (for CI, after
the install script ran).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from support.server import SEED_CUSTOM_FIELD
from support.soap import TEST_KEY, TEST_USER

CLIENTS_DIR = Path(__file__).resolve().parent / "clients"
NODE_DIR = CLIENTS_DIR / "node"
INSTALL_HINT = "run scripts/install-test-clients.sh"
SCRIPT_TIMEOUT = 180  # seconds for one whole scenario (a bound, not an assertion)


def _probe(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.cache
def _missing_runtime(client: str) -> str | None:
    """Why `client` cannot run here, or None when it can."""
    if client == "php":
        if shutil.which("php") is None:
            return f"php not installed ({INSTALL_HINT})"
        if not _probe(["php", "-r", "exit(extension_loaded('soap') ? 0 : 3);"]):
            return f"php soap extension not loaded ({INSTALL_HINT})"
    elif client == "node":
        if shutil.which("node") is None:
            return f"node not installed ({INSTALL_HINT})"
        if not (NODE_DIR / "node_modules" / "soap" / "package.json").is_file():
            return f"npm package soap not installed in {NODE_DIR}/node_modules ({INSTALL_HINT})"
    elif client == "perl":
        if shutil.which("perl") is None:
            return f"perl not installed ({INSTALL_HINT})"
        if not _probe(["perl", "-MSOAP::Lite", "-MJSON::PP", "-MDigest::SHA", "-e", "1"]):
            return f"perl module SOAP::Lite not installed ({INSTALL_HINT})"
    else:  # pragma: no cover
        raise ValueError(client)
    return None


def _require(client: str) -> None:
    reason = _missing_runtime(client)
    if reason is None:
        return
    if os.environ.get("MKTOWS_REQUIRE_CLIENTS") == "1":
        pytest.fail(f"MKTOWS_REQUIRE_CLIENTS=1 but {reason}")
    pytest.skip(reason)


SCENARIOS = {"php": "scenario.php", "node": "scenario.js", "perl": "scenario.pl"}


def run_client_script(client: str, script: str, *args: str) -> dict:
    """Run tests/clients/{client}/{script} with `args` (the client's name is its runtime's
    command) and return the JSON object it printed, failing the test unless it ran to the end;
    skips (see _require) when the runtime is absent."""
    _require(client)
    cmd = [client, str(CLIENTS_DIR / client / script), *args]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"))
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    proc = subprocess.run(
        cmd,
        cwd=CLIENTS_DIR / client,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=SCRIPT_TIMEOUT,
    )
    report = f"command: {' '.join(cmd)}\nexit code: {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    try:
        out = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"{client} scenario printed no JSON object\n{report}")
    assert proc.returncode == 0 and out.get("ok") is True, (
        f"{client} scenario failed at step {out.get('step')!r}: {out.get('error')}\n{report}"
    )
    return out


def run_scenario(client: str, endpoint: str, email: str, list_name: str) -> dict:
    return run_client_script(client, SCENARIOS[client], endpoint, TEST_USER, TEST_KEY, email, list_name)


def assert_common_scenario(out: dict, email: str, *, check_api=None) -> None:
    """What a user of any client checks after the scenario."""
    sent = out["sent"]
    wanted = {"FirstName": sent["FirstName"], SEED_CUSTOM_FIELD: sent[SEED_CUSTOM_FIELD]}

    # syncLead created the lead and returned it (returnLead=true)
    sync = out["syncLead"]
    lead_id = sync["leadId"]
    assert lead_id > 0
    assert sync["status"] == "CREATED"
    assert sync["statusLeadId"] == lead_id
    assert sync["returnedId"] == lead_id
    assert sync["returnedEmail"] == email
    assert {k: sync["returnedAttrs"].get(k) for k in wanted} == wanted

    # getLead by EMAIL reads the same values back
    got = out["getLead"]
    assert got["count"] == 1
    assert got["Id"] == lead_id
    assert got["Email"] == email
    assert {k: got["attrs"].get(k) for k in wanted} == wanted

    # getMultipleLeads with a LeadKeySelector (typed with xsi:type): the unknown key is skipped
    multi = out["getMultipleLeads"]
    assert multi["requestHasXsiType"] is True, "the client did not type the selector as LeadKeySelector"
    assert multi["returnCount"] == 1
    assert multi["remainingCount"] == 0
    assert multi["ids"] == [lead_id]
    assert multi["emails"] == [email]

    # listOperation: added, then reported as a member
    member = [{"keyType": "IDNUM", "keyValue": str(lead_id), "status": True}]
    assert out["addToList"] == {"success": True, "statuses": member}
    assert out["isMemberOfList"] == {"success": True, "statuses": member}

    # getLeadActivity: the lead's creation and the list addition, nothing left to page
    acts = out["getLeadActivity"]
    assert "New Lead" in acts["types"], acts
    assert "Add to List" in acts["types"], acts
    assert acts["returnCount"] == len(acts["types"])
    assert acts["remainingCount"] == 0
    new_lead = acts["newLead"]
    assert new_lead["Lead ID"] == str(lead_id)
    assert new_lead["@mktPersonId"] == str(lead_id)
    assert new_lead["Source Type"] == "Web service API"

    # getLead of an unknown email: a SOAP fault the client raises, with code and text
    fault = out["fault"]
    assert fault["raised"] is True, f"getLead of an unknown email did not fault: {fault}"
    assert fault["code"] == 20103
    assert fault["faultstring"] == "20103 - Lead not found"
    assert fault["name"] == "mktServiceException"
    assert fault["message"] == f"No lead found with EMAIL = {out['unknownEmail']} (20103)"

    # The values the foreign client wrote are what another client (zeep) reads back.
    if check_api is not None:
        from support.clients import attr_map

        [record] = check_api.lead_records(check_api.get_lead("IDNUM", str(lead_id)))
        assert record["Email"] == email
        assert {k: attr_map(record).get(k) for k in wanted} == wanted


@pytest.mark.parametrize("version", ["2_2", "2_9"])
def test_php_soapclient_scenario(server, lead_api, unique_email, fresh_list, version):
    email = unique_email("php")
    out = run_scenario("php", server.endpoint(version), email, fresh_list)
    assert out["wsdl_functions"] == 23, "SoapClient did not find the 23 operations in the served WSDL"
    assert_common_scenario(out, email, check_api=lead_api("zeep", version))

    # Default SoapClient: a single record / attribute comes back as an object, not a list.
    assert out["getLead"]["recordIsObject"] is True
    # SOAP_SINGLE_ELEMENT_ARRAYS: the same call gives PHP arrays with the same values.
    arrays = out["getLeadArrays"]
    assert arrays["recordIsArray"] is True and arrays["records"] == 1
    assert arrays["attributeIsArray"] is True
    assert arrays["count"] == 1
    assert arrays["Id"] == out["syncLead"]["leadId"]
    assert arrays["Email"] == email
    assert arrays["attrs"] == out["getLead"]["attrs"]

    # The fault came as a SoapFault with the SOAP 1.1 faultcode.
    assert out["fault"]["faultcode"] == "SOAP-ENV:Client"


@pytest.mark.parametrize("version", ["2_2", "2_9"])
def test_node_soap_scenario(server, lead_api, unique_email, fresh_list, version):
    email = unique_email("node")
    out = run_scenario("node", server.endpoint(version), email, fresh_list)
    assert out["wsdl_operations"] == 23, "node-soap did not find the 23 operations in the served WSDL"
    assert out["getLead"]["records"] == 1
    assert_common_scenario(out, email, check_api=lead_api("zeep", version))
    assert out["fault"]["httpStatus"] == 500
    assert out["fault"]["faultcode"] == "SOAP-ENV:Client"


@pytest.mark.parametrize("version", ["2_2", "2_9"])
def test_perl_soaplite_scenario(server, lead_api, unique_email, fresh_list, version):
    email = unique_email("perl")
    out = run_scenario("perl", server.endpoint(version), email, fresh_list)
    assert out["getLead"]["records"] == 1
    assert_common_scenario(out, email, check_api=lead_api("zeep", version))
    assert out["fault"]["httpStatus"] == 500
    assert out["fault"]["faultcode"] == "SOAP-ENV:Client"
