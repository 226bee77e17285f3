"""Secrets at rest and our own signatures, from the one setting SECRET_KEYS.

`SecretBox` encrypts the secrets the platform keeps for its peers (a CRM's API key, a bot token)
with Fernet (AES-128-CBC + HMAC-SHA256 from `cryptography`); several keys allow rotation: the
first encrypts, every one decrypts. `signing_key(purpose)` derives a separate key per use (HKDF),
so a link signed for one purpose is never valid for another.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

#: Used when SECRET_KEYS is not set (ENV=prod refuses to start without it): fine for a demo and
#: tests, worthless as protection.
_DEVELOPMENT_KEY = base64.urlsafe_b64encode(
    hashlib.sha256(b"switchboard development key - not a secret").digest()
)


class SecretUnreadable(Exception):
    """A stored secret none of the keys decrypts (SECRET_KEYS lost the key that wrote it)."""


def new_key() -> str:
    return Fernet.generate_key().decode()


def _keys(setting: str) -> list[bytes]:
    keys = [part.strip().encode() for part in setting.split(",") if part.strip()]
    return keys or [_DEVELOPMENT_KEY]


class SecretBox:
    def __init__(self, setting: str = "") -> None:
        keys = _keys(setting)
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except ValueError as error:
            raise ValueError(
                "SECRET_KEYS must be Fernet keys (32 url-safe base64 bytes each), comma-separated"
            ) from error
        self._first = keys[0]

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as error:
            message = "a stored secret cannot be decrypted with SECRET_KEYS"
            raise SecretUnreadable(message) from error

    def signing_key(self, purpose: str) -> bytes:
        """A key for `purpose` alone, derived from the first key."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
            self._first
        )


def mask(secret: str | None, *, visible: int = 4) -> str:
    """`abcd…wxyz` → `••••wxyz`: enough to recognise a key, never enough to use it."""
    if not secret:
        return ""
    tail = secret[-visible:] if len(secret) > visible * 2 else ""
    return "••••" + tail
