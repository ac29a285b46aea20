"""Custom objects at the engine level: instance-file types, records, activities, merges
(docs/objects.md, Custom objects)."""

from __future__ import annotations

import copy

import pytest
import yaml
from engine_helpers import all_activities, changes, create
from sqlalchemy import delete, func, select
from support.server import INSTANCE

from mktows.engine.models import CustomRecord, LeadInput
from mktows.errors import BadParameter, BadStreamPosition
from mktows.instance import InstanceError, apply_instance, parse_instance
from mktows.store.tables import activities, custom_object_keys, custom_object_records, leads

ROADSHOW = INSTANCE["custom_objects"][0]  # the shared test server declares it too
# built with the newer UI: the link field is not a dedupe field
VISIT = {
    "name": "Visit",
    "fields": [
        {"name": "visitId", "type": "string", "dedupe": True},
        {"name": "leadEmail", "type": "email", "link": "email"},
        {"name": "note", "type": "text"},
    ],
}


def _apply(engine, *types: dict, source: str = "objects.yaml") -> None:
    apply_instance(engine, parse_instance({"custom_objects": list(types)}, source))


@pytest.fixture
def loaded(engine):
    _apply(engine, ROADSHOW, VISIT)
    return engine


def _show(lead_id: int, rid: str, **values: str) -> CustomRecord:
    return CustomRecord([("MKTOID", str(lead_id)), ("rid", rid)], list(values.items()))


def _sync(engine, *records: CustomRecord, op: str | None = "UPSERT", type_name: str = "Roadshow"):
    return [(s.status, s.error) for s in engine.sync_custom_objects(type_name, list(records), op)]


def _records(engine, type_name: str = "Roadshow", **kw) -> list[tuple[list, list]]:
    page = engine.get_custom_objects(type_name, **kw)
    return [(r.keys, r.attributes) for r in page.records]


def _row_counts(engine) -> tuple[int, int, int]:
    with engine.db.read() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (custom_object_records, custom_object_keys, activities)
        )


# --- the instance file -------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, problem",
    [
        (
            lambda d: d.update(custom_objects=[ROADSHOW, {**VISIT, "name": "ROADSHOW"}]),
            "custom_objects[1].name: duplicate custom object 'ROADSHOW'",
        ),
        (
            lambda d: d["custom_objects"][0]["fields"].append({"name": "City", "type": "string"}),
            "custom_objects[0].fields[5].name: duplicate field 'City'",
        ),
        (
            lambda d: d["custom_objects"][0]["fields"][2].update(type="colour"),
            "custom_objects[0].fields[2].type: unknown type 'colour'",
        ),
        (
            lambda d: [f.update(dedupe=False) for f in d["custom_objects"][0]["fields"]],
            "custom_objects[0].fields: at least one field needs dedupe: true",
        ),
        (
            lambda d: d["custom_objects"][0]["fields"][1].update(link="Email"),
            "custom_objects[0].fields[1].link: only one field may link to a lead (MKTOID already does)",
        ),
        (
            lambda d: d["custom_objects"][0]["fields"].extend({"name": f"f{i}", "type": "string"} for i in range(46)),
            "custom_objects[0].fields: a custom object has at most 50 fields, got 51",
        ),
        (
            lambda d: d["custom_objects"][0].update(name="Road Show"),
            "custom_objects[0].name: custom object API names cannot contain spaces",
        ),
        (
            lambda d: d["custom_objects"][0]["fields"][0].update(dedupe="yes"),
            "custom_objects[0].fields[0].dedupe: expected true or false",
        ),
        (lambda d: d["custom_objects"][0].update(colour="red"), "custom_objects[0].colour: unknown key"),
    ],
)
def test_instance_file_shape_errors_name_the_path(change, problem):
    data = {"custom_objects": [copy.deepcopy(ROADSHOW)]}
    change(data)
    with pytest.raises(InstanceError) as err:
        parse_instance(data, "objects.yaml")
    assert str(err.value).startswith("objects.yaml: ") and problem in str(err.value)


def test_fifty_fields_are_allowed(engine):
    many = copy.deepcopy(ROADSHOW)
    many["fields"] += [{"name": f"f{i}", "type": "string"} for i in range(45)]
    _apply(engine, many)
    assert len(many["fields"]) == 50


def test_link_to_an_unknown_lead_field_applies_nothing(engine):
    broken = copy.deepcopy(VISIT)
    broken["fields"][1]["link"] = "Colour"
    with pytest.raises(InstanceError) as err:
        _apply(engine, ROADSHOW, broken)
    assert "custom_objects[1].fields[1].link: unknown lead field 'Colour'" in str(err.value)
    with pytest.raises(BadParameter):  # the whole file rolled back, Roadshow included
        engine.get_custom_objects("Roadshow")


def test_link_to_a_custom_lead_field_resolves_its_canonical_name(engine):
    data = yaml.safe_load("""
lead_fields: [{name: Member_Code, type: string}]
custom_objects:
  - name: Badge
    fields: [{name: code, type: string, dedupe: true, link: member_code}]
""")
    apply_instance(engine, parse_instance(data, "badge.yaml"))
    member = create(engine, "badge@example.com", Member_Code="M-7")
    assert _sync(engine, CustomRecord([("code", "M-7")]), type_name="badge") == [("CREATED", None)]
    assert [a.asset_name for a in all_activities(engine, member) if a.type_name == "Change Custom Object"] == ["Badge"]


def test_apply_is_idempotent_and_updates_in_place(loaded):
    lead_id = create(loaded, "idem@example.com")
    _sync(loaded, _show(lead_id, "r1", city="Oslo"))
    _apply(loaded, ROADSHOW, VISIT)  # again: nothing changes
    relabelled = copy.deepcopy(ROADSHOW)
    relabelled["display_name"] = "Roadshow Visits"
    relabelled["fields"].append({"name": "booth", "type": "string"})
    relabelled["fields"] = [f for f in relabelled["fields"] if f["name"] != "visited_on"]
    _apply(loaded, relabelled)
    assert _records(loaded, keys=[("MKTOID", str(lead_id))]) == [
        ([("MKTOID", str(lead_id)), ("rid", "r1")], [("city", "Oslo")])
    ]
    assert _sync(loaded, _show(lead_id, "r1", booth="B7")) == [("UPDATED", None)]
    [activity] = [a for a in all_activities(loaded, lead_id) if a.attributes[1] == ("Action", "Updated")]
    assert activity.asset_name == "Roadshow Visits"


@pytest.mark.parametrize(
    "change, problem",
    [
        (
            lambda fields: fields[1].update(dedupe=False),
            "the key fields would change from MKTOID (integer), rid (string) to MKTOID (integer)",
        ),
        (lambda fields: fields[2].update(type="integer"), "field city would change type from string to integer"),
        (lambda fields: fields[2].update(name="City"), "field city would be renamed City"),
        (lambda fields: fields[0].pop("link"), "the link field would change"),
    ],
)
def test_a_change_records_would_not_fit_is_refused_while_records_exist(loaded, change, problem):
    lead_id = create(loaded, "keys@example.com")
    _sync(loaded, _show(lead_id, "r1", city="Oslo"))
    changed = copy.deepcopy(ROADSHOW)
    change(changed["fields"])
    with pytest.raises(InstanceError) as err:
        _apply(loaded, changed)
    assert f"custom_objects[0]: {problem}, but custom object Roadshow has 1 record(s)" in str(err.value)
    loaded.delete_custom_objects("Roadshow", [[("MKTOID", str(lead_id)), ("rid", "r1")]])
    _apply(loaded, changed)  # no records: the new definition applies


# --- syncCustomObjects --------------------------------------------------------------------


def test_upsert_creates_then_updates_and_unchanged_is_updated(loaded):
    lead_id = create(loaded, "up@example.com")
    assert _sync(loaded, _show(lead_id, "r1", city="Oslo", visited_on="2026-03-01T10:00:00Z")) == [("CREATED", None)]
    assert _sync(loaded, _show(lead_id, "r1", city="Oslo")) == [("UPDATED", None)]  # unchanged
    assert _sync(loaded, _show(lead_id, "r1", attendees="12", visited_on="")) == [("UPDATED", None)]
    assert _records(loaded, keys=[("MKTOID", str(lead_id))]) == [
        ([("MKTOID", str(lead_id)), ("rid", "r1")], [("city", "Oslo"), ("attendees", "12")])
    ]
    log = [a for a in all_activities(loaded, lead_id) if a.type_name == "Change Custom Object"]
    assert [a.attributes for a in log] == [
        [
            ("Object Name", "Roadshow"),
            ("Action", "Created"),
            ("MKTOID", str(lead_id)),
            ("rid", "r1"),
            ("city", "Oslo"),
            ("visited_on", "2026-03-01"),
            ("Lead ID", str(lead_id)),
        ],
        [
            ("Object Name", "Roadshow"),
            ("Action", "Updated"),
            ("MKTOID", str(lead_id)),
            ("rid", "r1"),
            ("visited_on", ""),
            ("attendees", "12"),
            ("Lead ID", str(lead_id)),
        ],
    ]  # the unchanged sync logged nothing
    assert {a.asset_name for a in log} == {"Road Show"}


def test_operation_absent_means_upsert_and_insert_update_are_strict(loaded):
    lead_id = create(loaded, "ops@example.com")
    assert _sync(loaded, _show(lead_id, "a"), op=None) == [("CREATED", None)]
    assert _sync(loaded, _show(lead_id, "a", city="X"), op=None) == [("UPDATED", None)]
    [(status, error)] = _sync(loaded, _show(lead_id, "a"), op="INSERT")
    assert status == "FAILED" and error == (
        f"Roadshow record MKTOID={lead_id}, rid=a already exists (INSERT creates new records only)"
    )
    [(status, error)] = _sync(loaded, _show(lead_id, "b"), op="UPDATE")
    assert status == "FAILED" and error == (
        f"Roadshow record MKTOID={lead_id}, rid=b not found (UPDATE changes existing records only)"
    )
    assert _sync(loaded, _show(lead_id, "b", city="Y"), op="INSERT") == [("CREATED", None)]
    assert _sync(loaded, _show(lead_id, "b", city="Z"), op="update") == [("UPDATED", None)]
    assert len(_records(loaded, keys=[("MKTOID", str(lead_id))])) == 2


def test_type_and_field_names_are_case_insensitive_and_echoed_canonically(loaded):
    lead_id = create(loaded, "case@example.com")
    [status] = loaded.sync_custom_objects(
        "roadSHOW", [CustomRecord([("mktoid", f" {lead_id} "), ("RID", "r1")], [("CITY", "Oslo")])]
    )
    assert (status.type_name, status.status, status.keys) == (
        "Roadshow",
        "CREATED",
        [("MKTOID", f" {lead_id} "), ("rid", "r1")],
    )
    page = loaded.get_custom_objects("ROADSHOW", keys=[("Mktoid", str(lead_id))])
    assert page.type_name == "Roadshow"
    assert [(r.keys, r.attributes) for r in page.records] == [
        ([("MKTOID", str(lead_id)), ("rid", "r1")], [("city", "Oslo")])
    ]


def test_record_failures_are_per_record_and_change_nothing(loaded):
    lead_id = create(loaded, "fail@example.com")
    before = _row_counts(loaded)
    statuses = _sync(
        loaded,
        CustomRecord([("MKTOID", str(lead_id))], [("city", "Oslo")]),  # no rid
        _show(lead_id, "r1", attendees="many"),  # not an integer
        _show(987_654_321, "r1"),  # no such lead
        CustomRecord([("MKTOID", str(lead_id)), ("rid", "r1"), ("city", "Oslo")]),  # city is not a key
        CustomRecord([("MKTOID", str(lead_id))], [("rid", "r1")]),  # rid belongs in the key list
        CustomRecord([("MKTOID", "abc"), ("rid", "r1")]),  # bad key value
        CustomRecord([("MKTOID", str(lead_id)), ("rid", "r1"), ("RID", "r2")]),  # rid twice
    )
    assert [s for s, _ in statuses] == ["FAILED"] * 7
    errors = [e for _, e in statuses]
    assert errors[0] == "Missing key field(s) of Roadshow: rid"
    assert errors[1] == "Invalid integer value for attendees: many"
    assert errors[2] == "Lead not found: no lead with Id = 987654321 (link field MKTOID)"
    assert errors[3].startswith("city is not a dedupe field of Roadshow: only MKTOID, rid form the key")
    assert errors[4] == "rid is a dedupe field of Roadshow: give it in customObjKeyList"
    assert errors[5] == "Invalid integer value for MKTOID: abc"
    assert errors[6] == "rid is given twice"
    assert _row_counts(loaded) == before


def test_one_call_creates_updates_relinks_and_fails_each_record_on_its_own(loaded):
    ada = create(loaded, "ada.mixed@example.com")
    bob = create(loaded, "bob.mixed@example.com")
    assert _sync(loaded, _show(ada, "old", city="Oslo")) == [("CREATED", None)]
    assert _sync(
        loaded, CustomRecord([("visitId", "v1")], [("leadEmail", "ada.mixed@example.com")]), type_name="Visit"
    ) == [("CREATED", None)]
    before = _row_counts(loaded)
    statuses = _sync(
        loaded,
        _show(ada, "n1", city="Rome"),
        _show(ada, "old", city=""),
        _show(987_654_321, "n2"),
        _show(bob, "n3", attendees="4"),
        _show(ada, "old", city="Bergen"),
        _show(ada, "n1"),
    )
    assert statuses == [
        ("CREATED", None),
        ("UPDATED", None),
        ("FAILED", "Lead not found: no lead with Id = 987654321 (link field MKTOID)"),
        ("CREATED", None),
        (
            "FAILED",
            f"Duplicate key MKTOID={ada}, rid=old in this request; only the first record with a key is processed",
        ),
        (
            "FAILED",
            f"Duplicate key MKTOID={ada}, rid=n1 in this request; only the first record with a key is processed",
        ),
    ]
    assert sorted(_records(loaded, keys=[("MKTOID", str(ada))])) == [
        ([("MKTOID", str(ada)), ("rid", "n1")], [("city", "Rome")]),
        ([("MKTOID", str(ada)), ("rid", "old")], []),
    ]
    assert _records(loaded, keys=[("MKTOID", str(bob))]) == [
        ([("MKTOID", str(bob)), ("rid", "n3")], [("attendees", "4")])
    ]
    # a moved link and a new record in one call
    assert _sync(
        loaded,
        CustomRecord([("visitId", "v1")], [("leadEmail", "bob.mixed@example.com")]),
        CustomRecord([("visitId", "v2")], [("leadEmail", "nobody@example.com")]),
        CustomRecord([("visitId", "v3")], [("leadEmail", "ada.mixed@example.com"), ("note", "n")]),
        type_name="Visit",
    ) == [
        ("UPDATED", None),
        ("FAILED", "Lead not found: no lead with Email = nobody@example.com (link field leadEmail)"),
        ("CREATED", None),
    ]
    assert [k for k, _ in _records(loaded, "Visit", keys=[("leadEmail", "bob.mixed@example.com")])] == [
        [("visitId", "v1")]
    ]
    assert [k for k, _ in _records(loaded, "Visit", keys=[("leadEmail", "ada.mixed@example.com")])] == [
        [("visitId", "v3")]
    ]
    actions = [
        (a.lead_id, dict(a.attributes)["Action"], dict(a.attributes).get("rid") or dict(a.attributes)["visitId"])
        for a in changes(loaded, names=["Change Custom Object"])
    ]
    assert actions[-5:] == [
        (ada, "Created", "n1"),
        (ada, "Updated", "old"),
        (bob, "Created", "n3"),
        (bob, "Updated", "v1"),
        (ada, "Created", "v3"),
    ]
    assert _row_counts(loaded) == (before[0] + 3, before[1] + 6, before[2] + 5)


def test_key_values_are_at_most_255_characters(loaded):
    lead_id = create(loaded, "long@example.com")
    [(status, error)] = _sync(loaded, _show(lead_id, "x" * 256))
    assert (status, error) == ("FAILED", "Value of key field rid is longer than 255 characters")
    assert _sync(loaded, _show(lead_id, "x" * 255, city="y" * 2000)) == [("CREATED", None)]


def test_duplicate_keys_in_one_call_fail_after_the_first(loaded):
    lead_id = create(loaded, "dup@example.com")
    statuses = _sync(
        loaded,
        _show(lead_id, "r1", city="A"),
        _show(lead_id, "R1"),
        _show(lead_id, "r1", city="B"),
        _show(lead_id, " r1"),
    )
    assert [s for s, _ in statuses] == ["CREATED", "CREATED", "FAILED", "CREATED"]  # keys are case-sensitive values
    assert statuses[2][1] == (
        f"Duplicate key MKTOID={lead_id}, rid=r1 in this request; only the first record with a key is processed"
    )
    assert ("city", "A") in dict((k[1][1], a) for k, a in _records(loaded, keys=[("MKTOID", str(lead_id))]))["r1"]


def test_unknown_fields_fault_the_whole_call(loaded):
    lead_id = create(loaded, "unknown@example.com")
    before = _row_counts(loaded)
    with pytest.raises(BadParameter) as err:
        loaded.sync_custom_objects(
            "Roadshow",
            [
                _show(lead_id, "ok", city="Oslo"),
                _show(lead_id, "r2", colour="red"),
                CustomRecord([("MKTOID", str(lead_id)), ("shape", "x")]),
            ],
        )
    assert err.value.code == 20110
    assert err.value.detail.startswith("Unknown fields of custom object Roadshow: 'colour', 'shape'")
    assert _row_counts(loaded) == before


def test_unknown_type_and_call_limits_fault_20110(loaded):
    lead_id = create(loaded, "limits@example.com")
    for call in (
        lambda: loaded.get_custom_objects("Showroad"),
        lambda: loaded.sync_custom_objects("Showroad", [_show(lead_id, "r")]),
        lambda: loaded.delete_custom_objects("Showroad", [[("MKTOID", "1")]]),
    ):
        with pytest.raises(BadParameter) as err:
            call()
        assert err.value.detail == "Unknown custom object type 'Showroad' (known: Roadshow, Visit)"
    with pytest.raises(BadParameter) as err:
        loaded.sync_custom_objects("Roadshow", [_show(lead_id, f"r{i}") for i in range(101)])
    assert "at most 100" in err.value.detail
    with pytest.raises(BadParameter):
        loaded.delete_custom_objects("Roadshow", [[("MKTOID", str(lead_id)), ("rid", f"r{i}")] for i in range(101)])
    with pytest.raises(BadParameter):
        loaded.sync_custom_objects("Roadshow", [])
    assert _records(loaded, keys=[("MKTOID", str(lead_id))]) == []
    assert _sync(loaded, *[_show(lead_id, f"r{i}") for i in range(100)]) == [("CREATED", None)] * 100


# --- getCustomObjects ---------------------------------------------------------------------


def test_partial_key_full_key_and_projection(loaded):
    ada, bob = create(loaded, "ada@example.com"), create(loaded, "bob@example.com")
    _sync(
        loaded,
        _show(ada, "r1", city="Oslo", attendees="3"),
        _show(ada, "r2", city="Rome"),
        _show(bob, "r1", city="Lima"),
    )
    assert [k for k, _ in _records(loaded, keys=[("MKTOID", str(ada))])] == [
        [("MKTOID", str(ada)), ("rid", "r1")],
        [("MKTOID", str(ada)), ("rid", "r2")],
    ]
    assert _records(loaded, keys=[("MKTOID", str(bob)), ("rid", "r1")]) == [
        ([("MKTOID", str(bob)), ("rid", "r1")], [("city", "Lima")])
    ]
    by_rid = _records(loaded, keys=[("rid", "r1")])
    assert {k[0][1] for k, _ in by_rid} >= {str(ada), str(bob)}
    assert _records(loaded, keys=[("MKTOID", str(ada))], include=["ATTENDEES", "rid"]) == [
        ([("MKTOID", str(ada)), ("rid", "r1")], [("attendees", "3")]),
        ([("MKTOID", str(ada)), ("rid", "r2")], []),
    ]
    assert _records(loaded, keys=[("MKTOID", f"0{ada}")]) != []  # values compare in their typed form
    assert _records(loaded, keys=[("MKTOID", str(ada)), ("rid", "nope")]) == []


def test_get_rejects_non_key_and_unknown_attributes(loaded):
    for kwargs, message in [
        ({"keys": [("city", "Oslo")]}, "city is not a key field of custom object Roadshow (key fields: MKTOID, rid)"),
        ({"keys": [("colour", "red")]}, "Unknown fields of custom object Roadshow: colour"),
        ({"keys": [("MKTOID", "one")]}, "Invalid integer value for MKTOID: one"),
        (
            {"include": ["city", "colour", "size"]},
            "Unknown fields of custom object Roadshow in includeAttributes: colour, size",
        ),
        ({"batch_size": 0}, "Invalid batchSize: 0"),
    ]:
        with pytest.raises(BadParameter) as err:
            loaded.get_custom_objects("Roadshow", **kwargs)
        assert err.value.detail == message


def test_paging_250_records_by_100_with_exact_remaining_counts(loaded):
    lead_id = create(loaded, "pages@example.com")
    for start in range(0, 250, 100):
        _sync(loaded, *[_show(lead_id, f"r{i:03d}", attendees=str(i)) for i in range(start, min(start + 100, 250))])
    other = create(loaded, "other@example.com")
    _sync(loaded, _show(other, "r000"))
    seen: list[str] = []
    pages: list[tuple[int, int]] = []
    position = None
    while True:
        page = loaded.get_custom_objects("Roadshow", keys=[("MKTOID", str(lead_id))], batch_size=500, position=position)
        seen += [r.keys[1][1] for r in page.records]
        pages.append((len(page.records), page.remaining))
        if not page.remaining:
            assert page.position == ""
            break
        position = page.position
        assert position
    assert pages == [(100, 150), (100, 50), (50, 0)]  # batchSize above 100 is clamped
    assert seen == [f"r{i:03d}" for i in range(250)]
    small = loaded.get_custom_objects("Roadshow", keys=[("MKTOID", str(lead_id))], batch_size=7)
    assert (len(small.records), small.remaining) == (7, 243)


def test_positions_are_signed_and_bound_to_the_query(loaded):
    lead_id = create(loaded, "pos@example.com")
    _sync(loaded, *[_show(lead_id, f"r{i}") for i in range(3)])
    page = loaded.get_custom_objects("Roadshow", keys=[("MKTOID", str(lead_id))], batch_size=1)
    assert page.remaining == 2 and page.position
    following = loaded.get_custom_objects(
        "roadshow", keys=[("mktoid", str(lead_id))], batch_size=1, position=page.position
    )
    assert [r.keys[1][1] for r in following.records] == ["r1"]
    for bad in ("garbage", page.position[:-2] + "xx", "e30.AAAA"):
        with pytest.raises(BadStreamPosition) as err:
            loaded.get_custom_objects("Roadshow", keys=[("MKTOID", str(lead_id))], position=bad)
        assert err.value.code == 20122
    with pytest.raises(BadStreamPosition):  # another query's position
        loaded.get_custom_objects("Roadshow", keys=[("rid", "r0")], position=page.position)


# --- deleteCustomObjects, activities ------------------------------------------------------


def test_delete_reports_deleted_or_failed_and_logs(loaded):
    lead_id = create(loaded, "del@example.com")
    _sync(loaded, _show(lead_id, "r1", city="Oslo"), _show(lead_id, "r2"))
    statuses = loaded.delete_custom_objects(
        "roadshow",
        [
            [("MKTOID", str(lead_id)), ("rid", "r1")],
            [("MKTOID", str(lead_id)), ("rid", "r1")],
            [("MKTOID", str(lead_id))],
            [("MKTOID", str(lead_id)), ("city", "Oslo")],
        ],
    )
    assert [(s.type_name, s.status) for s in statuses] == [("Roadshow", "DELETED")] + [("Roadshow", "FAILED")] * 3
    assert statuses[1].error == f"Roadshow record MKTOID={lead_id}, rid=r1 not found"
    assert statuses[2].error == "Missing key field(s) of Roadshow: rid"
    assert statuses[3].error.startswith("city is not a dedupe field of Roadshow")
    assert [r.keys[1][1] for r in loaded.get_custom_objects("Roadshow", keys=[("MKTOID", str(lead_id))]).records] == [
        "r2"
    ]
    deleted = [a for a in all_activities(loaded, lead_id) if ("Action", "Deleted") in a.attributes]
    assert [a.attributes for a in deleted] == [
        [
            ("Object Name", "Roadshow"),
            ("Action", "Deleted"),
            ("MKTOID", str(lead_id)),
            ("rid", "r1"),
            ("Lead ID", str(lead_id)),
        ]
    ]
    with pytest.raises(BadParameter):
        loaded.delete_custom_objects("Roadshow", [[("MKTOID", str(lead_id)), ("rid", "r2"), ("colour", "x")]])
    assert len(_records(loaded, keys=[("MKTOID", str(lead_id))])) == 1


def test_activities_are_visible_to_get_lead_changes_by_name(loaded):
    lead_id = create(loaded, "changes@example.com")
    _sync(loaded, _show(lead_id, "r1", city="Oslo"))
    loaded.delete_custom_objects("Roadshow", [[("MKTOID", str(lead_id)), ("rid", "r1")]])
    found = [a for a in changes(loaded, names=["change custom object"]) if a.lead_id == lead_id]
    assert [(a.type_name, dict(a.attributes)["Action"]) for a in found] == [
        ("Change Custom Object", "Created"),
        ("Change Custom Object", "Deleted"),
    ]


# --- a link that is not a dedupe field (newer UI), links by email ----------------------------


def test_link_outside_the_key_goes_in_the_attribute_list(loaded):
    ada = create(loaded, "Ada.Visit@example.com")
    bob = create(loaded, "bob.visit@example.com")
    [(status, error)] = _sync(
        loaded, CustomRecord([("visitId", "v1"), ("leadEmail", "ada.visit@example.com")]), type_name="Visit"
    )
    assert status == "FAILED" and error.startswith(
        "leadEmail is not a dedupe field of Visit: only visitId form the key"
    )
    [(status, error)] = _sync(loaded, CustomRecord([("visitId", "v1")], [("note", "hi")]), type_name="Visit")
    assert (status, error) == ("FAILED", "leadEmail (the link to a lead) is required to create a Visit record")
    assert _sync(
        loaded,
        CustomRecord([("visitId", "v1")], [("leadEmail", "ada.visit@EXAMPLE.com"), ("note", "hi")]),
        type_name="Visit",
    ) == [("CREATED", None)]
    assert _records(loaded, "visit", keys=[("leadEmail", "ada.visit@example.com")]) == [
        ([("visitId", "v1")], [("leadEmail", "ada.visit@example.com"), ("note", "hi")])
    ]  # emails: lower case
    # moving the record to another lead: the activity goes to the new lead
    assert _sync(
        loaded, CustomRecord([("visitId", "v1")], [("leadEmail", "bob.visit@example.com")]), type_name="Visit"
    ) == [("UPDATED", None)]
    assert _records(loaded, "Visit", keys=[("leadEmail", "Ada.Visit@example.com")]) == []
    assert len(_records(loaded, "Visit", keys=[("leadEmail", "bob.visit@example.com")])) == 1
    assert [
        dict(a.attributes)["Action"] for a in all_activities(loaded, bob) if a.type_name == "Change Custom Object"
    ] == ["Updated"]
    assert [
        dict(a.attributes)["Action"] for a in all_activities(loaded, ada) if a.type_name == "Change Custom Object"
    ] == ["Created"]
    [(status, error)] = _sync(loaded, CustomRecord([("visitId", "v1")], [("leadEmail", "")]), type_name="Visit")
    assert (status, error) == ("FAILED", "leadEmail (the link to a lead) cannot be cleared")


# --- leads going away -----------------------------------------------------------------------


def test_merge_moves_losers_records_to_the_winner(loaded):
    winner = create(loaded, "winner@example.com")
    loser = create(loaded, "loser@example.com")
    _sync(
        loaded,
        _show(winner, "shared", city="Winner's"),
        _show(loser, "shared", city="Loser's"),
        _show(loser, "own", city="Only the loser's"),
    )
    assert loaded.merge_leads([("IDNUM", str(winner))], [[("IDNUM", str(loser))]]).merged
    assert _records(loaded, keys=[("MKTOID", str(winner))]) == [
        ([("MKTOID", str(winner)), ("rid", "shared")], [("city", "Winner's")]),
        ([("MKTOID", str(winner)), ("rid", "own")], [("city", "Only the loser's")]),
    ]
    assert _records(loaded, keys=[("MKTOID", str(loser))]) == []
    assert _sync(loaded, _show(winner, "own", city="Moved")) == [("UPDATED", None)]


def test_merge_relinks_records_to_the_winners_value_of_the_link_field(loaded):
    winner = create(loaded, "winner.visit@example.com")
    loser = create(loaded, "loser.visit@example.com")
    _sync(loaded, CustomRecord([("visitId", "merge-1")], [("leadEmail", "loser.visit@example.com")]), type_name="Visit")
    assert loaded.merge_leads([("IDNUM", str(winner))], [[("IDNUM", str(loser))]]).merged
    assert _records(loaded, "Visit", keys=[("leadEmail", "winner.visit@example.com")]) == [
        ([("visitId", "merge-1")], [("leadEmail", "winner.visit@example.com")])
    ]
    # a winner without an email gets the first loser's (the merge's fill rule): records of
    # every loser follow that final value
    blank = loaded.sync_lead(
        LeadInput(foreign_sys_person_id="no-email", foreign_sys_type="CUSTOM"), return_lead=False
    ).lead_id
    first, second = create(loaded, "first.visit@example.com"), create(loaded, "second.visit@example.com")
    _sync(
        loaded, CustomRecord([("visitId", "merge-2")], [("leadEmail", "second.visit@example.com")]), type_name="Visit"
    )
    assert loaded.merge_leads([("IDNUM", str(blank))], [[("IDNUM", str(first))], [("IDNUM", str(second))]]).merged
    with loaded.db.read() as conn:
        owner = conn.execute(
            select(custom_object_records.c.lead_id).where(custom_object_records.c.key_text == '["merge-2"]')
        ).scalar_one()
    assert owner == blank
    assert _records(loaded, "Visit", keys=[("leadEmail", "first.visit@example.com")]) == [
        ([("visitId", "merge-2")], [("leadEmail", "first.visit@example.com")])
    ]


def test_deleting_a_lead_leaves_no_orphan_records(loaded):
    lead_id = create(loaded, "gone@example.com")
    _sync(loaded, _show(lead_id, "r1"), _show(lead_id, "r2"))
    with loaded.db.write() as conn:
        conn.execute(delete(leads).where(leads.c.id == lead_id))
    assert _records(loaded, keys=[("MKTOID", str(lead_id))]) == []
    with loaded.db.read() as conn:
        assert (
            conn.execute(
                select(func.count())
                .select_from(custom_object_keys)
                .where(custom_object_keys.c.value == str(lead_id), custom_object_keys.c.field == "MKTOID")
            ).scalar_one()
            == 0
        )
