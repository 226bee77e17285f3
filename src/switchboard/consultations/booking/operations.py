"""Outbox operations of consultations: what Chatwoot's conversation and 1C's document are owed.

Every operation takes `{"cons_id": …}` (plus what its name says) and reads the rest from the
row when it runs, so a change queued twice sends the current state, not a stale copy. Other
parts queue them by name (`chatwoot.assign` after a reassignment, `chatwoot.set_attributes` after
an ETL change, …). Chatwoot's operations wait (`NotReady`) while the conversation is still being
opened; 1C's wait while the document is still being created.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.booking import repository, service
from switchboard.consultations.booking.service import (
    ASSIGN,
    CREATE_IN_ONEC,
    DELETE_CONVERSATION,
    DELETE_IN_ONEC,
    OPEN_CONVERSATION,
    RECORD_RATING,
    RECORD_REDATE,
    SET_ATTRIBUTES,
    SET_LABELS,
    SET_STATUS,
    UPDATE_IN_ONEC,
)
from switchboard.consultations.clients.service import contact_card, counterparty_title
from switchboard.consultations.models import Client, Consultation
from switchboard.consultations.notifications.service import notify
from switchboard.consultations.sync.operations import ATTEMPT, NotReady, Operation, Payload, Skip
from switchboard.consultations.sync.service import enqueue
from switchboard.core.http.errors import PeerNotFound
from switchboard.integrations.ports import (
    ChatContact,
    ConsultationChanges,
    ConsultationDocument,
    ContactCard,
    DailyLimitReached,
    RatingRecord,
    RedateRecord,
)

if TYPE_CHECKING:
    from switchboard.integrations.registry import Adapters

log = structlog.get_logger(__name__)

DEFAULT_ZONE = "Asia/Tashkent"


# --- shared reads --------------------------------------------------------------------------------


async def _row(session: AsyncSession, payload: Payload) -> Consultation:
    row = await repository.consultation(session, str(payload["cons_id"]))
    if row is None:
        raise Skip("the consultation no longer exists")
    return row


async def _conversation(session: AsyncSession, row: Consultation) -> int:
    """The consultation's conversation; NotReady while it is being opened."""
    if row.chatwoot_conversation_id is not None:
        return row.chatwoot_conversation_id
    if await repository.task_open(session, row.cons_id, OPEN_CONVERSATION):
        raise NotReady("the conversation is not open yet")
    raise Skip("the consultation has no Chatwoot conversation")


async def _document(session: AsyncSession, row: Consultation) -> uuid.UUID:
    """The consultation's 1C document; NotReady while it is being created."""
    if row.cl_ref_key is None:
        raise Skip("the consultation has no 1C document")
    if row.number is None:
        if await repository.task_open(session, row.cons_id, CREATE_IN_ONEC):
            raise NotReady("the 1C document is not created yet")
        raise Skip("the consultation was never recorded in 1C")
    return row.cl_ref_key


async def _people(session: AsyncSession, row: Consultation) -> tuple[Client, Client] | None:
    """(the consultation's client, the client's owner)."""
    if row.client_id is None:
        return None
    client = await repository.client(session, row.client_id)
    if client is None:
        return None
    if client.parent_id is None:
        return client, client
    owner = await repository.client(session, client.parent_id)
    return (client, owner) if owner is not None else None


def _chat(adapters: Adapters) -> Any:
    assert adapters.chat is not None  # the runner checks the peer is configured
    return adapters.chat


def _accounting(adapters: Adapters) -> Any:
    assert adapters.accounting is not None
    return adapters.accounting


# --- chatwoot.open_conversation ------------------------------------------------------------------


@dataclass(frozen=True)
class Opening:
    card: ContactCard
    #: The client's contact in the inbox when we hold it (no call needed to find it).
    known: ChatContact | None
    reference: str
    attributes: Mapping[str, object]
    #: No attempt was made before: no conversation can exist yet (no look-up needed).
    first_attempt: bool = False


async def prepare_opening(session: AsyncSession, payload: Payload) -> Opening:
    row = await _row(session, payload)
    if row.chatwoot_conversation_id is not None:
        raise Skip("the conversation is open already")
    people = await _people(session, row)
    if people is None:
        raise Skip("the consultation has no client to talk to")
    client, owner = people
    card = dataclasses.replace(contact_card(client, owner), source_id=client.source_id)
    known = None
    if client.source_id and client.chatwoot_contact_id is not None:
        known = ChatContact(
            client.chatwoot_contact_id, client.source_id, client.chatwoot_pubsub_token
        )
    code = owner.code_abonent or client.code_abonent
    return Opening(
        card=card,
        known=known,
        reference=row.cons_id,
        attributes=await service.conversation_attributes(session, row, code=code),
        first_attempt=payload.get(ATTEMPT) == 1,
    )


async def open_conversation(adapters: Adapters, opening: Opening) -> Mapping[str, Any]:
    chat = _chat(adapters)
    contact = opening.known or await chat.ensure_contact(opening.card)
    try:
        conversation = await chat.open_conversation(
            contact,
            reference=opening.reference,
            attributes=opening.attributes,
            first_attempt=opening.first_attempt,
        )
    except PeerNotFound:
        if opening.known is None:
            raise
        # The contact's inbox entry we kept is gone in Chatwoot: make it again.
        contact = await chat.ensure_contact(opening.card)
        conversation = await chat.open_conversation(
            contact, reference=opening.reference, attributes=opening.attributes
        )
    return {
        "conversation_id": conversation.conversation_id,
        "source_id": contact.source_id,
        "pubsub_token": contact.pubsub_token,
        "contact_id": contact.contact_id,
        "new_contact": contact is not opening.known,
    }


async def save_conversation(
    session: AsyncSession, payload: Payload, result: Mapping[str, Any]
) -> None:
    cons_id = str(payload["cons_id"])
    exists, client_id = await repository.set_conversation(
        session,
        cons_id,
        conversation_id=int(result["conversation_id"]),
        source_id=result.get("source_id"),
    )
    if not exists:
        # The booking was undone while Chatwoot answered: the conversation must go too.
        await enqueue(session, DELETE_CONVERSATION, {"conversation_id": result["conversation_id"]})
        return
    if client_id is not None and result.get("new_contact") and result.get("source_id"):
        await repository.remember_contact(
            session,
            client_id,
            source_id=str(result["source_id"]),
            pubsub_token=result.get("pubsub_token"),
        )


# --- chatwoot.assign, set_labels, set_status, set_attributes, delete_conversation -----------------


@dataclass(frozen=True)
class Assignment:
    conversation_id: int
    agent_id: int | None
    team: str | None


async def prepare_assignment(session: AsyncSession, payload: Payload) -> Assignment:
    """The consultation's current manager as a Chatwoot agent (`sys.user_mapping`, then
    `cons.users`), and the team when the payload names one."""
    row = await _row(session, payload)
    conversation_id = await _conversation(session, row)
    agent = await repository.chatwoot_agent_of(session, row.manager) if row.manager else None
    team = payload.get("team")
    return Assignment(conversation_id, agent, str(team) if team else None)


async def assign(adapters: Adapters, assignment: Assignment) -> Mapping[str, Any]:
    chat = _chat(adapters)
    team_id = await chat.team_id(assignment.team) if assignment.team else None
    if assignment.team and team_id is None:
        log.warning("chatwoot team not found; assigned without it", team=assignment.team)
    await chat.assign(assignment.conversation_id, agent_id=assignment.agent_id, team_id=team_id)
    return {"agent_id": assignment.agent_id, "team_id": team_id}


@dataclass(frozen=True)
class ChatChange:
    conversation_id: int
    value: Any


async def prepare_labels(session: AsyncSession, payload: Payload) -> ChatChange:
    row = await _row(session, payload)
    conversation_id = await _conversation(session, row)
    names = await repository.dictionary_names(
        session, category_key=None, question_key=None, po_type_key=row.po_type_key
    )
    return ChatChange(conversation_id, service.conversation_labels(row, names["po_type"]))


async def add_labels(adapters: Adapters, change: ChatChange) -> Mapping[str, Any]:
    await _chat(adapters).add_labels(change.conversation_id, change.value)
    return {"labels": list(change.value)}


async def prepare_status(session: AsyncSession, payload: Payload) -> ChatChange:
    row = await _row(session, payload)
    status = str(payload.get("status") or service.CHATWOOT_STATUS[row.status])
    return ChatChange(await _conversation(session, row), status)


async def set_status(adapters: Adapters, change: ChatChange) -> Mapping[str, Any]:
    await _chat(adapters).set_status(change.conversation_id, change.value)
    return {"status": change.value}


async def prepare_attributes(session: AsyncSession, payload: Payload) -> ChatChange:
    row = await _row(session, payload)
    conversation_id = await _conversation(session, row)
    return ChatChange(conversation_id, await service.conversation_attributes(session, row))


async def set_attributes(adapters: Adapters, change: ChatChange) -> Mapping[str, Any]:
    await _chat(adapters).set_attributes(change.conversation_id, change.value)
    return {}


async def prepare_deletion(session: AsyncSession, payload: Payload) -> int:
    """`{"conversation_id": n}` deletes that conversation; `{"cons_id": …}` the consultation's
    (once it is open)."""
    if payload.get("conversation_id") is not None:
        return int(payload["conversation_id"])
    return await _conversation(session, await _row(session, payload))


async def delete_conversation(adapters: Adapters, conversation_id: int) -> Mapping[str, Any]:
    await _chat(adapters).delete_conversation(conversation_id)
    return {"deleted": conversation_id}


async def forget_conversation(
    session: AsyncSession, payload: Payload, result: Mapping[str, Any]
) -> None:
    """A booking undone (its 1C document refused) goes once its conversation is gone."""
    if payload.get("discard_consultation") and payload.get("cons_id"):
        await repository.delete_consultation(session, str(payload["cons_id"]))


# --- onec.create_consultation --------------------------------------------------------------------


async def prepare_document(session: AsyncSession, payload: Payload) -> ConsultationDocument:
    row = await _row(session, payload)
    if row.status == "cancelled":
        raise Skip("the consultation was cancelled before 1C got it")
    if row.number is not None or row.cl_ref_key is None:
        raise Skip("the consultation is in 1C already, or never goes there")
    people = await _people(session, row)
    if people is None:
        raise Skip("the consultation has no client")
    client, owner = people
    if owner.cl_ref_key is None:
        raise NotReady("the subscriber is not in 1C yet")
    names = await repository.dictionary_names(
        session,
        category_key=row.online_question_cat,
        question_key=row.online_question,
        po_type_key=row.po_type_key,
    )
    prefix = str(payload.get("name_prefix") or "Clobus")
    return ConsultationDocument(
        ref_key=row.cl_ref_key,
        subscriber_key=owner.cl_ref_key,
        manager_key=row.manager,
        scheduled_at=row.start_date or row.create_date or row.created_at,
        created_at=row.create_date or row.created_at,
        subject=row.topic or names["question"] or names["category"] or "Консультация",
        description=row.comment or row.topic or names["question"] or "",
        comment=_document_comment(row, names, prefix),
        subscriber_title=counterparty_title(
            prefix, owner.company_name or owner.name, owner.code_abonent, owner.org_inn
        ),
        contact_how=" / ".join(
            part
            for part in (
                client.phone_number or owner.phone_number,
                client.contact_name or client.name,
                row.source,
            )
            if part
        ),
        channel=row.source or "SITE",
        language=row.lang,
        category_key=row.online_question_cat,
        question_key=row.online_question,
        importance=row.importance,
    )


def _document_comment(row: Consultation, names: Mapping[str, str | None], prefix: str) -> str:
    lines = [f"Создано из {prefix} ({row.source or 'SITE'})"]
    if names["category"]:
        lines.append(f"Категория вопроса: {names['category']}")
    if names["question"]:
        lines.append(f"Вопрос: {names['question']}")
    if row.comment:
        lines.append(row.comment)
    return "\n".join(lines)


async def create_document(adapters: Adapters, document: ConsultationDocument) -> Mapping[str, Any]:
    try:
        record = await _accounting(adapters).create_consultation(document)
    except DailyLimitReached as refusal:
        # A business answer, not a failure: the booking is undone (see `save_document`).
        log.info("1C refused a consultation: daily limit", reason=refusal.message)
        return {"daily_limit_reached": True}
    return {
        "ref_key": str(record.ref_key),
        "number": record.number,
        "subscriber_key": str(document.subscriber_key),
    }


async def save_document(session: AsyncSession, payload: Payload, result: Mapping[str, Any]) -> None:
    row = await _row(session, payload)
    zone = ZoneInfo(str(payload.get("zone") or DEFAULT_ZONE))
    if result.get("daily_limit_reached"):
        await _cancel_refused(session, row, zone)
        return
    number = result.get("number")
    queue = await service.booked_queue(session, row, payload, datetime.now(zone))
    text = service.accounting_booked_text(
        row, zone, queue, number=number, show_wait=bool(payload.get("show_wait", True))
    )
    await notify(
        session, cons_id=row.cons_id, kind="booked", text=text, unique={"cons_id": row.cons_id}
    )
    await enqueue(session, SET_ATTRIBUTES, {"cons_id": row.cons_id}, cons_id=row.cons_id)
    # Written last: the row is locked only for the end of this short transaction (the
    # conversation's ids are written to it at the same time).
    await repository.update_consultation(
        session,
        row.cons_id,
        {"number": number, "client_key": uuid.UUID(str(result["subscriber_key"]))},
    )


async def _cancel_refused(session: AsyncSession, row: Consultation, zone: ZoneInfo) -> None:
    """1C refused the document (the subscriber's day is full in 1C, e.g. by bookings made by
    phone): the consultation cannot take place; the client is told in the chat. A booking
    request still waiting for this answer undoes the consultation altogether instead."""
    old = row.status
    await repository.update_consultation(
        session,
        row.cons_id,
        {"status": "cancelled", "denied": True, "end_date": datetime.now(zone)},
    )
    await session.refresh(row)
    await service.record_status_change(session, row.cons_id, old, "cancelled", "onec")
    await enqueue(session, SET_ATTRIBUTES, {"cons_id": row.cons_id}, cons_id=row.cons_id)
    await notify(
        session,
        cons_id=row.cons_id,
        kind="refused",
        text=service.limit_cancelled_text(row, zone),
        unique={"cons_id": row.cons_id},
    )
    await enqueue(
        session, SET_STATUS, {"cons_id": row.cons_id, "status": "resolved"}, cons_id=row.cons_id
    )


# --- onec.update_consultation, delete_consultation, record_redate, record_rating -----------------


@dataclass(frozen=True)
class DocumentChange:
    ref_key: uuid.UUID
    changes: ConsultationChanges


async def prepare_changes(session: AsyncSession, payload: Payload) -> DocumentChange:
    """The row's current manager, date, end and status (whatever changed, 1C gets them all)."""
    row = await _row(session, payload)
    ref_key = await _document(session, row)
    return DocumentChange(
        ref_key,
        ConsultationChanges(
            manager_key=row.manager,
            scheduled_at=row.start_date,
            ended_at=row.end_date,
            status=row.status,
        ),
    )


async def update_document(adapters: Adapters, change: DocumentChange) -> Mapping[str, Any]:
    record = await _accounting(adapters).update_consultation(change.ref_key, change.changes)
    return {"number": record.number}


async def prepare_removal(session: AsyncSession, payload: Payload) -> uuid.UUID:
    row = await repository.consultation(session, str(payload["cons_id"]))
    if row is None:
        if payload.get("ref_key"):
            return uuid.UUID(str(payload["ref_key"]))
        raise Skip("the consultation no longer exists")
    if row.cl_ref_key is None:
        raise Skip("the consultation has no 1C document")
    if await repository.task_open(session, row.cons_id, CREATE_IN_ONEC):
        raise NotReady("the 1C document is still being created")
    return row.cl_ref_key


async def delete_document(adapters: Adapters, ref_key: uuid.UUID) -> Mapping[str, Any]:
    await _accounting(adapters).delete_consultation(ref_key)
    return {"deleted": str(ref_key)}


async def prepare_redate(session: AsyncSession, payload: Payload) -> RedateRecord:
    row = await _row(session, payload)
    await _document(session, row)
    redate = await repository.redate(session, int(payload["redate_id"]))
    if redate is None:
        raise Skip("the redate no longer exists")
    return RedateRecord(
        period=redate.period,
        document_key=redate.cons_key,
        subscriber_key=redate.clients_key or row.client_key,
        manager_key=redate.manager_key,
        old_date=redate.old_date,
        new_date=redate.new_date,
        comment=redate.comment,
    )


async def record_redate(adapters: Adapters, redate: RedateRecord) -> Mapping[str, Any]:
    await _accounting(adapters).record_redate(redate)
    return {}


async def prepare_rating(session: AsyncSession, payload: Payload) -> tuple[int, RatingRecord]:
    row = await _row(session, payload)
    await _document(session, row)
    rating_id = int(payload["rating_id"])
    answer = await repository.rating(session, rating_id)
    if answer is None:
        raise Skip("the rating no longer exists")
    rated_at = answer.rating_date or answer.created_at
    return rating_id, RatingRecord(
        period=rated_at,
        document_key=answer.cons_key,
        counterparty_key=answer.client_key or row.client_key,
        manager_key=answer.manager_key,
        question_number=answer.question_number,
        rating=answer.rating,
        question=answer.question,
        comment=answer.comment,
        rated_at=rated_at,
    )


async def record_rating(
    adapters: Adapters, prepared: tuple[int, RatingRecord]
) -> Mapping[str, Any]:
    rating_id, rating = prepared
    await _accounting(adapters).record_rating(rating)
    return {"rating_id": rating_id}


async def mark_rating_sent(
    session: AsyncSession, payload: Payload, result: Mapping[str, Any]
) -> None:
    await repository.mark_rating_sent(session, int(payload["rating_id"]))


OPERATIONS = (
    Operation(
        name=OPEN_CONVERSATION,
        target="chatwoot",
        prepare=prepare_opening,
        call=open_conversation,
        record=save_conversation,
    ),
    Operation(name=ASSIGN, target="chatwoot", prepare=prepare_assignment, call=assign),
    Operation(name=SET_LABELS, target="chatwoot", prepare=prepare_labels, call=add_labels),
    Operation(name=SET_STATUS, target="chatwoot", prepare=prepare_status, call=set_status),
    Operation(
        name=SET_ATTRIBUTES, target="chatwoot", prepare=prepare_attributes, call=set_attributes
    ),
    Operation(
        name=DELETE_CONVERSATION,
        target="chatwoot",
        prepare=prepare_deletion,
        call=delete_conversation,
        record=forget_conversation,
    ),
    Operation(
        name=CREATE_IN_ONEC,
        target="onec",
        prepare=prepare_document,
        call=create_document,
        record=save_document,
    ),
    Operation(name=UPDATE_IN_ONEC, target="onec", prepare=prepare_changes, call=update_document),
    Operation(name=DELETE_IN_ONEC, target="onec", prepare=prepare_removal, call=delete_document),
    Operation(name=RECORD_REDATE, target="onec", prepare=prepare_redate, call=record_redate),
    Operation(
        name=RECORD_RATING,
        target="onec",
        prepare=prepare_rating,
        call=record_rating,
        record=mark_rating_sent,
    ),
)
