"""The 1C emulator's own sandbox control: platform behaviours that differ between 1C versions.

    GET   /__sandbox__/settings   -> {"inlinecount_ignores_paging": true}
    PATCH /__sandbox__/settings   {"inlinecount_ignores_paging": false}   (POST works the same)

Like the other `/__sandbox__/` controls (faults, journal, reset) this is no part of 1C; it lets a
person poking a running demo switch a behaviour that tests switch through `OneCEmulator`'s
attributes. `POST /__sandbox__/reset` restores the defaults, as `store.reset()` does.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from switchboard.sandbox.faults import CONTROL_PREFIX
from switchboard.sandbox.onec.store import Store

SETTINGS_PATH = f"{CONTROL_PREFIX}/settings"
# setting name -> its type; each is an attribute of the store.
SETTINGS: dict[str, type] = {"inlinecount_ignores_paging": bool}


def current_settings(store: Store) -> dict[str, Any]:
    return {name: getattr(store, name) for name in SETTINGS}


def apply_settings(store: Store, changes: object) -> str | None:
    """Apply `changes` to the store, all or nothing; the reason when they are refused."""
    if not isinstance(changes, dict):
        return "the body must be a JSON object of settings"
    unknown = sorted(set(changes) - set(SETTINGS))
    if unknown:
        return f"unknown settings: {unknown}; known: {sorted(SETTINGS)}"
    for name, value in changes.items():
        if type(value) is not SETTINGS[name]:
            return f"{name} must be a {SETTINGS[name].__name__}"
    for name, value in changes.items():
        setattr(store, name, value)
    return None


class SettingsControl:
    """Serves `/__sandbox__/settings` in front of the sandbox middleware."""

    def __init__(self, app: ASGIApp, store: Store) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != SETTINGS_PATH:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        status = 200
        payload: Any
        if method == "GET":
            payload = current_settings(self.store)
        elif method in ("PATCH", "POST"):
            status, payload = self._change(await _read_body(receive))
        else:
            status, payload = 405, {"error": f"{method} is not allowed here; use GET or PATCH"}
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": orjson.dumps(payload)})

    def _change(self, body: bytes) -> tuple[int, Any]:
        try:
            changes = orjson.loads(body or b"{}")
        except orjson.JSONDecodeError:
            return 400, {"error": "the body is not JSON"}
        problem = apply_settings(self.store, changes)
        if problem is not None:
            return 400, {"error": problem}
        return 200, current_settings(self.store)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)
