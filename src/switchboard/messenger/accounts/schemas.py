"""What the accounts API reads and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: The statuses a staff member sets themselves (`offline` is what logging out or nobody sets).
OwnStatus = Literal["online", "away", "busy"]


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: str = Field(min_length=1, max_length=254, description="The login (an e-mail)")
    password: str = Field(min_length=1, max_length=1024)


class StaffView(BaseModel):
    id: int
    login: str
    name: str
    role: Literal["operator", "supervisor", "admin"]
    branch: str | None = Field(description="The branch's code; null: no branch")
    capacity: int = Field(description="Conversations routing gives them at most at a time")
    status: Literal["online", "away", "busy", "offline"]
    last_seen_at: datetime | None


class LoginAnswer(BaseModel):
    staff: StaffView
    csrf_token: str = Field(
        description="Send it as the `X-CSRF-Token` header with every change while this login "
        "lasts; it is shown only here"
    )


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: OwnStatus
