"""GET /conversations/search: the finder with `q`, matching message content only."""

from __future__ import annotations

from typing import Any

import httpx

from .support import APP, Chatwoot, start_conversation

SEARCH = f"{APP}/conversations/search"


def _search(api: httpx.Client, **params: Any) -> dict[str, Any]:
    response = api.get(SEARCH, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_matches_message_content_in_every_status(api: httpx.Client, cw: Chatwoot) -> None:
    _, first = start_conversation(api, name="Invoice Person", email="invoice@example.com")
    _, second = start_conversation(api, name="B")
    _, third = start_conversation(api, name="C")
    cw.emulator.contact_message(first, "Where is my receipt?")
    cw.emulator.contact_message(first, "Hello")
    cw.emulator.agent_reply(second, "Your INVOICE is attached")
    cw.emulator.agent_reply(third, "invoice note for colleagues", private=True)
    api.post(f"{APP}/conversations/{second}/toggle_status", json={"status": "resolved"})

    body = _search(api, q="invoice")
    assert set(body) == {"meta", "payload"}
    assert body["meta"] == {"mine_count": 0, "unassigned_count": 2, "all_count": 2}
    # Not the contact's name or email: only incoming and outgoing message content (notes too).
    assert sorted(item["id"] for item in body["payload"]) == [second, third]
    assert _search(api, q="receipt")["payload"][0]["id"] == first


def test_result_shape_shows_only_the_matching_messages(api: httpx.Client, cw: Chatwoot) -> None:
    _, display_id = start_conversation(api, name="Alice")
    cw.emulator.contact_message(display_id, "first question")
    reply = cw.emulator.agent_reply(display_id, "an answer about 1C")
    cw.emulator.contact_message(display_id, "thanks for the 1c help")

    result = _search(api, q="1c")["payload"][0]
    assert set(result) == {"id", "uuid", "created_at", "contact", "inbox", "messages", "account_id"}
    assert result["contact"] == {"id": result["contact"]["id"], "name": "Alice"}
    assert result["inbox"] == {"id": 1, "name": "Сайт", "channel_type": "Channel::Api"}
    assert [message["content"] for message in result["messages"]] == [
        "an answer about 1C",
        "thanks for the 1c help",
    ]
    assert result["messages"][0] == {
        "content": "an answer about 1C",
        "id": reply["id"],
        "sender_name": "Sandbox Admin",
        "message_type": 1,
        "created_at": reply["created_at"],
    }


def test_without_q_it_is_the_open_index_in_the_search_shape(api: httpx.Client) -> None:
    _, first = start_conversation(api, name="A")
    _, second = start_conversation(api, name="B")
    api.post(f"{APP}/conversations/{second}/toggle_status", json={"status": "resolved"})
    body = _search(api)
    assert [item["id"] for item in body["payload"]] == [first]
    assert "assigned_count" not in body["meta"]


def test_pages_and_counts_of_one_page(api: httpx.Client, cw: Chatwoot) -> None:
    for number in range(27):
        _, display_id = start_conversation(api, name=f"P{number}")
        cw.emulator.contact_message(display_id, f"order {number}")
    first = _search(api, q="order")
    second = _search(api, q="order", page=2)
    assert len(first["payload"]) == 25
    assert len(second["payload"]) == 2
    # Chatwoot counts the relation it has already paged: one page's worth, not 27.
    assert first["meta"]["all_count"] == 25
    assert second["meta"]["all_count"] == 2


def test_agents_search_only_their_inboxes(api: httpx.Client, cw: Chatwoot) -> None:
    _, visible = start_conversation(api, name="A")
    cw.emulator.contact_message(visible, "refund please")
    other = cw.emulator.add_inbox("Telegram")
    contact = api.post(f"{APP}/contacts", json={"name": "Z", "email": "z@example.com"}).json()
    api.post(
        f"{APP}/conversations",
        json={
            "inbox_id": other["id"],
            "contact_id": contact["payload"]["contact"]["id"],
            "message": {"content": "refund too"},
        },
    )
    agent = cw.emulator.add_agent("Ann", "ann@example.com")
    with cw.client(agent["access_token"]) as http:
        body = http.get(SEARCH, params={"q": "refund"}).json()
    assert [item["id"] for item in body["payload"]] == [visible]
    assert len(_search(api, q="refund")["payload"]) == 2
