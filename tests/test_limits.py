"""Per-tenant call limits: daily quota 20015, rate 20023, concurrency 20024."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from support.inprocess import in_process_server
from support.soap import assert_fault, auth_header_xml, call, success

from mktows import errors
from mktows.soap.limits import CallLimits

LIST_MOBJECTS = "<ns1:paramsListMObjects/>"


def _server(tmp_path, **limits: str):
    """The app in process with these limits (the limits live in the app, not in the HTTP server)."""
    env = {"MKTOWS_RATE_LIMIT_CALLS": "1000", "MKTOWS_DAILY_QUOTA": "1000", "MKTOWS_MAX_CONCURRENCY": "10", **limits}
    return in_process_server(tmp_path, env=env)


@pytest.mark.in_process
def test_rate_limit_counts_authenticated_calls_only(tmp_path):
    with _server(tmp_path, MKTOWS_RATE_LIMIT_CALLS="5", MKTOWS_RATE_LIMIT_SECONDS="600") as srv:
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
    with _server(tmp_path, MKTOWS_DAILY_QUOTA="3") as srv:
        endpoint = srv.endpoint("2_2")
        for _ in range(3):
            success(call(endpoint, LIST_MOBJECTS), "listMObjects")
        fault = assert_fault(call(endpoint, LIST_MOBJECTS), 20015)
        assert "America/Chicago" in fault.message


@pytest.mark.in_process
def test_limits_can_be_switched_off(tmp_path):
    with _server(tmp_path, MKTOWS_DAILY_QUOTA="1", MKTOWS_LIMITS_ENABLED="0") as srv:
        for _ in range(3):
            success(call(srv.endpoint("2_2"), LIST_MOBJECTS), "listMObjects")


def test_concurrency_limit_and_release():
    limits = CallLimits(daily_quota=100, rate_calls=100, rate_seconds=20, max_concurrency=2)
    now = datetime.now(UTC)
    with limits.call(now), limits.call(now):
        with pytest.raises(errors.ConcurrencyLimitExceeded):
            with limits.call(now):
                pass
    with limits.call(now):  # finished calls free their slots
        pass


def test_quota_day_turns_at_chicago_midnight():
    limits = CallLimits(daily_quota=1, rate_calls=100, rate_seconds=20, max_concurrency=2)
    with limits.call(datetime(2026, 11, 28, 5, 59, tzinfo=UTC)):  # 23:59 in Chicago (CST)
        pass
    with pytest.raises(errors.RequestLimitExceeded):
        with limits.call(datetime(2026, 11, 28, 5, 59, 30, tzinfo=UTC)):
            pass
    with limits.call(datetime(2026, 11, 28, 6, 0, 1, tzinfo=UTC)):  # 00:00:01 next day in Chicago
        pass
