"""Web console users: passwords hashed with scrypt, sessions kept in the database.

A session is a row keyed by the SHA-256 of a random token the browser holds in a cookie, with
its own CSRF token; signing out deletes the row, so the cookie is dead in every process at
once. Sessions last `SESSION_HOURS` from sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import Connection, delete, insert, select

from mktows.store.tables import console_sessions, console_users

SESSION_HOURS = 12
MIN_PASSWORD_LENGTH = 10
# scrypt's cost: 2^14 rounds of 8-block mixing, about 16 MiB and 50 ms a check
_N, _R, _P = 2**14, 8, 1


class ConsoleUserError(Exception):
    """A console user that cannot be created or found; the text says why, in one line."""


@dataclass(frozen=True)
class ConsoleSession:
    user: str
    csrf_token: str
    expires_at: datetime


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=64 * 1024 * 1024)
    return "$".join(["scrypt", str(_N), str(_R), str(_P), _b64(salt), _b64(digest)])


def password_matches(stored: str, password: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        found = hashlib.scrypt(
            password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), maxmem=64 * 1024 * 1024
        )
    except ValueError:
        return False
    return hmac.compare_digest(found, _unb64(digest))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(conn: Connection, name: str, password: str, now: datetime) -> None:
    if not name.strip():
        raise ConsoleUserError("a console user needs a name")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConsoleUserError(f"a console password needs at least {MIN_PASSWORD_LENGTH} characters")
    if conn.execute(select(console_users.c.id).where(console_users.c.name == name)).first() is not None:
        raise ConsoleUserError(f"console user {name} exists")
    conn.execute(insert(console_users).values(name=name, password_hash=hash_password(password), created_at=now))


def user_names(conn: Connection) -> list[tuple[str, datetime]]:
    rows = conn.execute(select(console_users.c.name, console_users.c.created_at).order_by(console_users.c.name))
    return [(r.name, r.created_at) for r in rows]


def remove_user(conn: Connection, name: str) -> None:
    """Remove the user and end its sessions."""
    user_id = conn.execute(select(console_users.c.id).where(console_users.c.name == name)).scalar()
    if user_id is None:
        raise ConsoleUserError(f"no console user {name}")
    conn.execute(delete(console_sessions).where(console_sessions.c.user_id == user_id))
    conn.execute(delete(console_users).where(console_users.c.id == user_id))


def sign_in(conn: Connection, name: str, password: str, now: datetime) -> str | None:
    """A new session's cookie token, or None when the name or the password is wrong (the
    password is checked even for an unknown name, so timing does not tell names apart)."""
    row = conn.execute(
        select(console_users.c.id, console_users.c.password_hash).where(console_users.c.name == name)
    ).first()
    matches = password_matches(row.password_hash if row else _dummy_hash(), password)
    if row is None or not matches:
        return None
    conn.execute(delete(console_sessions).where(console_sessions.c.expires_at <= now))
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(console_sessions).values(
            token_hash=_token_hash(token),
            user_id=row.id,
            csrf_token=secrets.token_urlsafe(24),
            created_at=now,
            expires_at=now + timedelta(hours=SESSION_HOURS),
        )
    )
    return token


def session(conn: Connection, token: str, now: datetime) -> ConsoleSession | None:
    row = conn.execute(
        select(console_users.c.name, console_sessions.c.csrf_token, console_sessions.c.expires_at)
        .join(console_users, console_users.c.id == console_sessions.c.user_id)
        .where(console_sessions.c.token_hash == _token_hash(token), console_sessions.c.expires_at > now)
    ).first()
    return None if row is None else ConsoleSession(row.name, row.csrf_token, row.expires_at)


def sign_out(conn: Connection, token: str) -> None:
    conn.execute(delete(console_sessions).where(console_sessions.c.token_hash == _token_hash(token)))


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))
