"""Route classes shared by the API: strict query strings and the front-end auth of seed 001.

They do their checks before FastAPI resolves the endpoint's parameters; as route classes rather
than dependencies they cost next to nothing on the hottest endpoints.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from switchboard.core.auth import front_request_allowed
from switchboard.core.errors import BadRequest, Unauthorized

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class StrictQueryRoute(APIRoute):
    """Refuses query parameters the endpoint does not declare, instead of silently ignoring a
    misspelt filter and returning everything. The allowed names come from the endpoint's own
    signature (and its dependencies), so they can never drift from what it reads."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        allowed = frozenset(_query_names(self.dependant))
        listed = ", ".join(sorted(allowed)) or "none"

        async def strict(request: Request) -> Response:
            unknown = [name for name in request.query_params if name not in allowed]
            if unknown:
                raise BadRequest(
                    "unknown_filter",
                    "Unknown filter {names}; allowed: {allowed}.",
                    names=", ".join(sorted(set(unknown))),
                    allowed=listed,
                )
            return await handler(request)

        return strict


class FrontRoute(StrictQueryRoute):
    """An endpoint of the front-end API: `X-Front-Secret` or `Authorization: Bearer`
    (seed 001), checked in constant time; open only while both secrets are unset."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def authorized(request: Request) -> Response:
            if not front_request_allowed(request.app.state.settings, request.headers):
                raise Unauthorized(
                    "unauthorized",
                    "Authentication required: send X-Front-Secret or Authorization: Bearer.",
                    headers={"WWW-Authenticate": 'Bearer realm="switchboard"'},
                )
            return await handler(request)

        return authorized


def _query_names(dependant: Dependant) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names
