"""The adapter kit for calling external HTTP systems."""

from switchboard.core.http.client import HttpKit, RetryPolicy, ServiceClient
from switchboard.core.http.errors import (
    CircuitOpen,
    IntegrationError,
    PeerBusinessError,
    PeerNotFound,
    PeerRejected,
    PeerTimeout,
    PeerUnauthorized,
    PeerUnavailable,
    RateLimited,
)

__all__ = [
    "CircuitOpen",
    "HttpKit",
    "IntegrationError",
    "PeerBusinessError",
    "PeerNotFound",
    "PeerRejected",
    "PeerTimeout",
    "PeerUnauthorized",
    "PeerUnavailable",
    "RateLimited",
    "RetryPolicy",
    "ServiceClient",
]
