"""Events of conversations, on one channel per conversation (`messenger.conversation:<id>`)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import ConfigDict

from switchboard.core.realtime import EventModel


def channel(conversation_id: int) -> str:
    return f"messenger.conversation:{conversation_id}"


class MessageCreated(EventModel):
    """A message was stored in a conversation (published when its transaction commits). The
    text is not carried: a listener reads the message itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    event_name: ClassVar[str] = "message.created"

    conversation_id: int
    message_id: int
    direction: Literal["in", "out"]
    author_kind: Literal["contact", "staff", "system"]
