"""Bot API errors as Telegram words them.

The official server builds a description from a status prefix ("Bad Request", "Forbidden", ...)
and a message whose first letter it lower-cases unless the message is an upper-case code such as
`BUTTON_DATA_INVALID`; `BotApiError.bad_request` follows the same rule, so messages can be written
as the server's internals spell them ("Message text is empty" → "Bad Request: message text is
empty").
"""

from __future__ import annotations

from typing import Any

PREFIXES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)


def _describe(code: int, message: str) -> str:
    prefix = PREFIXES.get(code, "Bad Request")
    if not message:
        return prefix
    if message.startswith(prefix):
        return message
    is_code_word = len(message) >= 2 and (message[1] == "_" or message[1].isupper())
    return f"{prefix}: {message if is_code_word else message[0].lower() + message[1:]}"


class BotApiError(Exception):
    """An answer `{"ok": false, ...}`; raised anywhere below a method and sent by the app."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    @classmethod
    def bad_request(cls, message: str) -> BotApiError:
        return cls(400, _describe(400, message))

    @classmethod
    def forbidden(cls, message: str) -> BotApiError:
        return cls(403, _describe(403, message))

    @classmethod
    def conflict(cls, message: str) -> BotApiError:
        return cls(409, _describe(409, message))

    @classmethod
    def too_many_requests(cls, retry_after: int) -> BotApiError:
        return cls(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.description, self.retry_after)


def error_body(code: int, description: str, retry_after: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return body


def fault_body(status: int) -> dict[str, Any]:
    """What an injected fault answers: the envelope a client of Telegram expects for `status`."""
    if status == 429:
        return error_body(429, "Too Many Requests: retry after 1", 1)
    return error_body(status, PREFIXES.get(status, f"Error {status}"))


UNAUTHORIZED = BotApiError(401, "Unauthorized")
NOT_FOUND = BotApiError(404, "Not Found")
