"""The conversations core both APIs share, through the real database and bus: staff answers,
delivery and read marks, typing, status changes, and who hears of each (the fan-out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from switchboard.core.db.base import utcnow
from switchboard.core.errors import Conflict, NotFound, Unprocessable
from switchboard.core.realtime import EventBus
from switchboard.messenger.conversations import service
from switchboard.messenger.conversations.events import (
    SUPERVISION,
    staff_channel,
    visitor_channel,
)
from switchboard.messenger.routing import service as routing_service
from switchboard.messenger.routing.service import Routing
from switchboard.runtime import Runtime
from tests.messenger.support import World, routing


@dataclass(frozen=True)
class Who:
    id: int


@dataclass
class Chat:
    """One routed conversation: the inbox, its operator, the contact, the conversation."""

    branch: int
    operator: int
    contact: int
    conversation: int


async def routed_chat(world: World, runtime: Runtime, *, operator: str = "anna") -> Chat:
    branch = await world.branch("ekb")
    staff = await world.operator(branch, operator)
    inbox = await world.inbox(branch=branch)
    conversation = await world.conversation(inbox)
    async with runtime.database.transaction() as session:
        await routing_service.assign_new(session, routing(), conversation, now=utcnow())
    contact = int(
        await world.one(
            "SELECT contact_id FROM messenger.conversations WHERE id = :i", i=conversation
        )
    )
    return Chat(branch, staff, contact, conversation)


async def types(bus: EventBus, channel: str) -> list[str]:
    return [event.type for event in await bus.history(channel, 0)]


async def payloads(bus: EventBus, channel: str, kind: str) -> list[dict[str, Any]]:
    return [event.data for event in await bus.history(channel, 0) if event.type == kind]


async def post(
    runtime: Runtime, chat: Chat, text: str, client_id: str, *, staff: int | None = None
) -> Any:
    async with runtime.database.transaction() as session:
        return await service.post_staff_message(
            session,
            runtime.bus,
            chat.conversation,
            Who(staff or chat.operator),
            text=text,
            client_id=client_id,
            attachment_ids=[],
            now=utcnow(),
        )


async def visitor_message(world: World, chat: Chat, text: str) -> int:
    return int(
        await world.one(
            "INSERT INTO messenger.messages (conversation_id, direction, author_kind, body) "
            "VALUES (:c, 'in', 'contact', :b) RETURNING id",
            c=chat.conversation,
            b=text,
        )
    )


async def test_an_operators_answer_reaches_the_visitor_the_operator_and_supervision(
    runtime: Runtime,
) -> None:
    world = World(runtime.database)
    chat = await routed_chat(world, runtime)
    view = await post(runtime, chat, "**Здравствуйте**, <b>чем</b> помочь?", "p-1")
    assert view.direction == "out"
    assert view.author_kind == "staff"
    assert view.author_name == "anna"
    assert view.html == "<p><strong>Здравствуйте</strong>, &lt;b&gt;чем&lt;/b&gt; помочь?</p>"
    assert view.delivered_at is None
    for channel in (visitor_channel(chat.contact), staff_channel(chat.operator), SUPERVISION):
        [created] = await payloads(runtime.bus, channel, "message.created")
        assert created["message"]["id"] == view.id
        assert created["message"]["text"] == "**Здравствуйте**, <b>чем</b> помочь?"
    # Answering counts as opening: no escalation by timeout from now on.
    row = await world.conversation_row(chat.conversation)
    assert row["assignee_opened_at"] is not None
    assert "opened" in [
        e["change"] for e in await payloads(runtime.bus, SUPERVISION, "conversation.changed")
    ]
    # A retry with the same client id answers the stored message, stores and publishes nothing.
    again = await post(runtime, chat, "**Здравствуйте**, <b>чем</b> помочь?", "p-1")
    assert again.id == view.id
    assert await world.one("SELECT count(*) FROM messenger.messages") == 1
    assert len(await payloads(runtime.bus, SUPERVISION, "message.created")) == 1


async def test_staff_cannot_answer_a_closed_or_missing_conversation(runtime: Runtime) -> None:
    world = World(runtime.database)
    chat = await routed_chat(world, runtime)
    async with runtime.database.transaction() as session:
        await service.change_status(
            session,
            runtime.bus,
            chat.conversation,
            to="closed",
            actor_staff_id=chat.operator,
            now=utcnow(),
        )
    with pytest.raises(Conflict) as closed:
        await post(runtime, chat, "ау", "p-2")
    assert closed.value.code == "conversation_finished"
    with pytest.raises(NotFound):
        async with runtime.database.transaction() as session:
            await service.post_staff_message(
                session,
                runtime.bus,
                999_999,
                Who(chat.operator),
                text="x",
                client_id="x",
                now=utcnow(),
            )


async def test_attachments_are_claimed_once_and_only_by_their_uploader(
    runtime: Runtime,
) -> None:
    world = World(runtime.database)
    chat = await routed_chat(world, runtime)
    other = await world.operator(chat.branch, "boris")

    async def upload(staff: int, name: str) -> int:
        return int(
            await world.one(
                "INSERT INTO messenger.attachments (staff_id, file_name, content_type, bytes, "
                "storage_key) VALUES (:s, :n, 'image/png', 10, :n) RETURNING id",
                s=staff,
                n=name,
            )
        )

    mine, theirs = await upload(chat.operator, "a.png"), await upload(other, "b.png")

    async def attach(ids: list[int], client_id: str) -> Any:
        async with runtime.database.transaction() as session:
            return await service.post_staff_message(
                session,
                runtime.bus,
                chat.conversation,
                Who(chat.operator),
                text="",
                client_id=client_id,
                attachment_ids=ids,
                now=utcnow(),
            )

    with pytest.raises(Unprocessable) as refused:
        await attach([mine, theirs], "a-1")
    assert refused.value.code == "attachment_unavailable"
    assert await world.one("SELECT count(*) FROM messenger.messages") == 0
    view = await attach([mine], "a-2")
    [file] = view.attachments
    assert (file.id, file.name, file.content_type, file.bytes, file.is_image) == (
        mine,
        "a.png",
        "image/png",
        10,
        True,
    )
    assert (
        await world.one("SELECT message_id FROM messenger.attachments WHERE id = :i", i=mine)
        == view.id
    )
    with pytest.raises(Unprocessable):
        await attach([mine], "a-3")  # sent already


async def test_seen_marks_the_other_sides_messages_and_tells_everyone(runtime: Runtime) -> None:
    world = World(runtime.database)
    chat = await routed_chat(world, runtime)
    first = (await post(runtime, chat, "один", "p-1")).id
    second = (await post(runtime, chat, "два", "p-2")).id
    inbound = await visitor_message(world, chat, "вопрос")
    async with runtime.database.transaction() as session:
        changed = await service.mark_seen(
            session,
            runtime.bus,
            chat.conversation,
            reader="contact",
            delivered_up_to=second,
            read_up_to=first,
            now=utcnow(),
        )
    assert changed is True
    marks = await world.one(
        "SELECT json_agg(json_build_array(id, delivered_at IS NOT NULL, read_at IS NOT NULL) "
        "ORDER BY id) FROM messenger.messages"
    )
    assert marks == [[first, True, True], [second, True, False], [inbound, False, False]]
    for channel in (visitor_channel(chat.contact), staff_channel(chat.operator), SUPERVISION):
        assert await payloads(runtime.bus, channel, "messages.seen") == [
            {
                "conversation_id": chat.conversation,
                "direction": "out",
                "delivered_up_to": second,
                "read_up_to": first,
            }
        ]
    # Nothing new: nothing published.
    async with runtime.database.transaction() as session:
        assert not await service.mark_seen(
            session,
            runtime.bus,
            chat.conversation,
            reader="contact",
            delivered_up_to=second,
            read_up_to=first,
            now=utcnow(),
        )
    assert len(await payloads(runtime.bus, SUPERVISION, "messages.seen")) == 1


async def test_an_inbox_without_read_receipts_does_not_tell_the_visitor_what_staff_read(
    runtime: Runtime,
) -> None:
    world = World(runtime.database)
    chat = await routed_chat(world, runtime)
    await world.one(
        "UPDATE messenger.inboxes SET settings = jsonb_set(settings, "
        "'{features}', '{\"read_receipts\": false}') RETURNING id"
    )
    inbound = await visitor_message(world, chat, "вопрос")
    async with runtime.database.transaction() as session:
        assert await service.mark_seen(
            session,
            runtime.bus,
            chat.conversation,
            reader="staff",
            delivered_up_to=inbound,
            read_up_to=inbound,
            now=utcnow(),
        )
    assert await payloads(runtime.bus, visitor_channel(chat.contact), "messages.seen") == []
    seen = await payloads(runtime.bus, SUPERVISION, "messages.seen")
    assert [event["read_up_to"] for event in seen] == [inbound]


async def test_the_assignee_reading_clears_the_unread_count(runtime: Runtime) -> None:
    world = World(runtime.database)
    chat = await routed_chat(world, runtime)
    await visitor_message(world, chat, "раз")
    second = await visitor_message(world, chat, "два")
    async with runtime.database.transaction() as session:
        before = await service.conversation_summary(session, chat.conversation)
    assert before is not None
    assert before.unread == 2
    supervisor = await world.operator(None, "sveta", role="supervisor")
    async with runtime.database.transaction() as session:
        # A supervisor looking in does not clear the operator's unread count.
        await service.mark_seen(
            session,
            runtime.bus,
            chat.conversation,
            reader="staff",
            delivered_up_to=None,
            read_up_to=second,
            now=utcnow(),
            staff_id=supervisor,
        )
        after_supervisor = await service.conversation_summary(session, chat.conversation)
    assert after_supervisor is not None
    assert after_supervisor.unread == 2
    async with runtime.database.transaction() as session:
        opened = await service.open_conversation(
            session, runtime.bus, chat.conversation, chat.operator, now=utcnow()
        )
    assert opened.unread == 0
    assert opened.assignee_opened_at is not None
    read = await world.one(
        "SELECT bool_and(read_at IS NOT NULL) FROM messenger.messages WHERE direction = 'in'"
    )
    assert read is True
    staff_changes = await payloads(
        runtime.bus, staff_channel(chat.operator), "conversation.changed"
    )
    changes = [e["change"] for e in staff_changes]
    # The first open marks it read too; the supervisor's look moved nothing.
    assert changes == ["opened"]
    assert staff_changes[-1]["conversation"]["unread"] == 0
    [seen, *_] = await payloads(runtime.bus, visitor_channel(chat.contact), "messages.seen")
    assert seen["direction"] == "in"
    # Later messages are unread until the assignee's panel shows them.
    later = await visitor_message(world, chat, "три")
    async with runtime.database.transaction() as session:
        waiting = await service.conversation_summary(session, chat.conversation)
        assert waiting is not None
        assert waiting.unread == 1
        await service.mark_seen(
            session,
            runtime.bus,
            chat.conversation,
            reader="staff",
            delivered_up_to=None,
            read_up_to=later,
            now=utcnow(),
            staff_id=chat.operator,
        )
    [*_, read] = await payloads(runtime.bus, staff_channel(chat.operator), "conversation.changed")
    assert (read["change"], read["conversation"]["unread"]) == ("read", 0)


async def test_typing_goes_to_the_other_side_and_supervision_only(runtime: Runtime) -> None:
    world = World(runtime.database)
    chat = await routed_chat(world, runtime)
    async with runtime.database.transaction() as session:
        conversation = await service.conversation(session, chat.conversation)
    await service.typing(runtime.bus, conversation, author_kind="contact", name="Иван", typing=True)
    await service.typing(runtime.bus, conversation, author_kind="staff", name="anna", typing=False)
    visitor = await payloads(runtime.bus, visitor_channel(chat.contact), "typing.changed")
    operator = await payloads(runtime.bus, staff_channel(chat.operator), "typing.changed")
    watched = await payloads(runtime.bus, SUPERVISION, "typing.changed")
    assert [(e["author_kind"], e["typing"]) for e in visitor] == [("staff", False)]
    assert [(e["author_kind"], e["name"]) for e in operator] == [("contact", "Иван")]
    assert [e["author_kind"] for e in watched] == ["contact", "staff"]


async def test_resolve_close_and_reopen(runtime: Runtime) -> None:
    world = World(runtime.database)
    chat = await routed_chat(world, runtime)

    async def change(to: Any) -> Any:
        async with runtime.database.transaction() as session:
            return await service.change_status(
                session,
                runtime.bus,
                chat.conversation,
                to=to,
                actor_staff_id=chat.operator,
                now=utcnow(),
            )

    load = (
        "SELECT count(*) FROM messenger.conversations "
        "WHERE assignee_id = :s AND status IN ('open', 'pending')"
    )
    assert await world.one(load, s=chat.operator) == 1
    resolved = await change("resolved")
    assert resolved.status == "resolved"
    assert await world.one(load, s=chat.operator) == 0  # capacity freed
    assert (await world.conversation_row(chat.conversation))["closed_at"] is not None
    assert (await change("resolved")).status == "resolved"  # again: nothing
    closed = await change("closed")
    assert closed.status == "closed"
    with pytest.raises(Conflict):
        await change("resolved")
    reopened = await change("open")
    assert reopened.status == "open"
    assert reopened.assignee is not None
    assert reopened.assignee.id == chat.operator  # kept, nobody else asked
    assert len(await world.audit(chat.conversation)) == 1  # routed nothing new
    visitor = await payloads(runtime.bus, visitor_channel(chat.contact), "conversation.changed")
    assert [(e["change"], e["conversation"]) for e in visitor] == [
        ("resolved", {"id": chat.conversation, "status": "resolved", "rating": None}),
        ("closed", {"id": chat.conversation, "status": "closed", "rating": None}),
        ("reopened", {"id": chat.conversation, "status": "open", "rating": None}),
    ]
    staff = await payloads(runtime.bus, staff_channel(chat.operator), "conversation.changed")
    assert [e["change"] for e in staff][-3:] == ["resolved", "closed", "reopened"]
    assert staff[-1]["conversation"]["contact"]["id"] == chat.contact


async def test_a_conversation_superseded_by_a_newer_one_is_not_reopened(
    runtime: Runtime,
) -> None:
    world = World(runtime.database)
    chat = await routed_chat(world, runtime)
    async with runtime.database.transaction() as session:
        await service.change_status(
            session, runtime.bus, chat.conversation, to="closed", actor_staff_id=None, now=utcnow()
        )
    inbox = await world.one(
        "SELECT inbox_id FROM messenger.conversations WHERE id = :i", i=chat.conversation
    )
    await world.one(
        "INSERT INTO messenger.conversations (inbox_id, contact_id) VALUES (:i, :c) RETURNING id",
        i=inbox,
        c=chat.contact,
    )
    with pytest.raises(Conflict) as refused:
        async with runtime.database.transaction() as session:
            await service.change_status(
                session,
                runtime.bus,
                chat.conversation,
                to="open",
                actor_staff_id=None,
                now=utcnow(),
            )
    assert refused.value.code == "conversation_superseded"


async def test_after_a_transfer_the_new_assignee_gets_the_events_and_the_old_one_is_told(
    runtime: Runtime,
) -> None:
    world = World(runtime.database)
    chat = await routed_chat(world, runtime)
    other = await world.operator(chat.branch, "boris")
    wired: Routing = routing()
    wired = Routing(wired.settings, wired.locator, wired.timer, bus=runtime.bus)
    async with runtime.database.transaction() as session:
        outcome = await routing_service.transfer_to_operator(
            session, wired, chat.conversation, other, actor_id=None, now=utcnow()
        )
    assert outcome.result == "assigned"
    old = await payloads(runtime.bus, staff_channel(chat.operator), "conversation.changed")
    new = await payloads(runtime.bus, staff_channel(other), "conversation.changed")
    assert old[-1]["change"] == "transferred"
    assert old[-1]["conversation"]["assignee"] == {"id": other, "name": "boris"}
    assert [e["change"] for e in new] == ["transferred"]
    # The visitor hears nothing of the staff's shuffling.
    assert await types(runtime.bus, visitor_channel(chat.contact)) == []
    # From now on the answers and the visitor's messages reach the new assignee, not the old.
    await post(runtime, chat, "я подключился", "p-1", staff=other)
    assert await payloads(runtime.bus, staff_channel(other), "message.created")
    assert not await payloads(runtime.bus, staff_channel(chat.operator), "message.created")


async def test_an_escalation_tells_both_operators(runtime: Runtime) -> None:
    world = World(runtime.database)
    branch = await world.branch("ekb")
    first = await world.operator(branch, "anna")
    inbox = await world.inbox(branch=branch)
    conversation = await world.conversation(inbox)
    plain = routing(escalation_seconds=60)
    wired = Routing(plain.settings, plain.locator, plain.timer, bus=runtime.bus)
    start = utcnow()
    async with runtime.database.transaction() as session:
        assigned = await routing_service.assign_new(session, wired, conversation, now=start)
    assert assigned.staff_id == first
    second = await world.operator(branch, "boris")
    async with runtime.database.transaction() as session:
        outcome = await routing_service.escalate(
            session,
            wired,
            conversation,
            expected_staff_id=first,
            expected_assigned_at=start,
            now=start + timedelta(minutes=2),
        )
    assert (outcome.result, outcome.staff_id) == ("assigned", second)
    old = await payloads(runtime.bus, staff_channel(first), "conversation.changed")
    new = await payloads(runtime.bus, staff_channel(second), "conversation.changed")
    assert [e["change"] for e in old] == ["assigned", "assigned"]
    assert old[-1]["conversation"]["assignee"]["id"] == second
    assert [e["conversation"]["assignee"]["id"] for e in new] == [second]
    watched = await payloads(runtime.bus, SUPERVISION, "conversation.changed")
    assert len(watched) == 2


async def test_a_client_id_of_the_other_side_is_refused_not_answered(runtime: Runtime) -> None:
    world = World(runtime.database)
    chat = await routed_chat(world, runtime)
    await world.one(
        "INSERT INTO messenger.messages (conversation_id, direction, author_kind, body, "
        "client_id) VALUES (:c, 'in', 'contact', 'вопрос', 'same') RETURNING id",
        c=chat.conversation,
    )
    with pytest.raises(Conflict) as refused:
        await post(runtime, chat, "ответ", "same")
    assert refused.value.code == "client_id_taken"
    assert await world.one("SELECT count(*) FROM messenger.messages") == 1
