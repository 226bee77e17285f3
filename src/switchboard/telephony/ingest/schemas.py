"""The body a PBX sends for each call event (seed 003), as read here.

Only what routing needs is checked; every other field the PBX sends is kept as it came (the event
is stored raw). Numbers may come as strings or numbers, as Asterisk's dialplan produces them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _text(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _text_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part for part in (piece.strip() for piece in value.split(",")) if part]
    if isinstance(value, list):
        return [_text(item) for item in value]
    return value


Text = Annotated[str, BeforeValidator(_text)]
OptionalText = Annotated[str | None, BeforeValidator(_text)]


class AsteriskEvent(BaseModel):
    """`POST /start|/dial|/bridge|/hangup`: the fields the platform reads; others are kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, str_strip_whitespace=True)

    token: Text = Field(
        alias="Token",
        min_length=1,
        max_length=200,
        description="The enterprise's PBX token (401 when unknown).",
        examples=["demo-0367"],
    )
    unique_id: Text = Field(
        alias="UniqueId",
        min_length=1,
        max_length=100,
        description="Asterisk's id of the call; every event of one call carries it.",
        examples=["1732960000.123"],
    )
    call_type: Annotated[int | None, BeforeValidator(_text)] = Field(
        None,
        alias="CallType",
        ge=0,
        le=2,
        description="0 incoming, 1 outgoing, 2 internal.",
        examples=[0],
    )
    phone: OptionalText = Field(None, alias="Phone", max_length=64, examples=["375291234567"])
    caller_id_num: OptionalText = Field(
        None, alias="CallerIDNum", max_length=64, examples=["375291234567"]
    )
    extensions: Annotated[list[Text], BeforeValidator(_text_list)] = Field(
        default_factory=list,
        alias="Extensions",
        max_length=100,
        description="The internal numbers the event concerns (a ring group rings several).",
        examples=[["150", "151"]],
    )
    connected_line_num: OptionalText = Field(
        None, alias="ConnectedLineNum", max_length=64, examples=["150"]
    )
    call_status: OptionalText = Field(
        None,
        alias="CallStatus",
        max_length=16,
        description='On hangup: "2" answered, "0" not answered (busy: "1" or a busy cause).',
        examples=["2"],
    )
    start_time: OptionalText = Field(
        None,
        alias="StartTime",
        max_length=32,
        description="On hangup: when the call was answered (empty when it was not).",
        examples=["2026-11-30 10:15:04"],
    )
    end_time: OptionalText = Field(None, alias="EndTime", max_length=32)
    trunk: OptionalText = Field(None, alias="Trunk", max_length=100, examples=["0001363"])


EXAMPLE_DIAL = {
    "Token": "demo-0367",
    "UniqueId": "1732960000.123",
    "CallType": 0,
    "Phone": "375291234567",
    "CallerIDNum": "375291234567",
    "Extensions": ["150", "151"],
    "Trunk": "0001363",
}


class Accepted(BaseModel):
    status: str = Field("ok", examples=["ok"])
    #: False when the same event had been received before (it is stored once).
    stored: bool = Field(True, examples=[True])
