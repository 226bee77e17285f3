"""The widget's live side through the real app: the SSE stream and its poll fallback opened with
the signed stream key, typing, delivery and read marks, the rating and the "leave a request"
form; and an event published by one API process reaching a stream held by another."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from switchboard.core.db.base import utcnow
from switchboard.core.realtime import EventBus
from switchboard.messenger.conversations import service
from switchboard.messenger.conversations.events import (
    SUPERVISION,
    staff_channel,
    visitor_channel,
)
from switchboard.runtime import Runtime
from tests.messenger.attachments_support import local, png, upload_as_visitor
from tests.messenger.support import World, public_key

WIDGET = "/api/widget"
#: Streams in these tests end on their own quickly (the in-process client reads a whole body).
FAST_STREAMS = {"MESSENGER_SSE_LIFETIME_SECONDS": "1.5", "MESSENGER_SSE_HEARTBEAT_SECONDS": "0.5"}


class Who:
    def __init__(self, staff_id: int) -> None:
        self.id = staff_id


def frames(body: str) -> list[dict[str, str]]:
    """The events of an SSE body (comments and the opening frame left out)."""
    found = []
    for block in body.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value.strip()
        if "event" in fields:
            found.append(fields)
    return found


async def start(client: httpx.AsyncClient, key: str, **fields: Any) -> dict[str, Any]:
    answer = await client.post(f"{WIDGET}/bootstrap", json={"inbox": key, **fields})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def visitor(body: dict[str, Any]) -> dict[str, str]:
    return {"X-Visitor-Token": body["visitor_token"]}


async def send(
    client: httpx.AsyncClient, key: str, body: dict[str, Any], text: str, client_id: str
) -> dict[str, Any]:
    answer = await client.post(
        f"{WIDGET}/messages",
        json={"inbox": key, "text": text, "client_id": client_id},
        headers=visitor(body),
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def routed_inbox(world: World, **settings: Any) -> tuple[int, str]:
    """A branch-bound inbox with one online operator: (operator, public key)."""
    branch = await world.branch("ekb")
    operator = await world.operator(branch, "anna")
    inbox = await world.inbox(branch=branch, settings=settings or None)
    return operator, await public_key(world, inbox)


async def answer(runtime: Runtime, operator: int, conversation: int, text: str) -> int:
    async with runtime.database.transaction() as session:
        view = await service.post_staff_message(
            session,
            runtime.bus,
            conversation,
            Who(operator),
            text=text,
            client_id=f"op-{time.monotonic_ns()}",
            now=utcnow(),
        )
    return view.id


async def subscribed(bus: EventBus, channel: str) -> None:
    """Wait until a stream of `channel` is listening in this process."""
    for _ in range(200):
        if bus.subscriber_count(channel):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"nobody subscribed to {channel}")


def stream_params(key: str, body: dict[str, Any]) -> dict[str, str]:
    return {"inbox": key, "key": body["stream_key"]}


async def test_the_stream_delivers_the_operators_answer_and_resumes_after_an_id(
    runtime_factory: Any, client_factory: Any
) -> None:
    runtime: Runtime = await runtime_factory(**FAST_STREAMS)
    client: httpx.AsyncClient = await client_factory(runtime)
    world = World(runtime.database)
    operator, key = await routed_inbox(world)
    body = await start(client, key)
    sent = await send(client, key, body, "Здравствуйте", "c-1")
    conversation = sent["conversation"]["id"]
    channel = visitor_channel(body["contact"]["id"])

    listening = asyncio.create_task(
        client.get(f"{WIDGET}/stream/", params=stream_params(key, body))
    )
    await subscribed(runtime.bus, channel)
    message_id = await answer(runtime, operator, conversation, "Добрый день, **чем** помочь?")
    response = await listening
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    [created] = frames(response.text)
    assert created["event"] == "message.created"
    data = httpx.Response(200, content=created["data"]).json()
    assert data["message"]["id"] == message_id
    assert data["message"]["html"] == "<p>Добрый день, <strong>чем</strong> помочь?</p>"
    assert data["message"]["author_name"] == "anna"

    # Two more while the widget is away: a resume after the last id it saw gets exactly them.
    later = [await answer(runtime, operator, conversation, f"ещё {n}") for n in range(2)]
    resumed = await client.get(
        f"{WIDGET}/stream/",
        params=stream_params(key, body),
        headers={"Last-Event-ID": created["id"]},
    )
    missed = frames(resumed.text)
    assert [httpx.Response(200, content=f["data"]).json()["message"]["id"] for f in missed] == (
        later
    )
    assert [int(f["id"]) for f in missed] == [int(created["id"]) + 1, int(created["id"]) + 2]


async def test_the_poll_fallback_answers_the_same_events(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = World(runtime.database)
    operator, key = await routed_inbox(world)
    body = await start(client, key)
    conversation = (await send(client, key, body, "привет", "c-1"))["conversation"]["id"]
    start_at = await client.get(f"{WIDGET}/events", params=stream_params(key, body))
    assert start_at.status_code == 200, start_at.text
    position = start_at.json()["last_event_id"]
    assert start_at.json()["events"] == []
    reply = await answer(runtime, operator, conversation, "ответ")
    page = await client.get(
        f"{WIDGET}/events", params={**stream_params(key, body), "after": position}
    )
    [event] = page.json()["events"]
    assert event["type"] == "message.created"
    assert event["data"]["message"]["id"] == reply
    assert page.json()["last_event_id"] == event["id"]
    again = await client.get(
        f"{WIDGET}/events", params={**stream_params(key, body), "after": event["id"]}
    )
    assert again.json() == {"events": [], "last_event_id": event["id"]}


async def test_stream_keys_are_checked_and_sse_can_be_switched_off(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = World(runtime.database)
    _, key = await routed_inbox(world)
    body = await start(client, key)
    other_key = await public_key(world, await world.inbox())
    forged = body["stream_key"][:-1] + ("0" if body["stream_key"][-1] != "0" else "1")
    for params, code in (
        ({"inbox": key, "key": forged}, "stream_key_invalid"),
        ({"inbox": key, "key": "1.2.3"}, "stream_key_invalid"),
        ({"inbox": other_key, "key": body["stream_key"]}, "stream_key_invalid"),
    ):
        for path in ("/stream/", "/events"):
            refused = await client.get(f"{WIDGET}{path}", params=params)
            assert refused.status_code == 401, (path, params)
            assert refused.json()["error"] == code
    # The visitor's token is not a stream key.
    token = await client.get(
        f"{WIDGET}/events", params={"inbox": key, "key": body["visitor_token"]}
    )
    assert token.status_code in (401, 422)
    # An expired key.
    contact, inbox = (int(part) for part in body["stream_key"].split(".")[:2])
    from switchboard.messenger.conversations.endpoints import stream_signing_key

    old = service.stream_key(
        stream_signing_key(runtime),
        contact,
        inbox,
        now=datetime.now(UTC) - timedelta(days=2),
        lifetime=timedelta(hours=24),
    )
    expired = await client.get(f"{WIDGET}/events", params={"inbox": key, "key": old})
    assert expired.status_code == 401
    assert expired.json()["error"] == "stream_key_expired"

    _, polling_only = await routed_inbox_named(world, "msk", features={"sse": False})
    polled = await start(client, polling_only)
    assert polled["features"]["sse"] is False
    off = await client.get(f"{WIDGET}/stream/", params=stream_params(polling_only, polled))
    assert off.status_code == 403
    assert off.json()["error"] == "sse_disabled"
    poll = await client.get(f"{WIDGET}/events", params=stream_params(polling_only, polled))
    assert poll.status_code == 200


async def routed_inbox_named(world: World, code: str, **settings: Any) -> tuple[int, str]:
    branch = await world.branch(code)
    operator = await world.operator(branch, f"op-{code}")
    inbox = await world.inbox(branch=branch, settings=settings or None)
    return operator, await public_key(world, inbox)


async def test_typing_both_ways_lands_on_the_right_channels(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = World(runtime.database)
    operator, key = await routed_inbox(world)
    body = await start(client, key, name="Иван")
    conversation = (await send(client, key, body, "привет", "c-1"))["conversation"]["id"]
    typed = await client.post(
        f"{WIDGET}/typing", json={"inbox": key, "typing": True}, headers=visitor(body)
    )
    assert typed.status_code == 204
    async with runtime.database.transaction() as session:
        found = await service.conversation(session, conversation)
    await service.typing(runtime.bus, found, author_kind="staff", name="anna", typing=True)

    async def typing_on(channel: str) -> list[tuple[str, str | None]]:
        return [
            (e.data["author_kind"], e.data["name"])
            for e in await runtime.bus.history(channel, 0)
            if e.type == "typing.changed"
        ]

    assert await typing_on(staff_channel(operator)) == [("contact", "Иван")]
    assert await typing_on(visitor_channel(body["contact"]["id"])) == [("staff", "anna")]
    assert await typing_on(SUPERVISION) == [("contact", "Иван"), ("staff", "anna")]


async def test_seen_from_the_widget_sets_the_ticks_and_tells_the_operator(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = World(runtime.database)
    operator, key = await routed_inbox(world)
    body = await start(client, key)
    conversation = (await send(client, key, body, "привет", "c-1"))["conversation"]["id"]
    reply = await answer(runtime, operator, conversation, "ответ")
    seen = await client.post(
        f"{WIDGET}/seen",
        json={"inbox": key, "conversation_id": conversation, "read_up_to": reply},
        headers=visitor(body),
    )
    assert seen.status_code == 204, seen.text
    row = await world.one(
        "SELECT json_build_array(delivered_at IS NOT NULL, read_at IS NOT NULL) "
        "FROM messenger.messages WHERE id = :i",
        i=reply,
    )
    assert row == [True, True]
    [event] = [
        e.data
        for e in await runtime.bus.history(staff_channel(operator), 0)
        if e.type == "messages.seen"
    ]
    assert event == {
        "conversation_id": conversation,
        "direction": "out",
        "delivered_up_to": reply,
        "read_up_to": reply,
    }
    # Another visitor cannot mark this conversation.
    stranger = await start(client, key)
    refused = await client.post(
        f"{WIDGET}/seen",
        json={"inbox": key, "conversation_id": conversation, "read_up_to": reply},
        headers=visitor(stranger),
    )
    assert refused.status_code == 404


@pytest.mark.parametrize(
    "case",
    [
        (5, 5, 0, "rating_out_of_range"),
        (5, 1, 6, "rating_out_of_range"),
        (10, 0, 11, "validation_error"),
    ],
    ids=["stars-0", "stars-6", "nps-11"],
)
async def test_rating_once_only_when_finished_within_the_scale(
    runtime: Runtime, client: httpx.AsyncClient, case: tuple[int, int, int, str]
) -> None:
    scale, good, bad, refusal = case
    world = World(runtime.database)
    operator, key = await routed_inbox(world, rating={"enabled": True, "scale": scale})
    body = await start(client, key)
    assert body["rating"] == {"enabled": True, "scale": scale}
    conversation = (await send(client, key, body, "привет", "c-1"))["conversation"]["id"]

    async def rate(score: int, **extra: Any) -> httpx.Response:
        return await client.post(
            f"{WIDGET}/rating",
            json={"inbox": key, "conversation_id": conversation, "score": score, **extra},
            headers=visitor(body),
        )

    early = await rate(good)
    assert early.status_code == 409
    assert early.json()["error"] == "conversation_not_finished"
    async with runtime.database.transaction() as session:
        await service.change_status(
            session, runtime.bus, conversation, to="resolved", actor_staff_id=operator, now=utcnow()
        )
    out_of_range = await rate(bad)
    assert out_of_range.status_code == 422
    assert out_of_range.json()["error"] == refusal
    rated = await rate(good, comment="  спасибо  ")
    assert rated.status_code == 200, rated.text
    assert rated.json() == {"id": conversation, "status": "resolved", "rating": good}
    row = await world.conversation_row(conversation)
    assert (row["rating"], row["rating_scale"], row["rating_comment"]) == (good, scale, "спасибо")
    twice = await rate(good)
    assert twice.status_code == 409
    assert twice.json()["error"] == "conversation_rated"
    changes = [
        e.data["change"]
        for e in await runtime.bus.history(staff_channel(operator), 0)
        if e.type == "conversation.changed"
    ]
    assert changes[-1] == "rated"


async def test_rating_switched_off_is_refused(runtime: Runtime, client: httpx.AsyncClient) -> None:
    world = World(runtime.database)
    operator, key = await routed_inbox(world, rating={"enabled": False})
    body = await start(client, key)
    conversation = (await send(client, key, body, "привет", "c-1"))["conversation"]["id"]
    async with runtime.database.transaction() as session:
        await service.change_status(
            session, runtime.bus, conversation, to="closed", actor_staff_id=operator, now=utcnow()
        )
    refused = await client.post(
        f"{WIDGET}/rating",
        json={"inbox": key, "conversation_id": conversation, "score": 5},
        headers=visitor(body),
    )
    assert refused.status_code == 403
    assert refused.json()["error"] == "rating_disabled"


async def test_an_offline_request_waits_for_working_hours(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = World(runtime.database)
    today = datetime.now(UTC).date()
    holidays = [str(today + timedelta(days=d)) for d in (-1, 0, 1)]
    _, key = await routed_inbox(world, schedule={"time_zone": "UTC", "holidays": holidays})
    body = await start(client, key)
    assert body["offline"] is True
    missing_contact = await client.post(
        f"{WIDGET}/offline-request",
        json={"inbox": key, "name": "Иван", "text": "перезвоните"},
        headers=visitor(body),
    )
    assert missing_contact.status_code == 422
    answer = await client.post(
        f"{WIDGET}/offline-request",
        json={
            "inbox": key,
            "name": " Иван ",
            "phone": "+7 900 000-00-00",
            "email": "ivan@example.com",
            "text": "Перезвоните, пожалуйста",
        },
        headers=visitor(body),
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["conversation"]["status"] == "pending"
    assert [(m["author_kind"], m["text"]) for m in result["messages"]] == [
        ("contact", "Перезвоните, пожалуйста")
    ]
    contact = await world.one(
        "SELECT json_build_array(name, phone, email) FROM messenger.contacts WHERE id = :i",
        i=body["contact"]["id"],
    )
    assert contact == ["Иван", "+7 900 000-00-00", "ivan@example.com"]
    conversation = result["conversation"]["id"]
    assert (await world.conversation_row(conversation))["assignee_id"] is None
    assert [row["reason"] for row in await world.audit(conversation)] == ["offline"]
    # No automatic offline text: the form said it.
    assert await world.one("SELECT count(*) FROM messenger.messages") == 1
    waiting = [e.type for e in await runtime.bus.history(SUPERVISION, 0)]
    assert "message.created" in waiting


async def test_an_event_of_one_api_process_reaches_a_stream_of_another(
    runtime_factory: Any, client_factory: Any
) -> None:
    """Two runtimes (as two API processes) on one database with the PostgreSQL bus: the
    operator answers through one, the visitor's stream is held by the other."""
    first: Runtime = await runtime_factory(EVENT_BUS="postgres", **FAST_STREAMS)
    second: Runtime = await runtime_factory(EVENT_BUS="postgres", **FAST_STREAMS)
    assert first.bus is not second.bus
    one: httpx.AsyncClient = await client_factory(first)
    other: httpx.AsyncClient = await client_factory(second)
    world = World(first.database)
    operator, key = await routed_inbox(world)
    body = await start(one, key)
    conversation = (await send(one, key, body, "привет", "c-1"))["conversation"]["id"]
    channel = visitor_channel(body["contact"]["id"])

    listening = asyncio.create_task(other.get(f"{WIDGET}/stream/", params=stream_params(key, body)))
    await subscribed(second.bus, channel)
    assert first.bus.subscriber_count(channel) == 0
    reply = await answer(first, operator, conversation, "ответ из другого процесса")
    response = await listening
    [event] = frames(response.text)
    assert event["event"] == "message.created"
    assert httpx.Response(200, content=event["data"]).json()["message"]["id"] == reply


async def test_a_visitors_message_takes_their_uploads_with_signed_links(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = World(runtime.database)
    operator, key = await routed_inbox(world)
    body = await start(client, key)
    other = await start(client, key)
    uploaded = await upload_as_visitor(client, key, body["visitor_token"], png(), "снимок.png")
    assert uploaded.status_code == 201, uploaded.text
    theirs = await upload_as_visitor(client, key, other["visitor_token"], png(), "чужой.png")
    mine, foreign = uploaded.json()["id"], theirs.json()["id"]

    async def send_files(ids: list[int], client_id: str) -> httpx.Response:
        return await client.post(
            f"{WIDGET}/messages",
            json={"inbox": key, "text": "", "client_id": client_id, "attachments": ids},
            headers=visitor(body),
        )

    refused = await send_files([mine, foreign], "c-1")
    assert refused.status_code == 422
    assert refused.json()["error"] == "attachment_unavailable"
    sent = await send_files([mine], "c-2")
    assert sent.status_code == 200, sent.text
    [message] = sent.json()["messages"]
    [file] = message["attachments"]
    assert (file["id"], file["name"], file["content_type"], file["is_image"]) == (
        mine,
        "снимок.png",
        "image/png",
        True,
    )
    download = await client.get(local(file["url"]))
    assert download.status_code == 200
    assert download.content == png()
    [created] = [
        e.data
        for e in await runtime.bus.history(staff_channel(operator), 0)
        if e.type == "message.created"
    ]
    assert created["message"]["attachments"][0]["url"]
    history = await client.get(f"{WIDGET}/messages", params={"inbox": key}, headers=visitor(body))
    assert history.json()["messages"][0]["attachments"][0]["id"] == mine


async def test_any_site_may_call_the_widget_api_with_the_visitor_header(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    preflight = await client.options(
        f"{WIDGET}/messages",
        headers={
            "Origin": "https://shop.example.net",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-visitor-token",
        },
    )
    assert preflight.status_code == 200
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "x-visitor-token" in allowed
    assert "last-event-id" in allowed
    assert "access-control-allow-credentials" not in preflight.headers


async def test_busy_chats_on_the_postgresql_bus_neither_deadlock_nor_lose_events(
    runtime_factory: Any, client_factory: Any
) -> None:
    """Every write fans out to several channels (supervision always): visitors writing and
    operators answering at once must all succeed, each event once on each channel."""
    runtime: Runtime = await runtime_factory(EVENT_BUS="postgres")
    client: httpx.AsyncClient = await client_factory(runtime)
    world = World(runtime.database)
    operator, key = await routed_inbox(world)
    visitors = [await start(client, key) for _ in range(6)]
    first = await asyncio.gather(*(send(client, key, body, "начало", "c-0") for body in visitors))
    conversations = [answer["conversation"]["id"] for answer in first]

    async def visitor_writes(body: dict[str, Any]) -> None:
        for n in range(1, 4):
            await send(client, key, body, f"сообщение {n}", f"c-{n}")

    async def operator_writes(conversation: int) -> None:
        for _ in range(3):
            await answer(runtime, operator, conversation, "ответ")

    await asyncio.gather(
        *(visitor_writes(body) for body in visitors),
        *(operator_writes(conversation) for conversation in conversations),
    )
    total = await world.one("SELECT count(*) FROM messenger.messages")
    assert total == 6 * 4 + 6 * 3
    created = [
        e
        for e in await runtime.bus.history(SUPERVISION, 0, limit=1000)
        if e.type == "message.created"
    ]
    assert len(created) == total
    assert len({e.data["message"]["id"] for e in created}) == total
