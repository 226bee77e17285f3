"""Webhooks: the API, signed and unsigned delivery, event names, payload shapes, retries."""

from __future__ import annotations

import hmac
import socket
import threading
import time
import uuid
from typing import Any

import httpx

from .support import (
    APP,
    PUBLIC,
    Chatwoot,
    Received,
    Receiver,
    expected_signature,
    public_contact,
    start_conversation,
    subscribe,
)

ALL_EVENTS = [
    "conversation_created",
    "conversation_status_changed",
    "conversation_updated",
    "message_created",
    "message_updated",
    "contact_created",
    "contact_updated",
    "conversation_typing_on",
    "conversation_typing_off",
]


def _verify(received: Received, secret: str) -> None:
    headers = received.headers
    timestamp = headers["x-chatwoot-timestamp"]
    signature = expected_signature(secret, timestamp, received.body)
    assert hmac.compare_digest(headers["x-chatwoot-signature"], signature)
    assert abs(time.time() - int(timestamp)) < 300
    uuid.UUID(headers["x-chatwoot-delivery"])
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/json"


def _hook(
    api: httpx.Client, receiver: Receiver, name: str, events: list[str] | None = None
) -> dict[str, Any]:
    return subscribe(api, f"{receiver.url}/{name}", events or ALL_EVENTS)


# -- the webhooks API ------------------------------------------------------------------------


def test_webhook_crud(api: httpx.Client, receiver: Receiver) -> None:
    webhook = subscribe(api, f"{receiver.url}/crud", ["message_created"])
    assert set(webhook) == {"id", "name", "url", "account_id", "subscriptions", "secret"}
    assert webhook["subscriptions"] == ["message_created"]
    listed = api.get(f"{APP}/webhooks").json()
    assert listed == {"payload": {"webhooks": [webhook]}}
    changed = api.patch(
        f"{APP}/webhooks/{webhook['id']}", json={"subscriptions": ["contact_created"]}
    ).json()["payload"]["webhook"]
    assert changed["subscriptions"] == ["contact_created"]
    assert changed["secret"] == webhook["secret"]
    assert api.delete(f"{APP}/webhooks/{webhook['id']}").status_code == 200
    assert api.get(f"{APP}/webhooks").json() == {"payload": {"webhooks": []}}


def test_default_subscriptions(api: httpx.Client) -> None:
    webhook = api.post(f"{APP}/webhooks", json={"webhook": {"url": "https://example.com/h"}})
    assert webhook.json()["payload"]["webhook"]["subscriptions"] == [
        "conversation_status_changed",
        "conversation_updated",
        "conversation_created",
        "contact_created",
        "contact_updated",
        "message_created",
        "message_updated",
        "webwidget_triggered",
    ]


def test_webhook_validation(api: httpx.Client) -> None:
    dotted = api.post(
        f"{APP}/webhooks",
        json={"url": "https://example.com/a", "subscriptions": ["message.created"]},
    )
    empty = api.post(f"{APP}/webhooks", json={"url": "https://example.com/b", "subscriptions": []})
    bad_url = api.post(
        f"{APP}/webhooks", json={"url": "ftp://example.com", "subscriptions": ["message_created"]}
    )
    nothing = api.post(f"{APP}/webhooks", json={})
    assert dotted.status_code == empty.status_code == bad_url.status_code == 422
    assert dotted.json() == {
        "message": "Subscriptions Invalid events",
        "attributes": ["subscriptions"],
    }
    assert bad_url.json() == {"message": "Url is invalid", "attributes": ["url"]}
    assert nothing.json() == {"error": "param is missing or the value is empty: webhook"}
    subscribe(api, "https://example.com/c", ["message_created"])
    taken = api.post(f"{APP}/webhooks", json={"url": "https://example.com/c"})
    assert taken.json()["message"] == "Url has already been taken"


# -- delivery --------------------------------------------------------------------------------


def test_signed_delivery_of_a_conversation_flow(
    api: httpx.Client, cw: Chatwoot, receiver: Receiver
) -> None:
    webhook = _hook(api, receiver, "flow")
    person, display_id = start_conversation(api, name="Alice", email="alice@example.com")
    api.post(
        f"{PUBLIC}/contacts/{person['source_id']}/conversations/{display_id}/messages",
        json={"content": "Hello"},
    )
    cw.emulator.wait_for_webhooks()
    received = receiver.at("/flow")
    assert [item.event for item in received] == [
        "contact_created",
        "conversation_created",
        "message_created",
        "contact_updated",  # the contact's last_activity_at moved
    ]
    for item in received:
        _verify(item, webhook["secret"])
    assert len({item.headers["x-chatwoot-delivery"] for item in received}) == len(received)


def test_message_payload_uses_type_names(
    api: httpx.Client, cw: Chatwoot, receiver: Receiver
) -> None:
    _hook(api, receiver, "messages", ["message_created"])
    person, display_id = start_conversation(api)
    base = f"{PUBLIC}/contacts/{person['source_id']}/conversations/{display_id}/messages"
    api.post(base, json={"content": "from contact"})
    api.post(f"{APP}/conversations/{display_id}/messages", json={"content": "from agent"})
    api.post(f"{APP}/conversations/{display_id}/messages", json={"content": "n", "private": True})
    api.post(f"{APP}/conversations/{display_id}/labels", json={"labels": ["x"]})  # activity: none
    cw.emulator.wait_for_webhooks()
    incoming, outgoing, note = (item.json() for item in receiver.at("/messages"))
    assert {
        "event",
        "id",
        "content",
        "created_at",
        "message_type",
        "content_type",
        "content_attributes",
        "additional_attributes",
        "private",
        "source_id",
        "sender",
        "inbox",
        "account",
        "conversation",
    } <= set(incoming)
    assert (incoming["message_type"], outgoing["message_type"]) == ("incoming", "outgoing")
    assert incoming["created_at"].endswith("Z")
    assert "type" not in incoming["sender"]  # a contact's webhook_data has no type
    assert incoming["sender"]["id"] == person["id"]
    assert outgoing["sender"] == {
        "id": 1,
        "name": "Sandbox Admin",
        "email": "admin@sandbox.test",
        "type": "user",
    }
    assert (note["private"], note["message_type"]) == (True, "outgoing")
    assert incoming["conversation"]["id"] == display_id
    assert incoming["inbox"] == {"id": 1, "name": "Сайт"}
    assert incoming["account"] == {"id": 1, "name": "Clobus"}


def test_toggle_status_fires_status_changed_and_updated(
    api: httpx.Client, cw: Chatwoot, receiver: Receiver
) -> None:
    _, display_id = start_conversation(api)
    _hook(api, receiver, "status")
    api.post(f"{APP}/conversations/{display_id}/toggle_status", json={"status": "resolved"})
    cw.emulator.wait_for_webhooks()
    status_changed, updated = (item.json() for item in receiver.at("/status"))
    assert status_changed["event"] == "conversation_status_changed"
    assert updated["event"] == "conversation_updated"
    assert status_changed["status"] == updated["status"] == "resolved"
    assert status_changed["id"] == display_id
    assert {
        "inbox_id",
        "priority",
        "labels",
        "custom_attributes",
        "additional_attributes",
        "can_reply",
        "channel",
        "contact_inbox",
        "messages",
        "meta",
        "snoozed_until",
        "unread_count",
        "first_reply_created_at",
        "waiting_since",
        "agent_last_seen_at",
        "contact_last_seen_at",
        "last_activity_at",
        "timestamp",
        "created_at",
        "updated_at",
    } <= set(updated)
    assert updated["meta"]["sender"]["type"] == "contact"
    assert {"status": {"previous_value": "open", "current_value": "resolved"}} in updated[
        "changed_attributes"
    ]


def test_updates_that_fire_conversation_updated(
    api: httpx.Client, cw: Chatwoot, receiver: Receiver
) -> None:
    _, display_id = start_conversation(api)
    agent = cw.emulator.add_agent("Ann", "ann@example.com")
    _hook(api, receiver, "updates", ["conversation_updated"])
    base = f"{APP}/conversations/{display_id}"
    api.post(f"{base}/custom_attributes", json={"custom_attributes": {"a": 1}})
    api.post(f"{base}/labels", json={"labels": ["vip"]})
    api.post(f"{base}/assignments", json={"assignee_id": agent["id"]})
    api.post(f"{base}/toggle_priority", json={"priority": "high"})
    api.patch(base, json={"status": "resolved"})  # ignored by Chatwoot: no event
    cw.emulator.wait_for_webhooks()
    changed = [next(iter(item.json()["changed_attributes"][0])) for item in receiver.at("/updates")]
    assert changed == ["custom_attributes", "label_list", "assignee_id", "priority"]
    assigned = receiver.at("/updates")[2].json()
    assert assigned["meta"]["assignee"]["id"] == agent["id"]
    assert assigned["meta"]["assignee_type"] == "User"


def test_only_subscribed_events_are_sent(
    api: httpx.Client, cw: Chatwoot, receiver: Receiver
) -> None:
    _hook(api, receiver, "contacts-only", ["contact_created"])
    _, display_id = start_conversation(api)
    api.post(f"{APP}/conversations/{display_id}/messages", json={"content": "hi"})
    cw.emulator.wait_for_webhooks()
    assert receiver.events("/contacts-only") == ["contact_created"]


def test_contact_events(api: httpx.Client, cw: Chatwoot, receiver: Receiver) -> None:
    _hook(api, receiver, "contacts", ["contact_created", "contact_updated"])
    created = api.post(f"{APP}/contacts", json={"name": "Alice", "email": "a@example.com"}).json()
    contact_id = created["payload"]["contact"]["id"]
    api.patch(f"{APP}/contacts/{contact_id}", json={"name": "Alice"})  # no change: no event
    api.patch(f"{APP}/contacts/{contact_id}", json={"name": "Alice B"})
    cw.emulator.wait_for_webhooks()
    first, second = (item.json() for item in receiver.at("/contacts"))
    assert first["event"] == "contact_created"
    assert {
        "id",
        "name",
        "email",
        "phone_number",
        "identifier",
        "avatar",
        "thumbnail",
        "additional_attributes",
        "custom_attributes",
        "blocked",
        "account",
    } <= set(first)
    assert second["event"] == "contact_updated"
    assert {"name": {"previous_value": "Alice", "current_value": "Alice B"}} in second[
        "changed_attributes"
    ]


def test_typing_events(api: httpx.Client, cw: Chatwoot, receiver: Receiver) -> None:
    person, display_id = start_conversation(api)
    _hook(api, receiver, "typing", ["conversation_typing_on", "conversation_typing_off"])
    base = f"{PUBLIC}/contacts/{person['source_id']}/conversations/{display_id}/toggle_typing"
    api.post(base, json={"typing_status": "on"})
    api.post(base, json={"typing_status": "off"})
    cw.emulator.wait_for_webhooks()
    on, off = (item.json() for item in receiver.at("/typing"))
    assert (on["event"], off["event"]) == ("conversation_typing_on", "conversation_typing_off")
    assert on["conversation"]["id"] == display_id
    assert on["user"]["id"] == person["id"]
    assert on["is_private"] is False


def test_retry_keeps_the_delivery_id(api: httpx.Client, cw: Chatwoot, receiver: Receiver) -> None:
    webhook = _hook(api, receiver, "retry", ["contact_created"])
    receiver.fail_next(500)
    public_contact(api, name="Alice")
    cw.emulator.wait_for_webhooks()
    first, second = receiver.at("/retry")
    assert first.headers["x-chatwoot-delivery"] == second.headers["x-chatwoot-delivery"]
    assert first.body == second.body
    _verify(first, webhook["secret"])
    _verify(second, webhook["secret"])
    attempts = [(item.attempt, item.status) for item in cw.emulator.deliveries]
    assert attempts == [(1, 500), (2, 200)]


def test_unreachable_receiver_is_retried_then_given_up(api: httpx.Client, cw: Chatwoot) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subscribe(api, f"http://127.0.0.1:{port}/nowhere", ["contact_created"])
    public_contact(api, name="Alice")
    cw.emulator.wait_for_webhooks()
    deliveries = cw.emulator.deliveries
    assert [item.attempt for item in deliveries] == [1, 2, 3, 4]
    assert all(item.error and item.status is None for item in deliveries)
    assert len({item.delivery_id for item in deliveries}) == 1


def test_unsigned_mode(api: httpx.Client, cw: Chatwoot, receiver: Receiver) -> None:
    cw.emulator.sign_webhooks = False
    webhook = _hook(api, receiver, "unsigned", ["contact_created"])
    assert "secret" not in webhook
    public_contact(api, name="Alice")
    cw.emulator.wait_for_webhooks()
    (received,) = receiver.at("/unsigned")
    assert received.headers["content-type"] == "application/json"
    assert received.headers["accept"] == "application/json"
    for header in ("x-chatwoot-signature", "x-chatwoot-timestamp", "x-chatwoot-delivery"):
        assert header not in received.headers


def test_helpers_from_another_thread_fire_the_same_webhooks(
    api: httpx.Client, cw: Chatwoot, receiver: Receiver
) -> None:
    emulator = cw.emulator
    _, display_id = start_conversation(api)
    agent = emulator.add_agent("Ann", "ann@example.com")
    team = emulator.add_team("Support")
    _hook(api, receiver, "helpers")

    def act() -> None:
        emulator.contact_message(display_id, "Is anyone there?")
        emulator.assign(display_id, team_id=team["id"])
        emulator.assign(display_id, assignee_id=agent["id"])
        emulator.agent_reply(display_id, "Yes", user_id=agent["id"])
        emulator.agent_reply(display_id, "note to self", user_id=agent["id"], private=True)
        emulator.set_status(display_id, "resolved", user_id=agent["id"])

    worker = threading.Thread(target=act)
    worker.start()
    worker.join()
    emulator.wait_for_webhooks()
    events = receiver.events("/helpers")
    assert events == [
        "message_created",
        "contact_updated",
        "conversation_updated",  # team
        "conversation_updated",  # assignee
        "message_created",
        "conversation_updated",  # first reply
        "message_created",
        "conversation_status_changed",
        "conversation_updated",
    ]
    reply = receiver.at("/helpers")[4].json()
    assert reply["sender"]["id"] == agent["id"]
    assert reply["message_type"] == "outgoing"
    body = api.get(f"{APP}/conversations/{display_id}").json()
    assert body["status"] == "resolved"
    assert body["meta"]["assignee"]["id"] == agent["id"]


async def test_drain_webhooks_from_async_code(cw: Chatwoot, receiver: Receiver) -> None:
    async with httpx.AsyncClient(
        base_url=cw.url, headers={"api_access_token": "cw-test-admin-token"}
    ) as http:
        created = await http.post(
            f"{APP}/webhooks",
            json={"url": f"{receiver.url}/async", "subscriptions": ["contact_created"]},
        )
        assert created.status_code == 200
        await http.post(f"{PUBLIC}/contacts", json={"name": "Async"})
    await cw.emulator.drain_webhooks(timeout=5)
    assert receiver.events("/async") == ["contact_created"]


def test_contact_message_reopens_before_message_created(
    api: httpx.Client, cw: Chatwoot, receiver: Receiver
) -> None:
    _, display_id = start_conversation(api)
    cw.emulator.set_status(display_id, "resolved")
    _hook(api, receiver, "reopen")
    cw.emulator.contact_message(display_id, "It broke again")
    cw.emulator.wait_for_webhooks()
    assert receiver.events("/reopen") == [
        "conversation_status_changed",
        "conversation_updated",
        "message_created",
        "contact_updated",
    ]
    assert receiver.at("/reopen")[2].json()["conversation"]["status"] == "open"


def test_message_updated_only_for_real_changes(
    api: httpx.Client, cw: Chatwoot, receiver: Receiver
) -> None:
    _, display_id = start_conversation(api)
    url = f"{APP}/conversations/{display_id}/messages"
    message = api.post(url, json={"content": "hi"}).json()
    _hook(api, receiver, "updated", ["message_updated"])
    api.patch(f"{url}/{message['id']}", json={"status": "delivered"})
    api.patch(f"{url}/{message['id']}", json={"status": "delivered"})
    api.delete(f"{url}/{message['id']}")
    cw.emulator.wait_for_webhooks()
    delivered, deleted = (item.json() for item in receiver.at("/updated"))
    assert delivered["id"] == deleted["id"] == message["id"]
    assert deleted["content"] == "This message was deleted"
    assert deleted["content_attributes"] == {"deleted": True}
