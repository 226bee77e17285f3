"""SQL of the webhooks part: the delivery log, and what a Chatwoot event changes in `cons`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.models import (
    Client,
    Consultation,
    Manager,
    ManagerMapping,
    QuestionAnswer,
)
from switchboard.integrations.models import WebhookLog

INTEGER_MAX = 2**31 - 1

# -- the delivery log ----------------------------------------------------------------------


@dataclass(frozen=True)
class StoredDelivery:
    log_id: int
    #: False when this delivery id was stored before (a redelivery).
    fresh: bool
    processed: bool


async def store_delivery(
    session: AsyncSession,
    *,
    source: str,
    event: str | None,
    delivery_id: str | None,
    payload: Any,
    signature_valid: bool | None,
    signature: str | None = None,
    outcome: str | None = None,
) -> StoredDelivery:
    """The delivery's log row: inserted, or the one stored before under the same delivery id
    or the same valid signature (a captured delivery replayed with a new delivery id)."""
    inserted = await session.scalar(
        insert(WebhookLog)
        .values(
            source=source,
            event=event,
            delivery_id=delivery_id,
            payload=payload,
            signature_valid=signature_valid,
            signature=signature,
            outcome=outcome,
        )
        .on_conflict_do_nothing()
        .returning(WebhookLog.id)
    )
    if inserted is not None:
        return StoredDelivery(log_id=inserted, fresh=True, processed=False)
    earlier = (
        await session.execute(
            select(WebhookLog.id, WebhookLog.processed_at)
            .where(
                WebhookLog.source == source,
                or_(
                    and_(
                        WebhookLog.delivery_id.is_not(None), WebhookLog.delivery_id == delivery_id
                    ),
                    and_(WebhookLog.signature.is_not(None), WebhookLog.signature == signature),
                ),
            )
            .order_by(WebhookLog.id)
            .limit(1)
        )
    ).one()
    return StoredDelivery(
        log_id=earlier.id, fresh=False, processed=earlier.processed_at is not None
    )


async def claim_delivery(session: AsyncSession, log_id: int) -> bool:
    """Lock the delivery's row for this transaction; False when it was processed already (a
    concurrent redelivery waits here for the first one to finish, then sees it done)."""
    processed_at = await session.scalar(
        select(WebhookLog.processed_at).where(WebhookLog.id == log_id).with_for_update()
    )
    return processed_at is None


async def finish_delivery(
    session: AsyncSession, log_id: int, *, outcome: str, processed: bool
) -> None:
    values: dict[str, Any] = {"outcome": outcome}
    if processed:
        values["processed_at"] = func.now()
    await session.execute(update(WebhookLog).where(WebhookLog.id == log_id).values(**values))


# -- consultations -------------------------------------------------------------------------


async def consultation_by_conversation(
    session: AsyncSession, conversation_id: int
) -> Consultation | None:
    """The consultation of a Chatwoot conversation, locked until the transaction ends."""
    result: Consultation | None = await session.scalar(
        select(Consultation)
        .where(Consultation.chatwoot_conversation_id == conversation_id)
        .with_for_update()
    )
    return result


async def consultation_by_id(session: AsyncSession, cons_id: str) -> Consultation | None:
    result: Consultation | None = await session.scalar(
        select(Consultation).where(Consultation.cons_id == cons_id).with_for_update()
    )
    return result


async def link_conversation(session: AsyncSession, cons_id: str, conversation_id: int) -> bool:
    """Give a consultation its conversation id, if it has none yet."""
    linked = await session.scalar(
        update(Consultation)
        .where(Consultation.cons_id == cons_id, Consultation.chatwoot_conversation_id.is_(None))
        .values(chatwoot_conversation_id=conversation_id)
        .returning(Consultation.cons_id)
    )
    return linked is not None


async def insert_consultation(session: AsyncSession, values: Mapping[str, Any]) -> bool:
    """A consultation first seen in Chatwoot; False when its conversation is known already."""
    inserted = await session.scalar(
        insert(Consultation)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["chatwoot_conversation_id"])
        .returning(Consultation.cons_id)
    )
    return inserted is not None


async def update_consultation(
    session: AsyncSession, cons_id: str, values: Mapping[str, Any]
) -> None:
    await session.execute(
        update(Consultation).where(Consultation.cons_id == cons_id).values(**values)
    )


async def client_exists(session: AsyncSession, client_id: uuid.UUID) -> bool:
    found = await session.scalar(select(Client.client_id).where(Client.client_id == client_id))
    return found is not None


# -- managers ------------------------------------------------------------------------------


async def manager_key_of_agent(session: AsyncSession, agent_id: int) -> uuid.UUID | None:
    """The 1C manager behind a Chatwoot agent: `sys.user_mapping` first, then `cons.users`."""
    if agent_id > INTEGER_MAX:
        return None  # the agent columns are `integer`: no such agent can be mapped
    mapped = select(ManagerMapping.cl_manager_key).where(
        ManagerMapping.chatwoot_user_id == agent_id
    )
    listed = select(Manager.cl_ref_key).where(Manager.chatwoot_user_id == agent_id)
    key: uuid.UUID | None = await session.scalar(
        select(func.coalesce(mapped.scalar_subquery(), listed.scalar_subquery()))
    )
    return key


async def manager_name(session: AsyncSession, manager_key: uuid.UUID) -> str | None:
    name: str | None = await session.scalar(
        select(Manager.description).where(Manager.cl_ref_key == manager_key)
    )
    return name


# -- chat messages -------------------------------------------------------------------------


async def insert_chat_message(
    session: AsyncSession,
    *,
    cons_id: str,
    chatwoot_message_id: int,
    sender_type: str | None,
    message_type: str | None,
    content: str | None,
    created_at: datetime,
) -> bool:
    """One chat message in `cons.q_and_a`; False when it is there already."""
    inserted = await session.scalar(
        insert(QuestionAnswer)
        .values(
            cons_id=cons_id,
            chatwoot_message_id=chatwoot_message_id,
            sender_type=sender_type,
            message_type=message_type,
            content=content,
            created_at=created_at,
        )
        .on_conflict_do_nothing(index_elements=["chatwoot_message_id"])
        .returning(QuestionAnswer.id)
    )
    return inserted is not None
