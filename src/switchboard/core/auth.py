"""Front-end auth exactly as seed 001 describes it.

A request passes with `X-Front-Secret: <FRONT_SECRET>`, or with `Authorization: Bearer <token>`
where the token is `FRONT_BEARER_TOKEN` (or `FRONT_SECRET` when no bearer token is set). Both are
compared in constant time. When both settings are empty the check is off (development only: the
demo prints a warning, and production refuses to start without them).
"""

from __future__ import annotations

import secrets

from fastapi import Request

from switchboard.config import Settings
from switchboard.core.errors import Unauthorized


def secret_matches(given: str | None, expected: str) -> bool:
    if not given or not expected:
        return False
    return secrets.compare_digest(given.encode(), expected.encode())


def front_request_allowed(settings: Settings, headers: dict[str, str] | object) -> bool:
    secret = settings.front_secret.get_secret_value()
    bearer = settings.front_bearer_token.get_secret_value() or secret
    if not secret and not bearer:
        return True
    get = getattr(headers, "get")  # noqa: B009 - Starlette Headers and dicts alike
    if secret_matches(get("x-front-secret"), secret):
        return True
    scheme, _, token = (get("authorization") or "").partition(" ")
    return scheme.lower() == "bearer" and secret_matches(token.strip(), bearer)


async def require_front_auth(request: Request) -> None:
    """FastAPI dependency for the front-end API."""
    if not front_request_allowed(request.app.state.settings, request.headers):
        raise Unauthorized(
            "unauthorized",
            "Authentication required: send X-Front-Secret or Authorization: Bearer.",
            headers={"WWW-Authenticate": 'Bearer realm="switchboard"'},
        )
