"""Program as an MObject at the engine level: filters, output, paging and
the cost/tag/channel updates syncMObjects allows."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from sqlalchemy import func, select

from mktows.engine import Engine
from mktows.engine.models import Criterion, MObject, MObjectQuery, ObjectRef
from mktows.errors import BadParameter, BadStreamPosition
from mktows.instance import apply_instance, parse_instance
from mktows.store.tables import program_costs, program_tags, programs

CATALOGUE = """\
workspaces: [Default, EMEA]
channels:
  - {name: Webinar, type: webinar, statuses: [Invited, {name: Attended, step: 20, success: true, webinar: Attended}]}
  - {name: Tradeshow, type: event, statuses: [{name: Visited, step: 10, success: true, check_in: Attended}]}
  - {name: Blog, statuses: [Subscribed]}
tag_types:
  - {name: Region, values: [North, South, EMEA]}
  - {name: Product Line, values: [Core, Cloud]}
"""

PROGRAMS = (
    CATALOGUE
    + """\
programs:
  - name: Alpha Webinar
    type: Marketing Event
    channel: Webinar
    folder: Events/2026
    crm_id: CRM-A
    start_date: 2026-04-01 09:30:00
    end_date: 2026-04-03
    tags: {Product Line: Core, Region: North}
    costs: [{month: "2026-03", amount: 3000, note: Venue}, {month: "2026-01", amount: 12.50}]
    tokens: {my.Speaker: Ada Lovelace, my.Room: "B 2"}
  - name: Beta Blog
    channel: Blog
    workspace: EMEA
    folder: Content
    tags: {Region: EMEA, Product Line: Cloud}
  - name: Gamma Old
    channel: Tradeshow
    archived: true
    tags: {Region: South}
  - name: Delta Plain
"""
)

LATER = (
    CATALOGUE
    + """\
programs:
  - {name: Epsilon Later, tags: {Region: North}}
"""
)


def load(engine: Engine, text: str) -> None:
    apply_instance(engine, parse_instance(yaml.safe_load(text), "programs.yaml"))


@pytest.fixture
def loaded(engine: Engine, clock) -> Engine:
    load(engine, PROGRAMS)
    clock.advance(hours=1)
    load(engine, LATER)
    return engine


def query(*criteria: tuple[str, str, str], **kw) -> MObjectQuery:
    return MObjectQuery("Program", criteria=[Criterion(*c) for c in criteria], **kw)


def names(engine: Engine, *criteria: tuple[str, str, str], **kw) -> list[str]:
    page = engine.get_mobjects(query(*criteria, **kw))
    return [dict(o.attributes)["Name"] for o in page.objects]


def program(engine: Engine, name: str, details: bool = False) -> MObject:
    [found] = engine.get_mobjects(
        query(("Name", "EQ", name), ("Include Archive", "EQ", "true"), include_details=details)
    ).objects
    return found


def ids(engine: Engine) -> dict[str, int]:
    with engine.db.read() as conn:
        return {r.name: r.id for r in conn.execute(select(programs.c.name, programs.c.id))}


def bad(engine: Engine, q: MObjectQuery) -> str:
    with pytest.raises(BadParameter) as err:
        engine.get_mobjects(q)
    assert err.value.code == 20110
    return err.value.detail


ALL_LIVE = ["Alpha Webinar", "Beta Blog", "Delta Plain", "Epsilon Later"]


# --- output --------------------------------------------------------------------------------


def test_program_output_follows_the_sample_with_tags_always_and_details_on_request(loaded):
    alpha = program(loaded, "alpha webinar")
    assert alpha.type == "Program" and alpha.id == ids(loaded)["Alpha Webinar"]
    assert alpha.created_at is not None and alpha.updated_at == alpha.created_at
    assert alpha.attributes == [
        ("Name", "Alpha Webinar"),
        ("Type", "Marketing Event"),
        ("Workspace Id", alpha.attributes[2][1]),
        ("Workspace Name", "Default"),
        ("Tree Path", "/Marketing Activities/Default/Events/2026/Alpha Webinar"),
        ("Is Archived", "false"),
        ("Start Date", "2026-04-01 09:30:00"),
        ("End Date", "2026-04-03 00:00:00"),
    ]
    tags = [
        ("Tag", [("Type", "Channel"), ("Value", "Webinar")]),
        ("Tag", [("Type", "Region"), ("Value", "North")]),
        ("Tag", [("Type", "Product Line"), ("Value", "Core")]),
    ]  # channel first, then the catalogue's order
    assert alpha.type_attributes == tags

    detailed = program(loaded, "Alpha Webinar", details=True)
    with loaded.db.read() as conn:
        cost_ids = dict(
            conn.execute(
                select(program_costs.c.month, program_costs.c.id).where(program_costs.c.program_id == alpha.id)
            ).all()
        )
    assert detailed.type_attributes == tags + [
        ("Cost", [("Id", str(cost_ids["2026-01-01"])), ("Month", "2026-01-01"), ("Amount", "12.5")]),
        ("Cost", [("Id", str(cost_ids["2026-03-01"])), ("Month", "2026-03-01"), ("Amount", "3000"), ("Note", "Venue")]),
        ("Token", [("Name", "Speaker"), ("Value", "Ada Lovelace")]),
        ("Token", [("Name", "Room"), ("Value", "B 2")]),
    ]

    beta, gamma, delta = (program(loaded, n) for n in ("Beta Blog", "Gamma Old", "Delta Plain"))
    assert dict(beta.attributes)["Tree Path"] == "/Marketing Activities/EMEA/Content/Beta Blog"
    assert dict(beta.attributes)["Workspace Name"] == "EMEA"
    assert "Start Date" not in dict(beta.attributes)  # only event programs have dates
    assert dict(gamma.attributes)["Is Archived"] == "true"
    assert dict(delta.attributes)["Tree Path"] == "/Marketing Activities/Default/Delta Plain"
    assert delta.type_attributes == [] and program(loaded, "Delta Plain", details=True).type_attributes == []


# --- criteria ------------------------------------------------------------------------------


def test_id_criterion_every_comparison(loaded):
    by_name = ids(loaded)
    beta = str(by_name["Beta Blog"])
    assert names(loaded, ("Id", "EQ", beta)) == ["Beta Blog"]
    assert names(loaded, ("Id", "NE", beta)) == ["Alpha Webinar", "Delta Plain", "Epsilon Later"]
    assert names(loaded, ("Id", "LT", beta)) == ["Alpha Webinar"]
    assert names(loaded, ("Id", "LE", beta)) == ["Alpha Webinar", "Beta Blog"]
    assert names(loaded, ("Id", "GT", beta)) == ["Delta Plain", "Epsilon Later"]
    assert names(loaded, ("Id", "GE", beta)) == ["Beta Blog", "Delta Plain", "Epsilon Later"]
    assert names(loaded, ("Id", "GE", beta), ("Id", "LE", beta)) == ["Beta Blog"]  # criteria are AND-ed


def test_name_and_crm_id_criteria_compare_strings(loaded):
    assert names(loaded, ("Name", "EQ", "BETA blog")) == ["Beta Blog"]
    assert names(loaded, ("name", "ne", "beta blog")) == ["Alpha Webinar", "Delta Plain", "Epsilon Later"]
    assert names(loaded, ("Name", "LT", "C")) == ["Alpha Webinar", "Beta Blog"]
    assert names(loaded, ("Name", "GE", "Delta Plain")) == ["Delta Plain", "Epsilon Later"]
    assert names(loaded, ("NAME", "GT", "Delta Plain"), ("Name", "LE", "Epsilon Later")) == ["Epsilon Later"]
    assert names(loaded, ("CRM Id", "EQ", "crm-a")) == ["Alpha Webinar"]
    assert names(loaded, ("crm  id", "NE", "CRM-A")) == ["Beta Blog", "Delta Plain", "Epsilon Later"]


def test_created_and_updated_at_compare_as_instants(loaded):
    first = program(loaded, "Alpha Webinar").created_at
    later = program(loaded, "Epsilon Later").created_at
    assert later - first >= timedelta(hours=1)
    middle = (first + timedelta(minutes=30)).isoformat()
    assert names(loaded, ("Created At", "GT", middle)) == ["Epsilon Later"]
    assert names(loaded, ("Created At", "LE", middle)) == ["Alpha Webinar", "Beta Blog", "Delta Plain"]
    assert names(loaded, ("Created At", "EQ", later.isoformat())) == ["Epsilon Later"]
    assert names(loaded, ("Created At", "NE", later.isoformat())) == ["Alpha Webinar", "Beta Blog", "Delta Plain"]
    assert names(loaded, ("Updated At", "GE", later.isoformat())) == ["Epsilon Later"]
    assert names(loaded, ("Updated At", "LT", later.strftime("%Y-%m-%d %H:%M:%S"))) == [
        "Alpha Webinar",
        "Beta Blog",
        "Delta Plain",
    ]


def test_workspace_criteria(loaded):
    with loaded.db.read() as conn:
        emea_id = conn.execute(select(programs.c.workspace_id).where(programs.c.name == "Beta Blog")).scalar_one()
    assert names(loaded, ("Workspace Name", "EQ", "emea")) == ["Beta Blog"]
    assert names(loaded, ("Workspace Name", "NE", "EMEA")) == ["Alpha Webinar", "Delta Plain", "Epsilon Later"]
    assert names(loaded, ("Workspace Id", "EQ", str(emea_id))) == ["Beta Blog"]
    assert names(loaded, ("Workspace Id", "LT", str(emea_id))) == ["Alpha Webinar", "Delta Plain", "Epsilon Later"]


def test_tag_criteria_with_the_channel_as_a_tag(loaded):
    assert names(loaded, ("Tag Type", "EQ", "region"), ("Tag Value", "EQ", "NORTH")) == [
        "Alpha Webinar",
        "Epsilon Later",
    ]
    assert names(loaded, ("Tag Type", "EQ", "Product Line")) == ["Alpha Webinar", "Beta Blog"]
    assert names(loaded, ("Tag Type", "EQ", "Channel"), ("Tag Value", "EQ", "blog")) == ["Beta Blog"]
    assert names(loaded, ("Tag Type", "EQ", "Channel")) == ["Alpha Webinar", "Beta Blog"]
    assert names(loaded, ("Tag Type", "EQ", "Colour")) == []
    # a value alone matches any tag, the channel included
    assert names(loaded, ("Tag Value", "EQ", "Webinar")) == ["Alpha Webinar"]
    assert names(loaded, ("Tag Value", "EQ", "emea")) == ["Beta Blog"]
    # the type and every value criterion apply to one and the same tag
    assert names(loaded, ("Tag Type", "EQ", "Region"), ("Tag Value", "EQ", "Cloud")) == []
    assert names(loaded, ("Tag Type", "EQ", "Product Line"), ("Tag Value", "GE", "Cl"), ("Tag Value", "LT", "Co")) == [
        "Beta Blog"
    ]
    assert names(loaded, ("Tag Type", "NE", "Region"), ("Tag Value", "EQ", "Core")) == ["Alpha Webinar"]
    assert names(loaded, ("Tag Type", "EQ", "Region"), ("Tag Value", "NE", "North")) == ["Beta Blog"]
    # archived programs stay out unless asked for
    assert names(loaded, ("Tag Value", "EQ", "South")) == []
    assert names(loaded, ("Tag Value", "EQ", "South"), ("Include Archive", "EQ", "true")) == ["Gamma Old"]
    assert names(
        loaded, ("Tag Type", "EQ", "Channel"), ("Tag Value", "EQ", "Tradeshow"), ("include archive", "EQ", "TRUE")
    ) == ["Gamma Old"]


def test_include_archive(loaded):
    assert names(loaded) == ALL_LIVE
    with_archived = ["Alpha Webinar", "Beta Blog", "Gamma Old", "Delta Plain", "Epsilon Later"]
    assert names(loaded, ("Include Archive", "EQ", "true")) == with_archived
    assert names(loaded, ("Include Archive", "NE", "false")) == with_archived
    assert names(loaded, ("Include Archive", "EQ", "false")) == ALL_LIVE
    assert names(loaded, ("Include Archive", "NE", "true")) == ALL_LIVE
    # naming one program finds it, archived or not
    gamma = ids(loaded)["Gamma Old"]
    assert names(loaded, id=gamma) == ["Gamma Old"]
    assert names(loaded, external_key=("Name", "gamma old")) == ["Gamma Old"]


def test_lookup_by_id_and_external_key(loaded):
    by_name = ids(loaded)
    assert names(loaded, id=by_name["Beta Blog"]) == ["Beta Blog"]
    assert names(loaded, id=999_999) == []
    assert names(loaded, external_key=("Name", " BETA BLOG ")) == ["Beta Blog"]
    assert names(loaded, external_key=("CRM Id", "CRM-A")) == ["Alpha Webinar"]
    assert names(loaded, external_key=("crm_id", "CRM-A")) == ["Alpha Webinar"]
    assert names(loaded, external_key=("CRM Id", "crm-a")) == []  # an id is exact
    assert names(loaded, ("Name", "NE", "Beta Blog"), id=by_name["Beta Blog"]) == []  # AND-ed with criteria


def test_bad_queries_fault_20110_and_say_what_was_wrong(loaded):
    detail = bad(loaded, query(("Stage", "EQ", "Won")))
    assert "'Stage'" in detail and "Tag Type" in detail and "Include Archive" in detail
    assert "'Role'" in bad(loaded, query(("Role", "EQ", "x")))
    assert "Tag Type" in bad(loaded, query(("Tag Type", "EQ", "Region"), ("Tag Type", "EQ", "Product Line")))
    assert "XX" in bad(loaded, query(("Name", "XX", "a")))
    assert "abc" in bad(loaded, query(("Id", "EQ", "abc")))
    assert "soon" in bad(loaded, query(("Created At", "GT", "soon")))
    assert "maybe" in bad(loaded, query(("Include Archive", "EQ", "maybe")))
    assert "Include Archive" in bad(loaded, query(("Include Archive", "GT", "true")))
    assert "Include Archive" in bad(loaded, query(("Include Archive", "EQ", "true"), ("Include Archive", "EQ", "true")))
    assert "Colour" in bad(loaded, query(external_key=("Colour", "red")))
    assert "associations" in bad(loaded, query(associations=[ObjectRef("Lead", 1)]))
    assert "not both" in bad(loaded, query(id=1, external_key=("Name", "Beta Blog")))


# --- paging --------------------------------------------------------------------------------


def test_paging_260_programs_in_pages_of_100(engine):
    bulk = (
        CATALOGUE
        + "programs:\n"
        + "".join(
            f"  - {{name: Bulk {i:03d}, tags: {{Region: {'North' if i % 2 else 'South'}}}}}\n" for i in range(260)
        )
    )
    load(engine, bulk)
    seen: list[str] = []
    position = None
    pages = []
    while True:
        page = engine.get_mobjects(query(position=position))
        pages.append(len(page.objects))
        seen += [dict(o.attributes)["Name"] for o in page.objects]
        assert page.position
        if not page.has_more:
            break
        position = page.position
    assert pages == [100, 100, 60]
    assert seen == [f"Bulk {i:03d}" for i in range(260)]

    # a filtered stream pages the same way, and its position belongs to that query only
    first = engine.get_mobjects(query(("Tag Value", "EQ", "North")))
    assert len(first.objects) == 100 and first.has_more
    second = engine.get_mobjects(query(("Tag Value", "EQ", "North"), position=first.position))
    assert len(second.objects) == 30 and not second.has_more
    odd = [dict(o.attributes)["Name"] for o in first.objects + second.objects]
    assert odd == [f"Bulk {i:03d}" for i in range(1, 260, 2)]
    with pytest.raises(BadStreamPosition) as err:
        engine.get_mobjects(query(("Tag Value", "EQ", "South"), position=first.position))
    assert err.value.code == 20122
    with pytest.raises(BadStreamPosition):
        engine.get_mobjects(query(position="not-a-position"))
    # the end of a stream: an empty last page keeps its position usable
    done = engine.get_mobjects(query(("Tag Value", "EQ", "North"), position=second.position))
    assert (done.objects, done.has_more) == ([], False)


# --- syncMObjects --------------------------------------------------------------------------


def cost(month: str, amount: str, note: str | None = None, cost_id: int | None = None) -> tuple[str, list]:
    pairs = [("Month", month), ("Amount", amount)]
    pairs += [("Note", note)] if note is not None else []
    pairs += [("Id", str(cost_id))] if cost_id is not None else []
    return ("Cost", pairs)


def tag(type_: str, value: str) -> tuple[str, list]:
    return ("Tag", [("Type", type_), ("Value", value)])


def costs_of(engine: Engine, name: str) -> list[tuple[str, str, str | None]]:
    obj = program(engine, name, details=True)
    found = [dict(pairs) for kind, pairs in obj.type_attributes if kind == "Cost"]
    return [(c["Month"], c["Amount"], c.get("Note")) for c in found]


def tags_of(engine: Engine, name: str) -> list[tuple[str, str]]:
    return [(dict(p)["Type"], dict(p)["Value"]) for k, p in program(engine, name).type_attributes if k == "Tag"]


def sync(engine: Engine, *objects: MObject, operation: str = "UPDATE") -> list[tuple[str, str | None]]:
    return [(s.status, s.error) for s in engine.sync_mobjects(list(objects), operation)]


def test_costs_are_added_replaced_by_id_or_left_unchanged(loaded, clock):
    delta = ids(loaded)["Delta Plain"]
    before = program(loaded, "Delta Plain").updated_at
    assert sync(
        loaded,
        MObject("Program", id=delta, type_attributes=[cost("2026-06", "2000"), cost("2026-07-01", "10.50", "Print")]),
    ) == [("UPDATED", None)]
    assert costs_of(loaded, "Delta Plain") == [("2026-06-01", "2000", None), ("2026-07-01", "10.5", "Print")]
    after = program(loaded, "Delta Plain").updated_at
    assert after > before

    with loaded.db.read() as conn:
        june = conn.execute(
            select(program_costs.c.id).where(program_costs.c.program_id == delta, program_costs.c.month == "2026-06-01")
        ).scalar_one()
    # the sample's update: Id names the cost to replace (month, amount and note)
    assert sync(loaded, MObject("Program", id=delta, type_attributes=[cost("2026-08", "2500", "Ads", june)])) == [
        ("UPDATED", None)
    ]
    assert costs_of(loaded, "Delta Plain") == [("2026-07-01", "10.5", "Print"), ("2026-08-01", "2500", "Ads")]
    # the same values again change nothing, not even updatedAt
    clock.advance(minutes=5)
    stamp = program(loaded, "Delta Plain").updated_at
    assert sync(loaded, MObject("Program", id=delta, type_attributes=[cost("2026-08", "2500.00", "Ads", june)])) == [
        ("UNCHANGED", None)
    ]
    assert program(loaded, "Delta Plain").updated_at == stamp
    # adding a cost for a month that has one adds a second cost (no Id: a new period cost)
    assert sync(loaded, MObject("Program", id=delta, type_attributes=[cost("2026-08", "1")])) == [("UPDATED", None)]
    assert costs_of(loaded, "Delta Plain")[-2:] == [("2026-08-01", "2500", "Ads"), ("2026-08-01", "1", None)]


def test_tags_and_channel_are_set_by_type(loaded):
    delta = ids(loaded)["Delta Plain"]
    assert sync(
        loaded,
        MObject(
            "Program",
            id=delta,
            type_attributes=[tag("region", "south"), tag("Channel", "blog"), tag("Product Line", "Core")],
        ),
    ) == [("UPDATED", None)]
    assert tags_of(loaded, "Delta Plain") == [("Channel", "Blog"), ("Region", "South"), ("Product Line", "Core")]
    # setting a tag replaces that type's value only
    assert sync(
        loaded, MObject("Program", id=delta, type_attributes=[tag("Region", "EMEA"), tag("Channel", "Webinar")])
    ) == [("UPDATED", None)]
    assert tags_of(loaded, "Delta Plain") == [("Channel", "Webinar"), ("Region", "EMEA"), ("Product Line", "Core")]
    assert sync(
        loaded, MObject("Program", id=delta, type_attributes=[tag("REGION", "emea"), tag("channel", "WEBINAR")])
    ) == [("UNCHANGED", None)]
    assert names(loaded, ("Tag Type", "EQ", "Channel"), ("Tag Value", "EQ", "Webinar")) == [
        "Alpha Webinar",
        "Delta Plain",
    ]


def test_external_key_names_the_program_and_attributes_may_only_repeat(loaded):
    obj = program(loaded, "Beta Blog")
    # a read-modify-write round trip: the attributes come back unchanged
    echo = MObject(
        "Program",
        external_key=("Name", "beta blog"),
        attributes=obj.attributes,
        type_attributes=[tag("Product Line", "Core")],
    )
    assert [(s.status, s.id, s.external_key) for s in loaded.sync_mobjects([echo], "UPDATE")] == [
        ("UPDATED", obj.id, ("Name", "beta blog"))
    ]
    assert ("Product Line", "Core") in tags_of(loaded, "Beta Blog")
    [(status, error)] = sync(
        loaded,
        MObject("Program", id=obj.id, attributes=[("Name", "Renamed")], type_attributes=[tag("Region", "North")]),
    )
    assert status == "FAILED" and "'Name'" in error
    assert ("Region", "EMEA") in tags_of(loaded, "Beta Blog")  # the failed object changed nothing


def table_counts(engine: Engine) -> tuple[int, int]:
    with engine.db.read() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()  # type: ignore[return-value]
            for t in (program_costs, program_tags)
        )


def test_failures_are_per_object_and_change_nothing(loaded):
    by_name = ids(loaded)
    alpha, beta = by_name["Alpha Webinar"], by_name["Beta Blog"]
    with loaded.db.read() as conn:
        alpha_cost = conn.execute(
            select(func.min(program_costs.c.id)).where(program_costs.c.program_id == alpha)
        ).scalar()
    before = table_counts(loaded)
    good = cost("2026-09", "1")  # applied first inside each failing object, then rolled back
    cases = [
        (MObject("Program", id=beta, type_attributes=[good]), "INSERT", "UPDATE only"),
        (MObject("Program", id=beta, type_attributes=[good]), "UPSERT", "UPDATE only"),
        (MObject("Program", external_key=("Colour", "x")), "UPDATE", "Colour"),
        (MObject("Program", type_attributes=[good]), "UPDATE", "needs an id"),
        (MObject("Program", id=beta, type_attributes=[good, tag("Region", "Mars")]), "UPDATE", "Mars"),
        (MObject("Program", id=beta, type_attributes=[good, tag("Colour", "Red")]), "UPDATE", "Colour"),
        (MObject("Program", id=beta, type_attributes=[good, tag("Channel", "Radio")]), "UPDATE", "Radio"),
        (MObject("Program", id=beta, type_attributes=[good, ("Tag", [("Type", "Region")])]), "UPDATE", "Value"),
        (MObject("Program", id=beta, type_attributes=[good, cost("2026-13", "1")]), "UPDATE", "2026-13"),
        (MObject("Program", id=beta, type_attributes=[good, cost("2026-10", "lots")]), "UPDATE", "lots"),
        (MObject("Program", id=beta, type_attributes=[good, ("Cost", [("Month", "2026-10")])]), "UPDATE", "Amount"),
        (
            MObject("Program", id=beta, type_attributes=[good, cost("2026-10", "1", cost_id=alpha_cost)]),
            "UPDATE",
            str(alpha_cost),
        ),
        (
            MObject(
                "Program",
                id=beta,
                type_attributes=[good, ("Cost", [("Month", "2026-10"), ("Amount", "1"), ("Colour", "x")])],
            ),
            "UPDATE",
            "Colour",
        ),
        (
            MObject("Program", id=beta, type_attributes=[good, ("Token", [("Name", "X"), ("Value", "y")])]),
            "UPDATE",
            "Token",
        ),
    ]
    for obj, operation, expected in cases:
        [(status, error)] = sync(loaded, obj, operation=operation)
        assert status == "FAILED" and expected in error, (obj, operation, error)
    assert table_counts(loaded) == before
    assert sync(loaded, MObject("Program", id=beta)) == [("UNCHANGED", None)]  # nothing asked, nothing changed
    [deleted] = loaded.delete_mobjects([MObject("Program", id=beta)])
    assert (deleted.status, deleted.error) == ("FAILED", "Program cannot be deleted through the API")
    assert names(loaded, id=beta) == ["Beta Blog"]


def test_one_call_mixes_failed_and_applied_objects(loaded):
    by_name = ids(loaded)
    statuses = loaded.sync_mobjects(
        [
            MObject("Program", id=by_name["Delta Plain"], type_attributes=[tag("Region", "North")]),
            MObject("Program", id=by_name["Beta Blog"], type_attributes=[tag("Region", "Nowhere")]),
            MObject("Program", id=by_name["Delta Plain"], type_attributes=[tag("Region", "South")]),  # a repeat
            MObject("Program", id=by_name["Epsilon Later"], type_attributes=[tag("Region", "North")]),
        ],
        "UPDATE",
    )
    assert [s.status for s in statuses] == ["UPDATED", "FAILED", "FAILED", "UNCHANGED"]
    assert "Duplicate" in statuses[2].error
    assert tags_of(loaded, "Delta Plain") == [("Region", "North")]


def test_update_of_a_missing_program_is_skipped_and_the_rest_applies(loaded):
    by_name = ids(loaded)
    before = table_counts(loaded)
    good = cost("2026-09", "1")
    statuses = loaded.sync_mobjects(
        [
            MObject("Program", id=2_000_000_000, type_attributes=[good]),
            MObject("Program", external_key=("Name", "Nope"), type_attributes=[good]),
            MObject("Program", external_key=("CRM Id", "CRM-NONE"), type_attributes=[good]),
            MObject("Program", id=by_name["Delta Plain"], type_attributes=[good]),
        ],
        "UPDATE",
    )
    assert [(s.status, s.id, s.external_key, s.error) for s in statuses] == [
        ("SKIPPED", 2_000_000_000, None, None),
        ("SKIPPED", None, ("Name", "Nope"), None),
        ("SKIPPED", None, ("CRM Id", "CRM-NONE"), None),
        ("UPDATED", by_name["Delta Plain"], None, None),
    ]
    assert table_counts(loaded) == (before[0] + 1, before[1])  # the one cost of Delta Plain, nothing else
    assert ids(loaded) == by_name  # no program appeared
    with pytest.raises(BadParameter):
        loaded.sync_mobjects([MObject("Program", id=by_name["Delta Plain"])] * 101, "UPDATE")
