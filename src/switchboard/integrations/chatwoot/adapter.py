"""Chatwoot as the `ChatDesk` port sees it: contacts, conversations, messages and agents in our
own types, every write safe to repeat.

What makes the writes safe to repeat, given what Chatwoot (4.x) permits:

* Contacts: the Public API's contact create returns the existing contact_inbox when it is given a
  `source_id` that the inbox already has. We always send one: the one we hold, else the one the
  contact (looked up by our identifier) already has in the inbox, else a fresh random UUID of our
  own (random like Chatwoot's: the source_id is the widget's only credential). A retry of the
  same call finds the first call's contact_inbox; a later retry finds the contact by identifier.
* Conversations: the Public API keeps nothing of a conversation but `custom_attributes`, so our
  reference travels there (`cons_id`) and is looked for among the contact's conversations before
  a new one is opened.
* Messages: the Application API stores a message's `source_id` (the message's id in the system
  it came from) and lists it back; `echo_id` is never stored and `content_attributes` would reach
  the client's widget. Our reference travels as `source_id` and is looked for among the
  conversation's messages before posting.
* Status, assignment, labels and attributes are set to a value, never toggled or appended
  (`PATCH /conversations/{id}` would change only `priority`, so it is not used).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import orjson
import structlog

from switchboard.core.http.errors import (
    IntegrationError,
    PeerNotFound,
    PeerRejected,
    PeerUnavailable,
)
from switchboard.integrations.chatwoot.client import TARGET, ChatwootClient, JsonObject
from switchboard.integrations.ports import (
    ChatAgent,
    ChatContact,
    ChatConversation,
    ContactCard,
)

if TYPE_CHECKING:
    from switchboard.core.http import HttpKit
    from switchboard.integrations.chatwoot.settings import ChatwootSettings

log = structlog.get_logger("switchboard.chatwoot")

#: The conversation custom attribute that carries our consultation's reference.
REFERENCE_ATTRIBUTE = "cons_id"
#: Messages we post carry `source_id = MESSAGE_SOURCE_PREFIX + reference`.
MESSAGE_SOURCE_PREFIX = "switchboard:"
#: The agent custom attribute that names the 1C user (`Catalog_Пользователи.Ref_Key`).
MANAGER_ATTRIBUTE = "cl_ref_key"
#: toggle_status accepts these.
STATUSES = frozenset({"open", "pending", "resolved", "snoozed"})
#: How far back (pages of 20) a repeated post looks for its earlier copy.
MESSAGE_PAGES_SEARCHED = 25

# Cleaning of custom attributes, as the original integration did (Chatwoot keeps JSONB, but its
# UI and webhooks choke on huge or binary values).
VALUE_LIMIT = 500
KEY_LIMIT = 100
KEYS_LIMIT = 50

E164 = re.compile(r"\+[1-9]\d{1,14}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PHONE_PUNCTUATION = re.compile(r"[\s\-().]")
LABEL_FORBIDDEN = re.compile(r"[^\w-]+")


class ChatwootAdapter:
    """The `ChatDesk` port over Chatwoot's Public and Application APIs; also its health check."""

    name = "chatwoot"

    def __init__(self, client: ChatwootClient) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, settings: ChatwootSettings, kit: HttpKit) -> ChatwootAdapter:
        return cls(ChatwootClient.from_settings(settings, kit))

    async def ping(self) -> None:
        await self.client.ping()

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- contacts ------------------------------------------------------------------------------

    async def ensure_contact(self, card: ContactCard) -> ChatContact:
        """The contact of `card.identifier` in the website inbox.

        With a known `source_id` one call: the Public API hands back that contact_inbox (or makes
        it again, under the same id, if it was deleted). Otherwise the contact is looked up by
        identifier and its contact_inbox here reused, so neither a repeat nor a lost answer
        makes a second one; a contact Chatwoot creates now gets the card's additional attributes
        (the Public API does not take them). An existing contact is not changed: that is
        `update_contact`'s job.
        """
        if card.source_id:
            return _chat_contact(await self.client.public_create_contact(_public_body(card)))
        known = await self._contact_by_identifier(card.identifier)
        source_id = _source_id_in_inbox(known, self.client.inbox_id) if known else None
        body = _public_body(card, source_id or str(uuid.uuid4()))
        contact = _chat_contact(await self.client.public_create_contact(body))
        if known is None and card.additional and contact.contact_id is not None:
            await self._patch_contact(
                contact.contact_id, {"additional_attributes": clean_attributes(card.additional)}
            )
        return contact

    async def update_contact(self, contact_id: int, card: ContactCard) -> None:
        """Name, email, phone and both attribute sets (merged into Chatwoot's). The identifier is
        left alone: a contact Chatwoot merged by email or phone may carry another client's."""
        body: JsonObject = {"name": card.name}
        body.update(_reachability(card))
        if card.attributes:
            body["custom_attributes"] = clean_attributes(card.attributes)
        if card.additional:
            body["additional_attributes"] = clean_attributes(card.additional)
        await self._patch_contact(contact_id, body)

    async def _patch_contact(self, contact_id: int, body: JsonObject) -> None:
        """A field another contact holds (email, phone) or Chatwoot will not take is left out
        and the rest saved, rather than the whole update refused for good."""
        try:
            await self.client.update_contact(contact_id, body)
        except PeerRejected as error:
            refused = _refused_fields(error) & set(body)
            if error.status_code != 422 or not refused:
                raise
            log.warning(
                "chatwoot refused contact fields; saved without them",
                contact_id=contact_id,
                fields=sorted(refused),
                reason=error.message,
            )
            await self.client.update_contact(
                contact_id, {k: v for k, v in body.items() if k not in refused}
            )

    async def _contact_by_identifier(self, identifier: str) -> JsonObject | None:
        condition = {
            "attribute_key": "identifier",
            "filter_operator": "equal_to",
            "values": [identifier],
            "query_operator": None,
        }
        for contact in await self.client.filter_contacts([condition]):
            # The filter compares case-insensitively; ours is an exact id.
            if contact.get("identifier") == identifier:
                return contact
        return None

    # -- conversations -------------------------------------------------------------------------

    async def open_conversation(
        self,
        contact: ChatContact,
        *,
        reference: str,
        attributes: Mapping[str, object],
        first_attempt: bool = False,
    ) -> ChatConversation:
        """The conversation that carries `cons_id = reference`, opened when the contact has
        none. The look-up reads the contact's 20 most recently active conversations (all that
        Chatwoot lists), which holds one opened moments ago by an attempt whose answer was lost.
        Attributes are cleaned as `set_attributes` cleans them. On a first attempt there is
        nothing to look for, and the look-up (a round trip) is skipped."""
        if not first_attempt:
            existing = await self._existing_conversation(contact, reference)
            if existing is not None:
                return existing
        custom = clean_attributes({**attributes, REFERENCE_ATTRIBUTE: reference})
        created = await self.client.public_create_conversation(contact.source_id, custom)
        return ChatConversation(
            conversation_id=_int(created, "id"), status=str(created.get("status") or "open")
        )

    async def _existing_conversation(
        self, contact: ChatContact, reference: str
    ) -> ChatConversation | None:
        contact_id = contact.contact_id
        if contact_id is None:
            contact_id = _chat_contact(await self._public_contact(contact)).contact_id
        if contact_id is None:
            return None
        return await self._conversation_with(contact_id, reference)

    async def _public_contact(self, contact: ChatContact) -> JsonObject:
        return await self.client.public_contact(contact.source_id)

    async def _conversation_with(self, contact_id: int, reference: str) -> ChatConversation | None:
        for conversation in await self.client.contact_conversations(contact_id):
            attributes = conversation.get("custom_attributes") or {}
            if isinstance(attributes, dict) and attributes.get(REFERENCE_ATTRIBUTE) == reference:
                return _chat_conversation(conversation)
        return None

    async def assign(
        self, conversation_id: int, *, agent_id: int | None = None, team_id: int | None = None
    ) -> None:
        """The team first (a team change may drop an assignee outside it), then the agent;
        `agent_id=None` unassigns. Chatwoot answers null instead of refusing an agent or team
        that is not in the account (and clears the assignment): that is reported as refused."""
        if team_id is not None:
            team = await self.client.assign(conversation_id, {"team_id": team_id})
            if team is None:
                raise PeerRejected(TARGET, f"team {team_id} is not in the account")
        agent = await self.client.assign(conversation_id, {"assignee_id": agent_id})
        if agent_id is not None and agent is None:
            raise PeerRejected(TARGET, f"agent {agent_id} is not in the account")

    async def set_status(self, conversation_id: int, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"Chatwoot has no conversation status {status!r}")
        await self.client.toggle_status(conversation_id, status)

    async def set_attributes(self, conversation_id: int, attributes: Mapping[str, object]) -> None:
        """Chatwoot replaces the whole set, so the current one is read and ours merged in; the
        write is skipped when nothing changes (no `conversation_updated` webhook for nothing)."""
        current = (await self.client.conversation(conversation_id)).get("custom_attributes")
        current = current if isinstance(current, dict) else {}
        merged = merge_attributes(current, clean_attributes(attributes))
        if merged != current:
            await self.client.replace_custom_attributes(conversation_id, merged)

    async def add_labels(self, conversation_id: int, labels: Collection[str]) -> None:
        """Labels are made in the account when missing, then added to the conversation's own
        (Chatwoot replaces the list, so the current one is read first)."""
        wanted = [title for title in dict.fromkeys(label_title(raw) for raw in labels) if title]
        if not wanted:
            return
        await self._ensure_labels(wanted)
        current = await self.client.conversation_labels(conversation_id)
        combined = list(dict.fromkeys([*current, *wanted]))
        if combined != current:
            await self.client.replace_conversation_labels(conversation_id, combined)

    async def _ensure_labels(self, titles: Iterable[str]) -> None:
        known = {str(label.get("title", "")).lower() for label in await self.client.labels()}
        for title in titles:
            if title in known:
                continue
            try:
                await self.client.create_label(title)
            except PeerRejected as error:
                # 422 "has already been taken" (or 409 behind some proxies): made meanwhile.
                if error.status_code not in (409, 422):
                    raise

    async def delete_conversation(self, conversation_id: int) -> None:
        """Gone already (404) is done. Chatwoot deletes in a background job after answering."""
        try:
            await self.client.delete_conversation(conversation_id)
        except PeerNotFound:
            log.info("chatwoot conversation already gone", conversation_id=conversation_id)

    # -- messages ------------------------------------------------------------------------------

    async def post_message(self, conversation_id: int, text: str, *, reference: str) -> int:
        """An outgoing, public message, posted once per `reference`: a copy already in the
        conversation (from an attempt whose answer was lost) is returned instead."""
        source_id = MESSAGE_SOURCE_PREFIX + reference
        existing = await self._message_with(conversation_id, source_id)
        if existing is not None:
            return existing
        created = await self.client.create_message(
            conversation_id,
            {
                "content": text,
                "message_type": "outgoing",
                "private": False,
                "source_id": source_id,
            },
        )
        return _int(created, "id")

    async def _message_with(self, conversation_id: int, source_id: str) -> int | None:
        """Pages back from the newest message; a lost answer is recent, so this usually reads
        one page. Only an earlier copy more than 500 messages back would go unseen."""
        before: int | None = None
        for _ in range(MESSAGE_PAGES_SEARCHED):
            page = await self.client.messages(conversation_id, before=before)
            for message in page:
                if message.get("source_id") == source_id:
                    return _int(message, "id")
            ids = [message["id"] for message in page if isinstance(message.get("id"), int)]
            if not ids:
                return None
            before = min(ids)
        return None

    # -- teams and agents ----------------------------------------------------------------------

    async def team_id(self, name: str) -> int | None:
        wanted = name.strip().lower()
        for team in await self.client.teams():
            if str(team.get("name", "")).strip().lower() == wanted:
                return _int(team, "id")
        return None

    async def agents(self) -> list[ChatAgent]:
        return [_chat_agent(agent) for agent in await self.client.agents()]

    async def create_agent(self, *, name: str, email: str, manager_key: uuid.UUID) -> ChatAgent:
        """The account's agent with this email, invited when missing.

        Chatwoot's Application API does not store an agent's custom attributes (it permits
        name, email, role, availability and auto_offline), so `cl_ref_key` cannot be written
        here; the returned agent carries `manager_key` as asked, for the caller's mapping.
        """
        agent = await self._agent_by_email(email)
        if agent is None:
            try:
                agent = await self.client.create_agent(
                    {"name": name, "email": email, "role": "agent"}
                )
            except PeerRejected as error:
                # Already in the account (e.g. an earlier attempt whose answer was lost).
                agent = await self._agent_by_email(email) if error.status_code == 422 else None
                if agent is None:
                    raise
        found = _chat_agent(agent)
        return ChatAgent(
            agent_id=found.agent_id,
            name=found.name,
            email=found.email,
            manager_key=found.manager_key or manager_key,
        )

    async def _agent_by_email(self, email: str) -> JsonObject | None:
        wanted = email.strip().lower()
        for agent in await self.client.agents():
            if str(agent.get("email") or "").lower() == wanted:
                return agent
        return None

    async def add_inbox_member(self, agent_id: int) -> None:
        """Adds the agent to the website inbox (`CHATWOOT_INBOX_ID`), keeping every member it
        has: the current list is read and sent whole with the agent added, which is right both
        for Chatwoot 4.x (adds) and for older versions (replace the list)."""
        inbox_id = self.client.inbox_id
        if inbox_id is None:
            raise PeerRejected(TARGET, "CHATWOOT_INBOX_ID is not set: no inbox to add agents to")
        members = [_int(agent, "id") for agent in await self.client.inbox_members(inbox_id)]
        if agent_id in members:
            return
        await self.client.add_inbox_members(inbox_id, [*members, agent_id])


# -- mapping Chatwoot's answers to our types ---------------------------------------------------


def _int(body: Mapping[str, Any], key: str) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PeerUnavailable(TARGET, f"answered without an integer {key!r}")
    return value


def _chat_contact(body: JsonObject) -> ChatContact:
    source_id = body.get("source_id")
    if not isinstance(source_id, str) or not source_id:
        raise PeerUnavailable(TARGET, "answered a contact create without a source_id")
    contact_id = body.get("id")
    token = body.get("pubsub_token")
    return ChatContact(
        contact_id=contact_id if isinstance(contact_id, int) else None,
        source_id=source_id,
        pubsub_token=token if isinstance(token, str) and token else None,
    )


def _chat_conversation(body: JsonObject) -> ChatConversation:
    meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
    assignee = meta.get("assignee") if isinstance(meta, dict) else None
    assignee_id = assignee.get("id") if isinstance(assignee, dict) else None
    return ChatConversation(
        conversation_id=_int(body, "id"),
        status=str(body.get("status") or "open"),
        assignee_id=assignee_id if isinstance(assignee_id, int) else None,
    )


def _chat_agent(body: JsonObject) -> ChatAgent:
    attributes = body.get("custom_attributes")
    raw_key = attributes.get(MANAGER_ATTRIBUTE) if isinstance(attributes, dict) else None
    email = body.get("email")
    return ChatAgent(
        agent_id=_int(body, "id"),
        name=str(body.get("name") or body.get("available_name") or ""),
        email=email if isinstance(email, str) and email else None,
        manager_key=_guid(raw_key),
    )


def _guid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _source_id_in_inbox(contact: JsonObject, inbox_id: int | None) -> str | None:
    """The contact's first source_id in our inbox (stable however many more are made)."""
    for row in contact.get("contact_inboxes") or []:
        if not isinstance(row, dict):
            continue
        inbox = row.get("inbox")
        row_inbox = inbox.get("id") if isinstance(inbox, dict) else row.get("inbox_id")
        source_id = row.get("source_id")
        if inbox_id is not None and row_inbox == inbox_id and isinstance(source_id, str):
            return source_id
    return None


def _refused_fields(error: IntegrationError) -> set[str]:
    """The `attributes` of Chatwoot's RecordInvalid answer (`{message, attributes}`)."""
    try:
        body = orjson.loads(error.body or "")
    except orjson.JSONDecodeError:
        return set()
    names = body.get("attributes") if isinstance(body, dict) else None
    return {str(name) for name in names} if isinstance(names, list) else set()


# -- what we send --------------------------------------------------------------------------


def _public_body(card: ContactCard, source_id: str | None = None) -> JsonObject:
    """The Public API's contact fields (it permits no additional_attributes)."""
    body: JsonObject = {
        "source_id": source_id or card.source_id,
        "identifier": card.identifier,
        "name": card.name,
    }
    body.update(_reachability(card))
    if card.attributes:
        body["custom_attributes"] = clean_attributes(card.attributes)
    return body


def _reachability(card: ContactCard) -> JsonObject:
    """Email and phone as Chatwoot validates them; a value it would refuse is left out."""
    fields: JsonObject = {}
    email = (card.email or "").strip().lower()
    if EMAIL.fullmatch(email):
        fields["email"] = email
    phone = e164(card.phone_number)
    if phone:
        fields["phone_number"] = phone
    return fields


def e164(phone: str | None) -> str | None:
    """`+998 (90) 123-45-67` → `+998901234567`; None for what cannot be E.164."""
    if not phone:
        return None
    digits = PHONE_PUNCTUATION.sub("", phone.strip())
    if not digits.startswith("+"):
        digits = "+" + digits
    return digits if E164.fullmatch(digits) else None


def label_title(raw: str) -> str:
    """Chatwoot's label title: lower case letters, digits, `_` and `-` only."""
    return LABEL_FORBIDDEN.sub("-", raw.strip().lower()).strip("-")


def clean_attributes(attributes: Mapping[str, object]) -> dict[str, Any]:
    """Custom attributes Chatwoot shows well: keys of at most 100 characters (longer ones are
    dropped), at most 50 keys, control characters removed, text and JSON cut to 500
    characters, dates as ISO text (aware ones in UTC)."""
    cleaned: dict[str, Any] = {}
    for raw_key, raw_value in attributes.items():
        key = strip_controls(str(raw_key)).strip()
        if not key or len(key) > KEY_LIMIT:
            continue
        cleaned[key] = clean_value(raw_value)
        if len(cleaned) == KEYS_LIMIT:
            break
    return cleaned


def merge_attributes(current: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """`current` updated with `new`; past 50 keys the new ones win the places."""
    merged = {**current, **new}
    if len(merged) <= KEYS_LIMIT:
        return merged
    kept = dict(new)
    for key, value in current.items():
        if len(kept) >= KEYS_LIMIT:
            break
        kept.setdefault(key, value)
    return kept


def clean_value(value: object) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (Mapping, list, tuple)):
        text = orjson.dumps(value, default=str).decode()
        if len(text) <= VALUE_LIMIT:
            return orjson.loads(text)
        return strip_controls(text)[:VALUE_LIMIT]
    return strip_controls(str(value))[:VALUE_LIMIT]


def strip_controls(text: str) -> str:
    """Removes control characters (Unicode category Cc) but line breaks and tabs."""
    return "".join(char for char in text if char in "\n\t" or unicodedata.category(char) != "Cc")
