"""API users and the custom-field list, which each server process keeps in memory: changes made
through another process (another engine on the same database) must be seen by the next call.
And API users' keys: adding never replaces one, a rotation keeps the replaced key for an overlap,
and with a master key the database holds only their ciphertext."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from mktows.engine import Engine
from mktows.engine.admin import users
from mktows.engine.admin.definitions import Definitions
from mktows.engine.admin.key_cipher import MasterKeyError
from mktows.engine.leads.registry import field_registry, put_field
from mktows.engine.models import ApiUser, FieldInfo, LeadInput
from mktows.errors import BadParameter, UnknownLeadField
from mktows.store.database import Database
from mktows.store.tables import api_users

MASTER = Fernet.generate_key().decode()


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


# --- adding, rotating, and keys declared by the instance file ---------------------------------


def test_adding_a_user_that_exists_is_refused_and_keeps_its_key(engine):
    engine.add_api_user("erin", "erin-key-1")
    with pytest.raises(users.UserExists):
        engine.add_api_user("erin", "erin-key-2")
    assert engine.api_user("erin", fresh=True).encryption_key == "erin-key-1"


def test_rotation_keeps_the_replaced_key_until_the_overlap_ends(engine, clock):
    engine.add_api_user("frank", "frank-key-1")
    rotated = engine.rotate_api_key("frank", "frank-key-2", timedelta(hours=24))
    assert (rotated.encryption_key, rotated.previous_key) == ("frank-key-2", "frank-key-1")
    assert abs(rotated.previous_key_expires_at - (clock.current + timedelta(hours=24))) < timedelta(seconds=1)
    seen = engine.api_user("frank", fresh=True)
    assert (seen.encryption_key, seen.previous_key) == ("frank-key-2", "frank-key-1")
    ended = engine.rotate_api_key("frank", "frank-key-3", timedelta(0))
    assert (ended.encryption_key, ended.previous_key, ended.previous_key_expires_at) == ("frank-key-3", None, None)


def test_rotation_of_an_unknown_user_or_to_the_same_key_changes_nothing(engine):
    with pytest.raises(users.UnknownUser):
        engine.rotate_api_key("nobody", "some-key-1")
    assert engine.api_user("nobody", fresh=True) is None
    engine.add_api_user("gina", "gina-key-1")
    with pytest.raises(BadParameter, match="is its current key"):
        engine.rotate_api_key("gina", "gina-key-1")
    assert engine.api_user("gina", fresh=True).previous_key is None


def test_instance_file_key_change_is_a_rotation_with_a_warning(engine, clock, caplog):
    engine.apply_definitions(Definitions(api_users=[ApiUser("hal", "hal-key-1")]))
    engine.apply_definitions(Definitions(api_users=[ApiUser("hal", "hal-key-1")]))  # unchanged: no rotation
    assert engine.api_user("hal", fresh=True).previous_key is None
    with caplog.at_level(logging.WARNING, logger="mktows.users"):
        engine.apply_definitions(Definitions(api_users=[ApiUser("hal", "hal-key-2", enabled=False, strict=True)]))
    user = engine.api_user("hal", fresh=True)
    assert (user.encryption_key, user.previous_key, user.enabled, user.strict) == (
        "hal-key-2",
        "hal-key-1",
        False,
        True,
    )
    assert user.previous_key_expires_at - clock.current < users.DEFAULT_OVERLAP + timedelta(seconds=1)
    assert [r.getMessage() for r in caplog.records] == [
        f"API user hal: the instance file gives it another key; the replaced key works until "
        f"{user.previous_key_expires_at.isoformat(timespec='seconds')}"
    ]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0", 0), ("90s", 90), ("30m", 1800), ("24h", 86400), ("7d", 604800), ("1h30m", 5400), (" 2H ", 7200)],
)
def test_overlap_durations(text, seconds):
    assert users.parse_overlap(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "1", "1x", "h", "1h 30m", "-1h", "400d"])
def test_overlap_durations_refused(text):
    with pytest.raises(BadParameter, match="overlap"):
        users.parse_overlap(text)


# --- keys encrypted at rest under a master key ----------------------------------------------


def _stored(database: Database, user_id: str) -> tuple[str, str | None]:
    with database.read() as conn:
        row = conn.execute(select(api_users).where(api_users.c.user_id == user_id)).one()
    return row.encryption_key, row.previous_key


def test_with_a_master_key_the_database_holds_only_ciphertext(engine, database):
    engine.use_master_key(MASTER)
    engine.add_api_user("ivy", "ivy-plain-key-1")
    engine.rotate_api_key("ivy", "ivy-plain-key-2", timedelta(hours=1))
    stored, previous = _stored(database, "ivy")
    assert stored.startswith("fernet:") and previous.startswith("fernet:")
    assert "ivy-plain-key" not in stored + previous
    user = engine.api_user("ivy", fresh=True)
    assert (user.encryption_key, user.previous_key) == ("ivy-plain-key-2", "ivy-plain-key-1")
    assert [u.encryption_key for u in engine.api_users()] == ["ivy-plain-key-2"]


def test_setting_a_master_key_encrypts_the_keys_stored_before(engine, database, other):
    engine.add_api_user("jack", "jack-plain-key")
    assert _stored(database, "jack")[0] == "jack-plain-key"
    other.use_master_key(MASTER)
    assert _stored(database, "jack")[0].startswith("fernet:")
    assert other.api_user("jack").encryption_key == "jack-plain-key"


def test_encrypted_keys_without_the_master_key_or_with_another_fail_clearly(engine, database):
    engine.use_master_key(MASTER)
    engine.add_api_user("kate", "kate-key-1")
    without = Engine(Database(database.url))
    with pytest.raises(MasterKeyError, match="^API user keys are encrypted; set MKTOWS_MASTER_KEY"):
        without.use_master_key(None)
    wrong = Engine(Database(database.url))
    with pytest.raises(MasterKeyError, match="^MKTOWS_MASTER_KEY does not decrypt the key of API user kate"):
        wrong.use_master_key(Fernet.generate_key().decode())
    for e in (without, wrong):
        e.db.dispose()
    with pytest.raises(MasterKeyError, match="expected a Fernet key"):
        engine.use_master_key("a passphrase")


def test_a_new_master_key_takes_over_after_encrypt_keys(engine, database):
    engine.use_master_key(MASTER)
    engine.add_api_user("liam", "liam-key-1")
    newer = Fernet.generate_key().decode()
    engine.use_master_key(f"{newer},{MASTER}")  # both read; the first encrypts
    assert engine.encrypt_api_keys() == 1
    assert engine.encrypt_api_keys() == 0
    engine.use_master_key(newer)  # the old one can go now
    assert engine.api_user("liam", fresh=True).encryption_key == "liam-key-1"
    with pytest.raises(MasterKeyError):
        engine.use_master_key(MASTER)


def test_the_rows_of_users_hold_no_key_and_a_previous_key_only_while_accepted(engine, clock):
    engine.add_api_user("ivy", "ivy-key-1")
    engine.rotate_api_key("ivy", "ivy-key-2", timedelta(hours=2))
    [row] = [r for r in engine.api_user_rows() if r.user_id == "ivy"]
    assert (row.enabled, row.strict) == (True, False)
    assert row.previous_key_until is not None and row.previous_key_until > clock.current
    assert not any("ivy-key" in str(value) for value in vars(row).values())
    clock.advance(hours=3)
    [row] = [r for r in engine.api_user_rows() if r.user_id == "ivy"]
    assert row.previous_key_until is None


def test_a_rotation_against_a_key_state_that_changed_since_is_refused(engine):
    engine.add_api_user("jay", "jay-key-1")
    [shown] = [r for r in engine.api_user_rows() if r.user_id == "jay"]
    engine.rotate_api_key("jay", "jay-key-2", timedelta(hours=1), expect=shown.key_state)
    with pytest.raises(users.KeyChanged):  # the same form again would end jay-key-1 at once
        engine.rotate_api_key("jay", "jay-key-3", timedelta(hours=1), expect=shown.key_state)
    user = engine.api_user("jay", fresh=True)
    assert (user.encryption_key, user.previous_key) == ("jay-key-2", "jay-key-1")


def test_disabling_is_seen_at_once_here_and_by_the_next_fresh_read_elsewhere(engine, other):
    engine.add_api_user("kim", "kim-key-1")
    assert other.api_user("kim").enabled
    engine.set_api_user_enabled("kim", False)
    assert not engine.api_user("kim").enabled
    assert not other.api_user("kim", fresh=True).enabled
    other.set_api_user_enabled("kim", True)
    assert engine.api_user("kim", fresh=True).enabled
    with pytest.raises(users.UnknownUser):
        engine.set_api_user_enabled("nobody", False)


@pytest.mark.parametrize("user_id", [" lee", "lee ", "x" * 256])
def test_a_user_id_no_call_could_name_is_refused(engine, user_id):
    with pytest.raises(BadParameter):
        engine.add_api_user(user_id, "some-key-1")
    assert user_id not in [r.user_id for r in engine.api_user_rows()]


def test_a_generated_key_has_letters_and_digits():
    keys = {users.generate_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(len(k) == 24 and k.isalnum() and any(c.isdigit() for c in k) for k in keys)
