"""A small OpenID issuer standing in for 1C:Фреш's: discovery, JWKS, tokens, key rotation.

    issuer = OpenIdIssuer(audience="switchboard-front")
    with BackgroundServer(issuer.app) as server:
        issuer.url = server.url                       # the issuer identifier (`iss`)
        token = issuer.mint(sub="user-1")             # signed with the current key
        issuer.rotate()                               # a new current key; the old one stays
                                                      # published unless keep_previous=False

Over HTTP (what a relying party sees):
    GET  /.well-known/openid-configuration   issuer, jwks_uri, token_endpoint, algorithms
    GET  /jwks                               the published keys (RFC 7517)
    POST /token                              OAuth 2.0 client credentials (RFC 6749 4.4):
                                             grant_type=client_credentials, client_id and
                                             client_secret (form or HTTP Basic), optional
                                             audience → {"access_token", "token_type", ...}
and the sandbox's own controls: POST /__sandbox__/rotate (body {"keep_previous": false,
"algorithm": "ES256"} optional) → {"kid": …}, plus faults, the request journal and reset
under /__sandbox__/ as every emulator has.

`mint(kid=…)` with a key id the issuer does not publish signs with the current key but names
that id: a token of a key the relying party cannot find.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import jwt
from starlette.types import ASGIApp

from switchboard.sandbox.faults import FaultInjector, RequestJournal
from switchboard.sandbox.openid.app import build_app
from switchboard.sandbox.openid.keys import ALGORITHMS, SigningKey

__all__ = ["ALGORITHMS", "OpenIdIssuer", "SigningKey"]

# The sandbox's own demo client, not a secret.
DEFAULT_CLIENT_ID = "switchboard-front"
DEFAULT_CLIENT_SECRET = "openid-sandbox-secret"  # noqa: S105
DEFAULT_AUDIENCE = "switchboard-front"


class OpenIdIssuer:
    """The issuer's state (keys, registered client) and its ASGI app. Thread-safe: tests mint
    and rotate from their own thread while the server runs in another."""

    def __init__(
        self,
        *,
        url: str | None = None,
        audience: str = DEFAULT_AUDIENCE,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        algorithm: str = "RS256",
        token_lifetime: int = 3600,
    ) -> None:
        #: The issuer identifier (`iss`, and the discovery document's `issuer`); None: the
        #: address the request came to.
        self.url = url
        self.audience = audience
        self.client_id = client_id
        self.client_secret = client_secret
        self.algorithm = algorithm
        self.token_lifetime = token_lifetime
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = [SigningKey.generate(algorithm)]
        self.faults = FaultInjector()
        self.journal = RequestJournal()
        self.app: ASGIApp = build_app(self)

    # -- keys ------------------------------------------------------------------------------

    @property
    def current(self) -> SigningKey:
        with self._lock:
            return self._keys[0]

    @property
    def keys(self) -> list[SigningKey]:
        """The published keys, the current (signing) one first."""
        with self._lock:
            return list(self._keys)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk() for key in self.keys]}

    def rotate(self, *, keep_previous: bool = True, algorithm: str | None = None) -> str:
        """A new current key (its id returned). The previous ones stay published while
        `keep_previous`, as an issuer does while tokens signed with them live on."""
        key = SigningKey.generate(algorithm or self.algorithm)
        with self._lock:
            self._keys = [key, *self._keys] if keep_previous else [key]
        return key.kid

    def reset(self) -> None:
        """One fresh key of the default algorithm, as after start."""
        key = SigningKey.generate(self.algorithm)
        with self._lock:
            self._keys = [key]

    # -- tokens ----------------------------------------------------------------------------

    def issuer_for(self, base_url: str) -> str:
        return self.url or base_url.rstrip("/")

    def mint(
        self,
        sub: str = "sandbox-user",
        *,
        aud: str | list[str] | None = None,
        expires_in: float | None = None,
        kid: str | None = None,
        issuer: str | None = None,
        issued_at: float | None = None,
        not_before: float | None = None,
        claims: dict[str, Any] | None = None,
        omit: tuple[str, ...] = (),
    ) -> str:
        """A signed token. Defaults: the current key, `iss` = `url`, `aud` = `audience`,
        `iat` now, `exp` after `token_lifetime`; `claims` add or replace, `omit` drops."""
        key = self._signing_key(kid)
        now = time.time() if issued_at is None else issued_at
        iss = issuer or self.url
        if iss is None:
            raise RuntimeError("set OpenIdIssuer.url (the server's address) before minting")
        payload: dict[str, Any] = {
            "iss": iss,
            "sub": sub,
            "aud": self.audience if aud is None else aud,
            "iat": int(now),
            "exp": int(now + (self.token_lifetime if expires_in is None else expires_in)),
        }
        if not_before is not None:
            payload["nbf"] = int(not_before)
        payload.update(claims or {})
        for name in omit:
            payload.pop(name, None)
        return jwt.encode(
            payload, key.private, algorithm=key.algorithm, headers={"kid": kid or key.kid}
        )

    def _signing_key(self, kid: str | None) -> SigningKey:
        keys = self.keys
        return next((key for key in keys if key.kid == kid), keys[0])
