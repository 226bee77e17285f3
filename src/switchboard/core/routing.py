"""Route classes shared by the API: strict query strings and the front-end auth.

They do their checks before FastAPI resolves the endpoint's parameters; as route classes rather
than dependencies they cost next to nothing on the hottest endpoints. Each also documents, in
OpenAPI, the error answers it can give (with the `ErrorBody` schema), on every endpoint it serves.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from switchboard.core.auth import FrontAuth
from switchboard.core.errors import BadRequest, error_responses, excerpt_names

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class StrictQueryRoute(APIRoute):
    """Refuses query parameters the endpoint does not declare, instead of silently ignoring a
    misspelt filter and returning everything. The allowed names come from the endpoint's own
    signature (and its dependencies), so they can never drift from what it reads."""

    #: Error answers every endpoint of this class can give (an endpoint may add its own).
    error_statuses: tuple[int, ...] = (400, 503)

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        declared = options.pop("responses", None) or {}
        super().__init__(
            path,
            endpoint,
            responses={**error_responses(*self.error_statuses), **declared},
            **options,
        )
        if _has_parameters(self.dependant) and 422 not in self.responses:
            self.responses[422] = error_responses(422)[422]

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
                    names=excerpt_names(unknown),
                    allowed=listed,
                )
            return await handler(request)

        return strict


class FrontRoute(StrictQueryRoute):
    """An endpoint of the front-end API: `X-Front-Secret` or `Authorization: Bearer` (seed
    001, constant time), a Telegram Mini App's `initData`, or an OpenID bearer token when
    configured (`core/auth.py: FrontAuth`, one per process); open only while no front
    credential of any kind is configured."""

    error_statuses = (400, 401, 429, 503)

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def authorized(request: Request) -> Response:
            await request.app.state.runtime.extension(FrontAuth).authenticate(request)
            return await handler(request)

        return authorized


def _has_parameters(dependant: Dependant) -> bool:
    """Whether FastAPI validates anything of the request for this endpoint (then 422 can
    happen)."""
    if (
        dependant.query_params
        or dependant.path_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
    ):
        return True
    return any(_has_parameters(dependency) for dependency in dependant.dependencies)


def _query_names(dependant: Dependant) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names
