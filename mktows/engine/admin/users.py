"""API users: client access ids and their encryption keys.

A key is changed by a rotation: the new key works at once and the replaced one keeps working
until the end of an overlap, so an integration can move to the new key without a minute in
which its calls fail. Keys are stored as given, or encrypted when a master key is set
(`key_cipher.py`); the functions here that return users give the keys as stored unless they
are handed the cipher to open them with.
"""

from __future__ import annotations

import re
import secrets
import string
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from time import monotonic
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from mktows.engine.admin.key_cipher import KeyCipher, is_sealed, open_key, seal_key
from mktows.engine.models import ApiUser
from mktows.errors import BadParameter, MarketoError
from mktows.store.tables import api_users

DEFAULT_OVERLAP = timedelta(hours=1)
MAX_OVERLAP = timedelta(days=365)
MAX_USER_ID = 255  # characters: the column's size (and what a call's header is read up to)
_DURATION_PART = re.compile(r"(\d+)([dhms])")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


class UserExists(MarketoError):
    """Adding a user whose id is taken (its key is changed by a rotation instead)."""

    code = 20110


class UnknownUser(MarketoError):
    """Rotating the key of (or enabling, disabling, removing) a user that does not exist."""

    code = 20110


class KeyChanged(MarketoError):
    """A rotation asked for against a key state that is no longer the user's: the key was
    rotated since (a form sent twice, or by someone else), and rotating again would end the
    key that rotation kept working."""

    code = 20110


@dataclass(frozen=True)
class ApiUserRow:
    """What may be shown of a user: never a key. `previous_key_until`: until when a replaced
    key is still accepted (None: none is). `key_state` names the user's key rotation, so that a
    rotation can be asked for against the state it was decided on (`rotate_key(expect=...)`)."""

    user_id: str
    enabled: bool
    strict: bool
    created_at: datetime
    previous_key_until: datetime | None
    key_state: str


def generate_key(length: int = 24) -> str:
    """A random key with letters and at least one digit (as Marketo's admin screen makes them)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        key = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c.isdigit() for c in key) and any(c.isalpha() for c in key):
            return key


def _user(row: Any) -> ApiUser:
    return ApiUser(
        row.user_id,
        row.encryption_key,
        bool(row.enabled),
        strict=bool(row.strict),
        previous_key=row.previous_key,
        previous_key_expires_at=row.previous_key_expires_at,
    )


def open_keys(user: ApiUser, cipher: KeyCipher | None, opened: dict[str, str] | None = None) -> ApiUser:
    """The user with its keys readable (MasterKeyError when they cannot be decrypted);
    `opened` remembers what was decrypted before, by ciphertext."""
    memo = {} if opened is None else opened

    def readable(stored: str) -> str:
        if not is_sealed(stored):
            return stored
        if stored not in memo:
            memo[stored] = open_key(stored, cipher, user.user_id)
        return memo[stored]

    previous = user.previous_key
    return replace(
        user,
        encryption_key=readable(user.encryption_key),
        previous_key=None if previous is None else readable(previous),
    )


def get_user(conn: Connection, user_id: str) -> ApiUser | None:
    """The user, keys as stored."""
    row = conn.execute(select(api_users).where(api_users.c.user_id == user_id)).first()
    return _user(row) if row else None


def all_users(conn: Connection) -> list[ApiUser]:
    """Every user by id, keys as stored."""
    return [_user(r) for r in conn.execute(select(api_users).order_by(api_users.c.user_id))]


def _key_state(previous_key_expires_at: datetime | None) -> str:
    return previous_key_expires_at.isoformat() if previous_key_expires_at else "none"


def user_rows(conn: Connection, now: datetime) -> list[ApiUserRow]:
    """Every user by id, without its keys."""
    u = api_users.c
    q = select(u.user_id, u.enabled, u.strict, u.created_at, u.previous_key.is_not(None), u.previous_key_expires_at)
    rows = []
    for user_id, enabled, strict, created_at, has_previous, until in conn.execute(q.order_by(u.user_id)):
        accepted = until if has_previous and until is not None and until > now else None
        rows.append(ApiUserRow(user_id, bool(enabled), bool(strict), created_at, accepted, _key_state(until)))
    return rows


def set_enabled(conn: Connection, user_id: str, enabled: bool) -> None:
    """Enable the user, or disable it: its correctly signed calls then fault with 20013."""
    changed = conn.execute(update(api_users).where(api_users.c.user_id == user_id).values(enabled=enabled))
    if not changed.rowcount:
        raise UnknownUser(f"no API user {user_id}")


def remove_user(conn: Connection, user_id: str) -> None:
    """Delete the user: its calls then fault with 20014, as an unknown user's do."""
    if not conn.execute(delete(api_users).where(api_users.c.user_id == user_id)).rowcount:
        raise UnknownUser(f"no API user {user_id}")


def _require(user_id: str, key: str) -> None:
    if not user_id.strip() or not key:
        raise BadParameter("API user id and encryption key are required")
    if user_id != user_id.strip():
        # a call's header is read without them, so no call could ever name this user
        raise BadParameter(f"API user id {user_id!r} begins or ends with a space")
    if len(user_id) > MAX_USER_ID:
        raise BadParameter(f"an API user id has at most {MAX_USER_ID} characters")


def put_user(
    conn: Connection,
    user_id: str,
    key: str,
    now: datetime,
    enabled: bool = True,
    *,
    cipher: KeyCipher | None = None,
) -> ApiUser:
    """Create the user or replace its key at once, the old key ending now (no overlap)."""
    _require(user_id, key)
    stored = seal_key(key, cipher)
    if get_user(conn, user_id) is None:
        conn.execute(insert(api_users).values(user_id=user_id, encryption_key=stored, enabled=enabled, created_at=now))
    else:
        conn.execute(
            update(api_users)
            .where(api_users.c.user_id == user_id)
            .values(encryption_key=stored, enabled=enabled, previous_key=None, previous_key_expires_at=None)
        )
    return ApiUser(user_id, key, enabled)


def add_user(conn: Connection, user_id: str, key: str, now: datetime, cipher: KeyCipher | None) -> ApiUser:
    """Create a user; UserExists when the id is taken, so that a live integration's key is never
    replaced by a command meant to create one."""
    _require(user_id, key)
    if get_user(conn, user_id) is not None:
        raise UserExists(f"API user {user_id} exists")
    return put_user(conn, user_id, key, now, cipher=cipher)


def rotate_key(
    conn: Connection,
    user_id: str,
    key: str,
    now: datetime,
    overlap: timedelta,
    cipher: KeyCipher | None,
    *,
    expect: str | None = None,
) -> ApiUser:
    """Make `key` the user's key; the key it replaces keeps working until now + overlap
    (a zero overlap ends it at once). An older previous key ends now. With `expect` (an
    `ApiUserRow.key_state`), KeyChanged unless the user's key state is still that one."""
    _require(user_id, key)
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise BadParameter(f"the overlap must be between 0 and {MAX_OVERLAP.days} days")
    current = get_user(conn, user_id)
    if current is None:
        raise UnknownUser(f"no API user {user_id}")
    if expect is not None and expect != _key_state(current.previous_key_expires_at):
        raise KeyChanged(f"the key of API user {user_id} was rotated since; nothing was changed")
    replaced = open_key(current.encryption_key, cipher, user_id)
    if replaced == key:
        raise BadParameter(f"the new key of API user {user_id} is its current key")
    until = now + overlap if overlap else None
    conn.execute(
        update(api_users)
        .where(api_users.c.user_id == user_id)
        .values(
            encryption_key=seal_key(key, cipher),
            previous_key=seal_key(replaced, cipher) if until else None,
            previous_key_expires_at=until,
        )
    )
    user = get_user(conn, user_id)
    assert user is not None
    return open_keys(user, cipher)


def declare_users(
    conn: Connection, declared: Sequence[ApiUser], now: datetime, cipher: KeyCipher | None
) -> list[ApiUser]:
    """The instance file's users: created, or updated to what the file says (key, enabled,
    strict). A key that differs from the stored one replaces it by a rotation with the default
    overlap, so a file that still names an older key does not cut off an integration at once.
    Returns the users whose key changed (with the time their replaced key ends)."""
    rotated: list[ApiUser] = []
    for user in declared:
        _require(user.user_id, user.encryption_key)
        current = get_user(conn, user.user_id)
        if current is None:
            put_user(conn, user.user_id, user.encryption_key, now, user.enabled, cipher=cipher)
        elif open_key(current.encryption_key, cipher, user.user_id) != user.encryption_key:
            rotated.append(rotate_key(conn, user.user_id, user.encryption_key, now, DEFAULT_OVERLAP, cipher))
        conn.execute(
            update(api_users)
            .where(api_users.c.user_id == user.user_id)
            .values(enabled=user.enabled, strict=user.strict)
        )
    return rotated


def has_plaintext_key(user: ApiUser) -> bool:
    """Whether a stored user still holds a key as given (from before a master key was set)."""
    return any(k is not None and not is_sealed(k) for k in (user.encryption_key, user.previous_key))


def seal_stored_keys(conn: Connection, cipher: KeyCipher, *, reencrypt: bool) -> int:
    """Encrypt the keys stored as given (and, with `reencrypt`, those encrypted under an older
    master key of the list, under the first one); returns how many rows changed."""
    changed = 0
    for user in all_users(conn):
        stale = [
            k
            for k in (user.encryption_key, user.previous_key)
            if k is not None and (not is_sealed(k) or (reencrypt and not cipher.is_current(k)))
        ]
        if not stale:
            continue
        opened = open_keys(user, cipher)
        previous = opened.previous_key
        conn.execute(
            update(api_users)
            .where(api_users.c.user_id == user.user_id)
            .values(
                encryption_key=cipher.seal(opened.encryption_key),
                previous_key=None if previous is None else cipher.seal(previous),
            )
        )
        changed += 1
    return changed


def parse_overlap(text: str) -> timedelta:
    """A duration as people write it: `0`, `90s`, `30m`, `24h`, `7d`, `1h30m`."""
    spec = text.strip().lower()
    if spec == "0":
        return timedelta(0)
    if not spec or _DURATION_PART.sub("", spec):
        raise BadParameter(f"overlap {text!r}: expected a duration such as 0, 30m, 24h, 7d or 1h30m")
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(spec))
    if seconds > MAX_OVERLAP.total_seconds():
        raise BadParameter(f"overlap {text!r}: at most {MAX_OVERLAP.days} days")
    return timedelta(seconds=seconds)


class UserCache:
    """API users held in memory with their keys readable, so that authenticating a call reads
    no table and decrypts nothing.

    A user unknown to the cache is looked up again in the database at once, and so is one whose
    signature its cached key does not match (`fresh`): a user or key added anywhere works on
    its first call;
    other changes made by another process (a user disabled or removed) are seen within
    `ttl_seconds`. `cipher` opens encrypted keys (None: no master key is set); a key is
    decrypted once, not at every reload.
    """

    def __init__(self, load_all: Callable[[], list[ApiUser]], ttl_seconds: float = 1.0) -> None:
        self._load_all = load_all
        self._ttl = ttl_seconds
        self._users: dict[str, ApiUser] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()
        self._cipher: KeyCipher | None = None
        self._opened: dict[str, str] = {}  # ciphertext -> key, for the keys stored now

    @property
    def cipher(self) -> KeyCipher | None:
        return self._cipher

    @cipher.setter
    def cipher(self, cipher: KeyCipher | None) -> None:
        with self._lock:
            self._cipher = cipher
            self._opened = {}  # what another master key decrypted proves nothing about this one

    def get(self, user_id: str, *, fresh: bool = False) -> ApiUser | None:
        if fresh or monotonic() - self._loaded_at > self._ttl:
            self.reload()
        elif user_id not in self._users:
            self.reload()
        return self._users.get(user_id)

    def reload(self) -> None:
        with self._lock:
            started = monotonic()
            stored = self._load_all()
            opened = dict(self._opened)
            self._users = {u.user_id: open_keys(u, self._cipher, opened) for u in stored}
            in_use = {k for u in stored for k in (u.encryption_key, u.previous_key)}
            self._opened = {sealed: key for sealed, key in opened.items() if sealed in in_use}
            self._loaded_at = started
