"""Auth: the `api_access_token` header, bot tokens, platform tokens, and the refusal bodies."""

from __future__ import annotations

import httpx

from .support import APP, BOT_TOKEN, PLATFORM, PLATFORM_TOKEN, PUBLIC, TOKEN, Chatwoot


def test_missing_token_gets_the_devise_refusal(anonymous: httpx.Client) -> None:
    response = anonymous.get(f"{APP}/conversations")
    assert response.status_code == 401
    assert response.json() == {"errors": ["You need to sign in or sign up before continuing."]}


def test_unknown_token_is_an_invalid_access_token(cw: Chatwoot) -> None:
    with cw.client("not-a-token") as http:
        response = http.get(f"{APP}/conversations")
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid Access Token"}


def test_token_in_the_query_string_is_not_read(anonymous: httpx.Client) -> None:
    response = anonymous.get(f"{APP}/conversations", params={"api_access_token": TOKEN})
    assert response.status_code == 401
    assert "errors" in response.json()


def test_dashed_header_spelling_reaches_rails_too(anonymous: httpx.Client) -> None:
    response = anonymous.get(f"{APP}/inboxes", headers={"Api-Access-Token": TOKEN})
    assert response.status_code == 200


def test_unknown_account_is_not_found(api: httpx.Client) -> None:
    response = api.get("/api/v1/accounts/999/conversations")
    assert response.status_code == 404
    assert response.json() == {"error": "Resource could not be found"}


def test_bot_token_is_limited_to_the_bot_endpoints(api: httpx.Client, cw: Chatwoot) -> None:
    person = api.post(f"{PUBLIC}/contacts", json={"name": "Bo"}).json()
    display_id = api.post(f"{PUBLIC}/contacts/{person['source_id']}/conversations").json()["id"]
    with cw.client(BOT_TOKEN) as bot:
        refused = bot.get(f"{APP}/conversations")
        listed_messages = bot.get(f"{APP}/conversations/{display_id}/messages")
        toggled = bot.post(f"{APP}/conversations/{display_id}/toggle_status", json={})
        written = bot.post(f"{APP}/conversations/{display_id}/messages", json={"content": "hi"})
    bots_refusal = {"error": "Access to this endpoint is not authorized for bots"}
    assert (refused.status_code, refused.json()) == (401, bots_refusal)
    assert (listed_messages.status_code, listed_messages.json()) == (401, bots_refusal)
    assert toggled.status_code == 200
    assert toggled.json()["payload"]["current_status"] == "resolved"
    assert written.status_code == 200
    assert written.json()["sender"]["type"] == "agent_bot"


def test_platform_api_wants_a_platform_token(api: httpx.Client, cw: Chatwoot) -> None:
    refused = api.post(f"{PLATFORM}/users", json={"name": "X", "email": "x@example.com"})
    assert (refused.status_code, refused.json()) == (401, {"error": "Invalid access_token"})
    with cw.client(PLATFORM_TOKEN) as platform:
        foreign = platform.get(f"{PLATFORM}/users/1")  # the seeded admin: not created by the app
        on_application_api = platform.get(f"{APP}/conversations")
    assert (foreign.status_code, foreign.json()) == (401, {"error": "Non permissible resource"})
    assert on_application_api.status_code == 401


def test_agents_may_not_manage_webhooks(cw: Chatwoot) -> None:
    agent = cw.emulator.add_agent("Agent Smith", "smith@example.com")
    with cw.client(agent["access_token"]) as http:
        response = http.get(f"{APP}/webhooks")
        agents = http.get(f"{APP}/agents")
    assert response.status_code == 401
    assert response.json() == {"error": "You are not authorized to do this action"}
    assert agents.status_code == 200


def test_public_api_needs_no_token(anonymous: httpx.Client) -> None:
    response = anonymous.get(PUBLIC)
    assert response.status_code == 200
    assert response.json()["identifier"] == "sandbox-inbox"
