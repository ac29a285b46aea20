"""Every statement a hot path sends is served by an index, on SQLite and on PostgreSQL.

A real instance holds a million leads; a statement that reads a whole large table is fast on
a test database and slow there. Each test runs one engine call against a database of tens of
thousands of rows, records the SQL it really sends, explains each statement with its own
parameters and fails on a full scan of a large table, showing the statement and its plan.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from query_plans import (
    LEADS,
    OWNERS,
    PlanData,
    Sent,
    capture,
    cookie,
    email,
    indexes_used,
    owner_email,
    populate,
    problems,
    sfdc,
    work,
)
from support.pg import backends, migrated_database

from mktows.engine import Engine
from mktows.engine.models import (
    Criterion,
    CustomRecord,
    KeySelector,
    LeadInput,
    LeadKey,
    ListSelector,
    MObject,
    MObjectQuery,
    ObjectRef,
    StreamPosition,
    UpdatedAtSelector,
)
from mktows.runtime import request_log
from mktows.store.database import Database


@dataclass
class Loaded:
    engine: Engine
    data: PlanData


@pytest.fixture(scope="module", params=backends())
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """One populated database per backend, shared by every test of this module."""
    if request.param == "sqlite":
        file = tmp_path_factory.mktemp("plans") / "mktows.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), file)
        db = Database(f"sqlite:///{file}")
        try:
            engine = Engine(db)
            yield Loaded(engine, populate(engine))
        finally:
            db.dispose()
        return
    with migrated_database("mktows_plans") as url:
        db = Database(url)
        try:
            engine = Engine(db)
            yield Loaded(engine, populate(engine))
        finally:
            db.dispose()


# --- the hot paths: each runs one or a few engine calls --------------------------------------

HotPath = Callable[[Engine, PlanData], object]
PATHS: dict[str, HotPath] = {}
# Indexes a path must use: its statements also pass with a walk of the primary key that
# filters every row (a keyset page `id > last`), which the scan check cannot tell apart.
USES: dict[str, tuple[str, ...]] = {}


def path(name: str, uses: tuple[str, ...] = ()) -> Callable[[HotPath], HotPath]:
    def register(fn: HotPath) -> HotPath:
        PATHS[name] = fn
        USES[name] = uses
        return fn

    return register


LEAD = 12_346  # an even lead: it has a cookie, a foreign id every other lead


def _get_lead(key_type: str, value: str) -> HotPath:
    return lambda engine, _: engine.get_leads(LeadKey(key_type, value))


for _key_type, _value in {
    "IDNUM": str(LEAD),
    "EMAIL": email(LEAD).upper(),
    "COOKIE": cookie(LEAD),
    "LEADOWNEREMAIL": owner_email(LEAD).lower(),
    "SFDCACCOUNTID": sfdc("001", LEAD // 3),
    "SFDCCONTACTID": sfdc("003", LEAD),
    "SFDCLEADID": sfdc("00Q", LEAD),
    "SFDCLEADOWNERID": sfdc("005", LEAD % OWNERS),
    "SFDCOPPTYID": sfdc("006", LEAD),
}.items():
    path(f"get lead by {_key_type}")(_get_lead(_key_type, _value))


def _pages(engine: Engine, selector: object, include: list[str] | None = None, size: int = 50) -> None:
    """A first page and the page after its stream position."""
    first = engine.page_leads(selector, batch_size=size, include_attributes=include)  # type: ignore[arg-type]
    assert first.leads and first.stream_position, "the selector must match more than one page"
    engine.page_leads(selector, position=first.stream_position, batch_size=size, include_attributes=include)  # type: ignore[arg-type]


@path("multiple leads by email keys")
def _(engine: Engine, data: PlanData) -> None:
    _pages(engine, KeySelector("EMAIL", [email(i) for i in range(100, 200)]))


@path("multiple leads by lead owner email")
def _(engine: Engine, data: PlanData) -> None:
    _pages(engine, KeySelector("LEADOWNEREMAIL", [owner_email(7)]), include=["FirstName", "Company"], size=10)


@path("multiple leads in a static list")
def _(engine: Engine, data: PlanData) -> None:
    _pages(engine, ListSelector(list_name="Plan List"))


@path("multiple leads updated since")
def _(engine: Engine, data: PlanData) -> None:
    _pages(engine, UpdatedAtSelector(oldest=data.now - timedelta(days=1)), include=["LastName"])


@path("sync multiple leads")
def _(engine: Engine, data: PlanData) -> None:
    records = []
    for n in range(300):
        if n % 3 == 0:  # an existing lead by email
            records.append(LeadInput(email=email(1000 + n), attributes=[("FirstName", f"Renamed{n}")]))
        elif n % 3 == 1:  # an existing lead by foreign id
            i = 2001 + 2 * n
            records.append(
                LeadInput(
                    foreign_sys_person_id=f"crm-{i}", foreign_sys_type="CUSTOM", attributes=[("Company", f"Moved {n}")]
                )
            )
        else:  # a new lead
            records.append(
                LeadInput(email=f"new{n}-{data.now.timestamp()}@example.com", attributes=[("LastName", f"New{n}")])
            )
    outcomes = engine.sync_leads(records)
    assert {o.status for o in outcomes} == {"CREATED", "UPDATED"}


def _activity_pages(engine: Engine, **kw: object) -> None:
    first = engine.lead_activity(LeadKey("IDNUM", str(LEAD)), batch_size=2, **kw)  # type: ignore[arg-type]
    assert first.activities and first.remaining
    engine.lead_activity(LeadKey("IDNUM", str(LEAD)), batch_size=2, position=first.position, **kw)  # type: ignore[arg-type]


@path("lead activity")
def _(engine: Engine, data: PlanData) -> None:
    _activity_pages(engine)


@path("lead activity of some types")
def _(engine: Engine, data: PlanData) -> None:
    _activity_pages(engine, exclude_types=["ClickLink"])


def _changes(engine: Engine, data: PlanData, **kw: object) -> None:
    """A first page of changes of the last two days and the page after it."""
    start = StreamPosition(oldest_created_at=data.now - timedelta(days=2))
    first = engine.lead_changes(start, batch_size=100, **kw)  # type: ignore[arg-type]
    assert first.activities and first.remaining
    engine.lead_changes(first.position, batch_size=100, **kw)  # type: ignore[arg-type]


@path("lead changes")
def _(engine: Engine, data: PlanData) -> None:
    _changes(engine, data)


@path("lead changes of some types")
def _(engine: Engine, data: PlanData) -> None:
    _changes(engine, data, include_types=["NewLead", "ChangeDataValue"])


@path("lead changes without some types")
def _(engine: Engine, data: PlanData) -> None:
    _changes(engine, data, exclude_types=["VisitWebpage"])


@path("lead changes by activity name")
def _(engine: Engine, data: PlanData) -> None:
    _changes(engine, data, names=["Change Data Value"])


@path("lead changes of keyed leads")
def _(engine: Engine, data: PlanData) -> None:
    keys = [email(i) for i in range(LEADS - 50, LEADS + 1)]
    _changes(engine, data, selector=KeySelector("EMAIL", keys))


@path("lead changes of a static list")
def _(engine: Engine, data: PlanData) -> None:
    _changes(engine, data, selector=ListSelector(list_name="Plan List"), include_types=["AddToList"])


@path("lead changes of leads updated since")
def _(engine: Engine, data: PlanData) -> None:
    _changes(engine, data, selector=UpdatedAtSelector(oldest=data.now - timedelta(hours=12)))


@path("merge leads")
def _(engine: Engine, data: PlanData) -> None:
    winner = [("EMAIL", email(29_001))]
    losers = [[("IDNUM", "29003")], [("SFDCLEADID", sfdc("00Q", 29_005))]]
    assert engine.merge_leads(winner, losers).merged


@path("list operation")
def _(engine: Engine, data: PlanData) -> None:
    members = [LeadKey("IDNUM", str(i)) for i in range(5000, 5100)]
    assert engine.list_operation("ADDTOLIST", "MKTOLISTNAME", "Tiny List", members).success
    assert engine.list_operation("ISMEMBEROFLIST", "MKTOLISTNAME", "Tiny List", members).success
    assert engine.list_operation("REMOVEFROMLIST", "MKTOLISTNAME", "Tiny List", members).success


def _mobject_pages(engine: Engine, query: MObjectQuery, *, more: bool = True) -> None:
    first = engine.get_mobjects(query)
    assert first.objects and first.has_more == more
    if more:
        query.position = first.position
        engine.get_mobjects(query)


@path("programs")
def _(engine: Engine, data: PlanData) -> None:
    _mobject_pages(engine, MObjectQuery("Program", criteria=[Criterion("Name", "EQ", "plan program a")]), more=False)


@path("opportunities")
def _(engine: Engine, data: PlanData) -> None:
    _mobject_pages(engine, MObjectQuery("Opportunity", include_details=True))


@path("opportunities by external key", uses=("ix_opportunity_values_field_lower",))
def _(engine: Engine, data: PlanData) -> None:
    _mobject_pages(engine, MObjectQuery("Opportunity", external_key=("ExternalOpportunityId", "ext-4321")), more=False)


@path("opportunities by name", uses=("ix_opportunities_name_lower",))
def _(engine: Engine, data: PlanData) -> None:
    _mobject_pages(engine, MObjectQuery("Opportunity", criteria=[Criterion("Name", "EQ", "deal 77")]), more=False)


@path("opportunities of a lead")
def _(engine: Engine, data: PlanData) -> None:
    lead = ObjectRef("Lead", external_key=("Email", email(7 * 40 + 1)))
    _mobject_pages(engine, MObjectQuery("Opportunity", associations=[lead]), more=False)


@path("opportunities of a company", uses=("ix_opportunities_company_key_value_lower", "ix_opportunities_company_id"))
def _(engine: Engine, data: PlanData) -> None:
    by_key = ObjectRef("Company", external_key=("AccountNumber", "acc-123"))
    _mobject_pages(engine, MObjectQuery("Opportunity", associations=[by_key]), more=False)
    _mobject_pages(engine, MObjectQuery("Opportunity", associations=[ObjectRef("Company", 123)]), more=False)


@path("sync opportunities by external key", uses=("ix_opportunity_values_field_lower",))
def _(engine: Engine, data: PlanData) -> None:
    objects = [
        MObject("Opportunity", external_key=("ExternalOpportunityId", f"ext-{o}"), attributes=[("Stage", "Won")])
        for o in range(2000, 2050)
    ]
    assert {s.status for s in engine.sync_mobjects(objects, "UPSERT")} == {"UPDATED"}


@path("opportunity person roles of an opportunity")
def _(engine: Engine, data: PlanData) -> None:
    query = MObjectQuery("OpportunityPersonRole", criteria=[Criterion("OpportunityId", "EQ", "40")])
    _mobject_pages(engine, query, more=False)


@path("opportunity person roles of a lead")
def _(engine: Engine, data: PlanData) -> None:
    query = MObjectQuery("OpportunityPersonRole", criteria=[Criterion("PersonId", "EQ", str(7 * 40 + 1))])
    _mobject_pages(engine, query, more=False)


def _record_pages(engine: Engine, keys: list[tuple[str, str]]) -> None:
    first = engine.get_custom_objects("Visit", keys=keys, batch_size=10)
    assert first.records and first.position
    engine.get_custom_objects("Visit", keys=keys, batch_size=10, position=first.position)


@path("custom objects")
def _(engine: Engine, data: PlanData) -> None:
    _record_pages(engine, [])


@path("custom objects by a key field")
def _(engine: Engine, data: PlanData) -> None:
    _record_pages(engine, [("rid", "r7")])


@path("custom objects by the lead link")
def _(engine: Engine, data: PlanData) -> None:
    page = engine.get_custom_objects("Visit", keys=[("MKTOID", "777")])
    assert len(page.records) == 1


@path("custom objects sync")
def _(engine: Engine, data: PlanData) -> None:
    records = [CustomRecord([("MKTOID", str(i)), ("rid", f"r{i % 50}")], [("city", "Lyon")]) for i in range(900, 950)]
    statuses = engine.sync_custom_objects("Visit", records)
    assert {s.status for s in statuses} == {"UPDATED"}


@path("custom objects sync creating")
def _(engine: Engine, data: PlanData) -> None:
    records = [CustomRecord([("MKTOID", str(i)), ("rid", f"new-{i}")], [("city", "Nantes")]) for i in range(960, 1010)]
    assert {s.status for s in engine.sync_custom_objects("Visit", records)} == {"CREATED"}


@path("sync opportunities creating")
def _(engine: Engine, data: PlanData) -> None:
    objects = [MObject("Opportunity", attributes=[("Name", f"plan new {o}"), ("Amount", "10.5")]) for o in range(50)]
    assert {s.status for s in engine.sync_mobjects(objects, "INSERT")} == {"CREATED"}


# --- the web console: every query it sends --------------------------------------------------


@path("console: newest leads, and the page after")
def _(engine: Engine, data: PlanData) -> None:
    first = engine.search_leads("", limit=50)
    assert len(first.rows) == 50 and first.next_before is not None
    engine.search_leads("", before_id=first.next_before, limit=50)


@path("console: lead search by the beginning of a name", uses=("ix_lead_values_names_lower",))
def _(engine: Engine, data: PlanData) -> None:
    page = engine.search_leads("FIRST2345", limit=5)  # leads no other path renames
    assert [r.id for r in page.rows] == [2345, 23450, 23451, 23452, 23453] and page.next_after is not None
    engine.search_leads("FIRST2345", after=page.next_after, limit=5)


@path("console: lead search by email", uses=("ix_leads_email_lower",))
def _(engine: Engine, data: PlanData) -> None:
    assert [r.id for r in engine.search_leads(email(LEAD)).rows] == [LEAD]


@path("console: lead search by the beginning of an email", uses=("ix_leads_email_lower",))
def _(engine: Engine, data: PlanData) -> None:
    assert LEAD in [r.id for r in engine.search_leads(email(LEAD)[:9]).rows]


def _bulk_list(engine: Engine, name: str) -> int:
    return next(r.id for r in engine.list_page(limit=50) if r.name == name)


@path("console: static lists with their member counts, and the page after")
def _(engine: Engine, data: PlanData) -> None:
    first = engine.list_page(limit=5)
    assert [r.name for r in first] == ["Bulk 1", "Bulk 10", "Bulk 2", "Bulk 3", "Bulk 4"]
    assert {r.members for r in first} == {3000} and not any(r.more_members for r in first)
    engine.list_page(after=(first[-1].name, first[-1].id), limit=5)


@path("console: a static list, its members and the page after")
def _(engine: Engine, data: PlanData) -> None:
    bulk = _bulk_list(engine, "Bulk 3")
    detail = engine.list_detail(bulk)
    assert detail is not None and detail.members == 3000
    first = engine.list_member_page(bulk, limit=50)
    assert [m.lead_id for m in first][:2] == [3, 13] and first[0].first_name == "First3"
    engine.list_member_page(bulk, after_lead_id=first[-1].lead_id, limit=50)


@path("console: imports, newest first, and the page after")
def _(engine: Engine, data: PlanData) -> None:
    first = engine.import_page(limit=50)
    assert len(first) == 50 and [j.id for j in first] == sorted((j.id for j in first), reverse=True)
    engine.import_page(before_id=first[-1].id, limit=50)


@path("console: a list's imports, newest first, and the page after", uses=("ix_import_jobs_list",))
def _(engine: Engine, data: PlanData) -> None:
    bulk = _bulk_list(engine, "Bulk 1")  # 20 of the 2,000 imports
    first = engine.import_page(list_id=bulk, limit=10)
    assert len(first) == 10 and {j.list_id for j in first} == {bulk}
    engine.import_page(list_id=bulk, before_id=first[-1].id, limit=10)


@path("console: an import's page")
def _(engine: Engine, data: PlanData) -> None:
    [newest] = engine.import_page(limit=1)
    detail = engine.import_detail(newest.id)
    assert detail is not None and detail.job.rows_imported == 10


@path("console: a lead's lists and campaigns")
def _(engine: Engine, data: PlanData) -> None:
    engine.lead_memberships(LEAD)


@path("console: the charts", uses=("ix_leads_created_at",))
def _(engine: Engine, data: PlanData) -> None:
    engine.instance_charts(days=3)


@path("console: API users, their calls today, disabling and rotating one")
def _(engine: Engine, data: PlanData) -> None:
    if "plan_user" not in [u.user_id for u in engine.api_user_rows()]:
        engine.add_api_user("plan_user", "plan-key-1")
    [row] = [u for u in engine.api_user_rows() if u.user_id == "plan_user"]
    engine.api_usage(rate_seconds=20)
    engine.set_api_user_enabled("plan_user", False)
    engine.set_api_user_enabled("plan_user", True)
    engine.rotate_api_key("plan_user", f"plan-key-{row.key_state}", expect=row.key_state)


@path("console: the request log, newest first, by filter and by request id")
def _(engine: Engine, data: PlanData) -> None:
    first = request_log.list_entries(engine.db, limit=50)
    request_log.list_entries(engine.db, before_id=first[-1].id if first else 1000, limit=50)
    request_log.list_entries(engine.db, operation="getLead", before_id=1000, limit=50)
    request_log.list_entries(engine.db, user_id="plan_user", limit=50)
    request_log.list_entries(engine.db, fault_code=20014, limit=50)
    request_log.get_entry(engine.db, request_id="plan-request")


@path("request log: pruning by age, then the oldest entry by size, from the running total")
def _(engine: Engine, data: PlanData) -> None:
    kept = request_log.kept_bytes(engine.db)
    assert kept > 0
    assert request_log.prune(engine.db, max_bytes=kept - 1, max_days=30) == 1  # the oldest goes


@pytest.mark.parametrize("name", list(PATHS))
def test_hot_path_is_served_by_indexes(loaded: Loaded, name: str) -> None:
    engine = loaded.engine
    with capture(engine.db) as sent:
        PATHS[name](engine, loaded.data)
    assert sent, "the call sent no SQL"
    found = problems(engine.db, sent)
    assert not found, f"{name}: {len(found)} statement(s) scan a large table:\n\n" + "\n\n".join(found)
    if USES[name]:
        plans = indexes_used(engine.db, sent)
        missing = [index for index in USES[name] if index not in plans]
        assert not missing, f"{name}: no statement uses {', '.join(missing)}; the plans:\n{plans}"


# --- streams: a page deep into a stream costs what the first page costs ----------------------
# A plan shows that an index serves a keyset page, not which bound its seek starts from: with
# the window's start and the position's row side by side, SQLite seeks from the window's start
# and every page reads all the rows before it.

Fetch = Callable[[Engine, PlanData, object, int], object]  # (engine, data, position, batch size) -> page
WINDOW = timedelta(days=3)


def _changes_stream(**kw: object) -> Fetch:
    def fetch(engine: Engine, data: PlanData, position: object, size: int) -> object:
        start = StreamPosition(oldest_created_at=data.now - WINDOW)
        page = engine.lead_changes(position or start, batch_size=size, **kw)  # type: ignore[arg-type]
        return page, page.position if page.remaining else None

    return fetch


def _updated_since(engine: Engine, data: PlanData, position: object, size: int) -> object:
    page = engine.page_leads(UpdatedAtSelector(oldest=data.now - WINDOW), position=position, batch_size=size)  # type: ignore[arg-type]
    return page, page.stream_position or None


STREAMS: dict[str, Fetch] = {
    "lead changes": _changes_stream(),
    "lead changes of some types": _changes_stream(include_types=["AddToList", "NewLead"]),
    "multiple leads updated since": _updated_since,
}


def _page_statement(engine: Engine, call: Callable[[], object]) -> Sent:
    with capture(engine.db) as sent:
        call()
    return next(s for s in sent if " LIMIT " in s.sql)


@pytest.mark.parametrize("name", list(STREAMS))
def test_deep_stream_page_costs_what_the_first_costs(loaded: Loaded, name: str) -> None:
    engine, data, fetch = loaded.engine, loaded.data, STREAMS[name]
    first = _page_statement(engine, lambda: fetch(engine, data, None, 100))
    position = None
    for _ in range(4):  # 4,000 rows into the stream
        _, position = fetch(engine, data, position, 1000)  # type: ignore[misc]
        assert position, "the stream must be longer than 4,000 rows"
    deep = _page_statement(engine, lambda: fetch(engine, data, position, 100))
    first_cost, deep_cost = work(engine.db, first), work(engine.db, deep)
    assert deep_cost <= 3 * first_cost + 50, (
        f"{name}: a page 4,000 rows in costs {deep_cost} against {first_cost} for the first page\n"
        f"  SQL: {deep.sql}\n  params: {deep.params}"
    )


def test_a_static_lists_page_costs_the_same_in_a_big_list_as_in_a_small_one(loaded: Loaded) -> None:
    """getMultipleLeads by static list reads a page of the list's members, not the whole list
    (an IN over the list's members, or a join on it, read every member for every page)."""
    engine = loaded.engine

    def page_of(name: str) -> Sent:
        call = lambda: engine.page_leads(ListSelector(list_name=name), position=None, batch_size=10)  # noqa: E731
        return _page_statement(engine, call)

    small, big = work(engine.db, page_of("Tiny List")), work(engine.db, page_of("Bulk 1"))
    assert big <= 3 * small + 50, f"10 leads of a 3,000-member list cost {big} against {small} in a 20-member one"


def test_the_check_reports_a_scan_with_its_statement_and_plan(loaded: Loaded) -> None:
    """The check itself: a lookup on a column without an index, and the `IN (...) = 1` form
    SQLite once got from `in_values`, are reported."""
    db = loaded.engine.db
    if db.is_sqlite:
        unindexed = Sent("SELECT leads.id FROM leads WHERE leads.lead_owner_email = ?", (owner_email(3),))
        boolean_in = Sent("SELECT leads.id FROM leads WHERE leads.id IN (?, ?) = 1", (1, 2))
    else:
        unindexed = Sent("SELECT leads.id FROM leads WHERE leads.lead_owner_email = %(v)s", {"v": owner_email(3)})
        boolean_in = None
    [report] = problems(db, [unindexed])
    assert "full scan" in report and "lead_owner_email = " in report and "plan:" in report
    if boolean_in is not None:
        [report] = problems(db, [boolean_in])
        assert "full scan" in report and "IN (...) compared to 1" in report
