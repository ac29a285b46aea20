"""Opportunities and person roles in the engine: the instance file's
custom fields, sync statuses, reads by id / externalKey / criteria / associations, keyset
pages, deletes with their cascade, and the activities each change logs, on both backends."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml
from engine_helpers import all_activities, changes, counts, create
from sqlalchemy import func, select

from mktows.engine import Engine
from mktows.engine.models import Criterion, LeadInput, MObject, MObjectQuery, ObjectRef
from mktows.engine.objects.opportunity_schema import OPPORTUNITY_FIELDS, ROLE_FIELDS
from mktows.errors import BadParameter, BadStreamPosition
from mktows.instance import InstanceError, apply_instance, parse_instance
from mktows.store.tables import (
    mobject_fields,
    opportunities,
    opportunity_role_values,
    opportunity_roles,
    opportunity_values,
)

INSTANCE = """\
lead_fields: [{name: Badge, type: string}]
opportunity_fields:
  - {name: ExternalOpportunityId, type: string, external_key: true, description: Id in the billing system}
  - {name: Region, type: string, display_name: Sales Region}
  - {name: Seats, type: integer}
  - {name: Discount, type: percent}
  - {name: Renewal, type: date}
  - {name: Signed, type: boolean}
opportunity_role_fields: [{name: Influence, type: integer}]
"""


@pytest.fixture
def eng(engine: Engine) -> Engine:
    apply_instance(engine, parse_instance(yaml.safe_load(INSTANCE), "opportunities.yaml"))
    return engine


def opp(attrs: dict[str, object] | None = None, **kw: object) -> MObject:
    return MObject("Opportunity", attributes=[(k, str(v)) for k, v in (attrs or {}).items()], **kw)  # type: ignore[arg-type]


def role(attrs: dict[str, object] | None = None, **kw: object) -> MObject:
    return MObject("OpportunityPersonRole", attributes=[(k, str(v)) for k, v in (attrs or {}).items()], **kw)  # type: ignore[arg-type]


def sync(engine: Engine, operation: str, *objects: MObject) -> list[tuple[str, int | None, str | None]]:
    return [(s.status, s.id, s.error) for s in engine.sync_mobjects(list(objects), operation)]


def created(engine: Engine, *objects: MObject) -> list[int]:
    statuses = sync(engine, "INSERT", *objects)
    assert [s for s, _, _ in statuses] == ["CREATED"] * len(objects), statuses
    return [i for _, i, _ in statuses]  # type: ignore[misc]


def get(engine: Engine, type_: str = "Opportunity", **kw: object) -> list[MObject]:
    return engine.get_mobjects(MObjectQuery(type_, **kw)).objects  # type: ignore[arg-type]


def ids(engine: Engine, type_: str = "Opportunity", *criteria: tuple[str, str, str], **kw: object) -> list[int]:
    return [o.id for o in get(engine, type_, criteria=[Criterion(*c) for c in criteria], **kw)]  # type: ignore[misc]


def attrs(obj: MObject) -> dict[str, str]:
    return dict(obj.attributes)


# --- one definition of the fields --------------------------------------------------------------


def test_each_standard_field_has_its_column_and_describe_lists_custom_fields_after_them(eng):
    for fields, table in ((OPPORTUNITY_FIELDS, opportunities), (ROLE_FIELDS, opportunity_roles)):
        for f in fields:
            assert f.column in table.c, f"{f.name} -> {f.column} is not a column of {table.name}"
    meta = eng.describe("Opportunity")
    names = [f.name for f in meta.fields]
    assert names[: len(OPPORTUNITY_FIELDS)] == [f.name for f in OPPORTUNITY_FIELDS]
    assert names[len(OPPORTUNITY_FIELDS) :] == [
        "ExternalOpportunityId",
        "Region",
        "Seats",
        "Discount",
        "Renewal",
        "Signed",
    ]
    by_name = {f.name: f for f in meta.fields}
    assert (by_name["Region"].custom, by_name["Region"].display_name, by_name["Region"].data_type) == (
        True,
        "Sales Region",
        "string",
    )
    assert by_name["ExternalOpportunityId"].description == "Id in the billing system"
    assert not by_name["Amount"].custom and by_name["Amount"].data_type == "currency"
    assert by_name["Id"].primary_key and by_name["Name"].is_name
    role_fields = {f.name: f for f in eng.describe("OpportunityPersonRole").fields}
    assert role_fields["Influence"].custom and role_fields["Influence"].data_type == "integer"
    assert role_fields["PersonId"].update_blocked and not role_fields["Role"].update_blocked


# --- the instance file -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, problem",
    [
        (
            "opportunity_fields: [{name: Amount, type: string}]",
            "opportunity_fields[0].name: 'Amount' is a standard Opportunity field",
        ),
        ("opportunity_fields: [{name: stage, type: string}]", "'stage' is a standard Opportunity field"),
        (
            "opportunity_role_fields: [{name: PersonId, type: integer}]",
            "'PersonId' is a standard OpportunityPersonRole field",
        ),
        ("opportunity_fields: [{name: CreatedAt, type: datetime}]", "'CreatedAt' is a standard"),
        (
            "opportunity_fields: [{name: A, type: string, external_key: true}, {name: B, type: string, external_key: true}]",
            "opportunity_fields[1].external_key: 'A' is already the external key",
        ),
        ("opportunity_fields: [{name: A, type: money}]", "opportunity_fields[0].type: unknown type 'money'"),
        ("opportunity_fields: [{name: Two Words, type: string}]", "cannot contain spaces"),
        ("opportunity_fields: [{name: A, type: string}, {name: a, type: integer}]", "duplicate field 'a'"),
        ("opportunity_fields: [{name: A, type: string, external_key: 'yes'}]", "external_key: expected true or false"),
        (
            "opportunity_role_fields: [{name: A, type: string, colour: red}]",
            "opportunity_role_fields[0].colour: unknown key",
        ),
    ],
)
def test_bad_field_declarations_name_the_path_and_the_problem(fields, problem):
    with pytest.raises(InstanceError) as err:
        parse_instance(yaml.safe_load(fields), "i.yaml")
    assert str(err.value).startswith("i.yaml: ") and problem in str(err.value)


def test_applying_the_fields_twice_changes_nothing_and_a_new_key_field_replaces_the_old(eng):
    def rows() -> list[tuple]:
        with eng.db.read() as conn:
            return [
                tuple(r)
                for r in conn.execute(
                    select(
                        mobject_fields.c.object_name,
                        mobject_fields.c.name,
                        mobject_fields.c.data_type,
                        mobject_fields.c.external_key,
                    ).order_by(mobject_fields.c.id)
                )
            ]

    before = rows()
    apply_instance(eng, parse_instance(yaml.safe_load(INSTANCE), "again.yaml"))
    assert rows() == before and len(before) == 7
    moved = "opportunity_fields: [{name: region, type: string, external_key: true}]"
    apply_instance(eng, parse_instance(yaml.safe_load(moved), "moved.yaml"))
    keys = [(o, n) for o, n, _, k in rows() if k]
    assert keys == [("Opportunity", "region")]
    assert eng.describe("Opportunity").fields[-5].name == "region"  # renamed in place, order kept


def test_a_type_change_restores_stored_values_or_is_refused_naming_the_value(eng):
    [first, second] = created(eng, opp({"Name": "A", "Seats": 12}), opp({"Name": "B", "Region": "North"}))
    apply_instance(eng, parse_instance(yaml.safe_load("opportunity_fields: [{name: Seats, type: float}]"), "f.yaml"))
    assert attrs(get(eng, id=first)[0])["Seats"] == "12"
    assert ids(eng, "Opportunity", ("Seats", "GT", "11.5")) == [first]
    with pytest.raises(InstanceError) as err:
        apply_instance(
            eng, parse_instance(yaml.safe_load("opportunity_fields: [{name: Region, type: integer}]"), "g.yaml")
        )
    assert "g.yaml: opportunity_fields[0].type:" in str(err.value) and "'North'" in str(err.value)
    assert [f.data_type for f in eng.describe("Opportunity").fields if f.name == "Region"] == ["string"]
    assert attrs(get(eng, id=second)[0])["Region"] == "North"


# --- sync statuses -----------------------------------------------------------------------------


def test_insert_update_upsert_unchanged_and_skipped(eng):
    key = ("ExternalOpportunityId", "ACME-1")
    [(status, oid, _)] = sync(eng, "UPSERT", opp({"Name": "Acme", "Amount": "1000"}, external_key=key))
    assert status == "CREATED"
    assert sync(eng, "INSERT", opp({"Name": "Acme again"}, external_key=key)) == [("SKIPPED", oid, None)]
    assert sync(eng, "INSERT", opp({"Name": "Acme again"}, id=oid)) == [("SKIPPED", oid, None)]
    assert sync(eng, "UPSERT", opp({"Amount": "1000.00"}, external_key=("externalopportunityid", "acme-1"))) == [
        ("UNCHANGED", oid, None)
    ]
    assert sync(eng, "UPDATE", opp({"Amount": "1500.25", "Stage": "Closed"}, id=oid)) == [("UPDATED", oid, None)]
    assert sync(eng, "UPDATE", opp({"Stage": "Closed"}, external_key=key)) == [("UNCHANGED", oid, None)]
    # UPDATE of an object a key names but that does not exist: skipped, UPDATE never creates
    assert sync(eng, "UPDATE", opp({"Name": "New"}, external_key=("ExternalOpportunityId", "ACME-2"))) == [
        ("SKIPPED", None, None)
    ]
    found = get(eng, id=oid)[0]
    assert attrs(found) == {"Name": "Acme", "Amount": "1500.25", "Stage": "Closed", "ExternalOpportunityId": "ACME-1"}
    assert found.external_key == key and found.updated_at > found.created_at
    assert [o.id for o in get(eng, criteria=[Criterion("Name", "EQ", "New")])] == []


def test_update_of_a_missing_id_is_skipped_and_an_id_cannot_create(eng):
    before = counts(eng)
    assert sync(eng, "UPDATE", opp({"Name": "Ghost"}, id=987654)) == [("SKIPPED", 987654, None)]
    for operation in ("UPSERT", "INSERT"):
        [(status, object_id, error)] = sync(eng, operation, opp({"Name": "Ghost"}, id=987654))
        assert (status, object_id) == ("FAILED", 987654) and "No Opportunity with id 987654" in error
    [(status, _, error)] = sync(eng, "UPDATE", opp({"Name": "Ghost"}))
    assert status == "FAILED" and "id or externalKey" in error
    # a bad field is checked before the lookup: it fails even when the id names nothing
    [(status, _, error)] = sync(eng, "UPDATE", opp({"Colour": "red"}, id=987654))
    assert status == "FAILED" and "Colour" in error
    assert counts(eng) == before and get(eng) == []


def test_one_update_call_applies_the_existing_object_and_skips_the_missing_ones(eng):
    ann = create(eng, "ann@example.com")
    [deal] = created(eng, opp({"Name": "Deal", "Stage": "Open"}))
    [r] = created(eng, role({"OpportunityId": deal, "PersonId": ann, "Role": "User"}))
    before = counts(eng)
    statuses = eng.sync_mobjects(
        [
            opp({"Stage": "Won"}, id=987654),
            opp({"Stage": "Won"}, id=deal),
            role({"Role": "Buyer"}, id=987655),
            role({"Role": "Buyer"}, id=r),
        ],
        "UPDATE",
    )
    assert [(s.status, s.id, s.error) for s in statuses] == [
        ("SKIPPED", 987654, None),
        ("UPDATED", deal, None),
        ("SKIPPED", 987655, None),
        ("UPDATED", r, None),
    ]
    assert [o.id for o in get(eng)] == [deal] and attrs(get(eng, id=deal)[0])["Stage"] == "Won"
    assert [(o.id, attrs(o)["Role"]) for o in get(eng, "OpportunityPersonRole")] == [(r, "Buyer")]
    assert counts(eng)[:2] == before[:2]  # no lead or lead value appeared


def test_values_are_typed_exact_and_rendered_in_the_spec_layouts(eng):
    [oid] = created(
        eng,
        opp(
            {
                "Name": "Typed",
                "Amount": "123456789012345.1234",
                "ExpectedRevenue": "3E+3",
                "CloseDate": "2026-12-31",
                "ExternalCreatedDate": "2026-01-02T03:04:05.678-06:00",
                "IsClosed": "True",
                "IsWon": "0",
                "Probability": "75",
                "Quantity": "2.5",
                "FiscalYear": "2026",
                "Description": "multi\nline",
                "Discount": "12.50",
                "Renewal": "2027-01-01",
                "Signed": "yes",
                "Seats": "-3",
            }
        ),
    )
    assert attrs(get(eng, id=oid)[0]) == {
        "Name": "Typed",
        "Amount": "123456789012345.1234",
        "ExpectedRevenue": "3000",
        "CloseDate": "2026-12-31",
        "ExternalCreatedDate": "2026-01-02 09:04:05",
        "IsClosed": "true",
        "IsWon": "false",
        "Probability": "75",
        "Quantity": "2.5",
        "FiscalYear": "2026",
        "Description": "multi\nline",
        "Discount": "12.5",
        "Renewal": "2027-01-01",
        "Signed": "true",
        "Seats": "-3",
    }
    with eng.db.read() as conn:
        assert conn.execute(select(opportunities.c.amount).where(opportunities.c.id == oid)).scalar() == Decimal(
            "123456789012345.1234"
        )
    # an empty value clears a field
    assert sync(eng, "UPDATE", opp({"Amount": "", "Seats": ""}, id=oid)) == [("UPDATED", oid, None)]
    assert {"Amount", "Seats"}.isdisjoint(attrs(get(eng, id=oid)[0]))


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("Amount", "lots", "Amount"),
        ("Amount", "1.00001", "more than 4 decimal places"),
        ("Amount", "1e15", "out of range"),
        ("CloseDate", "31/12/2026", "CloseDate"),
        ("IsWon", "perhaps", "IsWon"),
        ("Probability", "2147483648", "out of range"),
        ("Stage", "x" * 256, "longer than 255"),
        ("Seats", "1.5", "Seats"),
        ("Colour", "red", "Unknown Opportunity field 'Colour'"),
        ("Id", "5", "read-only"),
    ],
)
def test_a_bad_value_or_unknown_field_fails_the_object_only(eng, field, value, expected):
    before = counts(eng)
    statuses = sync(eng, "INSERT", opp({"Name": "Bad", field: value}), opp({"Name": "Good"}))
    assert statuses[0][0] == "FAILED" and expected in statuses[0][2], statuses
    assert statuses[1][0] == "CREATED"
    assert [attrs(o)["Name"] for o in get(eng)] == ["Good"]
    assert counts(eng)[2] == before[2]  # no activity either


def test_insert_needs_a_name_and_other_misuse_fails_with_a_reason(eng):
    lead = create(eng, "buyer@example.com")
    cases = [
        (opp({"Stage": "Open"}), "Name is required"),
        (opp({"Name": ""}), "Name cannot be empty"),
        (opp({"Name": "X"}, associations=[ObjectRef("Lead", lead)]), "Company only"),
        (opp({"Name": "X"}, associations=[ObjectRef("Company", 1), ObjectRef("Company", 2)]), "one Company"),
        (MObject("Opportunity", attributes=[("Name", "X")], type_attributes=[("Cost", [])]), "typeAttribList"),
        (opp({"Name": "X", "name": "Y"}), "given twice"),
        (opp({"Name": "X"}, external_key=("Colour", "red")), "Unknown Opportunity field 'Colour' in externalKey"),
    ]
    for obj, expected in cases:
        [(status, _, error)] = sync(eng, "UPSERT", obj)
        assert status == "FAILED" and expected in error, (obj, error)
    assert get(eng) == []


def test_duplicates_in_one_call_fail_after_the_first_and_more_than_100_objects_fault(eng):
    key = ("ExternalOpportunityId", "DUP-1")
    statuses = sync(
        eng,
        "UPSERT",
        opp({"Name": "One"}, external_key=key),
        opp({"Name": "Two"}, external_key=("externalOpportunityId", "dup-1")),
    )
    assert [s for s, _, _ in statuses] == ["CREATED", "FAILED"] and "Duplicate" in statuses[1][2]
    assert [attrs(o)["Name"] for o in get(eng)] == ["One"]
    with pytest.raises(BadParameter) as err:
        eng.sync_mobjects([opp({"Name": f"N{i}"}) for i in range(101)], "INSERT")
    assert err.value.code == 20110 and "100" in err.value.detail
    assert len(get(eng)) == 1


def test_each_object_of_a_call_sees_what_the_objects_before_it_did(eng):
    [old] = created(eng, opp({"Name": "Old", "ExternalOpportunityId": "E-1"}))
    statuses = sync(
        eng,
        "UPSERT",
        opp({"Name": "A", "ExternalOpportunityId": "E-2", "Amount": "123456789012345.1234"}),
        opp({"Name": ""}),
        opp({"Stage": "Won"}, external_key=("ExternalOpportunityId", "e-2")),  # the A created just before
        opp({"Name": "C", "Amount": "900719925474.0993", "Region": "North"}),
        opp({"Stage": "Lost"}, external_key=("ExternalOpportunityId", "E-1")),
        opp({"Name": "D", "Amount": "-900719925474.0991"}, associations=[ObjectRef("Company", 7)]),
    )
    assert [(s, e) for s, _, e in statuses] == [
        ("CREATED", None),
        ("FAILED", "Name cannot be empty"),
        ("UPDATED", None),
        ("CREATED", None),
        ("UPDATED", None),
        ("CREATED", None),
    ]
    a, c, d = statuses[0][1], statuses[3][1], statuses[5][1]
    assert statuses[2][1] == a and statuses[4][1] == old
    assert old < a < c < d  # ids in input order
    found = {o.id: o for o in get(eng)}
    assert sorted(found) == [old, a, c, d]
    assert attrs(found[old])["Stage"] == "Lost"
    assert attrs(found[a]) == {
        "Name": "A",
        "ExternalOpportunityId": "E-2",
        "Amount": "123456789012345.1234",
        "Stage": "Won",
    }
    assert attrs(found[c]) == {"Name": "C", "Amount": "900719925474.0993", "Region": "North"}
    assert attrs(found[d]) == {"Name": "D", "Amount": "-900719925474.0991"}
    assert [(r.type, r.id) for r in found[d].associations] == [("Company", 7)]


# --- reading -----------------------------------------------------------------------------------


def test_external_key_lookup_matches_any_field_by_value_and_the_newest_wins(eng, clock):
    [older] = created(eng, opp({"Name": "Twin", "Region": "North"}, external_key=("ExternalOpportunityId", "T-1")))
    clock.advance(seconds=5)
    # keys are not unique: an insert that names no externalKey may repeat a key field's value
    [newer] = created(eng, opp({"Name": "Twin", "Region": "South", "ExternalOpportunityId": "t-1"}))
    assert [o.id for o in get(eng, external_key=("ExternalOpportunityId", "T-1"))] == [newer]
    assert [o.id for o in get(eng, external_key=("region", "NORTH"))] == [older]
    assert [o.id for o in get(eng, external_key=("Name", "twin"))] == [newer]
    # a sync by key updates that newest one
    assert sync(eng, "UPDATE", opp({"Stage": "Won"}, external_key=("Name", "Twin"))) == [("UPDATED", newer, None)]
    assert get(eng, external_key=("Name", "Nobody")) == []
    with pytest.raises(BadParameter) as err:
        get(eng, external_key=("Colour", "red"))
    assert "Colour" in err.value.detail


def test_criteria_compare_strings_numbers_dates_and_booleans_as_such(eng, clock):
    a, b, c = created(
        eng,
        opp(
            {
                "Name": "Alpha",
                "Stage": "Prospecting",
                "Type": "New",
                "Amount": "900.5",
                "Probability": "10",
                "CloseDate": "2026-03-01",
                "IsWon": "false",
                "Seats": "9",
                "Discount": "5",
                "Renewal": "2026-06-30",
                "Signed": "false",
                "Region": "north",
                "ExternalOpportunityId": "A-1",
            }
        ),
        opp(
            {
                "Name": "beta",
                "Stage": "Closed Won",
                "Type": "Renewal",
                "Amount": "10000",
                "Probability": "100",
                "CloseDate": "2026-05-15",
                "IsWon": "true",
                "Seats": "100",
                "Discount": "12.5",
                "Renewal": "2027-01-01",
                "Signed": "true",
                "Region": "SOUTH",
            }
        ),
        opp({"Name": "Gamma"}),
    )
    clock.advance(minutes=10)
    cutoff = clock().isoformat()
    [d] = created(eng, opp({"Name": "Delta", "Amount": "50"}))
    assert ids(eng, "Opportunity", ("Name", "EQ", "BETA")) == [b]
    assert ids(eng, "Opportunity", ("name", "NE", "alpha")) == [b, c, d]  # NE keeps the empty ones too
    assert ids(eng, "Opportunity", ("Name", "LT", "Beta")) == [a]  # Alpha < Beta < Delta < Gamma < beta (bytes)
    assert ids(eng, "Opportunity", ("Stage", "EQ", "closed won"), ("Type", "EQ", "RENEWAL")) == [b]
    assert ids(eng, "Opportunity", ("Amount", "GT", "1000")) == [b]  # numerically: 900.5 < 1000 < 10000
    assert ids(eng, "Opportunity", ("Amount", "LE", "900.50")) == [a, d]
    assert ids(eng, "Opportunity", ("Probability", "GE", "100")) == [b]
    assert ids(eng, "Opportunity", ("Close Date", "LT", "2026-04-01")) == [a]
    assert ids(eng, "Opportunity", ("IsWon", "EQ", "True")) == [b]
    assert ids(eng, "Opportunity", ("Seats", "GT", "10")) == [b]  # custom integer: 9 < 10 < 100
    assert ids(eng, "Opportunity", ("Discount", "LT", "6")) == [a]  # custom percent: 5 < 6 < 12.5
    assert ids(eng, "Opportunity", ("Renewal", "GE", "2026-12-01")) == [b]  # custom date
    assert ids(eng, "Opportunity", ("Signed", "EQ", "1")) == [b]  # custom boolean
    assert ids(eng, "Opportunity", ("Region", "EQ", "South")) == [b]  # custom string, case-insensitive
    assert ids(eng, "Opportunity", ("Region", "NE", "south")) == [a, c, d]
    assert ids(eng, "Opportunity", ("CRM Id", "EQ", "a-1")) == [a]  # the external-key field's value
    assert ids(eng, "Opportunity", ("Created At", "GE", cutoff)) == [d]
    assert ids(eng, "Opportunity", ("Updated At", "LT", cutoff)) == [a, b, c]
    assert ids(eng, "Opportunity", ("Id", "LE", str(b)), ("Amount", "GT", "1")) == [a, b]


def test_text_compares_ignore_case_beyond_ascii(eng):
    """SQLite's own lower() folds ASCII letters only; the store gives it one that folds every
    letter, as PostgreSQL's does (a PHP user's 'Déal Ünïcode' was not found on SQLite)."""
    [a] = created(eng, opp({"Name": "Déal Ünïcode", "Region": "Øst"}))
    created(eng, opp({"Name": "Deal Unicode", "Region": "Ost"}))
    assert ids(eng, "Opportunity", ("Name", "EQ", "Déal Ünïcode")) == [a]
    assert ids(eng, "Opportunity", ("Name", "EQ", "DÉAL ÜNÏCODE")) == [a]
    assert ids(eng, "Opportunity", ("Region", "EQ", "øst")) == [a]


@pytest.mark.parametrize(
    "criterion, message",
    [
        (("Colour", "EQ", "red"), "Unknown Opportunity attribute 'Colour'"),
        (("Amount", "GT", "lots"), "'lots'"),
        (("Amount", "GT", "1e40"), "out of range"),
        (("CloseDate", "LT", "soon"), "'soon'"),
        (("Seats", "EQ", "many"), "'many'"),
        (("Renewal", "LT", "someday"), "'someday'"),
        (("Name", "LIKE", "A%"), "Unknown comparison 'LIKE'"),
        (("Role", "EQ", "Buyer"), "Unknown Opportunity attribute 'Role'"),
    ],
)
def test_a_bad_criterion_is_fault_20110_naming_it(eng, criterion, message):
    with pytest.raises(BadParameter) as err:
        ids(eng, "Opportunity", criterion)
    assert err.value.code == 20110 and message in err.value.detail


def test_roles_criteria_and_associations(eng, clock):
    ann, bob = create(eng, "ann@example.com"), create(eng, "bob@example.com")
    first, second = created(eng, opp({"Name": "First", "ExternalOpportunityId": "F-1"}), opp({"Name": "Second"}))
    r1, r2, r3 = created(
        eng,
        role({"OpportunityId": first, "PersonId": ann, "Role": "Buyer", "IsPrimary": "true", "Influence": "5"}),
        role(
            {"Role": "Advisor", "Influence": "2"},
            associations=[
                ObjectRef("Opportunity", external_key=("ExternalOpportunityId", "f-1")),
                ObjectRef("Lead", external_key=("Email", "BOB@example.com")),
            ],
        ),
        role({"OpportunityId": second, "PersonId": ann, "Role": "Buyer"}),
    )
    assert ids(eng, "OpportunityPersonRole", ("Role", "EQ", "buyer")) == [r1, r3]
    assert ids(eng, "OpportunityPersonRole", ("Influence", "GE", "3")) == [r1]
    assert ids(eng, "OpportunityPersonRole", ("IsPrimary", "EQ", "true")) == [r1]
    assert ids(eng, "OpportunityLeadRole", ("PersonId", "EQ", str(bob))) == [r2]
    by = lambda type_, *refs: [o.id for o in get(eng, type_, associations=list(refs))]  # noqa: E731
    assert by("OpportunityPersonRole", ObjectRef("Lead", ann)) == [r1, r3]
    assert by("OpportunityPersonRole", ObjectRef("Lead", external_key=("Email", "bob@EXAMPLE.com"))) == [r2]
    assert by("OpportunityPersonRole", ObjectRef("Opportunity", first)) == [r1, r2]
    assert by("OpportunityPersonRole", ObjectRef("Opportunity", external_key=("ExternalOpportunityId", "F-1"))) == [
        r1,
        r2,
    ]
    assert by("OpportunityPersonRole", ObjectRef("Opportunity", first), ObjectRef("Lead", ann)) == [r1]
    assert by("Opportunity", ObjectRef("Lead", ann)) == [first, second]
    assert by("Opportunity", ObjectRef("Lead", external_key=("IDNUM", str(bob)))) == [first]
    assert by("Opportunity", ObjectRef("Lead", external_key=("Email", "nobody@example.com"))) == []
    # any lead field names a lead: custom ones and those kept in columns of `leads`
    eng.sync_lead(
        LeadInput(id=bob, foreign_sys_person_id="CRM-B", foreign_sys_type="CUSTOM", attributes=[("Badge", "B-7")]),
        return_lead=False,
    )
    assert by("Opportunity", ObjectRef("Lead", external_key=("badge", "b-7"))) == [first]
    assert by("Opportunity", ObjectRef("Lead", external_key=("ForeignSysPersonId", "crm-b"))) == [first]
    found = get(eng, "OpportunityPersonRole", id=r2)[0]
    assert attrs(found) == {"OpportunityId": str(first), "PersonId": str(bob), "Role": "Advisor", "Influence": "2"}
    assert [(a.type, a.id) for a in found.associations] == [("Lead", bob), ("Opportunity", first)]
    for refs, message in [
        ([ObjectRef("Company", 1)], "associated Company"),
        ([ObjectRef("Lead", external_key=("Colour", "red"))], "Unknown lead field 'Colour'"),
    ]:
        with pytest.raises(BadParameter) as err:
            get(eng, "OpportunityPersonRole", associations=refs)
        assert message in err.value.detail


def test_company_association_is_stored_as_given_and_filters(eng):
    by_id, by_key, none = created(
        eng,
        opp({"Name": "By id"}, associations=[ObjectRef("Company", 42)]),
        opp({"Name": "By key"}, associations=[ObjectRef("Company", external_key=("AccountNumber", "AC-9"))]),
        opp({"Name": "None"}),
    )
    assert [(a.type, a.id, a.external_key) for a in get(eng, id=by_key)[0].associations] == [
        ("Company", None, ("AccountNumber", "AC-9"))
    ]
    assert get(eng, id=none)[0].associations == []
    assert [o.id for o in get(eng, associations=[ObjectRef("Company", 42)])] == [by_id]
    assert [o.id for o in get(eng, associations=[ObjectRef("Company", external_key=("accountnumber", "ac-9"))])] == [
        by_key
    ]
    assert sync(eng, "UPDATE", opp(id=by_id, associations=[ObjectRef("Company", 42)])) == [("UNCHANGED", by_id, None)]
    assert sync(eng, "UPDATE", opp(id=by_id, associations=[ObjectRef("Company", 43)])) == [("UPDATED", by_id, None)]
    assert get(eng, associations=[ObjectRef("Company", 42)]) == []


def test_pages_of_100_continue_after_the_last_id_whatever_is_written_meanwhile(eng):
    made: list[int] = []
    for start in range(0, 250, 100):
        made += created(
            eng, *(opp({"Name": f"Deal {i:03d}", "Region": "Paged"}) for i in range(start, min(start + 100, 250)))
        )
    query = MObjectQuery("Opportunity", criteria=[Criterion("Region", "EQ", "paged")])
    first = eng.get_mobjects(query)
    assert (len(first.objects), first.has_more) == (100, True)
    created(eng, opp({"Name": "Late", "Region": "Paged"}))  # lands at the end, not in between
    second = eng.get_mobjects(MObjectQuery("Opportunity", criteria=query.criteria, position=first.position))
    third = eng.get_mobjects(MObjectQuery("Opportunity", criteria=query.criteria, position=second.position))
    assert (len(second.objects), second.has_more, len(third.objects), third.has_more) == (100, True, 51, False)
    seen = [o.id for page in (first, second, third) for o in page.objects]
    assert seen == sorted(seen) and seen[:250] == made
    with pytest.raises(BadStreamPosition):  # a position belongs to its query
        eng.get_mobjects(MObjectQuery("Opportunity", position=first.position))


# --- deletes and activities --------------------------------------------------------------------


def test_roles_log_add_update_and_remove_activities_on_their_leads(eng):
    ann, bob = create(eng, "ann@example.com"), create(eng, "bob@example.com")
    [deal] = created(eng, opp({"Name": "Big Deal", "Stage": "Open"}))
    r_ann, r_bob = created(
        eng,
        role({"OpportunityId": deal, "PersonId": ann, "Role": "Buyer", "IsPrimary": "true"}),
        role({"OpportunityId": deal, "PersonId": bob}),
    )
    [add] = [a for a in all_activities(eng, ann) if a.type_name == "Add to Opportunity"]
    assert add.asset_name == "Big Deal"
    assert add.attributes == [
        ("Opportunity ID", str(deal)),
        ("Role", "Buyer"),
        ("Is Primary", "true"),
        ("Lead ID", str(ann)),
    ]

    assert sync(eng, "UPDATE", opp({"Stage": "Won", "Name": "Bigger Deal"}, id=deal)) == [("UPDATED", deal, None)]
    for lead in (ann, bob):
        updates = [a for a in all_activities(eng, lead) if a.type_name == "Update Opportunity"]
        assert sorted(
            (dict(a.attributes)["Attribute Name"], dict(a.attributes)["Old Value"], dict(a.attributes)["New Value"])
            for a in updates
        ) == [("Name", "Big Deal", "Bigger Deal"), ("Stage", "Open", "Won")]
        assert {a.asset_name for a in updates} == {"Bigger Deal"}
        assert all(a.attributes[-1] == ("Lead ID", str(lead)) for a in updates)

    assert sync(eng, "UPSERT", role({"OpportunityId": deal, "PersonId": bob, "Role": "Advisor"})) == [
        ("UPDATED", r_bob, None)
    ]
    assert sync(eng, "UPSERT", role({"Role": "Advisor"}, id=r_bob)) == [("UNCHANGED", r_bob, None)]
    [role_update] = [a for a in all_activities(eng, bob) if dict(a.attributes).get("Attribute Name") == "Role"]
    assert role_update.attributes == [
        ("Opportunity ID", str(deal)),
        ("Role ID", str(r_bob)),
        ("Attribute Name", "Role"),
        ("Old Value", ""),
        ("New Value", "Advisor"),
        ("Lead ID", str(bob)),
    ]
    assert [a.type_name for a in all_activities(eng, ann)].count("Update Opportunity") == 2  # not bob's role change

    assert [(s.status, s.id) for s in eng.delete_mobjects([role(id=r_ann), role(id=r_ann)])] == [
        ("DELETED", r_ann),
        ("FAILED", r_ann),
    ]  # the second names the same role again in one call
    assert [(s.status, s.id) for s in eng.delete_mobjects([role(id=r_ann)])] == [("UNCHANGED", r_ann)]
    [removed] = [a for a in all_activities(eng, ann) if a.type_name == "Remove from Opportunity"]
    assert removed.asset_name == "Bigger Deal" and removed.attributes[-1] == ("Lead ID", str(ann))
    names = {
        a.type_name for a in changes(eng, names=["Add to Opportunity", "Remove from Opportunity", "Update Opportunity"])
    }
    assert names == {"Add to Opportunity", "Remove from Opportunity", "Update Opportunity"}


def test_deleting_an_opportunity_deletes_its_roles_and_their_values(eng):
    ann, bob = create(eng, "ann@example.com"), create(eng, "bob@example.com")
    [deal, other] = created(
        eng, opp({"Name": "Doomed", "Seats": "3", "ExternalOpportunityId": "D-1"}), opp({"Name": "Kept"})
    )
    created(
        eng,
        role({"OpportunityId": deal, "PersonId": ann, "Influence": "1"}),
        role({"OpportunityId": deal, "PersonId": bob}),
        role({"OpportunityId": other, "PersonId": bob}),
    )
    statuses = eng.delete_mobjects([opp(external_key=("ExternalOpportunityId", "d-1")), opp(id=987654), opp()])
    assert [(s.status, s.id) for s in statuses] == [("DELETED", deal), ("UNCHANGED", 987654), ("FAILED", None)]
    assert "id or externalKey" in statuses[2].error
    with eng.db.read() as conn:
        count = lambda table: conn.execute(select(func.count()).select_from(table)).scalar_one()  # noqa: E731
        assert (count(opportunities), count(opportunity_roles)) == (1, 1)
        assert (count(opportunity_values), count(opportunity_role_values)) == (0, 0)
    for lead in (ann, bob):
        removed = [a for a in all_activities(eng, lead) if a.type_name == "Remove from Opportunity"]
        assert [(a.asset_name, dict(a.attributes)["Opportunity ID"]) for a in removed] == [("Doomed", str(deal))]
    assert [o.id for o in get(eng, "OpportunityPersonRole")] and get(eng, id=deal) == []


def test_role_failures_name_the_missing_link_and_change_nothing(eng):
    ann = create(eng, "ann@example.com")
    [deal] = created(eng, opp({"Name": "Deal"}))
    [r] = created(eng, role({"OpportunityId": deal, "PersonId": ann}))
    before = counts(eng)
    cases = [
        ("INSERT", role({"OpportunityId": deal, "PersonId": 987654}), "No lead with id 987654"),
        ("INSERT", role({"OpportunityId": 987654, "PersonId": ann}), "No Opportunity with id 987654"),
        ("INSERT", role({"OpportunityId": deal}), "OpportunityId and PersonId"),
        (
            "INSERT",
            role(
                associations=[
                    ObjectRef("Lead", external_key=("Email", "nobody@example.com")),
                    ObjectRef("Opportunity", deal),
                ]
            ),
            "No Lead with Email='nobody@example.com'",
        ),
        (
            "INSERT",
            role({"PersonId": ann}, associations=[ObjectRef("Opportunity", external_key=("Colour", "x"))]),
            "Unknown Opportunity field 'Colour'",
        ),
        (
            "INSERT",
            role({"OpportunityId": deal, "PersonId": ann + 1}, associations=[ObjectRef("Lead", ann)]),
            "disagree",
        ),
        (
            "UPSERT",
            role({"OpportunityId": deal, "PersonId": ann}, associations=[ObjectRef("Company", 1)]),
            "not 'Company'",
        ),
        ("UPDATE", role({"PersonId": ann + 1}, id=r), "cannot change"),
        ("UPDATE", role({"Role": "Buyer"}), "id, externalKey, or OpportunityId and PersonId"),
        ("UPDATE", role({"Influence": "lots"}, id=r), "Influence"),
    ]
    for operation, obj, expected in cases:
        [(status, _, error)] = sync(eng, operation, obj)
        assert status == "FAILED" and expected in error, (obj, error)
    assert sync(eng, "INSERT", role({"OpportunityId": deal, "PersonId": ann})) == [("SKIPPED", r, None)]
    assert counts(eng) == before
