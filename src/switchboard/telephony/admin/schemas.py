"""Bodies and answers of the RetailCRM admin API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, HttpUrl


class ConfigChange(BaseModel):
    """What the connection form sends (JSON or form fields). Missing fields stay as they are;
    the extension map is never touched by it."""

    domain: HttpUrl | None = Field(None, examples=["https://june.retailcrm.ru"])
    api_key: str | None = Field(None, min_length=8, max_length=200)
    enabled: bool | None = None


class ConfigView(BaseModel):
    enabled: bool
    domain: str
    #: Masked: `••••wxyz`.
    api_key: str
    has_api_key: bool
    user_extensions: dict[str, str | None]
    last_sync: str | None = None
    registered: bool


class InternalPhone(BaseModel):
    number: str = Field(examples=["150"])
    user_name: str | None = Field(None, examples=["Джулай Джуновый"])
    #: The RetailCRM user this number is given to here, if any.
    assigned_to: str | None = Field(None, examples=["19"])
    #: `150 (Джулай Джуновый)` / `151 (свободен)`.
    label: str


class Manager(BaseModel):
    id: int
    name: str
    email: str | None = None
    active: bool
    status: str | None = None
    extension: str | None = None


class ManagersView(BaseModel):
    managers: list[Manager]
    #: Numbers RetailCRM had that differed from ours (ours won and RetailCRM was corrected).
    corrected: dict[str, str | None] = Field(default_factory=dict)
    imported: bool = False


class Extensions(BaseModel):
    user_extensions: dict[str, str | None] = Field(examples=[{"19": "150", "18": "151"}])


class Outcome(BaseModel):
    success: bool
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class LogEntry(BaseModel):
    created_at: datetime
    integration_type: str
    event_type: str
    call_unique_id: str | None
    status: str
    error_message: str | None
    request_data: dict[str, Any] | None
    response_data: dict[str, Any] | None
