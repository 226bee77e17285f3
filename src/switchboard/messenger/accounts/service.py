"""Staff accounts: creating and changing them, passwords, logins and the staff's own status.

- Passwords are argon2id hashes (argon2-cffi). A hash made with older parameters is replaced at
  the next successful login. Hashing runs off the event loop, a few at a time per process (each
  takes tens of MiB and tens of milliseconds).
- A login with an unknown name, a wrong password, an account without a password or a disabled
  one gets the same answer after the same work (a hash is checked in every case): nobody learns
  which logins exist.
- A session is a random token in the cookie and a random CSRF token for the page; the database
  keeps only their SHA-256 digests, so a copy of it opens nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Self

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.errors import Unauthorized, Unprocessable
from switchboard.messenger.accounts import repository
from switchboard.messenger.accounts.repository import SessionRecord, StaffRecord
from switchboard.messenger.models import STAFF_ROLES

if TYPE_CHECKING:
    from switchboard.runtime import Runtime

MIN_PASSWORD = 8
#: The operator panel reports every 30 s; silent for this long, a staff member is offline.
PRESENCE_TIMEOUT = timedelta(seconds=120)
MAX_PASSWORD = 1024
#: A login: an e-mail or a plain name, without spaces; kept lower-case.
LOGIN = re.compile(r"^[a-z0-9._%+@-]{3,254}$")
#: Hashes at once per process: argon2's memory (64 MiB each by default) stays bounded under a
#: flood of logins, and the rest of the thread pool stays free.
HASHING_AT_ONCE = 4


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normal_login(login: str) -> str:
    return login.strip().lower()


class Passwords:
    """argon2id hashing for one process (a runtime extension)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self._slots = asyncio.Semaphore(HASHING_AT_ONCE)
        self._decoy: str | None = None

    @classmethod
    def create(cls, runtime: Runtime) -> Self:
        return cls()

    def hash_now(self, password: str) -> str:
        """Blocking; for the command line."""
        return self.hasher.hash(password)

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self.hasher.hash, password)

    async def check(self, password: str, stored: str | None) -> tuple[bool, str | None]:
        """Whether `password` matches `stored`, and a new hash when the stored one was made with
        other parameters. Without a stored hash a decoy is checked, to take the same time."""
        if self._decoy is None:
            self._decoy = await self.hash(secrets.token_urlsafe(16))
        async with self._slots:
            matches = await asyncio.to_thread(self._verify, stored or self._decoy, password)
        if not matches or stored is None:
            return False, None
        if self.hasher.check_needs_rehash(stored):
            return True, await self.hash(password)
        return True, None

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


class BadCredentials(Unauthorized):
    """One answer for every failed login."""

    def __init__(self) -> None:
        super().__init__("bad_credentials", "Wrong login or password.")


class NotSignedIn(Unauthorized):
    def __init__(self) -> None:
        super().__init__("login_required", "Sign in first (the login expired or never was).")


@dataclass(frozen=True)
class LoggedIn:
    staff: StaffRecord
    #: The cookie's value and the CSRF token, in clear only here.
    token: str
    csrf_token: str
    expires_at: datetime
    #: Signing in set an offline operator online (waiting chats are to be offered).
    came_online: bool = False


# --- accounts ----------------------------------------------------------------------------------


def checked_login(login: str) -> str:
    normal = normal_login(login)
    if not LOGIN.match(normal):
        raise Unprocessable(
            "bad_login",
            "A login is 3-254 letters, digits or . _ % + @ - (an e-mail suits), no spaces.",
        )
    return normal


def checked_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise Unprocessable(
            "bad_password",
            "A password needs {low} to {high} characters.",
            low=MIN_PASSWORD,
            high=MAX_PASSWORD,
        )
    return password


async def save_staff(
    session: AsyncSession,
    *,
    login: str,
    name: str,
    role: str,
    branch_code: str | None = None,
    capacity: int | None = None,
    password_hash: str | None = None,
) -> tuple[StaffRecord, bool]:
    """Create the account of `login` or change it; (the account, whether it was created).
    A branch or capacity not given keeps the account's own (a new one: none, 5)."""
    login = checked_login(login)
    name = name.strip()
    if not name:
        raise Unprocessable("bad_name", "A staff member needs a name.")
    if role not in STAFF_ROLES:
        raise Unprocessable("bad_role", "Allowed roles: {roles}.", roles=", ".join(STAFF_ROLES))
    if capacity is not None and not 0 <= capacity <= 1000:
        raise Unprocessable("bad_capacity", "Capacity is a whole number from 0 to 1000.")
    branch = None
    if branch_code is not None:
        branch = await repository.branch_id(session, branch_code)
        if branch is None:
            raise Unprocessable("unknown_branch", "No branch {branch}.", branch=branch_code)
    existing = await repository.staff_by_login(session, login)
    if existing is None:
        staff_id = await repository.insert_staff(
            session,
            login=login,
            name=name,
            role=role,
            branch_id=branch,
            capacity=5 if capacity is None else capacity,
        )
    else:
        staff_id = existing.id
        await repository.update_staff(
            session,
            staff_id,
            name=name,
            role=role,
            branch_id=existing.branch_id if branch_code is None else branch,
            capacity=existing.capacity if capacity is None else capacity,
        )
    if password_hash is not None:
        await repository.set_password_hash(session, staff_id, password_hash)
    return await repository.staff_by_id(session, staff_id), existing is None


# --- logins ------------------------------------------------------------------------------------


async def log_in(
    session: AsyncSession,
    passwords: Passwords,
    *,
    login: str,
    password: str,
    session_hours: int,
) -> LoggedIn:
    normal = normal_login(login)
    # A login that no account can have (a NUL, a space …) is not looked up, yet answered the same.
    staff = await repository.staff_by_login(session, normal) if LOGIN.match(normal) else None
    stored = staff.password_hash if staff is not None and staff.active else None
    matches, rehashed = await passwords.check(password, stored)
    if staff is None or not matches:
        raise BadCredentials()
    if rehashed is not None:
        await repository.set_password_hash(session, staff.id, rehashed)
    await repository.delete_expired_sessions(session, staff.id)
    token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + timedelta(hours=session_hours)
    await repository.insert_session(
        session,
        staff_id=staff.id,
        token_digest=digest(token),
        csrf_digest=digest(csrf_token),
        expires_at=expires_at,
    )
    came_online = staff.status == "offline" and staff.role == "operator"
    if came_online:
        # Signing in starts the shift: nobody signs in to stay invisible to routing (the panel
        # lets them choose away or busy at once).
        staff = await set_own_status(session, staff.id, "online")
    return LoggedIn(staff, token, csrf_token, expires_at, came_online)


async def signed_in(session: AsyncSession, token: str | None) -> SessionRecord:
    """The live session of a cookie's token, else `NotSignedIn`."""
    if not token:
        raise NotSignedIn()
    found = await repository.live_session(session, digest(token))
    if found is None:
        raise NotSignedIn()
    return found


def csrf_matches(record: SessionRecord, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(digest(given or ""), record.csrf_digest)


async def log_out(session: AsyncSession, record: SessionRecord) -> None:
    await repository.delete_session(session, record.id)


async def set_own_status(session: AsyncSession, staff_id: int, status: str) -> StaffRecord:
    await repository.set_status(session, staff_id, status)
    return await repository.staff_by_id(session, staff_id)


async def heartbeat(session: AsyncSession, staff_id: int) -> StaffRecord:
    """The staff member's panel is open: they count as present (`last_seen_at`)."""
    await repository.touch(session, staff_id)
    return await repository.staff_by_id(session, staff_id)


async def sign_off_absent(session: AsyncSession, now: datetime) -> list[int]:
    """Staff whose panel has not been heard from for `PRESENCE_TIMEOUT` (a closed browser, a
    lost network): offline, so that routing gives them nothing more. The ids changed."""
    return await repository.mark_absent(session, now - PRESENCE_TIMEOUT)
