"""API users and the custom-field list, which each server process keeps in memory: changes made
through another process (another engine on the same database) must be seen by the next call."""

from __future__ import annotations

import pytest

from mktows.engine import Engine
from mktows.engine.leads.registry import field_registry, put_field
from mktows.engine.models import FieldInfo, LeadInput
from mktows.errors import UnknownLeadField
from mktows.store.database import Database


@pytest.fixture
def other(database: Database, clock) -> Engine:
    """A second engine over the same database, with its own connections and caches, as a
    second `mktows serve` process or a CLI command has."""
    second = Database(database.url)
    yield Engine(second, clock=clock)
    second.dispose()


def _custom_names(engine: Engine) -> list[str]:
    return [f.name for f in engine.lead_fields() if f.custom]


def test_field_added_elsewhere_is_known_to_the_next_call(engine, other):
    engine.sync_lead(LeadInput(email="before@example.com"), return_lead=False)  # the list is cached now
    other.add_lead_field(FieldInfo("Loyalty_Tier", "Loyalty tier", "string"))
    outcome = engine.sync_lead(
        LeadInput(email="tier@example.com", attributes=[("Loyalty_Tier", "gold")]), return_lead=True
    )
    assert ("Loyalty_Tier", "gold") in [(a.name, a.value) for a in outcome.lead.attributes]


def test_field_change_elsewhere_replaces_the_cached_definition(engine, other):
    engine.add_lead_field(FieldInfo("Score_Band", "Score band", "string"))
    assert "Score_Band" in _custom_names(engine)
    other.add_lead_field(FieldInfo("Score_Band", "Band of the score", "integer"))
    field = next(f for f in engine.lead_fields() if f.name == "Score_Band")
    assert (field.display_name, field.data_type) == ("Band of the score", "integer")


def test_rolled_back_field_is_never_seen(engine, database):
    assert "Ghost_Field" not in _custom_names(engine)
    with pytest.raises(RuntimeError):
        with database.write() as conn:
            put_field(conn, FieldInfo("Ghost_Field", "Ghost", "string"), engine.now())
            assert "Ghost_Field" in [f.name for f in field_registry(conn)]  # inside its transaction
            raise RuntimeError("the call failed after adding the field")
    assert "Ghost_Field" not in _custom_names(engine)
    with pytest.raises(UnknownLeadField):
        engine.sync_lead(LeadInput(email="ghost@example.com", attributes=[("Ghost_Field", "boo")]), return_lead=False)


def test_user_added_elsewhere_is_found_at_once(engine, other):
    assert engine.api_user("carol") is None
    other.put_api_user("carol", "carol-key-1")
    assert engine.api_user("carol").encryption_key == "carol-key-1"


def test_fresh_lookup_sees_a_key_rotated_elsewhere(engine, other):
    other.put_api_user("dave", "dave-key-1")
    assert engine.api_user("dave").encryption_key == "dave-key-1"
    other.put_api_user("dave", "dave-key-2")
    assert engine.api_user("dave", fresh=True).encryption_key == "dave-key-2"
    assert engine.api_user("dave").encryption_key == "dave-key-2"  # and it stays
