"""Authentication: the HMAC signature and the 20014/20016 faults, as raw XML to the app in process
(`asgi_server`); a key changed by another process is checked on the real servers (`server`)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from support.inprocess import in_process_server
from support.soap import (
    TEST_KEY,
    TEST_USER,
    assert_fault,
    auth_header_xml,
    call,
    envelope,
    post,
    sign,
    success,
)

from mktows.store.tables import api_users

DEMO_USER = "demo17_1_809934544BFABAE58E5D27"
DEMO_KEY = "27272727aa"

# All 18 sample vectors of the vendor's docs.
VECTORS = [
    ("2013-08-01T18:22:30-07:00", "b5e21953ae9f1b263e644da5eccce9ff33802513"),
    ("2013-08-02T15:47:06-07:00", "146ec93f4f1e2a45f7a545f7e42e2d053c0457e7"),
    ("2013-08-02T17:22:53-07:00", "59e88471266a7495590941586ef6a96849ea8e11"),
    ("2013-08-05T09:57:10-07:00", "0737b707c4022bb90122e7a1dbc79a2dbfbcd5ca"),
    ("2013-08-05T11:01:07-07:00", "d27074cb49414b3410fd7ab58b5945c3e86d28d4"),
    ("2013-08-05T11:08:02-07:00", "d4bebb327d734bc517851f4b93d488cf4498be81"),
    ("2013-08-05T11:21:17-07:00", "1538ddb4e5208ac2feeb431e9b2b22caecc1de3f"),
    ("2013-08-05T11:33:06-07:00", "75864de9b56d7b373b32ec5b80a7f846b49137ea"),
    ("2013-08-05T13:03:58-07:00", "3f1becf66fac77423fa7af0710f710f9adefb3fc"),
    ("2013-08-05T14:22:45-07:00", "40e6d89bd2f7f0daaddaf150ce7a7ca49788ffe7"),
    ("2013-08-05T14:33:48-07:00", "ed4c982dfbb3d569cdda1b658ab3eb97452e1df7"),
    ("2013-08-05T14:56:58-07:00", "17bf0b9e412e58eec836dc557ca9433f666944b6"),
    ("2013-08-05T15:58:38-07:00", "ab61065aa420ecdc78936fd4940b8e2e96252c4f"),
    ("2013-08-05T16:34:19-07:00", "9890d974aa58ccb96d7a0a3166573f6436c883dd"),
    ("2013-08-20T10:26:07-07:00", "ca67d597ced5bfce7f638e96204d6e1f38d3ffe7"),
    ("2013-08-20T11:18:12-07:00", "974ad482f5625657d82f38ee1522b69f0d6bc715"),
    ("2013-08-20T11:42:32-07:00", "a975513bb547bc4a5766a54f6f30e7319eb9811f"),
    ("2013-08-20T13:32:02-07:00", "cdea055214cc726b651dc44ef694e1db4babfcb1"),
]
# Derived vectors: the exact text is hashed, not the instant it denotes.
DERIVED = [
    ("2013-08-05T23:34:19.457Z", "ccf703709470922f3545319fad1006abd3ddc552"),
    ("2013-08-05T23:34:19+00:00", "e79333008cca48a17cbc7ed8526d1cb79760fcaa"),
]
REVERSED_ORDER_SIGNATURE = "9495d3f8166f171c5d02b711ba7e47f4c9d85f9d"  # HMAC(user id + timestamp)

LIST_MOBJECTS = "<ns1:paramsListMObjects/>"


# --------------------------------------------------------------------------- unit: compute_signature


@pytest.fixture(scope="module")
def compute_signature():
    auth = pytest.importorskip("mktows.soap.auth")
    return auth.compute_signature


def test_vector_table_is_complete():
    assert len(VECTORS) == 18 and len({v[0] for v in VECTORS}) == 18


@pytest.mark.parametrize(("timestamp", "expected"), VECTORS + DERIVED)
def test_compute_signature_vectors(compute_signature, timestamp, expected):
    sig = compute_signature(timestamp, DEMO_USER, DEMO_KEY)
    assert sig == expected
    assert sig == sig.lower() and len(sig) == 40


def test_same_instant_two_spellings_two_signatures(compute_signature):
    a, b = (compute_signature(ts, DEMO_USER, DEMO_KEY) for ts, _ in DERIVED)
    assert a != b


def test_reversed_concatenation_is_not_the_signature(compute_signature):
    ts = "2013-08-05T16:34:19-07:00"
    assert sign(DEMO_USER, ts, DEMO_KEY) == REVERSED_ORDER_SIGNATURE  # our own HMAC of (user + ts)
    assert compute_signature(ts, DEMO_USER, DEMO_KEY) == "9890d974aa58ccb96d7a0a3166573f6436c883dd"
    assert compute_signature(ts, DEMO_USER, DEMO_KEY) != REVERSED_ORDER_SIGNATURE


def test_test_helper_signs_like_the_vectors():
    for ts, expected in VECTORS + DERIVED:
        assert sign(ts, DEMO_USER, DEMO_KEY) == expected


# --------------------------------------------------------------------------- over SOAP


def _ts(delta: timedelta = timedelta(0), fmt: str = "%Y-%m-%dT%H:%M:%S+00:00") -> str:
    return (datetime.now(UTC) + delta).strftime(fmt)


def test_good_signature_is_accepted(asgi_server):
    success(call(asgi_server.endpoint(), LIST_MOBJECTS), "listMObjects")


def test_signature_compared_case_insensitively(asgi_server):
    ts = _ts()
    hdr = auth_header_xml(timestamp=ts, signature=sign(ts, TEST_USER, TEST_KEY).upper())
    success(call(asgi_server.endpoint(), LIST_MOBJECTS, header_xml=hdr), "listMObjects")


def test_bad_signature_is_20014(asgi_server):
    ts = _ts()
    bad = sign(ts, TEST_USER, "wrong-key-123")
    f = assert_fault(
        call(asgi_server.endpoint(), LIST_MOBJECTS, header_xml=auth_header_xml(timestamp=ts, signature=bad)), 20014
    )
    assert f.faultstring == "20014 - Authentication failed"


def test_reversed_order_signature_is_20014(asgi_server):
    ts = _ts()
    hdr = auth_header_xml(timestamp=ts, signature=sign(TEST_USER, ts, TEST_KEY))
    assert_fault(call(asgi_server.endpoint(), LIST_MOBJECTS, header_xml=hdr), 20014)


def test_unknown_user_is_20014(asgi_server):
    hdr = auth_header_xml(user="nobody_here", key=TEST_KEY)
    assert_fault(call(asgi_server.endpoint(), LIST_MOBJECTS, header_xml=hdr), 20014)


def test_missing_header_is_20014(asgi_server):
    assert_fault(call(asgi_server.endpoint(), LIST_MOBJECTS, header_xml=""), 20014)


def test_empty_header_element_is_20014(asgi_server):
    body = envelope(LIST_MOBJECTS, "<ns1:AuthenticationHeader/>")
    assert_fault(post(asgi_server.endpoint(), body), 20014)


def test_resigned_with_other_users_key_is_20014(asgi_server):
    # holdout_user exists, but the signature is made with test_user's key.
    assert_fault(
        call(asgi_server.endpoint(), LIST_MOBJECTS, header_xml=auth_header_xml("holdout_user", TEST_KEY)), 20014
    )


def _users_cli(server, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mktows", "users", *args, "--db", server.db_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def _list_as(server, user: str, key: str):
    return call(server.endpoint(), LIST_MOBJECTS, header_xml=auth_header_xml(user, key))


def test_user_added_and_rekeyed_by_another_process_works_on_its_next_call(server):
    # the server keeps its users in memory; `mktows users add` is another process
    _users_cli(server, "add", "rotating_user", "--key", "first-key-111")
    success(_list_as(server, "rotating_user", "first-key-111"), "listMObjects")
    _users_cli(server, "add", "rotating_user", "--key", "second-key-222", "--rotate", "--overlap", "0")
    success(_list_as(server, "rotating_user", "second-key-222"), "listMObjects")
    # the server saw the new key, so the old one is refused from now on
    assert_fault(_list_as(server, "rotating_user", "first-key-111"), 20014)


def test_a_rotation_with_overlap_keeps_the_old_key_working_on_the_running_server(server):
    _users_cli(server, "add", "overlap_user", "--key", "first-key-444")
    success(_list_as(server, "overlap_user", "first-key-444"), "listMObjects")
    _users_cli(server, "add", "overlap_user", "--key", "second-key-555", "--rotate", "--overlap", "1h")
    for key in ("second-key-555", "first-key-444"):  # clients move to the new key one by one
        success(_list_as(server, "overlap_user", key), "listMObjects")
    assert_fault(_list_as(server, "overlap_user", "third-key-666"), 20014)


EXPIRED = re.compile(
    r"Request expired: requestTimestamp (?P<ts>\S+) is (?P<skew>.+) (?P<direction>ahead of|behind) server time "
    r"(?P<now>\S+); requests are accepted up to 15 min either side \(check the client's clock\) \(20016\)"
)


def _expired(asgi_server, ts: str) -> re.Match[str]:
    """The 20016 fault for a header signed at `ts`, its message taken apart."""
    f = assert_fault(call(asgi_server.endpoint(), LIST_MOBJECTS, header_xml=auth_header_xml(timestamp=ts)), 20016)
    assert f.faultstring == "20016 - Request Expired"
    found = EXPIRED.fullmatch(f.message)
    assert found is not None, f.message
    assert found["ts"] == ts
    server_time = datetime.fromisoformat(found["now"])
    assert server_time.utcoffset() == timedelta(0)
    assert abs(server_time - datetime.now(UTC)) < timedelta(seconds=30)
    return found


def test_stale_timestamp_is_20016_saying_how_far_behind(asgi_server):
    found = _expired(asgi_server, _ts(timedelta(hours=-2, minutes=-5)))
    assert (found["skew"], found["direction"]) == ("2 h 5 min", "behind")
    found = _expired(asgi_server, _ts(timedelta(hours=-2), fmt="%Y-%m-%dT%H:%M:%SZ"))
    assert (found["skew"], found["direction"]) == ("2 h", "behind")


def test_future_timestamp_is_20016_saying_how_far_ahead(asgi_server):
    found = _expired(asgi_server, _ts(timedelta(minutes=20), fmt="%Y-%m-%dT%H:%M:%SZ"))
    assert (found["skew"], found["direction"]) == ("20 min", "ahead of")


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (60, "1 min"),
        (90, "1 min 30 s"),
        (900, "15 min"),
        (3600, "1 h"),
        (3900, "1 h 5 min"),
        (7500, "2 h 5 min"),
        (90061, "25 h 1 min 1 s"),
    ],
)
def test_durations_read_in_whole_units(seconds, expected):
    from mktows.soap.auth import duration_text

    assert duration_text(seconds) == expected


@pytest.mark.parametrize(
    ("skew", "window", "expected"),
    [
        (1199.6, 900, "20 min"),
        (1200.4, 900, "20 min"),
        (7499.8, 900, "2 h 5 min"),
        (900.3, 900, "15 min 1 s"),
        (910.2, 900, "15 min 10 s"),
        (45.4, 30, "45 s"),
        (30.2, 30, "31 s"),
    ],
)
def test_skew_is_rounded_but_never_to_a_figure_inside_the_window(skew, window, expected):
    from mktows.soap.auth import skew_text

    assert skew_text(skew, window) == expected


def test_slightly_skewed_clocks_are_accepted(asgi_server):
    for delta in (timedelta(minutes=-10), timedelta(minutes=10)):
        success(
            call(asgi_server.endpoint(), LIST_MOBJECTS, header_xml=auth_header_xml(timestamp=_ts(delta))),
            "listMObjects",
        )


@pytest.mark.parametrize("value", ["now", "28/11/2026 13:55", "2026-13-45T99:99:99Z"])
def test_correctly_signed_non_date_timestamp_is_20016(asgi_server, value):
    f = assert_fault(call(asgi_server.endpoint(), LIST_MOBJECTS, header_xml=auth_header_xml(timestamp=value)), 20016)
    if value:
        # signed correctly but not a date: 20016 naming the value
        assert f.message == f"Invalid request timestamp: {value} (20016)"


def _local(offset_hours: int, fmt: str) -> str:
    tz = timezone(timedelta(hours=offset_hours))
    return datetime.now(tz).strftime(fmt)


TIMESTAMP_SHAPES = {
    "Z": lambda: _ts(fmt="%Y-%m-%dT%H:%M:%SZ"),
    "+00:00": lambda: _ts(),
    "+0000": lambda: _ts(fmt="%Y-%m-%dT%H:%M:%S+0000"),
    "fraction-Z (node-soap)": lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
    "fraction+offset": lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"),
    "no offset = UTC": lambda: _ts(fmt="%Y-%m-%dT%H:%M:%S"),
    "-08:00 (PHP DATE_W3C)": lambda: _local(-8, "%Y-%m-%dT%H:%M:%S-08:00"),
    "+05:00": lambda: _local(5, "%Y-%m-%dT%H:%M:%S+05:00"),
    "-0700 (Java Z)": lambda: _local(-7, "%Y-%m-%dT%H:%M:%S-0700"),
}


@pytest.mark.parametrize("shape", list(TIMESTAMP_SHAPES))
def test_timestamp_shapes_accepted(asgi_server, shape):
    ts = TIMESTAMP_SHAPES[shape]()
    success(call(asgi_server.endpoint(), LIST_MOBJECTS, header_xml=auth_header_xml(timestamp=ts)), "listMObjects")


def test_no_offset_is_read_as_utc_not_local(asgi_server):
    # 20 minutes old if read as UTC -> must be rejected as expired.
    ts = _ts(timedelta(minutes=-20), fmt="%Y-%m-%dT%H:%M:%S")
    assert_fault(call(asgi_server.endpoint(), LIST_MOBJECTS, header_xml=auth_header_xml(timestamp=ts)), 20016)


def test_offset_is_honoured(asgi_server):
    # The wall-clock time is "now" but labelled -05:00, so the instant is 5 hours ahead.
    ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S-05:00")
    assert_fault(call(asgi_server.endpoint(), LIST_MOBJECTS, header_xml=auth_header_xml(timestamp=ts)), 20016)


@pytest.mark.parametrize("version", ["2_2", "3_1"])
def test_auth_applies_to_every_version(asgi_server, version):
    assert_fault(
        call(asgi_server.endpoint(version), LIST_MOBJECTS, header_xml=auth_header_xml(key="nope-nope-1")), 20014
    )
    success(call(asgi_server.endpoint(version), LIST_MOBJECTS), "listMObjects")


def test_partner_id_accepted_on_3_1(asgi_server):
    ts = _ts()
    hdr = (
        "<ns1:AuthenticationHeader>"
        f"<mktowsUserId>{TEST_USER}</mktowsUserId><requestSignature>{sign(ts, TEST_USER, TEST_KEY)}</requestSignature>"
        f"<requestTimestamp>{ts}</requestTimestamp><partnerId>launchpoint-key</partnerId>"
        "</ns1:AuthenticationHeader>"
    )
    success(call(asgi_server.endpoint("3_1"), LIST_MOBJECTS, header_xml=hdr), "listMObjects")


def test_must_understand_and_context_header_do_not_fault(asgi_server):
    ts = _ts()
    hdr = (
        f'<ns1:AuthenticationHeader SOAP-ENV:mustUnderstand="1">'
        f"<mktowsUserId>{TEST_USER}</mktowsUserId><requestSignature>{sign(ts, TEST_USER, TEST_KEY)}</requestSignature>"
        f"<requestTimestamp>{ts}</requestTimestamp></ns1:AuthenticationHeader>"
        '<ns1:MktowsContextHeader SOAP-ENV:mustUnderstand="1"><targetWorkspace>default</targetWorkspace></ns1:MktowsContextHeader>'
    )
    success(call(asgi_server.endpoint(), LIST_MOBJECTS, header_xml=hdr), "listMObjects")


# --------------------------------------------------------------------------- key rotation overlap

OLD_KEY = "old-secret-key9"


def _previous_key(app, previous: str | None, until: datetime | None) -> None:
    """Give the test user a previous key, as a key rotation leaves it (in this app's own database)."""
    with app.engine.db.write() as conn:
        conn.execute(
            update(api_users)
            .where(api_users.c.user_id == TEST_USER)
            .values(previous_key=previous, previous_key_expires_at=until)
        )


def _auth_failures(app, reason: str) -> float:
    resp = app.request("GET", app.base_url + "/metrics")
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            if s.name == "mktows_auth_failures_total" and s.labels == {"reason": reason}:
                return s.value
    return 0.0


def test_previous_key_is_accepted_until_its_overlap_ends(tmp_path):
    with in_process_server(tmp_path, env={"MKTOWS_WORKERS": "0"}) as app:
        ends = datetime.now(UTC) + timedelta(seconds=1.5)
        _previous_key(app, OLD_KEY, ends)
        old = auth_header_xml(key=OLD_KEY)
        success(call(app.endpoint(), LIST_MOBJECTS, header_xml=old), "listMObjects")
        success(call(app.endpoint(), LIST_MOBJECTS), "listMObjects")  # and the current key too
        time.sleep(max((ends - datetime.now(UTC)).total_seconds(), 0) + 0.1)
        retired_before = _auth_failures(app, "retired_key")
        f = assert_fault(call(app.endpoint(), LIST_MOBJECTS, header_xml=auth_header_xml(key=OLD_KEY)), 20014)
        assert f.faultstring == "20014 - Authentication failed"
        assert f.message == "Authentication failed (20014)"
        assert _auth_failures(app, "retired_key") == retired_before + 1
        success(call(app.endpoint(), LIST_MOBJECTS), "listMObjects")


def test_previous_key_without_an_end_is_not_accepted(tmp_path):
    with in_process_server(tmp_path, env={"MKTOWS_WORKERS": "0"}) as app:
        _previous_key(app, OLD_KEY, None)
        assert_fault(call(app.endpoint(), LIST_MOBJECTS, header_xml=auth_header_xml(key=OLD_KEY)), 20014)
        # a wrong key is still a wrong key while a previous one is accepted
        _previous_key(app, OLD_KEY, datetime.now(UTC) + timedelta(hours=1))
        success(call(app.endpoint(), LIST_MOBJECTS, header_xml=auth_header_xml(key=OLD_KEY)), "listMObjects")
        assert_fault(call(app.endpoint(), LIST_MOBJECTS, header_xml=auth_header_xml(key="third-key-333")), 20014)
