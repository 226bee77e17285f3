"""Front-end auth exactly as seed 001 describes it.

A request passes with `X-Front-Secret: <FRONT_SECRET>`, or with `Authorization: Bearer <token>`
where the token is `FRONT_BEARER_TOKEN` (or `FRONT_SECRET` when no bearer token is set). Both are
compared in constant time. When both settings are empty the check is off (development only: the
demo prints a warning, and production refuses to start without them).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from switchboard.core.settings import CoreSettings


def secret_matches(given: str | None, expected: str) -> bool:
    if not given or not expected:
        return False
    return secrets.compare_digest(given.encode(), expected.encode())


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of `Authorization: Bearer <token>`, or None."""
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def front_request_allowed(settings: CoreSettings, headers: Mapping[str, str]) -> bool:
    secret = settings.front_secret.get_secret_value()
    bearer = settings.front_bearer_token.get_secret_value() or secret
    if not secret and not bearer:
        return True
    if secret_matches(headers.get("x-front-secret"), secret):
        return True
    return secret_matches(bearer_token(headers), bearer)
