"""The only errors an adapter lets out. Workers retry `retriable` ones and report the rest.

`str(error)` is `"<target>: <message>"` built from the current `message`, so a classifier that
adds the peer's own reason to `message` after construction (1C's `[6] Неизвестное поле Foo`)
is seen in CLI output and job logs. Peer bodies kept on an error are cut to `BODY_LIMIT`
characters; the adapter kit masks known secrets in `message` and `body` before the error leaves.
"""

from __future__ import annotations

from collections.abc import Callable

#: Characters of a peer's answer kept on an error (enough for any error envelope).
BODY_LIMIT = 2000
#: Characters of the message kept (the peer's reason included).
MESSAGE_LIMIT = 1000


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class IntegrationError(Exception):
    """A call to an external system did not give the answer we needed."""

    retriable = False

    def __init__(
        self,
        target: str,
        message: str,
        *,
        status_code: int | None = None,
        body: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(target, message)
        self.target = target
        self._message = _cut(message, MESSAGE_LIMIT)
        self._body = None if body is None else _cut(body, BODY_LIMIT)
        self.status_code = status_code
        #: Seconds the peer asked us to wait (`Retry-After`), when it said so.
        self.retry_after = retry_after

    @property
    def message(self) -> str:
        return self._message

    @message.setter
    def message(self, value: str) -> None:
        self._message = _cut(value, MESSAGE_LIMIT)

    @property
    def body(self) -> str | None:
        return self._body

    @body.setter
    def body(self, value: str | None) -> None:
        self._body = None if value is None else _cut(value, BODY_LIMIT)

    def mask(self, hide: Callable[[str], str]) -> None:
        """Pass the message and the kept body through `hide` (the kit's secret masker)."""
        self.message = hide(self.message)
        if self.body is not None:
            self.body = hide(self.body)

    def __str__(self) -> str:
        return f"{self.target}: {self.message}"


class PeerUnavailable(IntegrationError):
    """The peer could not be reached or failed on its side (connection error, 5xx)."""

    retriable = True


class PeerTimeout(PeerUnavailable):
    """No answer in time. For a call that changes data the outcome is unknown."""


class CircuitOpen(PeerUnavailable):
    """Calls to this peer are paused after repeated failures; nothing was sent."""


class RateLimited(PeerUnavailable):
    """The peer asked us to slow down (429, or a 503 of a peer that uses it for its limit)."""


class PeerRejected(IntegrationError):
    """The peer understood the request and refused it (4xx); repeating it will not help."""


class PeerUnauthorized(PeerRejected):
    """Our credentials for the peer are missing or wrong."""


class PeerNotFound(PeerRejected):
    """The peer has no such object."""


class PeerBusinessError(IntegrationError):
    """The peer refused for a business reason (1C's code -1, a daily limit …)."""
