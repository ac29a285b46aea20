"""Call limits: the self-hosted and marketo profiles, per-user caps, waiting for a slot, what a
refused call costs, and how limit hits show in the logs and metrics."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import pytest
from support.inprocess import in_process_server
from support.server import TEST_LIMITS
from support.soap import (
    HOLDOUT_KEY,
    HOLDOUT_USER,
    TEST_KEY,
    TEST_USER,
    assert_fault,
    auth_header_xml,
    call,
    get,
    success,
)

from mktows import errors
from mktows.config import Settings
from mktows.observe.metrics import REGISTRY
from mktows.soap.limits import CallLimits, LimitPolicy, cpu_count, policy_for, server_concurrency

LIST_MOBJECTS = "<ns1:paramsListMObjects/>"  # answered on the event loop when a slot is free
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _server(tmp_path, **env: str):
    """The app in process (no job workers) with these settings: the suite's own generous limits
    are cleared, so each profile's defaults apply unless the test sets a value."""
    cleared = {name: "" for name in TEST_LIMITS}
    return in_process_server(tmp_path, env={**cleared, "MKTOWS_WORKERS": "0", **env})


def _hits(limit: str, action: str) -> float:
    return REGISTRY.get_sample_value("mktows_limit_hits_total", {"limit": limit, "action": action}) or 0.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the profiles and settings ----------------------------------------------------------------


def test_self_hosted_is_the_default_with_a_ceiling_sized_to_the_server():
    assert Settings.from_env({}).limits_profile == "self-hosted"
    policy = policy_for("self-hosted", sqlite=True, cpus=2)
    assert (policy.daily_quota, policy.rate_calls, policy.max_concurrency, policy.wait_seconds) == (0, 0, 4, 30)
    assert policy_for("self-hosted", sqlite=False, cpus=2).max_concurrency == 8
    assert policy_for("self-hosted", sqlite=True, cpus=1).max_concurrency == 4
    assert policy_for("self-hosted", sqlite=False, cpus=64).max_concurrency == 30


def test_marketo_profile_is_the_vendors_limits_without_per_user_caps():
    policy = policy_for("marketo", user_max_concurrency=2, user_rate_calls=3)
    assert policy == LimitPolicy(daily_quota=10_000, rate_calls=100, rate_seconds=20, max_concurrency=10)


@pytest.mark.in_process
def test_explicit_settings_win_over_the_profile(tmp_path):
    env = {"MKTOWS_DAILY_QUOTA": "5", "MKTOWS_RATE_LIMIT_CALLS": "7", "MKTOWS_CONCURRENCY_WAIT_SECONDS": "2"}
    with _server(tmp_path / "self", **env) as srv:
        policy = srv.app.state.limits.policy
        assert (policy.daily_quota, policy.rate_calls, policy.wait_seconds) == (5, 7, 2)
        assert policy.max_concurrency == server_concurrency(cpu_count(), sqlite=True)
    env = {"MKTOWS_LIMITS_PROFILE": "marketo", "MKTOWS_MAX_CONCURRENCY": "3", "MKTOWS_DAILY_QUOTA": "0"}
    with _server(tmp_path / "marketo", **env) as srv:
        policy = srv.app.state.limits.policy
        assert (policy.max_concurrency, policy.daily_quota, policy.rate_calls, policy.wait_seconds) == (3, 0, 100, 0)


def test_limits_enabled_off_switches_every_limit_off():
    policy = policy_for("marketo", enabled=False, daily_quota=1, user_rate_calls=1)
    assert not CallLimits(policy).active
    limits = CallLimits(policy)
    for _ in range(20):
        with limits.call(NOW, "u"):
            pass


def test_an_unknown_profile_is_refused_naming_the_variable():
    with pytest.raises(ValueError, match="MKTOWS_LIMITS_PROFILE"):
        Settings.from_env({"MKTOWS_LIMITS_PROFILE": "vendor"})


# --- the marketo profile, over the wire -------------------------------------------------------


@pytest.mark.in_process
def test_rate_limit_counts_authenticated_calls_only(tmp_path):
    env = {"MKTOWS_LIMITS_PROFILE": "marketo", "MKTOWS_RATE_LIMIT_CALLS": "5", "MKTOWS_RATE_LIMIT_SECONDS": "600"}
    with _server(tmp_path, **env) as srv:
        endpoint = srv.endpoint("2_9")
        for _ in range(8):  # refused by authentication: never counted
            bad = auth_header_xml(signature="0" * 40)
            assert_fault(call(endpoint, LIST_MOBJECTS, header_xml=bad), 20014)
        for _ in range(5):
            success(call(endpoint, LIST_MOBJECTS), "listMObjects")
        fault = assert_fault(call(endpoint, LIST_MOBJECTS), 20023)
        assert "5 calls" in fault.message


@pytest.mark.in_process
def test_daily_quota(tmp_path):
    with _server(tmp_path, MKTOWS_LIMITS_PROFILE="marketo", MKTOWS_DAILY_QUOTA="3") as srv:
        endpoint = srv.endpoint("2_2")
        for _ in range(3):
            success(call(endpoint, LIST_MOBJECTS), "listMObjects")
        fault = assert_fault(call(endpoint, LIST_MOBJECTS), 20015)
        assert "America/Chicago" in fault.message


@pytest.mark.in_process
def test_limits_can_be_switched_off(tmp_path):
    env = {"MKTOWS_LIMITS_PROFILE": "marketo", "MKTOWS_DAILY_QUOTA": "1", "MKTOWS_LIMITS_ENABLED": "0"}
    with _server(tmp_path, **env) as srv:
        for _ in range(3):
            success(call(srv.endpoint("2_2"), LIST_MOBJECTS), "listMObjects")


@pytest.mark.in_process
def test_a_retry_loop_at_the_rate_limit_does_not_spend_the_daily_quota(tmp_path):
    """Only served calls count: however hard a client retries while refused, it still gets its
    whole quota of served calls."""
    env = {
        "MKTOWS_LIMITS_PROFILE": "marketo",
        "MKTOWS_DAILY_QUOTA": "10",
        "MKTOWS_RATE_LIMIT_CALLS": "5",
        "MKTOWS_RATE_LIMIT_SECONDS": "2",
    }
    with _server(tmp_path, **env) as srv:
        endpoint = srv.endpoint("2_9")
        served = refused_by_rate = 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            resp = call(endpoint, LIST_MOBJECTS)
            if resp.status_code == 200:
                served += 1
                continue
            code = assert_fault(resp, 20023, 20015).code
            if code == 20015:
                break
            refused_by_rate += 1
        assert served == 10, f"served {served} calls of a quota of 10"
        assert refused_by_rate > 50, "the loop should have hammered the rate limit"


@pytest.mark.in_process
def test_the_self_hosted_default_has_no_quota_and_no_rate_limit(tmp_path):
    with _server(tmp_path) as srv:
        assert srv.app.state.limits.policy.daily_quota == srv.app.state.limits.policy.rate_calls == 0
        endpoint = srv.endpoint("2_9")
        for _ in range(120):  # more than the vendor's 100 calls in 20 seconds
            success(call(endpoint, LIST_MOBJECTS), "listMObjects")


# --- waiting for a slot -----------------------------------------------------------------------


@pytest.mark.in_process
def test_a_call_past_the_ceiling_waits_for_a_slot_without_holding_up_the_server(tmp_path):
    env = {"MKTOWS_MAX_CONCURRENCY": "1", "MKTOWS_CONCURRENCY_WAIT_SECONDS": "20"}
    with _server(tmp_path, **env) as srv:
        endpoint = srv.endpoint("2_9")
        waited_before = _hits("concurrency", "waited")
        results: list = []
        with srv.app.state.limits.call(datetime.now(UTC), "someone"):  # the one slot, taken
            caller = threading.Thread(target=lambda: results.append(call(endpoint, LIST_MOBJECTS)))
            caller.start()
            time.sleep(0.5)
            assert caller.is_alive(), "the call should wait for the slot"
            started = time.monotonic()
            assert get(srv.wsdl_url("2_9")).status_code == 200  # the event loop is free meanwhile
            assert time.monotonic() - started < 3
            assert caller.is_alive()
        caller.join(20)
        success(results[0], "listMObjects")
        assert _hits("concurrency", "waited") == waited_before + 1


@pytest.mark.in_process
def test_a_call_that_finds_no_slot_in_time_gets_20024(tmp_path):
    env = {"MKTOWS_MAX_CONCURRENCY": "1", "MKTOWS_CONCURRENCY_WAIT_SECONDS": "1"}
    with _server(tmp_path, **env) as srv:
        refused_before = _hits("concurrency", "refused")
        with srv.app.state.limits.call(datetime.now(UTC), "someone"):
            started = time.monotonic()
            fault = assert_fault(call(srv.endpoint("2_9"), LIST_MOBJECTS), 20024)
            assert time.monotonic() - started >= 1
        assert "More than 1 calls in flight" in fault.message and "1 seconds" in fault.message
        assert _hits("concurrency", "refused") == refused_before + 1
        success(call(srv.endpoint("2_9"), LIST_MOBJECTS), "listMObjects")  # the slot is free again


def test_a_waiting_call_takes_the_slot_a_finished_call_frees():
    limits = CallLimits(LimitPolicy(max_concurrency=1, wait_seconds=10))
    admitted = threading.Event()

    def second() -> None:
        with limits.call(NOW, "b"):
            admitted.set()

    with limits.call(NOW, "a"):
        waiter = threading.Thread(target=second)
        waiter.start()
        assert not admitted.wait(0.3)
    assert admitted.wait(5), "the waiting call was not admitted when the slot came free"
    waiter.join(5)


def test_marketo_concurrency_refuses_at_once_and_frees_slots():
    limits = CallLimits(policy_for("marketo", max_concurrency=2))
    with limits.call(NOW, "a"), limits.call(NOW, "a"):
        started = time.monotonic()
        with pytest.raises(errors.ConcurrencyLimitExceeded):
            with limits.call(NOW, "a"):
                pass
        assert time.monotonic() - started < 0.5
    with limits.call(NOW, "a"):  # finished calls free their slots
        pass


def test_quota_day_turns_at_chicago_midnight():
    limits = CallLimits(LimitPolicy(daily_quota=1))
    with limits.call(datetime(2026, 11, 28, 5, 59, tzinfo=UTC), "a"):  # 23:59 in Chicago (CST)
        pass
    with pytest.raises(errors.RequestLimitExceeded):
        with limits.call(datetime(2026, 11, 28, 5, 59, 30, tzinfo=UTC), "a"):
            pass
    with limits.call(datetime(2026, 11, 28, 6, 0, 1, tzinfo=UTC), "a"):  # 00:00:01 next day in Chicago
        pass


def test_refused_calls_count_toward_no_limit():
    clock = FakeClock()
    limits = CallLimits(LimitPolicy(daily_quota=10, rate_calls=5, rate_seconds=20), clock=clock)
    for _ in range(5):
        with limits.call(NOW, "a"):
            pass
    clock.now += 5
    with pytest.raises(errors.RateLimitExceeded, match="5 calls in 20 seconds; retry in 15 seconds"):
        with limits.call(NOW, "a"):
            pass
    for _ in range(1000):
        with pytest.raises(errors.RateLimitExceeded):
            with limits.call(NOW, "a"):
                pass
    clock.now += 15  # the window has moved past the five served calls, and only past them
    for _ in range(5):
        with limits.call(NOW, "a"):
            pass
    clock.now += 20
    with pytest.raises(errors.RequestLimitExceeded):
        with limits.call(NOW, "a"):
            pass


# --- per-user caps ----------------------------------------------------------------------------


@pytest.mark.in_process
def test_a_user_rate_cap_refuses_that_user_only_and_logs_it_without_keys(tmp_path, caplog):
    env = {"MKTOWS_USER_RATE_LIMIT_CALLS": "3", "MKTOWS_USER_RATE_LIMIT_SECONDS": "600"}
    caplog.set_level(logging.INFO, logger="mktows.limits")
    with _server(tmp_path, **env) as srv:
        endpoint = srv.endpoint("2_9")
        for _ in range(3):
            success(call(endpoint, LIST_MOBJECTS), "listMObjects")
        fault = assert_fault(call(endpoint, LIST_MOBJECTS), 20023)
        assert "3 calls in 600 seconds" in fault.message and TEST_USER in fault.message
        other = auth_header_xml(user=HOLDOUT_USER, key=HOLDOUT_KEY)
        success(call(endpoint, LIST_MOBJECTS, header_xml=other), "listMObjects")
    lines = [r for r in caplog.records if r.name == "mktows.limits"]
    assert lines and lines[0].fields["user_id"] == TEST_USER and lines[0].fields["limit"] == "user_rate"
    assert lines[0].fields["user_rate_calls"] == 3
    assert not any(key in caplog.text for key in (TEST_KEY, HOLDOUT_KEY))


def test_a_user_concurrency_cap_refuses_at_once_and_leaves_other_users_alone():
    limits = CallLimits(LimitPolicy(max_concurrency=10, wait_seconds=10, user_max_concurrency=1))
    with limits.call(NOW, "a"):
        started = time.monotonic()
        with pytest.raises(errors.ConcurrencyLimitExceeded, match="1 calls in flight for API user a"):
            with limits.call(NOW, "a"):
                pass
        assert time.monotonic() - started < 0.5
        with limits.call(NOW, "b"):
            pass


def test_limit_hits_are_counted_and_logged_once_per_burst(caplog):
    caplog.set_level(logging.INFO, logger="mktows.limits")
    clock = FakeClock()
    limits = CallLimits(LimitPolicy(rate_calls=1, rate_seconds=60), clock=clock)
    before = _hits("rate", "refused")
    with limits.call(NOW, "burst_user"):
        pass
    for _ in range(50):
        with pytest.raises(errors.RateLimitExceeded):
            with limits.call(NOW, "burst_user"):
                pass
    assert _hits("rate", "refused") == before + 50
    lines = [r for r in caplog.records if r.name == "mktows.limits"]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING
    assert lines[0].fields["user_id"] == "burst_user" and lines[0].fields["rate_calls"] == 1
    clock.now += 11  # later hits are logged again, with the count of those not logged
    with pytest.raises(errors.RateLimitExceeded):
        with limits.call(NOW, "burst_user"):
            pass
    lines = [r for r in caplog.records if r.name == "mktows.limits"]
    assert len(lines) == 2 and lines[1].fields["unlogged_hits"] == 49
