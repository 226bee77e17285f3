"""The messenger's admin settings: inboxes (their settings, public key and embed code),
branches, regions, region → branch rules, staff accounts and the default branch.

Every function takes the caller's session and never commits. What a person got wrong is an
`ApiError`: 404 for what does not exist, 409 for a duplicate code or login and for a branch still
in use, 422 naming the field for a value that does not fit.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.errors import Conflict, NotFound, Unprocessable
from switchboard.messenger.accounts.service import Passwords
from switchboard.messenger.admin import repository
from switchboard.messenger.admin.repository import (
    DEFAULT_BRANCH,
    BranchRow,
    CodedTable,
    InboxRow,
    RegionRow,
    RuleRow,
    StaffRow,
)
from switchboard.messenger.admin.schemas import (
    BranchChange,
    InboxChange,
    PreferencesChange,
    RegionChange,
    RuleChange,
    StaffChange,
    StaffCreate,
)
from switchboard.messenger.schemas import InboxSettings
from switchboard.messenger.widget.endpoints import embed_snippet

#: The rating scales a widget can show: 5 stars or a net promoter score 0–10.
RATING_SCALES = (5, 10)
OFFLINE_MESSAGE_LIMIT = 1000
ALLOWED_DOMAINS_LIMIT = 50
HOST_LIMIT = 253

R = TypeVar("R")


def new_public_key() -> str:
    """A widget's public key: random, URL-safe, not guessable from another inbox's."""
    return secrets.token_urlsafe(18)


def embed_code(api_url: str, public_key: str) -> str:
    """The snippet a site pastes into its pages: the widget's loader for this inbox."""
    return embed_snippet(api_url, public_key)


def invalid(field: str, message: str, *, limit: int = 0) -> Unprocessable:
    """A 422 naming `field` (dotted, as in the body), in the message and in `details`; the
    message may say `{field}` and `{limit}`."""
    return Unprocessable(
        "invalid_field",
        message,
        field=field,
        limit=limit,
        details=[{"field": field, "in": "body", "message": message}],
    )


def _not_found(what: str) -> NotFound:
    messages = {
        "inbox": ("inbox_not_found", "There is no such inbox."),
        "branch": ("branch_not_found", "There is no such branch."),
        "region": ("region_not_found", "There is no such region."),
        "rule": ("rule_not_found", "There is no such rule."),
        "staff": ("staff_not_found", "There is no such staff member."),
    }
    code, message = messages[what]
    return NotFound(code, message)


def _existing(found: R | None, what: str) -> R:
    """`found`, or the 404 of `what` when there is none."""
    if found is None:
        raise _not_found(what)
    return found


# --- inbox settings ---------------------------------------------------------------------------


def normal_host(entry: str) -> str | None:
    """A site's host name as browsers send it in `Origin` (lower-case, IDN as punycode), from a
    host name, `*.host` (any subdomain) or a pasted address; None when it is none of these."""
    value = entry.strip().lower()
    if "://" in value:
        try:
            value = urlsplit(value).hostname or ""
        except ValueError:
            return None
    value = value.rstrip(".")
    wildcard = value.startswith("*.")
    host = value[2:] if wildcard else value
    try:
        ascii_host = host.encode("idna").decode("ascii") if host else ""
    except UnicodeError:
        return None
    labels = ascii_host.split(".")
    if not ascii_host or len(ascii_host) > HOST_LIMIT:
        return None
    for label in labels:
        if not 1 <= len(label) <= 63 or label.startswith("-") or label.endswith("-"):
            return None
        if not all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in label):
            return None
    if wildcard and len(labels) < 2:
        return None
    return f"*.{ascii_host}" if wildcard else ascii_host


def checked_settings(settings: InboxSettings) -> dict[str, Any]:
    """The settings to store (JSON), after the checks the shape alone does not make."""
    if settings.rating.scale not in RATING_SCALES:
        raise invalid(
            "settings.rating.scale", "Field {field}: the scale is 5 (stars) or 10 (NPS 0-10)."
        )
    if len(settings.offline.message) > OFFLINE_MESSAGE_LIMIT:
        raise invalid(
            "settings.offline.message",
            "Field {field}: at most {limit} characters.",
            limit=OFFLINE_MESSAGE_LIMIT,
        )
    if "\x00" in settings.offline.message:
        raise invalid("settings.offline.message", "Field {field}: a NUL character is not text.")
    if settings.offline.enabled and not settings.offline.message.strip():
        raise invalid("settings.offline.message", "Field {field}: write the offline message.")
    if len(settings.allowed_domains) > ALLOWED_DOMAINS_LIMIT:
        raise invalid(
            "settings.allowed_domains",
            "Field {field}: at most {limit} sites.",
            limit=ALLOWED_DOMAINS_LIMIT,
        )
    domains: list[str] = []
    for index, entry in enumerate(settings.allowed_domains):
        host = normal_host(entry)
        if host is None:
            raise invalid(
                f"settings.allowed_domains.{index}",
                "Field {field}: not a site's host name (such as shop.example.ru or *.example.ru).",
            )
        if host not in domains:
            domains.append(host)
    if len(settings.schedule.holidays) > 366:
        raise invalid("settings.schedule.holidays", "Field {field}: at most 366 days.")
    for day, intervals in settings.schedule.weekly.items():
        if len(intervals) > 12:
            raise invalid(f"settings.schedule.weekly.{day}", "Field {field}: at most 12 intervals.")
    stored = settings.model_dump(mode="json")
    stored["allowed_domains"] = domains
    stored["offline"]["message"] = settings.offline.message.strip()
    stored["schedule"]["holidays"] = sorted(set(stored["schedule"]["holidays"]))
    return stored


def stored_settings(raw: dict[str, Any]) -> InboxSettings:
    """An inbox's settings as stored; ones that no longer validate show as the defaults."""
    try:
        return InboxSettings.model_validate(raw or {})
    except ValueError:
        return InboxSettings()


# --- branches and regions: rows with a unique code, saved alike -------------------------------


class _CodeAndName(Protocol):
    """What the admin saves of a branch or a region."""

    @property
    def code(self) -> str: ...

    @property
    def name(self) -> str: ...


C = TypeVar("C", bound=_CodeAndName)


@dataclass(frozen=True)
class _Coded(Generic[R, C]):
    """Reads and saves branches or regions alike: `what` names the 404, `duplicate` is the 409
    for a code another row has."""

    table: CodedTable[R]
    what: str
    duplicate: Callable[[str], Conflict]

    async def get(self, session: AsyncSession, row_id: int) -> R:
        return _existing(await self.table.by_id(session, row_id), self.what)

    async def create(self, session: AsyncSession, change: C) -> R:
        created = await self.table.insert(session, code=change.code, name=change.name)
        if created is None:
            raise self.duplicate(change.code)
        return await self.get(session, created)

    async def update(self, session: AsyncSession, row_id: int, change: C) -> R:
        await self.get(session, row_id)
        if not await self.table.update(session, row_id, code=change.code, name=change.name):
            raise self.duplicate(change.code)
        return await self.get(session, row_id)


# --- branches and the default branch ----------------------------------------------------------


async def _branch(session: AsyncSession, branch_id: int | None, field: str) -> int | None:
    """`branch_id` if it exists (422 naming `field` if not)."""
    if branch_id is None:
        return None
    if await repository.branch(session, branch_id) is None:
        raise invalid(field, "Field {field}: there is no such branch.")
    return branch_id


async def default_branch(session: AsyncSession, setting_code: str) -> tuple[BranchRow | None, str]:
    """Where visitors no rule matches go: the admin's choice (the preference), else the
    environment's `MESSENGER_DEFAULT_BRANCH`; and which of them it came from."""
    chosen = await repository.preference(session, DEFAULT_BRANCH)
    if isinstance(chosen, int) and not isinstance(chosen, bool):
        found = await repository.branch(session, chosen)
        if found is not None:
            return found, "preference"
    if setting_code:
        found = await repository.branch_by_code(session, setting_code)
        if found is not None:
            return found, "setting"
    return None, "none"


async def set_default_branch(session: AsyncSession, change: PreferencesChange) -> None:
    await repository.lock_preference(session, DEFAULT_BRANCH)
    if change.default_branch_id is None:
        await repository.delete_preference(session, DEFAULT_BRANCH)
        return
    await _branch(session, change.default_branch_id, "default_branch_id")
    await repository.set_preference(session, DEFAULT_BRANCH, change.default_branch_id)


def _duplicate_branch(code: str) -> Conflict:
    return Conflict("branch_exists", "A branch with the code {branch} already exists.", branch=code)


_BRANCHES: _Coded[BranchRow, BranchChange] = _Coded(
    repository.BRANCHES, "branch", _duplicate_branch
)
branch = _BRANCHES.get
create_branch = _BRANCHES.create
update_branch = _BRANCHES.update


async def delete_branch(session: AsyncSession, branch_id: int) -> None:
    """Delete a branch nobody and nothing uses (409 saying what still does)."""
    await repository.lock_preference(session, DEFAULT_BRANCH)
    if not await repository.lock_branch_row(session, branch_id):
        raise _not_found("branch")
    if await repository.preference(session, DEFAULT_BRANCH) == branch_id:
        raise Conflict(
            "branch_is_default",
            "This is the default branch; choose another default branch first.",
        )
    uses = await repository.branch_uses(session, branch_id)
    if uses.staff or uses.inboxes or uses.rules or uses.conversations:
        raise Conflict(
            "branch_in_use",
            "The branch is in use: {staff} staff, {inboxes} inboxes, {rules} region rules, "
            "{conversations} open conversations. Move them to another branch first.",
            staff=uses.staff,
            inboxes=uses.inboxes,
            rules=uses.rules,
            conversations=uses.conversations,
        )
    await repository.delete_branch(session, branch_id)


# --- inboxes ----------------------------------------------------------------------------------


async def inbox(session: AsyncSession, inbox_id: int) -> InboxRow:
    return _existing(await repository.inbox(session, inbox_id), "inbox")


async def create_inbox(session: AsyncSession, change: InboxChange) -> InboxRow:
    settings = checked_settings(change.settings)
    branch_id = await _branch(session, change.branch_id, "branch_id")
    created = await repository.insert_inbox(
        session,
        name=change.name,
        public_key=new_public_key(),
        branch_id=branch_id,
        active=change.active,
        settings=settings,
    )
    return await inbox(session, created)


async def update_inbox(session: AsyncSession, inbox_id: int, change: InboxChange) -> InboxRow:
    await inbox(session, inbox_id)
    settings = checked_settings(change.settings)
    branch_id = await _branch(session, change.branch_id, "branch_id")
    await repository.update_inbox(
        session,
        inbox_id,
        name=change.name,
        branch_id=branch_id,
        active=change.active,
        settings=settings,
    )
    return await inbox(session, inbox_id)


async def regenerate_key(session: AsyncSession, inbox_id: int) -> InboxRow:
    """A new public key: the old snippet stops working (sites need the new one)."""
    await inbox(session, inbox_id)
    await repository.set_public_key(session, inbox_id, new_public_key())
    return await inbox(session, inbox_id)


async def delete_inbox(session: AsyncSession, inbox_id: int) -> None:
    """Delete an inbox that never had a conversation (else 409: switch it off instead)."""
    await inbox(session, inbox_id)
    if await repository.inbox_conversations(session, inbox_id):
        raise Conflict(
            "inbox_has_conversations",
            "The inbox has conversations; switch it off instead of deleting it.",
        )
    await repository.delete_inbox(session, inbox_id)


# --- regions and rules ------------------------------------------------------------------------


def _duplicate_region(code: str) -> Conflict:
    return Conflict("region_exists", "A region with the code {region} already exists.", region=code)


_REGIONS: _Coded[RegionRow, RegionChange] = _Coded(repository.REGIONS, "region", _duplicate_region)
region = _REGIONS.get
create_region = _REGIONS.create
update_region = _REGIONS.update


async def delete_region(session: AsyncSession, region_id: int) -> None:
    """Delete a region and its rules (visitors of it then go to the default branch)."""
    await region(session, region_id)
    await repository.delete_region(session, region_id)


async def rule(session: AsyncSession, rule_id: int) -> RuleRow:
    return _existing(await repository.rule(session, rule_id), "rule")


async def _checked_rule(
    session: AsyncSession, change: RuleChange, rule_id: int | None = None
) -> None:
    if await repository.region(session, change.region_id) is None:
        raise invalid("region_id", "Field {field}: there is no such region.")
    await _branch(session, change.branch_id, "branch_id")
    if change.inbox_id is not None and await repository.inbox(session, change.inbox_id) is None:
        raise invalid("inbox_id", "Field {field}: there is no such inbox.")
    same = await repository.same_rule(
        session, region_id=change.region_id, branch_id=change.branch_id, inbox_id=change.inbox_id
    )
    if same is not None and same != rule_id:
        raise Conflict("rule_exists", "The same rule already exists.")


async def create_rule(session: AsyncSession, change: RuleChange) -> RuleRow:
    await _checked_rule(session, change)
    created = await repository.insert_rule(
        session,
        region_id=change.region_id,
        branch_id=change.branch_id,
        inbox_id=change.inbox_id,
        priority=change.priority,
        active=change.active,
    )
    return await rule(session, created)


async def update_rule(session: AsyncSession, rule_id: int, change: RuleChange) -> RuleRow:
    await rule(session, rule_id)
    await _checked_rule(session, change, rule_id)
    await repository.update_rule(
        session,
        rule_id,
        region_id=change.region_id,
        branch_id=change.branch_id,
        inbox_id=change.inbox_id,
        priority=change.priority,
        active=change.active,
    )
    return await rule(session, rule_id)


async def delete_rule(session: AsyncSession, rule_id: int) -> None:
    await rule(session, rule_id)
    await repository.delete_rule(session, rule_id)


# --- staff ------------------------------------------------------------------------------------


async def staff(session: AsyncSession, staff_id: int) -> StaffRow:
    return _existing(await repository.staff(session, staff_id), "staff")


def _schedule(change: StaffChange) -> dict[str, Any]:
    if change.schedule is None:
        return {}
    for day, intervals in change.schedule.weekly.items():
        if len(intervals) > 12:
            raise invalid(f"schedule.weekly.{day}", "Field {field}: at most 12 intervals.")
    if len(change.schedule.holidays) > 366:
        raise invalid("schedule.holidays", "Field {field}: at most 366 days.")
    return change.schedule.model_dump(mode="json")


async def create_staff(
    session: AsyncSession, passwords: Passwords, change: StaffCreate
) -> StaffRow:
    branch_id = await _branch(session, change.branch_id, "branch_id")
    schedule = _schedule(change)
    if await repository.staff_by_login(session, change.login) is not None:
        raise _duplicate_login(change.login)
    hashed = await passwords.hash(change.password) if change.password is not None else None
    created = await repository.insert_staff(
        session,
        login=change.login,
        name=change.name,
        role=change.role,
        branch_id=branch_id,
        capacity=change.capacity,
        schedule=schedule,
        active=change.active,
        password_hash=hashed,
    )
    if created is None:
        raise _duplicate_login(change.login)
    return await staff(session, created)


def _duplicate_login(login: str) -> Conflict:
    return Conflict("login_exists", "The login {login} is already taken.", login=login)


async def update_staff(
    session: AsyncSession, staff_id: int, change: StaffChange, *, actor_id: int
) -> StaffRow:
    """Change an account; an administrator cannot take away their own access (their role or
    the account itself: 409), so the messenger always keeps one who can sign in."""
    await staff(session, staff_id)
    if staff_id == actor_id and (change.role != "admin" or not change.active):
        raise Conflict(
            "own_admin_access",
            "You cannot take away your own administrator access; ask another administrator.",
        )
    branch_id = await _branch(session, change.branch_id, "branch_id")
    await repository.update_staff(
        session,
        staff_id,
        name=change.name,
        role=change.role,
        branch_id=branch_id,
        capacity=change.capacity,
        schedule=_schedule(change),
        active=change.active,
    )
    if not change.active:
        await repository.end_sessions(session, staff_id)
    return await staff(session, staff_id)


async def set_password(
    session: AsyncSession,
    passwords: Passwords,
    staff_id: int,
    password: str,
    *,
    keep_session: int | None = None,
) -> StaffRow:
    """A new password; the account's other logins end (the admin's own current one stays)."""
    await staff(session, staff_id)
    await repository.set_password_hash(session, staff_id, await passwords.hash(password))
    await repository.end_sessions(session, staff_id, except_session=keep_session)
    return await staff(session, staff_id)
