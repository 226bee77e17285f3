"""The Bot API's HTTP surface: the endpoint, parameter encodings, envelopes, 401, 404, faults."""

from __future__ import annotations

import httpx
import pytest

from switchboard.sandbox.faults import Fault

from .support import BOT_ID, OTHER_TOKEN, PERSON, TOKEN, Telegram, failed, ok


def test_get_me_is_the_bot_user(api: httpx.Client) -> None:
    response = api.get("/getMe")
    assert response.headers["content-type"] == "application/json"
    me = ok(response)
    assert me == {
        "id": BOT_ID,
        "is_bot": True,
        "first_name": "Switchboard",
        "username": "switchboard_sandbox_bot",
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def test_an_unknown_token_is_unauthorized_before_the_method_is_looked_at(tg: Telegram) -> None:
    for method in ("getMe", "noSuchMethod"):
        response = httpx.post(f"{tg.url}/bot999:unknown/{method}")
        assert response.status_code == 401
        assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_an_unknown_method_or_path_is_not_found(tg: Telegram, api: httpx.Client) -> None:
    not_found = {"ok": False, "error_code": 404, "description": "Not Found"}
    assert api.post("/sendTelepathy").json() == not_found
    assert api.post("/sendTelepathy").status_code == 404
    assert httpx.get(f"{tg.url}/bot{TOKEN}").json() == not_found
    assert httpx.get(f"{tg.url}/somewhere/else").json() == not_found


def test_method_names_are_case_insensitive(api: httpx.Client) -> None:
    for name in ("getme", "GETME", "GetMe"):
        assert ok(api.get(f"/{name}"))["id"] == BOT_ID


def test_several_bots_each_answer_for_themselves(tg: Telegram) -> None:
    other_id = tg.emulator.add_bot(OTHER_TOKEN, "other_sandbox_bot", "Other")
    assert other_id == 777000
    with tg.client(OTHER_TOKEN) as other:
        assert ok(other.get("/getMe"))["username"] == "other_sandbox_bot"
        sent = ok(other.post("/sendMessage", data={"chat_id": PERSON, "text": "from the other"}))
    assert sent["from"]["id"] == other_id
    assert tg.emulator.messages(PERSON)[0].bot_id == other_id


@pytest.mark.parametrize(
    "how",
    ["query", "form", "json", "multipart"],
)
def test_parameters_arrive_in_every_encoding_telegram_accepts(api: httpx.Client, how: str) -> None:
    params = {"chat_id": str(PERSON), "text": f"sent as {how}"}
    if how == "query":
        response = api.get("/sendMessage", params=params)
    elif how == "form":
        response = api.post("/sendMessage", data=params)
    elif how == "json":
        response = api.post("/sendMessage", json={"chat_id": PERSON, "text": f"sent as {how}"})
    else:
        response = api.post("/sendMessage", data=params, files={"unused": ("a.txt", b"x")})
        assert response.request.headers["content-type"].startswith("multipart/form-data")
    assert ok(response)["text"] == f"sent as {how}"


def test_a_body_that_is_not_a_json_object_is_a_bad_request(api: httpx.Client) -> None:
    headers = {"content-type": "application/json"}
    assert failed(api.post("/getMe", content=b"[1]", headers=headers), 400) == (
        "Bad Request: JSON object expected"
    )
    assert failed(api.post("/getMe", content=b"{nope", headers=headers), 400).startswith(
        "Bad Request: can't parse"
    )


def test_injected_faults_answer_in_telegrams_envelope(tg: Telegram, api: httpx.Client) -> None:
    tg.emulator.faults.add(Fault(path="/bot*/sendMessage", status=502, times=1))
    response = api.post("/sendMessage", data={"chat_id": PERSON, "text": "x"})
    assert response.json() == {"ok": False, "error_code": 502, "description": "Bad Gateway"}
    assert ok(api.post("/sendMessage", data={"chat_id": PERSON, "text": "x"}))["message_id"] == 1


def test_throttle_answers_429_with_retry_after_in_both_places(
    tg: Telegram, api: httpx.Client
) -> None:
    tg.emulator.throttle("editMessageText", retry_after=7)
    response = api.post("/editMessageText", data={"chat_id": PERSON, "message_id": 1, "text": "x"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }


def test_the_journal_records_every_call(tg: Telegram, api: httpx.Client) -> None:
    api.post("/sendMessage", json={"chat_id": PERSON, "text": "journaled"})
    [entry] = tg.emulator.journal.matching("POST", "*/sendMessage")
    assert entry.status == 200
    assert entry.json() == {"chat_id": PERSON, "text": "journaled"}


def test_sandbox_reset_over_http_forgets_everything(tg: Telegram, api: httpx.Client) -> None:
    ok(api.post("/sendMessage", json={"chat_id": PERSON, "text": "soon gone"}))
    assert httpx.post(f"{tg.url}/__sandbox__/reset").json() == {"reset": True}
    assert api.get("/getMe").status_code == 401


def test_sandbox_controls_show_messages_and_let_a_person_write(
    tg: Telegram, api: httpx.Client
) -> None:
    ok(api.post("/sendMessage", json={"chat_id": PERSON, "text": "v1"}))
    ok(api.post("/editMessageText", json={"chat_id": PERSON, "message_id": 1, "text": "v2"}))
    [listing] = httpx.get(f"{tg.url}/__sandbox__/messages", params={"chat_id": PERSON}).json()
    assert listing["chat"]["id"] == PERSON
    [message] = listing["messages"]
    assert [v["text"] for v in message["versions"]] == ["v1", "v2"]
    assert message["message"]["edit_date"] >= message["message"]["date"]
    assert httpx.get(f"{tg.url}/__sandbox__/messages", params={"chat_id": 1}).status_code == 404

    written = {"bot_token": TOKEN, "chat_id": PERSON, "text": "hi from a person"}
    update = httpx.post(f"{tg.url}/__sandbox__/user_sends", json=written).json()
    assert ok(api.get("/getUpdates")) == [update]
    bad = httpx.post(f"{tg.url}/__sandbox__/user_sends", json={"chat_id": PERSON})
    assert bad.status_code == 400
