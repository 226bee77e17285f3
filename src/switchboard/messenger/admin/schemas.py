"""What the messenger's admin API reads and answers: inboxes (with their settings and the embed
code), branches, regions, region → branch rules, staff accounts and the default branch.

Request bodies refuse unknown fields and carry limits; a password is read, never answered, and
neither is its hash (`has_password` says whether one is set)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from switchboard.messenger.accounts.service import LOGIN, MAX_PASSWORD, MIN_PASSWORD
from switchboard.messenger.schemas import InboxSettings, Schedule

Role = Literal["operator", "supervisor", "admin"]
Status = Literal["online", "away", "busy", "offline"]

#: A branch's code: short, lower-case, for URLs and settings (`ekb`, `msk-2`).
BRANCH_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
#: An ISO 3166 code as a MaxMind City database names it: a country (`KZ`) or a subdivision
#: (`RU-SVE`, `US-CA`).
REGION_CODE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")


#: Control characters: a name is one line of text (and PostgreSQL refuses NUL).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _text(value: str) -> str:
    stripped = value.strip()
    if not stripped:
        raise ValueError("must not be blank")
    if _CONTROL.search(stripped):
        raise ValueError("must be one line of text, without control characters")
    return stripped


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- references -------------------------------------------------------------------------------


class BranchRef(BaseModel):
    id: int
    code: str
    name: str


class RegionRef(BaseModel):
    id: int
    code: str
    name: str


class InboxRef(BaseModel):
    id: int
    name: str


# --- inboxes ----------------------------------------------------------------------------------


class InboxChange(_Body):
    """An inbox as the admin saves it (all of it: what is not given takes its default)."""

    name: str = Field(min_length=1, max_length=200)
    branch_id: int | None = Field(
        None,
        ge=1,
        le=2**62,
        description="Every chat of this inbox goes to this branch; null: by the visitor's region",
    )
    active: bool = True
    settings: InboxSettings = Field(default_factory=InboxSettings)

    _name = field_validator("name")(_text)


class InboxView(BaseModel):
    id: int
    name: str
    public_key: str = Field(description="The widget's public key (in the site's snippet)")
    branch: BranchRef | None = Field(description="null: chats go by the visitor's region")
    active: bool
    settings: InboxSettings
    embed_code: str = Field(description="The snippet to paste into the site's pages")
    created_at: datetime
    updated_at: datetime


# --- branches ---------------------------------------------------------------------------------


class BranchChange(_Body):
    code: str = Field(min_length=1, max_length=40, description="Lower-case letters, digits, _ -")
    name: str = Field(min_length=1, max_length=200)

    _name = field_validator("name")(_text)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        code = value.strip().lower()
        if not BRANCH_CODE.match(code):
            raise ValueError("a code is 1-40 lower-case Latin letters, digits, _ or -")
        return code


class BranchView(BranchRef):
    staff: int = Field(description="Staff members of the branch")
    is_default: bool = Field(description="Visitors no rule matches go here")


# --- regions and rules ------------------------------------------------------------------------


class RegionChange(_Body):
    code: str = Field(
        min_length=2, max_length=6, description="ISO 3166: `RU-SVE` (a subdivision) or `KZ`"
    )
    name: str = Field(min_length=1, max_length=200)

    _name = field_validator("name")(_text)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        code = value.strip().upper()
        if not REGION_CODE.match(code):
            raise ValueError("an ISO 3166 code such as RU-SVE or KZ")
        return code


class RegionView(RegionRef):
    rules: int = Field(description="Rules that send this region's visitors to a branch")


class RuleChange(_Body):
    region_id: int = Field(ge=1, le=2**62)
    branch_id: int = Field(ge=1, le=2**62)
    inbox_id: int | None = Field(
        None, ge=1, le=2**62, description="Only for this inbox; null: every inbox"
    )
    priority: int = Field(100, ge=0, le=10000, description="The lowest wins")
    active: bool = True


class RuleView(BaseModel):
    id: int
    region: RegionRef
    branch: BranchRef
    inbox: InboxRef | None
    priority: int
    active: bool


# --- staff ------------------------------------------------------------------------------------


class StaffChange(_Body):
    """A staff account as the admin saves it (the login is given when it is created)."""

    name: str = Field(min_length=1, max_length=200)
    role: Role = "operator"
    branch_id: int | None = Field(None, ge=1, le=2**62)
    capacity: int = Field(5, ge=0, le=1000, description="Conversations at a time from routing")
    schedule: Schedule | None = Field(
        None, description="Personal working hours (an inbox's format); null: always"
    )
    active: bool = True

    _name = field_validator("name")(_text)


class StaffCreate(StaffChange):
    login: str = Field(min_length=3, max_length=254, description="An e-mail or a plain name")
    password: str | None = Field(
        None,
        min_length=MIN_PASSWORD,
        max_length=MAX_PASSWORD,
        description="null: the account cannot sign in until a password is set",
    )

    @field_validator("login")
    @classmethod
    def _login(cls, value: str) -> str:
        login = value.strip().lower()
        if not LOGIN.match(login):
            raise ValueError("3-254 letters, digits or . _ % + @ - (an e-mail suits), no spaces")
        return login


class PasswordChange(_Body):
    password: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)


class StaffAdminView(BaseModel):
    id: int
    login: str
    name: str
    role: Role
    branch: BranchRef | None
    capacity: int
    schedule: Schedule | None = Field(description="null: always (no personal hours)")
    active: bool
    status: Status
    has_password: bool = Field(description="Whether the account can sign in with a password")
    last_seen_at: datetime | None


# --- preferences ------------------------------------------------------------------------------


class PreferencesChange(_Body):
    default_branch_id: int | None = Field(
        None, ge=1, le=2**62, description="null: the environment's MESSENGER_DEFAULT_BRANCH"
    )


class PreferencesView(BaseModel):
    default_branch: BranchRef | None = Field(description="Where unmatched visitors go now")
    default_branch_source: Literal["preference", "setting", "none"] = Field(
        description="`preference`: chosen here; `setting`: MESSENGER_DEFAULT_BRANCH; `none`"
    )
