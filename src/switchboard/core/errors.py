"""Errors a caller can act on, and the handlers that turn every failure into clear JSON.

Every error response has the same shape, `ErrorBody`: `{"error": "<code>", "message": "<text
for people>"}`, plus `details` for invalid fields. Messages are translated to the caller's
language; nothing internal (exception text, stack traces, a peer's answer) reaches the response,
and what comes from the request itself (a parameter's name) only as a short, escaped `excerpt`.
A failure of an external system answers 502/503/504 and a database outage 503, never 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
import psycopg_pool
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from switchboard.core.http.errors import (
    CircuitOpen,
    IntegrationError,
    PeerTimeout,
    PeerUnavailable,
)
from switchboard.core.i18n import negotiate, translate
from switchboard.core.responses import JsonResponse

log = structlog.get_logger(__name__)

#: Characters of a client-chosen value (a parameter's name …) an error message may quote.
EXCERPT_LIMIT = 40
#: Unknown names an error message lists before it says "and N more".
EXCERPT_NAMES = 3


def excerpt(text: str, limit: int = EXCERPT_LIMIT) -> str:
    """A short, printable piece of client input for an error message: control and other
    unprintable characters are written as `\\uXXXX`, and the text is cut at `limit`."""
    printable = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text[:limit])
    return printable[:limit] + ("…" if len(text) > limit or len(printable) > limit else "")


def excerpt_names(names: list[str]) -> str:
    """`a, b, c and 4 more`: a few client-chosen names, each an `excerpt`."""
    unique = sorted(set(names))
    shown = ", ".join(excerpt(name) for name in unique[:EXCERPT_NAMES])
    hidden = len(unique) - EXCERPT_NAMES
    return f"{shown} (+{hidden})" if hidden > 0 else shown


class FieldError(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    field: str = Field(description="The parameter or body field, dotted for nested ones")
    in_: str = Field(alias="in", description="query, path, header, cookie or body")
    message: str
    type: str | None = Field(None, description="The kind of problem (pydantic's error type)")


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: str = Field(description="A stable code to act on, such as `rate_limited`")
    message: str = Field(description="What went wrong, for people, in the caller's language")
    details: list[FieldError] | None = Field(None, description="Invalid fields (422)")


_RESPONSE_DESCRIPTIONS = {
    400: "The request is malformed (an unknown filter, an invalid event id …)",
    401: "Authentication is required (see the security notes of the endpoint)",
    403: "Access denied",
    404: "Not found",
    409: "Conflicts with the current state",
    410: "It existed but is no longer available (an expired link)",
    422: "Some fields are invalid; `details` lists them",
    429: "Too many requests; `Retry-After` says when to come back",
    502: "An external system refused or failed in a way repeating will not fix",
    503: "The database or an external system is unavailable; `Retry-After` when known",
    504: "An external system did not answer in time",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for error statuses, all with the `ErrorBody` schema."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {"model": ErrorBody, "description": _RESPONSE_DESCRIPTIONS[status]}
        if status in (429, 503):
            entry["headers"] = _RETRY_AFTER
        responses[status] = entry
    return responses


class ApiError(Exception):
    status_code = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
        **params: object,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.params = params
        self.headers = headers
        self.details = details


class BadRequest(ApiError):
    status_code = 400


class Unauthorized(ApiError):
    status_code = 401


class Forbidden(ApiError):
    status_code = 403


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    status_code = 409


class Gone(ApiError):
    status_code = 410


class Unprocessable(ApiError):
    status_code = 422


class TooManyRequests(ApiError):
    status_code = 429


def request_locale(request: Request) -> str:
    default = getattr(getattr(request.app.state, "settings", None), "default_locale", "ru")
    return negotiate(request.headers.get("accept-language"), default)


def error_body(
    locale: str,
    code: str,
    message: str,
    *,
    details: list[dict[str, Any]] | None = None,
    **params: object,
) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": translate(message, locale, **params)}
    if details:
        body["details"] = details
    return body


def error_response(
    request: Request,
    status_code: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    details: list[dict[str, Any]] | None = None,
    **params: object,
) -> JsonResponse:
    body = error_body(request_locale(request), code, message, details=details, **params)
    return JsonResponse(body, status_code=status_code, headers=headers)


_STATUS_MESSAGES = {
    400: ("bad_request", "The request is malformed."),
    401: ("unauthorized", "Authentication is required."),
    403: ("forbidden", "Access denied."),
    404: ("not_found", "Nothing is found at this address."),
    405: ("method_not_allowed", "This method is not allowed here."),
    413: ("payload_too_large", "The request is too large."),
    415: ("unsupported_media_type", "This content type is not supported."),
}

INTERNAL_ERROR = ("internal_error", "Something went wrong on our side; try again later.")


#: Field messages by pydantic error type; the others keep pydantic's own English text.
_FIELD_MESSAGES = {
    "uuid_parsing": "Expected a GUID such as 8d04ce3c-6360-11e9-dd92-fa163e8ba11d.",
    "uuid_type": "Expected a GUID such as 8d04ce3c-6360-11e9-dd92-fa163e8ba11d.",
    "literal_error": "Allowed values: {expected}.",
    "enum": "Allowed values: {expected}.",
    "missing": "This field is required.",
    "int_parsing": "Expected a whole number.",
    "float_parsing": "Expected a number.",
    "bool_parsing": "Expected true or false.",
    "json_invalid": "The body is not valid JSON.",
    "string_too_long": "Too long: at most {max_length} characters.",
    "string_too_short": "Too short: at least {min_length} characters.",
    "datetime_from_date_parsing": "Expected a date and time such as 2026-01-31T14:30:00+05:00.",
    "datetime_parsing": "Expected a date and time such as 2026-01-31T14:30:00+05:00.",
}
#: Pydantic's own messages can quote the input (a custom validator's text): kept this short.
FIELD_MESSAGE_LIMIT = 200


def _field_message(error: Any, locale: str) -> str:
    template = _FIELD_MESSAGES.get(str(error.get("type")))
    if template is None:
        return excerpt(
            translate(str(error.get("msg", "Invalid value.")), locale), FIELD_MESSAGE_LIMIT
        )
    context = {key: excerpt(str(value)) for key, value in (error.get("ctx") or {}).items()}
    try:
        return translate(template, locale, **context)
    except (KeyError, IndexError):
        return excerpt(
            translate(str(error.get("msg", "Invalid value.")), locale), FIELD_MESSAGE_LIMIT
        )


def _field_errors(exc: RequestValidationError, locale: str) -> list[dict[str, Any]]:
    """One entry per invalid field; the input itself is never echoed, and field names (which a
    client chooses for unknown body fields) only as excerpts."""
    details = []
    for error in exc.errors()[:20]:
        location = [excerpt(str(part)) for part in error.get("loc", ())]
        field = ".".join(location[1:]) if len(location) > 1 else ".".join(location)
        details.append(
            {
                "field": field,
                "in": location[0] if location else "body",
                "message": _field_message(error, locale),
                "type": error.get("type"),
            }
        )
    return details


# --- failures of what the API depends on ---------------------------------------------------------

#: SQLSTATE classes of a database that is gone or refusing connections (not of a bad query):
#: 08 connection exception, 57P admin shutdown / cannot connect now, 53 insufficient resources.
_OUTAGE_SQLSTATES = ("08", "57P", "53")


def is_database_outage(error: BaseException) -> bool:
    """True when `error` says the database cannot be reached, not that a query was wrong."""
    if isinstance(error, (sa_exc.TimeoutError, psycopg_pool.PoolTimeout)):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        return error.orig is not None and is_database_outage(error.orig)
    if isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError)):
        state = error.sqlstate
        return state is None or state.startswith(_OUTAGE_SQLSTATES)
    return False


def integration_failure(error: IntegrationError) -> tuple[int, str, str, dict[str, str]]:
    """(status, code, message, headers) of the API's answer when an external system failed."""
    headers: dict[str, str] = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(max(1, int(error.retry_after + 0.999)))
    if isinstance(error, PeerTimeout):
        return (
            504,
            "integration_timeout",
            "{system} did not answer in time; try again later.",
            headers,
        )
    if isinstance(error, (PeerUnavailable, CircuitOpen)):
        return (
            503,
            "integration_unavailable",
            "{system} is not available right now; try again later.",
            headers,
        )
    return 502, "integration_error", "{system} could not handle the request.", headers


def _translated(
    details: list[dict[str, Any]] | None, locale: str, params: Mapping[str, object]
) -> list[dict[str, Any]] | None:
    """An error's field details in the caller's language (their messages are English templates
    that may use the error's parameters, as its message does)."""
    if not details:
        return details
    return [
        {**detail, "message": translate(str(detail["message"]), locale, **params)}
        if "message" in detail
        else detail
        for detail in details
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JsonResponse:
        return error_response(
            request,
            exc.status_code,
            exc.code,
            exc.message,
            headers=exc.headers,
            details=_translated(exc.details, request_locale(request), exc.params),
            **exc.params,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JsonResponse:
        return error_response(
            request,
            422,
            "validation_error",
            "Some fields are invalid.",
            details=_field_errors(exc, request_locale(request)),
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JsonResponse:
        code, message = _STATUS_MESSAGES.get(exc.status_code, ("http_error", "Request failed."))
        return error_response(request, exc.status_code, code, message, headers=exc.headers)

    @app.exception_handler(IntegrationError)
    async def integration_error(request: Request, exc: IntegrationError) -> JsonResponse:
        status, code, message, headers = integration_failure(exc)
        # The peer's own words go to the log (with the request id), not to the caller.
        log.warning("external system failed", target=exc.target, error=str(exc), status=status)
        return error_response(request, status, code, message, headers=headers, system=exc.target)

    async def database_error(request: Request, exc: Exception) -> JsonResponse:
        if not is_database_outage(exc):
            raise exc
        log.warning("database unavailable", error=type(exc).__name__)
        return error_response(
            request, 503, "database_unavailable", "The database is unavailable; try again later."
        )

    for kind in (sa_exc.DBAPIError, sa_exc.TimeoutError, psycopg.Error, psycopg_pool.PoolTimeout):
        app.add_exception_handler(kind, database_error)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JsonResponse:
        log.exception("unhandled error", path=request.url.path, method=request.method)
        code, message = INTERNAL_ERROR
        return error_response(request, 500, code, message)
