"""Fixtures: our app served over HTTP and subscribed to the Chatwoot emulator's webhooks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from switchboard.main import create_app
from switchboard.runtime import Runtime
from switchboard.sandbox.pytest_plugin import RunningChatwoot
from switchboard.sandbox.server import BackgroundServer
from tests.conftest import make_settings
from tests.consultations.webhooks.support import EVERY_EVENT, WEBHOOK_PATH, Wired, admin_api


@pytest.fixture
async def wired(
    chatwoot: RunningChatwoot, clean_database: str, runtime_factory: Any
) -> AsyncIterator[Wired]:
    """The emulator's account webhook (every event) → our app, which checks its secret.

    The webhook is created first, to learn the secret Chatwoot gives it; the app is then
    served with that secret, and the webhook pointed at it."""
    async with admin_api(chatwoot) as api:
        created = await api.post(
            f"/api/v1/accounts/{chatwoot.emulator.account_id}/webhooks",
            json={"url": "http://127.0.0.1:9/not-yet", "subscriptions": EVERY_EVENT},
        )
        assert created.status_code == 200, created.text
        webhook = created.json()["payload"]["webhook"]
        overrides = {
            **chatwoot.settings(),
            "CHATWOOT_WEBHOOK_SECRET": webhook["secret"],
            "LOAD_DICTS_ON_START": "false",
        }
        runtime: Runtime = await runtime_factory(**overrides)
        settings = make_settings(DATABASE_URL=clean_database, **overrides)
        app = create_app(settings, database_url=clean_database, migrate=False)
        with BackgroundServer(app) as server:
            moved = await api.patch(
                f"/api/v1/accounts/{chatwoot.emulator.account_id}/webhooks/{webhook['id']}",
                json={"url": server.url + WEBHOOK_PATH},
            )
            assert moved.status_code == 200, moved.text
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as app_client:
                yield Wired(
                    chatwoot=chatwoot,
                    runtime=runtime,
                    app_url=server.url,
                    secret=webhook["secret"],
                    api=api,
                    app=app_client,
                )
            # Nothing may still be on its way to a server that is going away.
            await chatwoot.emulator.drain_webhooks(timeout=20)


@pytest.fixture
async def unsigned_runtime(runtime_factory: Any, chatwoot: RunningChatwoot) -> Runtime:
    """A development runtime without CHATWOOT_WEBHOOK_SECRET (deliveries are not checked)."""
    runtime: Runtime = await runtime_factory(**chatwoot.settings())
    return runtime


@pytest.fixture
async def unsigned(unsigned_runtime: Runtime, client_factory: Any) -> httpx.AsyncClient:
    client: httpx.AsyncClient = await client_factory(unsigned_runtime)
    return client
