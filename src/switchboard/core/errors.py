"""Errors a caller can act on, and the handlers that turn every failure into clear JSON.

Every error response has the same shape: `{"error": "<code>", "message": "<text for people>"}`,
plus `details` for invalid fields. Messages are translated to the caller's language; nothing
internal (exception text, stack traces, request bodies) ever reaches the response.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from switchboard.core.i18n import negotiate, translate
from switchboard.core.responses import JsonResponse

log = structlog.get_logger(__name__)


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


class UnprocessableEntity(ApiError):
    status_code = 422


class TooManyRequests(ApiError):
    status_code = 429


class ServiceUnavailable(ApiError):
    status_code = 503


def request_locale(request: Request) -> str:
    default = getattr(getattr(request.app.state, "settings", None), "default_locale", "ru")
    return negotiate(request.headers.get("accept-language"), default)


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
    body: dict[str, Any] = {
        "error": code,
        "message": translate(message, request_locale(request), **params),
    }
    if details:
        body["details"] = details
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


def _field_message(error: Any, locale: str) -> str:
    template = _FIELD_MESSAGES.get(str(error.get("type")))
    if template is None:
        return translate(str(error.get("msg", "Invalid value.")), locale)
    context = {key: str(value) for key, value in (error.get("ctx") or {}).items()}
    try:
        return translate(template, locale, **context)
    except (KeyError, IndexError):
        return translate(str(error.get("msg", "Invalid value.")), locale)


def _field_errors(exc: RequestValidationError, locale: str) -> list[dict[str, Any]]:
    details = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ())]
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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JsonResponse:
        return error_response(
            request,
            exc.status_code,
            exc.code,
            exc.message,
            headers=exc.headers,
            details=exc.details,
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

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JsonResponse:
        log.exception("unhandled error", path=request.url.path, method=request.method)
        return error_response(
            request, 500, "internal_error", "Something went wrong on our side; try again later."
        )
