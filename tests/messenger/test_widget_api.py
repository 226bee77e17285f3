"""The chat widget's JSON API through the real database: visitors known only by their token,
sites an inbox allows, the first message opening and routing a conversation, idempotent sends,
the history, out-of-hours conversations and text stored exactly as typed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from switchboard.messenger.conversations.events import SUPERVISION, staff_channel, visitor_channel
from switchboard.runtime import Runtime
from tests.messenger.support import World, public_key

WIDGET = "/api/widget"


async def start(client: httpx.AsyncClient, key: str, **fields: Any) -> tuple[Any, dict[str, Any]]:
    answer = await client.post(f"{WIDGET}/bootstrap", json={"inbox": key, **fields})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body["visitor_token"], body


async def send(
    client: httpx.AsyncClient, key: str, token: str, text: str, client_id: str
) -> httpx.Response:
    return await client.post(
        f"{WIDGET}/messages",
        json={"inbox": key, "text": text, "client_id": client_id},
        headers={"X-Visitor-Token": token},
    )


def resumed_contact(row: dict[str, Any]) -> int:
    return int(row["contact_id"])


async def routed_inbox(world: World, **settings: Any) -> tuple[int, int, str]:
    """A branch-bound inbox with one online operator: (inbox, operator, public key)."""
    branch = await world.branch("ekb")
    operator = await world.operator(branch, "anna")
    inbox = await world.inbox(branch=branch, settings=settings or None)
    return inbox, operator, await public_key(world, inbox)


async def test_bootstrap_creates_a_visitor_once_and_resumes_it_by_token(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = World(runtime.database)
    key = await public_key(world, await world.inbox())
    token, body = await start(client, key, name="Иван", region="RU-SVE")
    assert token
    assert len(token) >= 40
    assert body["contact"]["name"] == "Иван"
    assert body["conversation"] is None
    assert body["offline"] is False
    assert body["features"] == {
        "attachments": True,
        "typing": True,
        "read_receipts": True,
        "sse": True,
    }
    assert body["rating"] == {"enabled": True, "scale": 5}
    assert body["stream_key"].startswith(f"{body['contact']['id']}.")
    assert token not in body["stream_key"]
    stored = await world.one(
        "SELECT token_digest FROM messenger.contacts WHERE id = :i", i=body["contact"]["id"]
    )
    assert stored != token
    assert token not in stored

    again, resumed = await start(client, key, visitor_token=token)
    assert again is None  # a token is answered once
    assert resumed["contact"] == body["contact"]
    assert await world.one("SELECT count(*) FROM messenger.contacts") == 1


async def test_a_forged_token_is_refused_never_a_new_or_another_contact(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = World(runtime.database)
    key = await public_key(world, await world.inbox())
    await start(client, key)
    answer = await client.post(
        f"{WIDGET}/bootstrap", json={"inbox": key, "visitor_token": "forged-token"}
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "visitor_unknown"
    assert await world.one("SELECT count(*) FROM messenger.contacts") == 1
    missing = await client.get(f"{WIDGET}/messages", params={"inbox": key})
    assert missing.status_code == 401
    forged = await send(client, key, "forged-token", "hi", "c1")
    assert forged.status_code == 401


async def test_unknown_inbox_is_404_and_allowed_domains_check_the_origin(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = World(runtime.database)
    answer = await client.post(
        f"{WIDGET}/bootstrap", json={"inbox": "nope"}, headers={"Accept-Language": "ru"}
    )
    assert answer.status_code == 404
    assert answer.json()["message"] == "Такого виджета чата нет."
    key = await public_key(
        world, await world.inbox(settings={"allowed_domains": ["shop.example.com", "*.ex.org"]})
    )
    for origin, status in (
        ("https://shop.example.com", 200),
        ("https://a.ex.org", 200),
        ("https://evil.example.net", 403),
        (None, 403),
    ):
        headers = {"Origin": origin} if origin else {}
        answer = await client.post(f"{WIDGET}/bootstrap", json={"inbox": key}, headers=headers)
        assert answer.status_code == status, (origin, answer.text)
    assert answer.json()["error"] == "origin_not_allowed"


async def test_the_first_message_opens_and_routes_a_conversation(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = World(runtime.database)
    _, operator, key = await routed_inbox(world)
    token, _ = await start(client, key)
    answer = await send(client, key, token, "  Здравствуйте!  ", "c-1")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    [message] = body["messages"]
    assert message["text"] == "Здравствуйте!"
    assert message["direction"] == "in"
    assert message["author_kind"] == "contact"
    assert message["html"] == "<p>Здравствуйте!</p>"
    assert message["delivered_at"] is None  # until the operator's app says it got it
    conversation = body["conversation"]["id"]
    assert body["conversation"]["status"] == "open"
    row = await world.conversation_row(conversation)
    assert row["assignee_id"] == operator
    [audit] = await world.audit(conversation)
    assert audit["reason"] == "new"
    assert audit["to_staff_id"] == operator
    contact = resumed_contact(row)
    events = await runtime.bus.history(visitor_channel(contact), 0)
    assert [event.type for event in events] == ["message.created"]
    assert events[0].data["message"]["text"] == "Здравствуйте!"
    staff = await runtime.bus.history(staff_channel(operator), 0)
    assert [(e.type, e.data.get("change")) for e in staff] == [
        ("conversation.changed", "assigned"),
        ("message.created", None),
    ]
    supervision = await runtime.bus.history(SUPERVISION, 0)
    assert [e.type for e in supervision] == ["conversation.changed", "message.created"]

    # The next message goes to the same conversation, routed once.
    second = await send(client, key, token, "Есть вопрос", "c-2")
    assert second.json()["conversation"]["id"] == conversation
    assert len(await world.audit(conversation)) == 1
    _, resumed = await start(client, key, visitor_token=token)
    assert resumed["conversation"] == {"id": conversation, "status": "open", "rating": None}


async def test_a_repeated_client_id_answers_the_same_message_and_stores_nothing(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = World(runtime.database)
    _, _, key = await routed_inbox(world)
    token, _ = await start(client, key)
    first = await send(client, key, token, "один раз", "same")
    repeat = await send(client, key, token, "один раз", "same")
    assert repeat.status_code == 200
    assert repeat.json()["messages"] == first.json()["messages"]
    assert await world.one("SELECT count(*) FROM messenger.messages") == 1
    conversation = first.json()["conversation"]["id"]
    contact = resumed_contact(await world.conversation_row(conversation))
    assert len(await runtime.bus.history(visitor_channel(contact), 0)) == 1

    # Sent twice at once (a retry racing the original): still one message, one conversation.
    both = await asyncio.gather(*(send(client, key, token, "гонка", "race") for _ in range(2)))
    assert [answer.status_code for answer in both] == [200, 200]
    assert both[0].json()["messages"] == both[1].json()["messages"]
    assert await world.one("SELECT count(*) FROM messenger.messages") == 2
    assert await world.one("SELECT count(*) FROM messenger.conversations") == 1


async def test_history_answers_the_messages_after_an_id_oldest_first(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = World(runtime.database)
    _, _, key = await routed_inbox(world)
    token, _ = await start(client, key)
    ids = []
    for n in range(3):
        answer = await send(client, key, token, f"m{n}", f"c{n}")
        ids.append(answer.json()["messages"][0]["id"])
    headers = {"X-Visitor-Token": token}
    everything = await client.get(f"{WIDGET}/messages", params={"inbox": key}, headers=headers)
    assert [m["text"] for m in everything.json()["messages"]] == ["m0", "m1", "m2"]
    later = await client.get(
        f"{WIDGET}/messages", params={"inbox": key, "after": ids[0]}, headers=headers
    )
    assert [m["id"] for m in later.json()["messages"]] == ids[1:]
    # Another visitor sees none of it.
    other, _ = await start(client, key)
    theirs = await client.get(
        f"{WIDGET}/messages", params={"inbox": key}, headers={"X-Visitor-Token": other}
    )
    assert theirs.json() == {"conversation": None, "messages": []}


async def test_a_closed_conversation_takes_no_more_messages_a_new_one_starts(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = World(runtime.database)
    _, _, key = await routed_inbox(world)
    token, _ = await start(client, key)
    first = (await send(client, key, token, "раз", "c1")).json()["conversation"]["id"]
    await world.one(
        "UPDATE messenger.conversations SET status = 'closed' WHERE id = :i RETURNING id",
        i=first,
    )
    answer = await send(client, key, token, "два", "c2")
    second = answer.json()["conversation"]
    assert second["id"] != first
    assert second["status"] == "open"
    assert (
        await world.one(
            "SELECT count(*) FROM messenger.messages WHERE conversation_id = :i", i=first
        )
        == 1
    )
    assert len(await world.audit(second["id"])) == 1


async def test_out_of_hours_the_conversation_waits_with_one_offline_message(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = World(runtime.database)
    today = datetime.now(UTC).date()
    holidays = [str(today + timedelta(days=d)) for d in (-1, 0, 1)]
    _, _, key = await routed_inbox(
        world,
        schedule={"time_zone": "UTC", "holidays": holidays},
        offline={"message": "Мы ответим утром."},
    )
    token, body = await start(client, key)
    assert body["offline"] is True
    assert body["offline_message"] == "Мы ответим утром."
    answer = (await send(client, key, token, "есть кто?", "c1")).json()
    assert answer["conversation"]["status"] == "pending"
    assert [(m["author_kind"], m["text"]) for m in answer["messages"]] == [
        ("contact", "есть кто?"),
        ("system", "Мы ответим утром."),
    ]
    conversation = answer["conversation"]["id"]
    assert (await world.conversation_row(conversation))["assignee_id"] is None
    assert [row["reason"] for row in await world.audit(conversation)] == ["offline"]
    again = (await send(client, key, token, "ау", "c2")).json()
    assert [m["author_kind"] for m in again["messages"]] == ["contact"]
    assert (
        await world.one("SELECT count(*) FROM messenger.messages WHERE author_kind = 'system'") == 1
    )
    contact = resumed_contact(await world.conversation_row(conversation))
    events = await runtime.bus.history(visitor_channel(contact), 0)
    assert len(events) == 3


async def test_bad_input_is_422(runtime: Runtime, client: httpx.AsyncClient) -> None:
    world = World(runtime.database)
    _, _, key = await routed_inbox(world)
    token, _ = await start(client, key)
    for text, client_id in (
        ("   ", "c1"),
        ("x" * 4001, "c1"),
        ("nul \x00 char", "c1"),
        ("ok", ""),
        ("ok", "has space"),
    ):
        answer = await send(client, key, token, text, client_id)
        assert answer.status_code == 422, (text[:10], client_id)
    extra = await client.post(f"{WIDGET}/bootstrap", json={"inbox": key, "admin": True})
    assert extra.status_code == 422
    assert await world.one("SELECT count(*) FROM messenger.messages") == 0


async def test_script_and_html_are_stored_and_answered_verbatim(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = World(runtime.database)
    _, _, key = await routed_inbox(world)
    token, _ = await start(client, key)
    text = '<script>alert("x")</script><b onclick="x()">&amp; жирный</b>'
    answer = await send(client, key, token, text, "c1")
    assert answer.json()["messages"][0]["text"] == text
    assert await world.one("SELECT body FROM messenger.messages") == text
    history = await client.get(
        f"{WIDGET}/messages", params={"inbox": key}, headers={"X-Visitor-Token": token}
    )
    assert history.json()["messages"][0]["text"] == text


async def test_two_first_messages_at_once_open_one_conversation(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = World(runtime.database)
    _, _, key = await routed_inbox(world)
    token, _ = await start(client, key)
    answers = await asyncio.gather(*(send(client, key, token, "привет", f"c{n}") for n in range(3)))
    assert {answer.json()["conversation"]["id"] for answer in answers} == {
        await world.one("SELECT id FROM messenger.conversations")
    }
    assert await world.one("SELECT count(*) FROM messenger.assignments") == 1
