"""The Starlette app: API v5's routes, its 404/405 envelopes, the sandbox middleware and controls.

A path no route knows is `{"success": false, "errorMsg": "API method not found"}` (404) and a known
path with another HTTP method "Method Not Allowed" (405): RetailCRM's clients parse every answer
as JSON, so even a routing miss keeps the envelope.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from switchboard.sandbox.faults import SandboxMiddleware
from switchboard.sandbox.retailcrm import customers, modules, telephony, users
from switchboard.sandbox.retailcrm.callbacks import CallbackControls
from switchboard.sandbox.retailcrm.errors import (
    METHOD_NOT_ALLOWED,
    METHOD_NOT_FOUND,
    ApiError,
    retailcrm_fault_body,
)
from switchboard.sandbox.retailcrm.http import error_response

if TYPE_CHECKING:
    from switchboard.sandbox.retailcrm import RetailCrmEmulator


async def _routing_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 405:
        return error_response(ApiError(405, METHOD_NOT_ALLOWED))
    if status == 404:
        return error_response(ApiError(404, METHOD_NOT_FOUND))
    return error_response(ApiError(status, "Internal error"))


async def _crash(request: Request, exc: Exception) -> Response:
    return error_response(ApiError(500, "Internal error"))


def build_app(emulator: RetailCrmEmulator) -> ASGIApp:
    api = Starlette(
        routes=[*telephony.ROUTES, *modules.ROUTES, *users.ROUTES, *customers.ROUTES],
        exception_handlers={HTTPException: _routing_error, Exception: _crash},
    )
    api.state.emulator = emulator
    wrapped = SandboxMiddleware(
        api,
        faults=emulator.faults,
        journal=emulator.journal,
        error_body=retailcrm_fault_body,
        reset=emulator.reset,
    )
    return CallbackControls(wrapped, emulator.store, timeout=emulator.callback_timeout)
