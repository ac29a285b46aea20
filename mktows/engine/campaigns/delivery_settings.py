"""The instance's SMTP setting, stored once in `server_meta` so that every process delivers alike.

A process given an SMTP URL (`MKTOWS_SMTP_URL`, else the instance file's `smtp_url`) writes it
here; a process given none reads what is stored. `none` stores capture explicitly; nothing
stored means capture too. With a master key, a URL that carries a password is stored
encrypted (as API user keys are); without one it is stored as given, like the instance file.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Connection, select, update

from mktows.engine.admin.key_cipher import SETTING, KeyCipher, MasterKeyError, is_sealed
from mktows.store.queries import upsert
from mktows.store.tables import server_meta

KEY = "smtp_url"
CAPTURE = "none"


def is_capture(url: str | None) -> bool:
    """Whether a given setting means "keep messages in the outbox" (`none`)."""
    return url is not None and url.strip().lower() == CAPTURE


def without_password(url: str | None) -> str:
    """The URL fit for a log line or a banner."""
    if url is None or is_capture(url):
        return CAPTURE
    parts = urlsplit(url.strip())
    if parts.password is None:
        return url.strip()
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def read(conn: Connection, cipher: KeyCipher | None) -> str | None:
    """The stored URL, or None for capture (nothing stored, or `none`)."""
    stored = conn.execute(select(server_meta.c.value).where(server_meta.c.key == KEY)).scalar()
    if stored is None:
        return None
    if is_sealed(stored):
        if cipher is None:
            raise MasterKeyError(
                f"the stored SMTP URL is encrypted; set {SETTING} to the master key it was encrypted with"
            )
        try:
            stored = cipher.open(stored, KEY)
        except MasterKeyError:
            raise MasterKeyError(f"{SETTING} does not decrypt the stored SMTP URL") from None
    return None if is_capture(stored) else stored


def write(conn: Connection, url: str, cipher: KeyCipher | None) -> bool:
    """Store `url` (or `none`) as the instance's setting; False when it already was."""
    given = CAPTURE if is_capture(url) else url.strip()
    raw = conn.execute(select(server_meta.c.value).where(server_meta.c.key == KEY)).scalar()
    sealed = given if cipher is None or urlsplit(given).password is None else cipher.seal(given)
    try:
        same = raw is not None and (read(conn, cipher) or CAPTURE) == given
    except MasterKeyError:
        same = False  # unreadable with this process's master key: replace it
    if same:
        assert raw is not None
        stale = is_sealed(raw) != is_sealed(sealed) or (
            cipher is not None and is_sealed(raw) and not cipher.is_current(raw)
        )
        if stale:  # the same URL, to be stored as a master key now asks (encrypted, re-encrypted, or in clear)
            conn.execute(update(server_meta).where(server_meta.c.key == KEY).values(value=sealed))
        return False
    conn.execute(
        upsert(conn, server_meta)
        .values(key=KEY, value=sealed)
        .on_conflict_do_update(index_elements=["key"], set_={"value": sealed})
    )
    return True
