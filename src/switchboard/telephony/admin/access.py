"""Who may use an enterprise's admin pages: its administrator (password login) or a RetailCRM
user arriving by the module's one-click link (seed 003's `accountUrl` with a JWT).

- Passwords are kept as scrypt hashes (`hashlib.scrypt`, a memory-hard KDF; never in clear).
- A login or a valid link opens a session: an HS256 JWT in an HttpOnly, SameSite=Strict cookie,
  scoped to one enterprise and the admin pages, 12 hours.
- The link's JWT is bound to one enterprise and to the admin area (`aud`), lives a year, and its
  `jti` must be the one stored with the enterprise: registering again rotates it, deleting the
  integration revokes it. Keys are derived per purpose from SECRET_KEYS (a session token is never
  a valid link and the other way round).
- Changes need the session's CSRF token (header `X-CSRF-Token` or form field `csrf_token`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from switchboard.core.crypto import SecretBox

AUDIENCE = "retailcrm-admin"
SESSION_COOKIE = "sb_telephony_admin"
SESSION_HOURS = 12
LINK_DAYS = 365
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def password_matches(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        # Spend the same time as a real check, so a missing account is not told apart.
        hashlib.scrypt(password.encode(), salt=b"0" * 16, dklen=32, **_SCRYPT)
        return False
    _, salt, digest = stored.split("$", 2)
    given = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), dklen=32, **_SCRYPT)
    return hmac.compare_digest(given, base64.b64decode(digest))


@dataclass(frozen=True)
class AdminSession:
    enterprise_number: str
    #: Who opened it: `password` or `retailcrm-link`.
    via: str
    csrf: str


def _key(box: SecretBox, purpose: str) -> bytes:
    return box.signing_key(f"telephony-admin:{purpose}")


def issue_link_token(box: SecretBox, enterprise_number: str) -> tuple[str, str]:
    """A one-click link token for the module's `accountUrl`, and its `jti` to store."""
    jti = uuid.uuid4().hex
    now = datetime.now(UTC)
    claims = {
        "sub": enterprise_number,
        "aud": AUDIENCE,
        "jti": jti,
        "iat": now,
        "exp": now + timedelta(days=LINK_DAYS),
    }
    return jwt.encode(claims, _key(box, "link"), algorithm="HS256"), jti


def read_link_token(box: SecretBox, token: str) -> tuple[str, str] | None:
    """(enterprise number, jti) of a valid link token, else None."""
    try:
        claims = jwt.decode(
            token,
            _key(box, "link"),
            algorithms=["HS256"],
            audience=AUDIENCE,
            options={"require": ["sub", "aud", "jti", "exp"]},
        )
    except jwt.PyJWTError:
        return None
    return str(claims["sub"]), str(claims["jti"])


def open_session(box: SecretBox, enterprise_number: str, via: str) -> str:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": enterprise_number,
        "aud": AUDIENCE + ":session",
        "via": via,
        "csrf": secrets.token_urlsafe(24),
        "iat": now,
        "exp": now + timedelta(hours=SESSION_HOURS),
    }
    return jwt.encode(claims, _key(box, "session"), algorithm="HS256")


def read_session(box: SecretBox, cookie: str | None) -> AdminSession | None:
    if not cookie:
        return None
    try:
        claims = jwt.decode(
            cookie,
            _key(box, "session"),
            algorithms=["HS256"],
            audience=AUDIENCE + ":session",
            options={"require": ["sub", "aud", "exp", "csrf"]},
        )
    except jwt.PyJWTError:
        return None
    return AdminSession(str(claims["sub"]), str(claims.get("via") or ""), str(claims["csrf"]))
