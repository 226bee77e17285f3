"""The only errors an adapter lets out. Workers retry `retriable` ones and report the rest."""

from __future__ import annotations


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
    ) -> None:
        super().__init__(f"{target}: {message}")
        self.target = target
        self.message = message
        self.status_code = status_code
        self.body = body


class PeerUnavailable(IntegrationError):
    """The peer could not be reached or failed on its side (connection error, 5xx)."""

    retriable = True


class PeerTimeout(PeerUnavailable):
    """No answer in time. For a call that changes data the outcome is unknown."""


class CircuitOpen(PeerUnavailable):
    """Calls to this peer are paused after repeated failures; nothing was sent."""


class RateLimited(PeerUnavailable):
    """The peer asked us to slow down (429, or RetryCRM's 503)."""

    def __init__(self, target: str, message: str, *, retry_after: float | None, **kw: object):
        super().__init__(target, message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class PeerRejected(IntegrationError):
    """The peer understood the request and refused it (4xx); repeating it will not help."""


class PeerUnauthorized(PeerRejected):
    """Our credentials for the peer are missing or wrong."""


class PeerNotFound(PeerRejected):
    """The peer has no such object."""


class PeerBusinessError(IntegrationError):
    """The peer refused for a business reason (1C's code -1, a daily limit …)."""
