"""The Platform API: users (reused by email), SSO login, tokens, account users."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from .support import ACCOUNT_ID, APP, PLATFORM, PLATFORM_TOKEN, Chatwoot


@pytest.fixture
def platform(cw: Chatwoot) -> Iterator[httpx.Client]:
    with cw.client(PLATFORM_TOKEN) as http:
        yield http


def _user(platform: httpx.Client, **fields: object) -> dict[str, object]:
    body = {"name": "Ann", "email": "ann@example.com", "password": "Passw0rd!", **fields}
    response = platform.post(f"{PLATFORM}/users", json=body)
    assert response.status_code == 200, response.text
    user: dict[str, object] = response.json()
    return user


def test_create_user_and_reuse_by_email(platform: httpx.Client) -> None:
    user = _user(platform, custom_attributes={"cl_ref_key": "abc"})
    assert {
        "access_token",
        "account_id",
        "available_name",
        "avatar_url",
        "confirmed",
        "display_name",
        "email",
        "id",
        "name",
        "provider",
        "pubsub_token",
        "role",
        "ui_settings",
        "uid",
        "accounts",
    } <= set(user)
    assert user["custom_attributes"] == {"cl_ref_key": "abc"}
    assert user["accounts"] == []
    again = _user(platform, name="Another Name", email="ANN@example.com")
    assert again["id"] == user["id"]
    assert again["name"] == "Ann"  # reused as it is


def test_new_user_needs_a_password(platform: httpx.Client) -> None:
    response = platform.post(f"{PLATFORM}/users", json={"name": "Bo", "email": "bo@example.com"})
    assert response.status_code == 422
    assert response.json()["attributes"] == ["password"]


def test_show_update_login_token_delete(platform: httpx.Client) -> None:
    user = _user(platform, custom_attributes={"a": 1})
    url = f"{PLATFORM}/users/{user['id']}"
    assert platform.get(url).json()["id"] == user["id"]
    updated = platform.patch(url, json={"name": "Ann B", "custom_attributes": {"b": 2}}).json()
    assert updated["name"] == "Ann B"
    assert updated["custom_attributes"] == {"a": 1, "b": 2}
    login = platform.get(f"{url}/login").json()
    assert "sso_auth_token=" in login["url"]
    token = platform.post(f"{url}/token").json()
    assert token["access_token"] == user["access_token"]
    assert token["expiry"] is None
    assert set(token["user"]) == {"id", "name", "display_name", "email", "pubsub_token"}
    assert platform.delete(url).status_code == 200
    assert platform.get(url).json() == {"error": "Resource could not be found"}


def test_account_users_give_the_user_the_application_api(
    platform: httpx.Client, cw: Chatwoot
) -> None:
    user = _user(platform)
    url = f"{PLATFORM}/accounts/{ACCOUNT_ID}/account_users"
    record = platform.post(url, json={"user_id": user["id"], "role": "agent"}).json()
    assert (record["account_id"], record["user_id"], record["role"]) == (
        ACCOUNT_ID,
        user["id"],
        "agent",
    )
    shown = platform.get(f"{PLATFORM}/users/{user['id']}").json()
    assert shown["accounts"][0]["id"] == ACCOUNT_ID
    assert shown["role"] == "agent"
    with cw.client(str(user["access_token"])) as as_user:
        assert as_user.get(f"{APP}/agents").status_code == 200
    assert platform.request("DELETE", url, json={"user_id": user["id"]}).status_code == 200
    with cw.client(str(user["access_token"])) as as_user:
        refused = as_user.get(f"{APP}/agents")
    assert refused.json() == {"error": "You are not authorized to access this account"}
