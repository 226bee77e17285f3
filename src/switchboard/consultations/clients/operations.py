"""Outbox operations of the clients part: a client's Chatwoot contact and an owner's 1C
counterparty, each brought to what our database holds when the task runs."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.clients import repository, service
from switchboard.consultations.models import Client
from switchboard.consultations.sync.operations import Operation, Payload, Skip
from switchboard.integrations.ports import ContactCard, CounterpartyCard

if TYPE_CHECKING:
    from switchboard.integrations.registry import Adapters

log = structlog.get_logger(__name__)


async def _client(session: AsyncSession, payload: Payload) -> Client:
    client = await repository.by_id(session, uuid.UUID(str(payload["client_id"])))
    if client is None:
        raise Skip("the client no longer exists")
    return client


# --- chatwoot.sync_contact -----------------------------------------------------------------------


@dataclass(frozen=True)
class ContactSync:
    card: ContactCard
    digest: str


async def load_contact(session: AsyncSession, payload: Payload) -> ContactSync:
    client = await _client(session, payload)
    card = service.contact_card(client, await service.owner_of(session, client))
    if service.contact_is_current(client, card):
        raise Skip("Chatwoot has this contact already")
    # The source_id we hold keeps the widget's session; it is not part of the content.
    return ContactSync(dataclasses.replace(card, source_id=client.source_id), service.digest(card))


async def push_contact(adapters: Adapters, job: ContactSync) -> Mapping[str, Any]:
    assert adapters.chat is not None  # the runner checks the peer is configured
    contact = await adapters.chat.ensure_contact(job.card)
    # ensure_contact leaves a contact that existed as it was: bring it up to date.
    if contact.contact_id is not None:
        await adapters.chat.update_contact(contact.contact_id, job.card)
    return {
        "contact_id": contact.contact_id,
        "source_id": contact.source_id,
        "pubsub_token": contact.pubsub_token,
        "digest": job.digest,
    }


async def save_contact(session: AsyncSession, payload: Payload, result: Any) -> None:
    client = await repository.by_id(session, uuid.UUID(str(payload["client_id"])))
    if client is None or result is None:
        return
    client.source_id = result["source_id"]
    if result.get("pubsub_token"):
        client.chatwoot_pubsub_token = result["pubsub_token"]
    contact_id = result.get("contact_id")
    if contact_id is not None:
        holder = await repository.holder_of_contact(session, contact_id)
        if holder in (None, client.client_id):
            client.chatwoot_contact_id = contact_id
        else:
            # Chatwoot merges contacts by e-mail or phone: two of our clients, one contact.
            log.warning(
                "chatwoot contact already linked to another client",
                client_id=str(client.client_id),
                other_client_id=str(holder),
                contact_id=contact_id,
            )
    client.chatwoot_synced_digest = result["digest"]


# --- onec.save_owner -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CounterpartySync:
    card: CounterpartyCard
    known_ref_key: uuid.UUID | None
    digest: str


async def load_counterparty(session: AsyncSession, payload: Payload) -> CounterpartySync:
    owner = await _client(session, payload)
    prefix = str(payload.get("name_prefix") or "")
    card = service.counterparty_card(owner, prefix)
    if card is None:
        raise Skip("the client is not an owner with an INN and a subscriber code")
    if service.counterparty_is_current(owner, card):
        raise Skip("1C has this counterparty already")
    return CounterpartySync(card, owner.cl_ref_key, service.digest(card))


async def save_in_onec(adapters: Adapters, job: CounterpartySync) -> Mapping[str, Any]:
    assert adapters.accounting is not None  # the runner checks the peer is configured
    card = job.card
    found = await adapters.accounting.find_counterparty(
        inn=card.inn, code_abonent=card.code_abonent
    )
    ref_key = found.ref_key if found is not None else job.known_ref_key
    saved = await adapters.accounting.save_counterparty(dataclasses.replace(card, ref_key=ref_key))
    return {
        "ref_key": str(saved.ref_key),
        "parent_key": str(saved.parent_key) if saved.parent_key else None,
        "digest": job.digest,
    }


async def save_ref_key(session: AsyncSession, payload: Payload, result: Any) -> None:
    owner = await repository.by_id(session, uuid.UUID(str(payload["client_id"])))
    if owner is None or result is None:
        return
    ref_key = uuid.UUID(result["ref_key"])
    holder = await repository.holder_of_ref_key(session, ref_key)
    if holder not in (None, owner.client_id):
        log.warning(
            "1C counterparty already linked to another client",
            client_id=str(owner.client_id),
            other_client_id=str(holder),
        )
        return
    owner.cl_ref_key = ref_key
    owner.parent_key = uuid.UUID(result["parent_key"]) if result.get("parent_key") else None
    owner.onec_synced_digest = result["digest"]


OPERATIONS = (
    Operation(
        name=service.SYNC_CONTACT,
        target="chatwoot",
        prepare=load_contact,
        call=push_contact,
        record=save_contact,
    ),
    Operation(
        name=service.SAVE_OWNER,
        target="onec",
        prepare=load_counterparty,
        call=save_in_onec,
        record=save_ref_key,
    ),
)
