"""The Chatwoot adapter (`ChatDesk`) against the Chatwoot emulator: each method, what lands in
Chatwoot, and that repeats and lost answers leave exactly one contact, conversation and message."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from switchboard.core.http import (
    HttpKit,
    PeerNotFound,
    PeerRejected,
    PeerTimeout,
    RetryPolicy,
)
from switchboard.core.metrics import Metrics
from switchboard.integrations.chatwoot.adapter import (
    MESSAGE_SOURCE_PREFIX,
    ChatwootAdapter,
    clean_attributes,
    e164,
    label_title,
)
from switchboard.integrations.ports import ChatContact, ContactCard
from switchboard.integrations.registry import build_adapters
from switchboard.sandbox.chatwoot.records import OUTGOING
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningChatwoot
from tests.conftest import make_settings

#: The kit's timeout in the lost-answer tests, and how long the emulator sits on the request.
SHORT_TIMEOUT = 0.5
HANG = 1.5


def desk_for(chatwoot: RunningChatwoot, timeout: float = 5.0) -> ChatwootAdapter:
    kit = HttpKit(
        Metrics(),
        retry=RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.05),
        timeout=timeout,
        breaker_threshold=100,
    )
    return ChatwootAdapter.from_settings(make_settings(**chatwoot.settings()), kit)


@pytest.fixture
async def desk(chatwoot: RunningChatwoot) -> AsyncIterator[ChatwootAdapter]:
    adapter = desk_for(chatwoot)
    yield adapter
    await adapter.aclose()


@pytest.fixture
async def impatient_desk(chatwoot: RunningChatwoot) -> AsyncIterator[ChatwootAdapter]:
    """Gives up on an answer long before the emulator's hanging faults answer."""
    adapter = desk_for(chatwoot, timeout=SHORT_TIMEOUT)
    yield adapter
    await adapter.aclose()


def card(**changes: Any) -> ContactCard:
    values: dict[str, Any] = {
        "identifier": "5f0c7a9e-0000-4000-8000-000000000001",
        "name": "ООО Ромашка",
        "email": "Info@Romashka.uz",
        "phone_number": "+998 (90) 123-45-67",
        "attributes": {"code_abonent": "12345", "inn_pinfl": "301234567", "client_type": "owner"},
        "additional": {"city": "Ташкент", "country_code": "UZ", "company_name": "Ромашка"},
    }
    values.update(changes)
    return ContactCard(**values)


def eventually(check: Callable[[], bool], what: str) -> None:
    """Waits (bounded) for the emulator to finish a request whose answer the client gave up on."""
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def all_answered(chatwoot: RunningChatwoot, method: str, path: str) -> Callable[[], bool]:
    def check() -> bool:
        entries = chatwoot.emulator.journal.matching(method, path)
        return bool(entries) and all(entry.status is not None for entry in entries)

    return check


def store(chatwoot: RunningChatwoot) -> Any:
    return chatwoot.emulator.store


def conversation(chatwoot: RunningChatwoot, display_id: int) -> Any:
    found = store(chatwoot).conversation_by_display_id(chatwoot.emulator.account_id, display_id)
    assert found is not None
    return found


async def opened(desk: ChatwootAdapter, reference: str = "cons-1") -> tuple[ChatContact, int]:
    contact = await desk.ensure_contact(card())
    chat = await desk.open_conversation(contact, reference=reference, attributes={})
    return contact, chat.conversation_id


# -- contacts ----------------------------------------------------------------------------------


async def test_a_new_contact_carries_the_card(
    desk: ChatwootAdapter, chatwoot: RunningChatwoot
) -> None:
    contact = await desk.ensure_contact(card(email="not an email"))

    assert contact.contact_id is not None
    assert contact.pubsub_token
    saved = store(chatwoot).contacts.rows[contact.contact_id]
    assert saved.identifier == card().identifier
    assert saved.email is None  # Chatwoot would refuse it: left out, not the whole contact
    assert saved.phone_number == "+998901234567"
    assert saved.custom_attributes["client_type"] == "owner"
    # The Public API takes no additional attributes; the adapter adds them to a new contact.
    assert saved.additional_attributes["company_name"] == "Ромашка"
    rows = store(chatwoot).contact_inboxes_of(contact.contact_id)
    assert [row.source_id for row in rows] == [contact.source_id]


async def test_ensuring_again_keeps_one_contact_inbox(
    desk: ChatwootAdapter, chatwoot: RunningChatwoot
) -> None:
    first = await desk.ensure_contact(card())
    again = await desk.ensure_contact(card())  # source_id unknown: found by identifier
    known = await desk.ensure_contact(card(source_id=first.source_id))

    assert again == first
    assert known == first
    assert len(store(chatwoot).contacts.all()) == 1
    assert len(store(chatwoot).contact_inboxes.all()) == 1


async def test_a_contact_made_in_chatwoot_is_reused_with_its_source_id(
    desk: ChatwootAdapter, chatwoot: RunningChatwoot
) -> None:
    made = chatwoot.emulator.add_contact("Ромашка", identifier=card().identifier)
    source_id = made["contact_inboxes"][0]["source_id"]

    contact = await desk.ensure_contact(card())

    assert contact.contact_id == made["id"]
    assert contact.source_id == source_id
    assert len(store(chatwoot).contact_inboxes.all()) == 1


async def test_a_known_source_id_comes_back_after_the_contact_was_deleted(
    desk: ChatwootAdapter, chatwoot: RunningChatwoot
) -> None:
    first = await desk.ensure_contact(card())
    assert first.contact_id is not None
    await chatwoot_delete_contact(desk, first.contact_id)

    again = await desk.ensure_contact(card(source_id=first.source_id))

    assert again.source_id == first.source_id  # the widget's stored id still works
    assert again.contact_id != first.contact_id


async def chatwoot_delete_contact(desk: ChatwootAdapter, contact_id: int) -> None:
    await desk.client.request("DELETE", desk.client.account_path(f"contacts/{contact_id}"))


async def test_a_lost_contact_answer_is_retried_onto_the_same_contact_inbox(
    impatient_desk: ChatwootAdapter, chatwoot: RunningChatwoot
) -> None:
    path = "/public/api/v1/inboxes/*/contacts"
    chatwoot.emulator.faults.add(
        Fault(method="POST", path=path, timeout=True, hang_seconds=HANG, times=1)
    )

    contact = await impatient_desk.ensure_contact(card())

    # The hanging first attempt still creates: it finds the retry's contact_inbox and stops.
    eventually(all_answered(chatwoot, "POST", path), "the hanging contact create")
    assert len(chatwoot.emulator.journal.matching("POST", path)) == 2
    assert len(store(chatwoot).contacts.all()) == 1
    assert [row.source_id for row in store(chatwoot).contact_inboxes.all()] == [contact.source_id]


async def test_update_merges_attributes_and_skips_a_taken_email(
    desk: ChatwootAdapter, chatwoot: RunningChatwoot
) -> None:
    chatwoot.emulator.add_contact("Другой", email="taken@example.com")
    contact = await desk.ensure_contact(card())
    assert contact.contact_id is not None

    await desk.update_contact(
        contact.contact_id,
        card(
            name="ООО Ромашка Плюс",
            email="taken@example.com",
            attributes={"region": "Ташкент"},
            additional={"city": "Самарканд"},
        ),
    )

    saved = store(chatwoot).contacts.rows[contact.contact_id]
    assert saved.name == "ООО Ромашка Плюс"
    assert saved.email == "info@romashka.uz"  # the other contact keeps its email
    assert saved.custom_attributes == {
        "code_abonent": "12345",
        "inn_pinfl": "301234567",
        "client_type": "owner",
        "region": "Ташкент",
    }
    assert saved.additional_attributes["city"] == "Самарканд"
    assert saved.additional_attributes["company_name"] == "Ромашка"


async def test_updating_a_missing_contact_is_not_found(desk: ChatwootAdapter) -> None:
    with pytest.raises(PeerNotFound):
        await desk.update_contact(999, card())


# -- conversations -----------------------------------------------------------------------------


async def test_a_conversation_carries_our_reference_and_clean_attributes(
    desk: ChatwootAdapter, chatwoot: RunningChatwoot
) -> None:
    contact = await desk.ensure_contact(card())
    attributes = {
        "number_con": "0000123",
        "comment": "строка\x00с\x07управляющими\nсимволами",
        "long": "я" * 600,
        "k" * 101: "dropped",
    }

    chat = await desk.open_conversation(contact, reference="cons-1", attributes=attributes)

    saved = conversation(chatwoot, chat.conversation_id)
    assert chat.status == "open"
    assert saved.custom_attributes["cons_id"] == "cons-1"
    assert saved.custom_attributes["comment"] == "строкасуправляющими\nсимволами"
    assert saved.custom_attributes["long"] == "я" * 500
    assert "k" * 101 not in saved.custom_attributes


async def test_opening_again_finds_the_first_conversation(
    desk: ChatwootAdapter, chatwoot: RunningChatwoot
) -> None:
    contact = await desk.ensure_contact(card())
    first = await desk.open_conversation(contact, reference="cons-1", attributes={})
    other = await desk.open_conversation(contact, reference="cons-2", attributes={})
    without_id = ChatContact(contact_id=None, source_id=contact.source_id, pubsub_token=None)
    again = await desk.open_conversation(without_id, reference="cons-1", attributes={})

    assert again.conversation_id == first.conversation_id != other.conversation_id
    assert len(store(chatwoot).conversations.all()) == 2


async def test_a_lost_conversation_answer_opens_no_second_conversation(
    impatient_desk: ChatwootAdapter, chatwoot: RunningChatwoot
) -> None:
    contact = await impatient_desk.ensure_contact(card())
    path = "/public/api/v1/inboxes/*/contacts/*/conversations"
    chatwoot.emulator.faults.add(
        Fault(method="POST", path=path, timeout=True, hang_seconds=HANG, times=1)
    )

    with pytest.raises(PeerTimeout):  # not repeated by the kit: a create may have happened
        await impatient_desk.open_conversation(contact, reference="cons-1", attributes={})
    eventually(all_answered(chatwoot, "POST", path), "the hanging conversation create")
    # The outbox's next attempt:
    chat = await impatient_desk.open_conversation(contact, reference="cons-1", attributes={})

    assert [conv.display_id for conv in store(chatwoot).conversations.all()] == [
        chat.conversation_id
    ]
    assert len(chatwoot.emulator.journal.matching("POST", path)) == 1


async def test_opening_for_an_unknown_source_id_is_not_found(desk: ChatwootAdapter) -> None:
    stranger = ChatContact(contact_id=None, source_id="no-such-source", pubsub_token=None)
    with pytest.raises(PeerNotFound):
        await desk.open_conversation(stranger, reference="cons-1", attributes={})


async def test_assign_sets_team_then_agent_and_unassigns(
    desk: ChatwootAdapter, chatwoot: RunningChatwoot
) -> None:
    _, conversation_id = await opened(desk)
    agent = chatwoot.emulator.add_agent("Азиз", "aziz@clobus.uz")
    team = chatwoot.emulator.add_team("консультация по ведению учета")

    await desk.assign(conversation_id, agent_id=agent["id"], team_id=team["id"])
    saved = conversation(chatwoot, conversation_id)
    assert (saved.assignee_id, saved.team_id) == (agent["id"], team["id"])

    await desk.assign(conversation_id, agent_id=None)
    assert conversation(chatwoot, conversation_id).assignee_id is None
    sent = chatwoot.emulator.journal.matching("POST", "*/assignments")
    assert [entry.json() for entry in sent] == [
        {"team_id": team["id"]},
        {"assignee_id": agent["id"]},
        {"assignee_id": None},
    ]


async def test_assigning_an_agent_outside_the_account_is_refused(
    desk: ChatwootAdapter, chatwoot: RunningChatwoot
) -> None:
    _, conversation_id = await opened(desk)
    with pytest.raises(PeerRejected, match="agent 4242"):
        await desk.assign(conversation_id, agent_id=4242)


async def test_status_is_set_not_toggled(desk: ChatwootAdapter, chatwoot: RunningChatwoot) -> None:
    _, conversation_id = await opened(desk)

    await desk.set_status(conversation_id, "pending")
    await desk.set_status(conversation_id, "pending")
    assert conversation(chatwoot, conversation_id).status == "pending"
    await desk.set_status(conversation_id, "resolved")
    assert conversation(chatwoot, conversation_id).status == "resolved"
    with pytest.raises(ValueError, match="closed"):
        await desk.set_status(conversation_id, "closed")


async def test_status_of_a_missing_conversation_is_not_found(desk: ChatwootAdapter) -> None:
    with pytest.raises(PeerNotFound):
        await desk.set_status(999, "open")


async def test_attributes_are_merged_and_an_unchanged_set_is_not_written(
    desk: ChatwootAdapter, chatwoot: RunningChatwoot
) -> None:
    contact = await desk.ensure_contact(card())
    chat = await desk.open_conversation(
        contact, reference="cons-1", attributes={"number_con": "0000123"}
    )

    await desk.set_attributes(chat.conversation_id, {"date_con": "2026-12-01T09:00:00"})
    await desk.set_attributes(chat.conversation_id, {"date_con": "2026-12-01T09:00:00"})

    assert conversation(chatwoot, chat.conversation_id).custom_attributes == {
        "number_con": "0000123",
        "cons_id": "cons-1",
        "date_con": "2026-12-01T09:00:00",
    }
    assert len(chatwoot.emulator.journal.matching("POST", "*/custom_attributes")) == 1


async def test_labels_are_made_and_added_to_the_conversations_own(
    desk: ChatwootAdapter, chatwoot: RunningChatwoot
) -> None:
    _, conversation_id = await opened(desk)
    api = desk.client
    await api.create_label("vip")
    await api.replace_conversation_labels(conversation_id, ["vip"])

    await desk.add_labels(conversation_id, ["VIP", "Закрыто без консультации"])
    await desk.add_labels(conversation_id, ["закрыто без консультации"])

    assert conversation(chatwoot, conversation_id).label_list == [
        "vip",
        "закрыто-без-консультации",
    ]
    titles = [label.title for label in store(chatwoot).labels_of(chatwoot.emulator.account_id)]
    assert sorted(titles) == ["vip", "закрыто-без-консультации"]
    journal = chatwoot.emulator.journal
    assert len(journal.matching("POST", "/api/v1/accounts/1/labels")) == 2  # ours and the test's
    assert len(journal.matching("POST", "*/conversations/*/labels")) == 2  # the test's and one


async def test_deleting_twice_is_fine(desk: ChatwootAdapter, chatwoot: RunningChatwoot) -> None:
    _, conversation_id = await opened(desk)

    await desk.delete_conversation(conversation_id)
    await desk.delete_conversation(conversation_id)

    assert store(chatwoot).conversations.all() == []


# -- messages ----------------------------------------------------------------------------------


async def test_a_message_is_public_outgoing_and_posted_once_per_reference(
    desk: ChatwootAdapter, chatwoot: RunningChatwoot
) -> None:
    _, conversation_id = await opened(desk)

    first = await desk.post_message(conversation_id, "Заявка № 123 принята", reference="n-1")
    again = await desk.post_message(conversation_id, "Заявка № 123 принята", reference="n-1")
    other = await desk.post_message(conversation_id, "Консультация перенесена", reference="n-2")

    assert first == again != other
    message = store(chatwoot).message(first)
    assert (message.message_type, message.private) == (OUTGOING, False)
    assert message.source_id == MESSAGE_SOURCE_PREFIX + "n-1"
    assert len(chatwoot.emulator.journal.matching("POST", "*/messages")) == 2


async def test_an_earlier_copy_is_found_pages_back(
    desk: ChatwootAdapter, chatwoot: RunningChatwoot
) -> None:
    _, conversation_id = await opened(desk)
    first = await desk.post_message(conversation_id, "Заявка принята", reference="n-1")
    for number in range(45):  # more than two pages of chat after it
        chatwoot.emulator.contact_message(conversation_id, f"вопрос {number}")

    assert await desk.post_message(conversation_id, "Заявка принята", reference="n-1") == first
    assert len(chatwoot.emulator.journal.matching("POST", "*/messages")) == 1


async def test_a_lost_message_answer_posts_no_second_message(
    impatient_desk: ChatwootAdapter, chatwoot: RunningChatwoot
) -> None:
    _, conversation_id = await opened(impatient_desk)
    path = "/api/v1/accounts/*/conversations/*/messages"
    chatwoot.emulator.faults.add(
        Fault(method="POST", path=path, timeout=True, hang_seconds=HANG, times=1)
    )

    with pytest.raises(PeerTimeout):
        await impatient_desk.post_message(conversation_id, "Заявка принята", reference="n-1")
    eventually(all_answered(chatwoot, "POST", path), "the hanging message create")
    message_id = await impatient_desk.post_message(
        conversation_id, "Заявка принята", reference="n-1"
    )

    posted = [m for m in store(chatwoot).messages.all() if m.source_id]
    assert [m.id for m in posted] == [message_id]
    assert len(chatwoot.emulator.journal.matching("POST", path)) == 1


async def test_a_message_to_a_missing_conversation_is_not_found(desk: ChatwootAdapter) -> None:
    with pytest.raises(PeerNotFound):
        await desk.post_message(999, "text", reference="n-1")


# -- teams and agents --------------------------------------------------------------------------


async def test_team_by_name_ignores_case(desk: ChatwootAdapter, chatwoot: RunningChatwoot) -> None:
    team = chatwoot.emulator.add_team("консультация по ведению учета")

    assert await desk.team_id("Консультация по ведению учета ") == team["id"]
    assert await desk.team_id("нет такой") is None


async def test_agents_carry_their_manager_key(
    desk: ChatwootAdapter, chatwoot: RunningChatwoot
) -> None:
    key = uuid.uuid4()
    aziz = chatwoot.emulator.add_agent(
        "Азиз", "aziz@clobus.uz", custom_attributes={"cl_ref_key": str(key)}
    )
    odd = chatwoot.emulator.add_agent(
        "Odd", "odd@clobus.uz", custom_attributes={"cl_ref_key": "FRONT"}
    )

    found = {agent.agent_id: agent for agent in await desk.agents()}

    assert found[aziz["id"]].manager_key == key
    assert found[aziz["id"]].email == "aziz@clobus.uz"
    assert found[odd["id"]].manager_key is None


async def test_an_agent_is_created_once(desk: ChatwootAdapter, chatwoot: RunningChatwoot) -> None:
    key = uuid.uuid4()

    made = await desk.create_agent(name="Нодира", email="Nodira@clobus.uz", manager_key=key)
    again = await desk.create_agent(name="Нодира", email="nodira@clobus.uz", manager_key=key)

    assert again == made
    assert made.manager_key == key
    assert made.email == "nodira@clobus.uz"
    assert len(chatwoot.emulator.journal.matching("POST", "*/agents")) == 1
    membership = store(chatwoot).account_user(chatwoot.emulator.account_id, made.agent_id)
    assert membership is not None
    assert membership.role == "agent"


async def test_inbox_membership_keeps_the_other_members(
    desk: ChatwootAdapter, chatwoot: RunningChatwoot
) -> None:
    existing = chatwoot.emulator.add_agent("Азиз", "aziz@clobus.uz")  # joins the inbox
    made = await desk.create_agent(
        name="Нодира", email="nodira@clobus.uz", manager_key=uuid.uuid4()
    )

    await desk.add_inbox_member(made.agent_id)
    await desk.add_inbox_member(made.agent_id)

    inbox = store(chatwoot).inbox(chatwoot.emulator.account_id, chatwoot.emulator.inbox_id)
    assert existing["id"] in inbox.member_ids
    assert made.agent_id in inbox.member_ids
    assert len(chatwoot.emulator.journal.matching("POST", "*/inbox_members")) == 1


async def test_adding_an_unknown_agent_to_the_inbox_is_refused(desk: ChatwootAdapter) -> None:
    with pytest.raises(PeerRejected):
        await desk.add_inbox_member(4242)


# -- wiring and the small rules ----------------------------------------------------------------


async def test_the_registry_fills_the_chat_port(chatwoot: RunningChatwoot) -> None:
    adapters = build_adapters(make_settings(**chatwoot.settings()), HttpKit(Metrics()))
    try:
        assert isinstance(adapters.chat, ChatwootAdapter)
        assert adapters.chat in adapters.systems
        await adapters.chat.ping()
    finally:
        await adapters.aclose()


def test_phones_become_e164_or_nothing() -> None:
    assert e164("998 90 123-45-67") == "+998901234567"
    assert e164("+7 (999) 000-00-00") == "+79990000000"
    assert e164("0 90 123") is None
    assert e164("звонить вечером") is None
    assert e164(None) is None


def test_label_titles_are_what_chatwoot_accepts() -> None:
    assert label_title(" Закрыто без консультации ") == "закрыто-без-консультации"
    assert label_title("VIP!") == "vip"
    assert label_title("!!!") == ""


def test_attribute_cleaning_limits_keys_and_values() -> None:
    many = {f"key{number}": number for number in range(60)}
    assert len(clean_attributes(many)) == 50
    nested = clean_attributes({"list": ["a"] * 300, "small": {"a": 1}})
    assert isinstance(nested["list"], str)
    assert len(nested["list"]) == 500
    assert nested["small"] == {"a": 1}
