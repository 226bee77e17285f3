"""How RetailCRM refuses: `{"success": false, "errorMsg": ..., "errors": ...}` with a 4xx/5xx.

Every error of API v5 has that envelope; `errors` (an object of field -> message) comes only with
validation failures. The messages below are the ones RetailCRM's official clients know by text
(the PHP client maps several of them to exception classes), so the emulator uses them verbatim.

HTTP statuses (PROTOCOLS.md 3.1): a wrong key is 403 (the Go client's live test against a demo
account); a missing key is answered 401 here, which no stored source confirms (the PHP client's
tests build that error with 400, without saying where the number came from). Rate limiting is
503; unknown methods 404; a known path with another HTTP method 405.
"""

from __future__ import annotations

from typing import Any

import orjson

API_KEY_MISSING = '"apiKey" is missing.'
API_KEY_WRONG = 'Wrong "apiKey" value.'
ENTITY_FORMAT = "Errors in the entity format"
INPUT_PARAMETERS = "Errors in the input parameters"
NOT_FOUND = "Not found"
METHOD_NOT_FOUND = "API method not found"
METHOD_NOT_ALLOWED = "Method Not Allowed"
RATE_LIMITED = "Rate limit exceeded"
TELEPHONY_DISABLED = "Telephony not enabled"

# Symfony validator wordings, which RetailCRM's field errors use.
BLANK = "This value should not be blank."
NOT_A_CHOICE = "The value you selected is not a valid choice."
NOT_VALID = "This value is not valid."
NOT_A_URL = "This value is not a valid URL."
NOT_A_DATETIME = "This value is not a valid datetime."
NOT_A_DATE = "This value is not a valid date."
EXTRA_FIELDS = "This form should not contain extra fields."
LOGO_NOT_SVG = "Logo image must be svg"

ErrorDetails = dict[str, str]


class ApiError(Exception):
    """A refusal rendered as RetailCRM's error envelope."""

    def __init__(self, status: int, message: str, errors: ErrorDetails | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"success": False, "errorMsg": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


def missing_parameter(name: str) -> ApiError:
    return ApiError(400, f"Parameter '{name}' is missing")


def non_scalar_parameter(name: str) -> ApiError:
    """What Symfony's InputBag says of `name[...]=` sent where one string was expected."""
    return ApiError(400, f'Input value "{name}" contains a non-scalar value.')


def entity_format(errors: ErrorDetails) -> ApiError:
    return ApiError(400, ENTITY_FORMAT, errors)


def input_parameters(errors: ErrorDetails) -> ApiError:
    return ApiError(400, INPUT_PARAMETERS, errors)


def not_found() -> ApiError:
    return ApiError(404, NOT_FOUND)


# -- injected faults ----------------------------------------------------------------------------

_FAULT_MESSAGES = {
    400: "Invalid data",
    403: "Access denied.",
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    503: RATE_LIMITED,
}


def retailcrm_fault_body(status: int) -> tuple[bytes, str]:
    """The body of an injected fault: RetailCRM's envelope, because its clients always parse JSON
    (the official Python client calls `response.json()` before it looks at the status)."""
    message = _FAULT_MESSAGES.get(status, f"Internal error (injected fault {status})")
    return orjson.dumps({"success": False, "errorMsg": message}), "application/json"
