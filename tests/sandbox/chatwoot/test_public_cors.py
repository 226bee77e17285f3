"""Chatwoot answers browsers on other origins for its public API only (its rack-cors rule)."""

from __future__ import annotations

import httpx

from switchboard.sandbox.pytest_plugin import RunningChatwoot
from switchboard.sandbox.runner import CHATWOOT_INBOX

ORIGIN = "https://shop.example.uz"


def test_the_public_api_allows_any_origin(chatwoot: RunningChatwoot) -> None:
    url = f"{chatwoot.url}/public/api/v1/inboxes/{CHATWOOT_INBOX}/contacts"
    preflight = httpx.options(
        url,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    created = httpx.post(url, json={"name": "Анна"}, headers={"Origin": ORIGIN})
    assert created.status_code == 200
    assert created.headers["access-control-allow-origin"] == "*"


def test_the_account_api_gets_no_cors_headers(chatwoot: RunningChatwoot) -> None:
    answer = httpx.get(f"{chatwoot.url}/api/v1/accounts/1/inboxes", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in answer.headers
