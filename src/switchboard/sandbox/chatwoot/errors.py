"""How Chatwoot refuses, in the shapes its two controller families render.

Api and Platform controllers include `RequestExceptionHandler`, which renders
`{"error": ...}` (or `{"message", "attributes"}` for invalid records). The Public API controllers
inherit `ActionController::Base` without it, so there the same exceptions reach Rails' own
exception app and come back as `{"status": 404, "error": "Not Found"}`. The domain code raises the
exceptions below; `http.py` renders them for the API family that was called.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, TypeVar

import orjson

NOT_FOUND = "Resource could not be found"
NOT_AUTHORIZED = "You are not authorized to do this action"
DEVISE_SIGN_IN = "You need to sign in or sign up before continuing."


class ApiError(Exception):
    """A response a controller renders on purpose (`render json: ..., status: ...`)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body!r}")
        self.status = status
        self.body = body


T = TypeVar("T")


class RecordNotFound(Exception):
    """ActiveRecord::RecordNotFound."""


def found(record: T | None, what: str) -> T:
    """ActiveRecord's `find!`: the record, or RecordNotFound (answered 404)."""
    if record is None:
        raise RecordNotFound(what)
    return record


class RecordInvalid(Exception):
    """ActiveRecord::RecordInvalid with `(attribute, full message)` pairs."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__(", ".join(message for _, message in errors))
        self.errors = errors

    def body(self) -> dict[str, Any]:
        attributes = list(dict.fromkeys(attribute for attribute, _ in self.errors))
        return {"message": str(self), "attributes": attributes}


class ParameterMissing(Exception):
    """ActionController::ParameterMissing, from `params.require(:name)`."""

    def __init__(self, param: str) -> None:
        super().__init__(f"param is missing or the value is empty: {param}")


class ServerError(Exception):
    """Anything Rails does not rescue (ArgumentError from an enum, a bad HMAC...): a plain 500."""


def unauthorized(message: str) -> ApiError:
    return ApiError(401, {"error": message})


def could_not_create(message: str) -> ApiError:
    """`render_could_not_create_error`: 422 with the exception's message."""
    return ApiError(422, {"error": message})


def not_authorized() -> ApiError:
    """Pundit::NotAuthorizedError as RequestExceptionHandler renders it."""
    return ApiError(401, {"error": NOT_AUTHORIZED})


def rails_body(status: int) -> dict[str, Any]:
    """The body of Rails' exception app for a JSON request."""
    return {"status": status, "error": HTTPStatus(status).phrase}


def chatwoot_fault_body(status: int) -> tuple[bytes, str]:
    """The body an injected fault answers with: Chatwoot's `{"error": ...}` shape."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return orjson.dumps({"error": phrase}), "application/json; charset=utf-8"
