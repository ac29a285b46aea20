"""getMultipleLeads: selectors, keyset pages, exact remaining, signed positions (docs/leads.md)."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from engine_helpers import create

from mktows.engine import Engine
from mktows.engine.models import KeySelector, LeadInput, LeadKey, ListSelector, UpdatedAtSelector
from mktows.errors import BadParameter, BadStreamPosition, ListNotFound, TimeRangeExceeded


def _bulk(engine, n: int, prefix: str = "p") -> list[int]:
    out = engine.sync_leads(
        [
            LeadInput(email=f"{prefix}{i}@example.com", attributes=[("FirstName", f"F{i}"), ("City", "X")])
            for i in range(n)
        ]
    )
    return [o.lead_id for o in out]


def _drain(engine, selector, size, **kw):
    pages, position = [], None
    while True:
        page = engine.page_leads(selector, position=position, batch_size=size, **kw)
        pages.append(page)
        if page.remaining == 0:
            assert page.stream_position == ""
            return pages
        position = page.stream_position


def test_time_window_pages_have_exact_remaining_and_no_duplicates(engine, clock):
    start = clock.current
    ids = _bulk(engine, 120)
    for i in range(0, 120, 7):  # touch some leads so updated_at order differs from id order
        engine.sync_lead(LeadInput(id=ids[i], attributes=[("City", "Y")]), return_lead=False)
    pages = _drain(engine, UpdatedAtSelector(oldest=start), 50)
    assert [len(p.leads) for p in pages] == [50, 50, 20]
    assert [p.remaining for p in pages] == [70, 20, 0]
    seen = [lead.id for p in pages for lead in p.leads]
    assert sorted(seen) == ids and len(set(seen)) == 120
    stamps = [(lead.updated_at, lead.id) for p in pages for lead in p.leads]
    assert stamps == sorted(stamps)


def test_window_is_fixed_at_first_call(engine, clock):
    start = clock.current
    _bulk(engine, 30)
    selector = UpdatedAtSelector(oldest=start)
    first = engine.page_leads(selector, batch_size=10)
    engine.sync_leads([LeadInput(email=f"late{i}@example.com") for i in range(5)])
    engine.sync_lead(LeadInput(id=25, attributes=[("City", "moved")]), return_lead=False)
    second = engine.page_leads(selector, batch_size=10, position=first.stream_position)
    third = engine.page_leads(selector, batch_size=100, position=second.stream_position)
    got = [lead.id for p in (first, second, third) for lead in p.leads]
    assert second.remaining == 9  # lead 25 left the window by being updated; new leads are outside it
    assert len(got) == len(set(got)) and not any(i > 30 for i in got)


def test_key_selector_uses_first_100_keys_and_skips_unknown(engine):
    ids = _bulk(engine, 120)
    keys = [str(i) for i in ids] + ["99999", "not-a-number"]
    page = engine.page_leads(KeySelector("IDNUM", keys), batch_size=1000)
    assert [lead.id for lead in page.leads] == ids[:100]
    emails = engine.page_leads(KeySelector("EMAIL", ["P3@EXAMPLE.com", "nobody@example.com", "p1@example.com"]))
    assert [lead.id for lead in emails.leads] == [ids[1], ids[3]]


def test_key_selector_pages_by_id(engine):
    ids = _bulk(engine, 25)
    pages = _drain(engine, KeySelector("EMAIL", [f"p{i}@example.com" for i in range(25)]), 10)
    assert [lead.id for p in pages for lead in p.leads] == ids
    assert [p.remaining for p in pages] == [15, 5, 0]


def test_list_selector_by_name_id_and_program_form(engine):
    ids = _bulk(engine, 5)
    global_id = engine.add_list("Global")
    program_id = engine.add_list("Attendees", program="Webinar 2024")
    engine.list_operation("ADDTOLIST", "MKTOLISTNAME", "Global", [LeadKey("IDNUM", str(i)) for i in ids[:3]])
    engine.list_operation("ADDTOLIST", "MKTOLISTNAME", "Webinar 2024.Attendees", [LeadKey("IDNUM", str(ids[4]))])
    assert [lead.id for lead in engine.page_leads(ListSelector(list_name="Global")).leads] == ids[:3]
    assert [lead.id for lead in engine.page_leads(ListSelector(list_id=global_id)).leads] == ids[:3]
    assert [lead.id for lead in engine.page_leads(ListSelector(list_name="Webinar 2024.Attendees")).leads] == [ids[4]]
    assert engine.page_leads(ListSelector(list_id=program_id)).remaining == 0
    with pytest.raises(ListNotFound):
        engine.page_leads(ListSelector(list_name="Nope"))
    with pytest.raises(ListNotFound):
        engine.page_leads(ListSelector(list_id=9999))
    engine.add_list("Global", program="Other")  # same name inside a program: global still wins
    assert engine.page_leads(ListSelector(list_name="Global")).remaining == 0
    engine.add_list("X.Y", program="A")
    engine.add_list("Y", program="A.X")
    with pytest.raises(BadParameter):
        engine.page_leads(ListSelector(list_name="A.X.Y"))


def test_tampered_garbage_or_foreign_positions_are_rejected(engine, clock):
    start = clock.current
    _bulk(engine, 5)
    selector = UpdatedAtSelector(oldest=start)
    token = engine.page_leads(selector, batch_size=2).stream_position
    body, sig = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[raw.index(b'"k"') + 6] ^= 1
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode() + "." + sig
    for bad in (forged, "garbage", token[:-2], token + "x", ""):
        if bad == "":
            continue
        with pytest.raises(BadStreamPosition) as err:
            engine.page_leads(selector, position=bad, batch_size=2)
        assert err.value.code == 20122
    with pytest.raises(BadStreamPosition):  # a position of another selector kind
        engine.page_leads(KeySelector("IDNUM", ["1"]), position=token, batch_size=2)


def test_position_from_another_server_secret_is_rejected(engine, database, clock):
    start = clock.current
    _bulk(engine, 3)
    token = engine.page_leads(UpdatedAtSelector(oldest=start), batch_size=1).stream_position
    other = Engine(database, clock=clock)
    other._secret = b"another-secret"
    with pytest.raises(BadStreamPosition):
        other.page_leads(UpdatedAtSelector(oldest=start), position=token, batch_size=1)


def test_exhausted_position_gives_empty_page(engine):
    a, b = _bulk(engine, 2)
    selector = KeySelector("IDNUM", [str(a), str(b)])
    first = engine.page_leads(selector, batch_size=1)
    assert first.remaining == 1
    engine.merge_leads([("IDNUM", str(a))], [[("IDNUM", str(b))]])
    again = engine.page_leads(selector, batch_size=1, position=first.stream_position)
    assert (again.leads, again.remaining, again.stream_position) == ([], 0, "")


def test_thirty_day_window_limit(engine, clock):
    now = clock.current
    assert engine.page_leads(UpdatedAtSelector(oldest=now - timedelta(days=31))).leads == []  # open-ended
    with pytest.raises(TimeRangeExceeded) as err:
        engine.page_leads(UpdatedAtSelector(oldest=now - timedelta(days=31), latest=now))
    assert err.value.code == 20022
    with pytest.raises(TimeRangeExceeded):
        engine.page_leads(UpdatedAtSelector(oldest=now - timedelta(days=90), latest=now - timedelta(days=59)))
    assert (
        engine.page_leads(UpdatedAtSelector(oldest=now - timedelta(days=60), latest=now - timedelta(days=30))).remaining
        == 0
    )
    assert engine.page_leads(UpdatedAtSelector(oldest=now - timedelta(days=29))).leads == []


def test_batch_size_default_clamp_and_invalid(engine, database, clock):
    _bulk(engine, 120)
    selector = KeySelector("EMAIL", [f"p{i}@example.com" for i in range(100)])
    assert len(engine.page_leads(selector).leads) == 100
    small = Engine(database, clock=clock, max_batch_size=30)
    page = small.page_leads(selector, batch_size=5000)
    assert (len(page.leads), page.remaining) == (30, 70)
    for bad in (0, -1):
        with pytest.raises(BadParameter):
            engine.page_leads(selector, batch_size=bad)


def test_include_attributes_narrows_fields(engine):
    create(engine, "n@example.com", FirstName="N", LastName="M", SFDCLeadId="00Q")
    page = engine.page_leads(KeySelector("IDNUM", ["1"]), include_attributes=["firstname", "sfdcleadid", "Unknown"])
    [lead] = page.leads
    assert lead.email == "n@example.com"
    assert [(a.name, a.value) for a in lead.attributes] == [("FirstName", "N"), ("SFDCLeadId", "00Q")]
    full = engine.page_leads(KeySelector("IDNUM", ["1"]), include_attributes=[])
    assert len(full.leads[0].attributes) == 3


def test_remaining_counts_of_a_long_stream_stay_exact_while_nothing_changes(engine, clock):
    start = clock.current
    total = 12_500  # more than the stream counts exactly, so the count is carried between pages
    for part in range(0, total, 1000):
        engine.sync_leads([LeadInput(email=f"long{i}@example.com") for i in range(part, min(part + 1000, total))])
    selector = UpdatedAtSelector(oldest=start, latest=clock.current + timedelta(seconds=1))
    remaining, seen = [], 0
    for page in _drain(engine, selector, 1000):
        seen += len(page.leads)
        remaining.append(page.remaining)
    assert seen == total
    assert remaining == [total - 1000 * n for n in range(1, 13)] + [0]


def test_a_carried_count_takes_in_leads_a_moved_end_date_brings(engine, clock):
    start = clock.current
    for part in range(0, 12_000, 1000):
        engine.sync_leads([LeadInput(email=f"moving{i}@example.com") for i in range(part, part + 1000)])
    first_end = clock.current + timedelta(milliseconds=1)
    first = engine.page_leads(UpdatedAtSelector(oldest=start, latest=first_end), batch_size=1000)
    assert first.remaining == 11_000
    engine.sync_leads([LeadInput(email=f"late{i}@example.com") for i in range(5)])
    second = engine.page_leads(
        UpdatedAtSelector(oldest=start, latest=clock.current + timedelta(seconds=1)),
        position=first.stream_position,
        batch_size=1000,
    )
    assert second.remaining == 10_005  # carried: 11,000 - 1,000 + the 5 leads of the new slice
