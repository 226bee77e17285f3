"""The outbox operation that posts a notification into the consultation's conversation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.notifications import repository
from switchboard.consultations.notifications.service import POST_MESSAGE
from switchboard.consultations.sync.operations import NotReady, Operation, Payload, Skip

if TYPE_CHECKING:
    from switchboard.integrations.registry import Adapters


@dataclass(frozen=True)
class Message:
    conversation_id: int
    text: str
    reference: str


async def find_conversation(session: AsyncSession, payload: Payload) -> Message:
    cons_id = str(payload["cons_id"])
    conversation_id, exists = await repository.conversation_of(session, cons_id)
    if not exists:
        raise Skip("the consultation no longer exists")
    if conversation_id is None:
        if await repository.conversation_pending(session, cons_id):
            raise NotReady("the consultation's conversation is not open yet")
        raise Skip("the consultation has no Chatwoot conversation")
    return Message(conversation_id, str(payload["text"]), str(payload["reference"]))


async def post_message(adapters: Adapters, message: Message) -> Mapping[str, Any]:
    assert adapters.chat is not None  # the runner checks the peer is configured
    message_id = await adapters.chat.post_message(
        message.conversation_id, message.text, reference=message.reference
    )
    return {"message_id": message_id, "conversation_id": message.conversation_id}


OPERATIONS = (
    Operation(name=POST_MESSAGE, target="chatwoot", prepare=find_conversation, call=post_message),
)
