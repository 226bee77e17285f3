"""What the clients endpoints take and return (seed 001's field names, as the front end knows
them).

Input is normalised here, once: text is stripped (blank means "not given"), control characters
are refused (PostgreSQL cannot store NUL, and nothing a person types needs them), an INN is 9 or
14 digits, a subscriber code is digits without leading zeros (1C keeps it as a number), a phone
number is stored as `+<digits>`. Messages are English msgids translated to the caller's language.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    model_validator,
)
from pydantic_core import PydanticCustomError

ClientSource = Literal["SITE", "TELEGRAM", "CALL_CENTER"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_CHARACTERS = re.compile(r"^\+?[\d\s\-()]+$")
_NOT_DIGIT = re.compile(r"\D")
#: A client hash as fronts compute it (md5/sha hex, base64, …): printable, no spaces.
HASH_PATTERN = r"^[!-~]{1,128}$"
#: A subscriber code in a path: digits only.
CODE_PATTERN = r"^[0-9]{1,18}$"


def _text(value: object) -> object:
    """Strip text, turn blank into None and refuse control characters."""
    if not isinstance(value, str):
        return value
    stripped = value.strip()
    if _CONTROL.search(stripped):
        raise PydanticCustomError("control_characters", "Control characters are not allowed.")
    return stripped or None


def _inn(value: str | None) -> str | None:
    if value is not None and not (value.isascii() and value.isdigit() and len(value) in (9, 14)):
        raise PydanticCustomError(
            "inn_format", "INN must be 9 digits (a company) or 14 digits (a person's PINFL)."
        )
    return value


def _code(value: str | None) -> str | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise PydanticCustomError(
            "code_abonent_format", "The subscriber code must be digits only (at most 18)."
        )
    # 1C stores the code as a number: "00123" and "123" are the same subscriber.
    return value.lstrip("0") or "0"


def _email(value: str | None) -> str | None:
    if value is not None and not _EMAIL.match(value):
        raise PydanticCustomError("email_format", "Invalid e-mail address.")
    return value


def _phone(value: str | None) -> str | None:
    if value is None:
        return None
    digits = _NOT_DIGIT.sub("", value)
    if not _PHONE_CHARACTERS.match(value) or not 9 <= len(digits) <= 15:
        raise PydanticCustomError(
            "phone_format",
            "A phone number has 9 to 15 digits (spaces, dashes, brackets and a leading + are "
            "allowed).",
        )
    return "+" + digits


# Limits apply to the string; None (not given) passes them.
_Str14 = Annotated[str, Field(max_length=14)]
_Str18 = Annotated[str, Field(max_length=18)]
_Str32 = Annotated[str, Field(max_length=32)]
_Str254 = Annotated[str, Field(max_length=254)]
_Str255 = Annotated[str, Field(max_length=255)]
_Str500 = Annotated[str, Field(max_length=500)]
_HashText = Annotated[str, Field(max_length=128, pattern=HASH_PATTERN)]

Text = Annotated[_Str255 | None, BeforeValidator(_text)]
LongText = Annotated[_Str500 | None, BeforeValidator(_text)]
Inn = Annotated[
    _Str14 | None,
    BeforeValidator(_text),
    AfterValidator(_inn),
    Field(
        description="ИНН: 9 digits for a company, 14 digits (ПИНФЛ) for a person",
        examples=["302345678"],
    ),
]
Code = Annotated[
    _Str18 | None,
    BeforeValidator(_text),
    AfterValidator(_code),
    Field(description="Код абонента: digits", examples=["100234"]),
]
Email = Annotated[_Str254 | None, BeforeValidator(_text), AfterValidator(_email)]
Phone = Annotated[_Str32 | None, BeforeValidator(_text), AfterValidator(_phone)]
Hash = Annotated[_HashText | None, BeforeValidator(_text)]

_OWNER_EXAMPLE: dict[str, JsonValue] = {
    "email": "buh@romashka.uz",
    "phone_number": "+998 90 123-45-67",
    "name": "Алишер Каримов",
    "company_name": "ООО Ромашка",
    "org_inn": "302345678",
    "code_abonent": "100234",
    "is_parent": True,
    "region": "Ташкент",
    "city": "Ташкент",
    "country": "Узбекистан",
}
_USER_EXAMPLE: dict[str, JsonValue] = {
    "email": "kassir@romashka.uz",
    "phone_number": "+998901112233",
    "name": "Дилноза",
    "is_parent": False,
    "parent_id": "3f0e4c8a-6a1b-4d7e-9d51-2b8f1f3c0a11",
}


class ClientCreate(BaseModel):
    """A client as the booking form knows it: an owner of a subscription (`is_parent=true`,
    with INN and subscriber code) or one of the owner's users (`parent_id` = the owner)."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={"examples": [_OWNER_EXAMPLE, _USER_EXAMPLE]},
    )

    client_id: uuid.UUID | None = Field(
        None, description="Our id of the client, when the front end knows it already"
    )
    client_id_hash: Hash = Field(
        None, description="The front end's hash of the client (found again by it)"
    )
    email: Email = None
    phone_number: Phone = Field(
        None, description="Digits with an optional +, spaces, dashes, brackets"
    )
    name: Text = None
    contact_name: Text = None
    company_name: LongText = Field(
        None,
        description="The company's name; the 1C mask `<prefix> <name> <code> (<inn>)` is removed",
    )
    org_inn: Inn = None
    code_abonent: Code = None
    subscriber_id: Code = Field(
        None, alias="subscriberId", description="Another name of `code_abonent`"
    )
    is_parent: bool | None = Field(
        None,
        description="true: an owner; false: a user of `parent_id`; absent: a user when "
        "`parent_id` is given, else an owner",
    )
    parent_id: uuid.UUID | None = Field(None, description="The owner's client_id (for a user)")
    region: Text = None
    city: Text = None
    country: Text = None
    partner: Text = None
    source: ClientSource | None = Field(
        None, description="Where the client comes from (set once, on creation)"
    )

    @model_validator(mode="after")
    def _one_code(self) -> Self:
        if self.subscriber_id is not None:
            if self.code_abonent is not None and self.code_abonent != self.subscriber_id:
                raise PydanticCustomError(
                    "code_abonent_mismatch",
                    "code_abonent and subscriberId differ; send one of them.",
                )
            self.code_abonent = self.subscriber_id
        return self

    @property
    def wants_owner(self) -> bool:
        """Whether the request describes an owner (explicitly, or by naming no parent)."""
        return self.is_parent if self.is_parent is not None else self.parent_id is None


class ClientRead(BaseModel):
    """A client; a user shows its owner's company, INN, subscriber code and location."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "client_id": "3f0e4c8a-6a1b-4d7e-9d51-2b8f1f3c0a11",
                    "client_id_hash": "0c6e5c4e3c1f8f0f2b3f7f0a8c1d2e3f",
                    "is_parent": True,
                    "parent_id": None,
                    "name": "Алишер Каримов",
                    "contact_name": None,
                    "company_name": "ООО Ромашка",
                    "email": "buh@romashka.uz",
                    "phone_number": "+998901234567",
                    "org_inn": "302345678",
                    "code_abonent": "100234",
                    "partner": None,
                    "region": "Ташкент",
                    "city": "Ташкент",
                    "country": "Узбекистан",
                    "source": "SITE",
                    "cl_ref_key": "8d04ce3c-6360-11e9-dd92-fa163e8ba11d",
                    "source_id": "a1b2c3d4-0000-4000-8000-000000000001",
                    "chatwoot_contact_id": 42,
                    "chatwoot_pubsub_token": "Jx8mJ3zq5g2f1bLk9vYt",
                    "created_at": "2026-01-31T09:30:00Z",
                    "updated_at": "2026-01-31T09:30:00Z",
                }
            ]
        },
    )

    client_id: uuid.UUID
    client_id_hash: str | None
    is_parent: bool
    parent_id: uuid.UUID | None
    name: str | None
    contact_name: str | None
    company_name: str | None
    email: str | None
    phone_number: str | None
    org_inn: str | None
    code_abonent: str | None
    partner: str | None
    region: str | None
    city: str | None
    country: str | None
    source: str | None
    cl_ref_key: uuid.UUID | None = Field(description="An owner's counterparty in 1C (Ref_Key)")
    source_id: str | None = Field(description="The Chatwoot contact's id in the website inbox")
    chatwoot_contact_id: int | None
    chatwoot_pubsub_token: str | None = Field(description="For the Chatwoot widget's WebSocket")
    created_at: datetime
    updated_at: datetime
