"""Query-string rules shared by endpoints."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from switchboard.core.errors import BadRequest


def only_filters(*allowed: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency that refuses query parameters the endpoint does not know, instead of
    silently ignoring a misspelt filter and returning everything."""
    known = frozenset(allowed)

    async def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            raise BadRequest(
                "unknown_filter",
                "Unknown filter {names}; allowed: {allowed}.",
                names=", ".join(unknown),
                allowed=", ".join(sorted(known)) or "none",
            )

    return check
