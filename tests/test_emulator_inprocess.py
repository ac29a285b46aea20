"""The emulator control API in process, over raw HTTP: off by default, seeded fault rules that
fire on the same calls every run, and the quota day following the emulated clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.inprocess import InProcessServer, in_process_server
from support.soap import assert_fault, call, success

from mktows.runtime.clock import CLOCK

GET_TAGS = "<ns1:paramsGetTags/>"


@pytest.fixture(autouse=True)
def _clock_back_to_wall_time() -> Iterator[None]:
    yield
    CLOCK.reset()  # the offset is the process's: never leave it moved for the next test


def emulated(tmp_path: Path, **env: str) -> Iterator[InProcessServer]:
    return in_process_server(tmp_path, env={"MKTOWS_EMULATOR": "1", "MKTOWS_WORKERS": "0", **env})


def control(server: InProcessServer) -> httpx.Client:
    client = server.browser()
    client.base_url = httpx.URL(server.base_url + "/_mktows")
    return client


def test_the_control_api_is_off_unless_enabled(tmp_path):
    with in_process_server(tmp_path, env={"MKTOWS_WORKERS": "0"}) as server:
        client = server.browser()
        for method, path in [("POST", "/reset"), ("GET", "/state?what=leads"), ("POST", "/clock"), ("GET", "/faults")]:
            assert client.request(method, "/_mktows" + path).status_code == 404, path


def _fired(server: InProcessServer, calls: int) -> list[bool]:
    """Which of `calls` getTags calls the rule answered with its fault."""
    out = []
    for _ in range(calls):
        resp = call(server.endpoint(), GET_TAGS)
        out.append(resp.status_code == 500)
        if resp.status_code == 500:
            assert_fault(resp, 20024)
    return out


def test_a_seeded_probability_fires_on_the_same_calls_every_time(tmp_path):
    rule = {"operation": "getTags", "fault_code": 20024, "probability": 0.5, "seed": 42}
    with emulated(tmp_path) as server, control(server) as api:
        assert api.post("/faults", json=rule).status_code == 200
        first = _fired(server, 20)
        assert api.delete("/faults").json() == {"removed": 1}
        assert _fired(server, 3) == [False] * 3
        api.post("/faults", json=rule)
        assert _fired(server, 20) == first
        assert 0 < sum(first) < 20  # some calls and not others
        api.post("/faults", json={**rule, "seed": 7})
        # a rule of another seed (the first rule still draws first, and fires as before)
        assert len(api.get("/faults").json()["rules"]) == 2


def test_a_rule_for_every_operation_and_an_http_status(tmp_path):
    with emulated(tmp_path) as server, control(server) as api:
        api.post("/faults", json={"operation": "*", "http_status": 503, "times": 2})
        for _ in range(2):
            resp = server.request("POST", server.endpoint(), content=b"<x/>", validate=False)
            assert resp.status_code == 503
        success(call(server.endpoint(), GET_TAGS), "getTags")
        api.post("/faults", json={"operation": "getTags", "drop_connection": True})
        with pytest.raises(ConnectionResetError):
            call(server.endpoint(), GET_TAGS)


def test_the_quota_day_follows_the_emulated_clock(tmp_path):
    env = {"MKTOWS_LIMITS_PROFILE": "marketo", "MKTOWS_DAILY_QUOTA": "3"}
    with emulated(tmp_path, **env) as server, control(server) as api:
        for _ in range(3):
            success(call(server.endpoint(), GET_TAGS), "getTags")
        assert_fault(call(server.endpoint(), GET_TAGS), 20015)
        assert api.post("/clock", json={"advance_seconds": 86400}).status_code == 200
        success(call(server.endpoint(), GET_TAGS), "getTags")  # a new quota day: counted from zero
        assert api.post("/reset").status_code == 200
        assert api.get("/clock").json()["offset_seconds"] == 0


def test_state_and_outbox_as_json(tmp_path):
    with emulated(tmp_path) as server, control(server) as api:
        sync = (
            "<ns1:paramsSyncLead><leadRecord><Email>state@example.com</Email></leadRecord>"
            "<returnLead>false</returnLead></ns1:paramsSyncLead>"
        )
        success(call(server.endpoint(), sync), "syncLead")
        leads = api.get("/state", params={"what": "leads", "limit": "1"}).json()
        assert leads["count"] == 1 and leads["items"][0]["email"] == "state@example.com"
        assert api.get("/outbox").json() == {"count": 0, "items": []}
        assert api.delete("/outbox").json() == {"removed": 0}
        snapshot = api.post("/snapshot", json={"path": str(tmp_path / "snap.db")})
        assert snapshot.status_code == 200
