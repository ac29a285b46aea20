"""API users' keys encrypted at rest under a master key (Fernet: AES-128-CBC plus HMAC-SHA256).

The server checks a signature by computing HMAC-SHA1 keyed with the user's key, so it needs the
key itself: a one-way hash cannot be stored instead. What a master key buys is that the database
(a copied file, a dump, a backup) holds only ciphertext; the server decrypts the keys when it
loads its users and keeps them in memory.

A stored key that starts with `fernet:` is ciphertext; any other value is a key stored as given
(rows written before a master key was set), so both read back during the switch.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "fernet:"
SETTING = "MKTOWS_MASTER_KEY"


class MasterKeyError(Exception):
    """The master key is malformed, missing for encrypted keys, or not the one they were encrypted with."""


def is_sealed(stored: str | None) -> bool:
    return stored is not None and stored.startswith(PREFIX)


class KeyCipher:
    """One master key, or several separated by commas: the first encrypts, any of them decrypts
    (so the master key itself can be changed: new,old, then `mktows users encrypt-keys`)."""

    def __init__(self, master_key: str) -> None:
        parts = [p.strip() for p in master_key.split(",") if p.strip()]
        if not parts:
            raise MasterKeyError(f"{SETTING} is empty")
        try:
            self._fernets = [Fernet(p.encode("ascii")) for p in parts]
        except (ValueError, UnicodeEncodeError):
            raise MasterKeyError(
                f"{SETTING}: expected a Fernet key (32 random bytes in url-safe base64, 44 characters;"
                " docs/deploy.md says how to make one), or several separated by commas"
            ) from None
        self._multi = MultiFernet(self._fernets)

    def seal(self, key: str) -> str:
        return PREFIX + self._multi.encrypt(key.encode("utf-8")).decode("ascii")

    def open(self, stored: str, user_id: str) -> str:
        """The key itself; MasterKeyError when no master key given decrypts it."""
        if not is_sealed(stored):
            return stored
        try:
            return self._multi.decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise MasterKeyError(
                f"{SETTING} does not decrypt the key of API user {user_id}: it was encrypted with another master key"
            ) from None

    def is_current(self, stored: str) -> bool:
        """Whether `stored` is ciphertext of the first (current) master key."""
        if not is_sealed(stored):
            return False
        try:
            self._fernets[0].decrypt(stored[len(PREFIX) :].encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True


def open_key(stored: str, cipher: KeyCipher | None, user_id: str) -> str:
    """A stored key made readable: as given, or decrypted; a clear MasterKeyError otherwise."""
    if not is_sealed(stored):
        return stored
    if cipher is None:
        raise MasterKeyError(f"API user keys are encrypted; set {SETTING} to the master key they were encrypted with")
    return cipher.open(stored, user_id)


def seal_key(key: str, cipher: KeyCipher | None) -> str:
    """What to store for `key`: its ciphertext under the master key, or the key when none is set."""
    return key if cipher is None else cipher.seal(key)
