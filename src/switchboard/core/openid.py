"""OpenID bearer tokens for the front-end API (1C:Фреш, seed 001), beside the static secrets.

A token passes when it is a JWT signed with one of the issuer's published keys, with an
algorithm of `OPENID_ALGORITHMS` (public-key ones only: never `none`, never HS*, so a public
key can never serve as an HMAC secret), issued by `OPENID_ISSUER` for `OPENID_AUDIENCE`, and
within its `exp` / `nbf` / `iat` (with `OPENID_LEEWAY_SECONDS` of clock difference). PyJWT
checks the signature and the claims; this module finds the key.

The keys (`IssuerKeys`): the issuer's discovery document
(`{issuer}/.well-known/openid-configuration`) names `jwks_uri` (or `OPENID_JWKS_URL` names it),
and the key set is fetched once, then kept for `OPENID_JWKS_TTL_SECONDS`. A token signed with
a key id we do not know refetches the set (the issuer rotated its keys), but at most once per
`OPENID_JWKS_REFRESH_SECONDS`: a flood of made-up key ids costs the issuer one request per
interval, and concurrent requests share one fetch. (So a key rotated in within that interval
after such a refetch is found only when the interval has passed.)

When the issuer cannot be reached: keys we already hold stay in use (a refetch is tried again
after the refresh interval). A token whose key we do not hold is then answered **503** with
`Retry-After`, not 401 — with no keys at all, or with an unknown key id while the last fetch
failed: the token may well be good, and a 401 would send the client to sign in again (and
again) while the fault is ours to wait out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jwt
import structlog

from switchboard.core.errors import ApiError
from switchboard.core.http import HttpKit
from switchboard.core.http.client import RetryPolicy, ServiceClient
from switchboard.core.http.errors import IntegrationError
from switchboard.core.settings import CoreSettings

log = structlog.get_logger(__name__)

#: Calls to the issuer are made while a request waits: short, and tried twice at most.
ISSUER_TIMEOUT_SECONDS = 5.0
ISSUER_RETRY = RetryPolicy(max_attempts=2, initial_backoff=0.1, max_backoff=0.5)
#: Claims every token must carry.
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud")
#: Key types that can verify a public-key signature (never "oct", a shared secret).
PUBLIC_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})

JsonObject = dict[str, Any]


class TokenRejected(Exception):
    """A bearer token that is no valid OpenID token of the configured issuer; `message` says
    why, for people (an English msgid of `core.i18n`)."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.params = params


class IssuerUnavailable(ApiError):
    """The key a token needs cannot be had from the issuer (none held, or an unknown key id
    while the issuer fails): answered 503 with Retry-After."""

    status_code = 503


class IssuerKeys:
    """The issuer's published keys by key id, fetched and kept as the module says."""

    def __init__(
        self,
        *,
        issuer: str,
        jwks_url: str | None,
        http: HttpKit,
        ttl_seconds: float,
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.ttl_seconds = ttl_seconds
        self.refresh_seconds = refresh_seconds
        self._http = http
        self._clock = clock
        self._keys: dict[str | None, JsonObject] | None = None
        self._expires_at = 0.0
        self._last_attempt = -float("inf")
        self._last_kid_refresh = -float("inf")  # the last refetch for an unknown key id
        self._fetches = 0  # fetches finished (ok or not): a waiter sees whether one happened
        self._failing = False  # the last fetch failed
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None) -> JsonObject:
        """The JWK for `kid` (a token without one: the only key there is), or `TokenRejected`;
        `IssuerUnavailable` when no keys can be had."""
        if self._keys is None or self._clock() >= self._expires_at:
            await self._refresh(self._fetches)
        found = self._find(kid)
        if found is None and self._clock() - self._last_kid_refresh >= self.refresh_seconds:
            # The issuer may have rotated its keys. Taken before the fetch, so that the
            # requests of a flood of made-up key ids that arrive meanwhile do not ask again.
            self._last_kid_refresh = self._clock()
            await self._refresh(self._fetches)
            found = self._find(kid)
        if found is None and self._failing:
            # Perhaps a key the issuer rotated in while we cannot reach it: not the token's
            # fault, so not a 401 that would send the client to sign in again.
            raise self._unavailable()
        if found is None:
            raise TokenRejected(
                "token_unknown_key",
                "The token is signed with a key the issuer does not publish.",
            )
        return found

    def _find(self, kid: str | None) -> JsonObject | None:
        keys = self._keys or {}
        if kid is not None:
            return keys.get(kid)
        return next(iter(keys.values())) if len(keys) == 1 else None

    async def _refresh(self, seen: int) -> None:
        """Fetches the keys, unless another request did so while this one waited (then its
        result serves), or none are held and the last attempt failed within the refresh
        interval (an issuer that is down is not asked again by every request)."""
        async with self._lock:
            cold_retry_due = self._clock() - self._last_attempt >= self.refresh_seconds
            if self._fetches == seen and (self._keys is not None or cold_retry_due):
                await self._fetch_or_keep()
        if self._keys is None:
            raise self._unavailable()

    def _unavailable(self) -> IssuerUnavailable:
        wait = self.refresh_seconds - (self._clock() - self._last_attempt)
        return IssuerUnavailable(
            "openid_unavailable",
            "The sign-in service (OpenID) is not available right now; try again later.",
            headers={"Retry-After": str(max(1, round(wait)))},
        )

    async def _fetch_or_keep(self) -> None:
        try:
            self._keys = await self._fetch()
            self._expires_at = self._clock() + self.ttl_seconds
            self._failing = False
        except (IntegrationError, _IssuerMisbehaves) as error:
            log.warning("openid keys not fetched", issuer=self.issuer, error=str(error))
            self._failing = True
            # Keep what we hold; try again after the refresh interval, not sooner.
            self._expires_at = self._clock() + self.refresh_seconds
        finally:
            self._last_attempt = self._clock()
            self._fetches += 1

    async def _fetch(self) -> dict[str | None, JsonObject]:
        client = ServiceClient(
            "openid",
            self.issuer,
            metrics=self._http.metrics,
            breakers=self._http.breakers,
            retry=ISSUER_RETRY,
            timeout=ISSUER_TIMEOUT_SECONDS,
            sleep=self._http.sleep,
        )
        try:
            if self.jwks_url is None:
                self.jwks_url = await self._discover(client)
            key_set = _json_object(await client.request("GET", self.jwks_url), "JWKS")
        finally:
            await client.aclose()
        keys = _signing_keys(key_set)
        log.info("openid keys fetched", issuer=self.issuer, kids=sorted(map(str, keys)))
        return keys

    async def _discover(self, client: ServiceClient) -> str:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = _json_object(await client.request("GET", url), "discovery document")
        if document.get("issuer") != self.issuer:
            raise _IssuerMisbehaves(
                f"the discovery document names issuer {document.get('issuer')!r}, "
                f"OPENID_ISSUER is {self.issuer!r}"
            )
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise _IssuerMisbehaves("the discovery document names no jwks_uri")
        return jwks_uri


class _IssuerMisbehaves(Exception):
    """The issuer answered, but not with what OpenID Discovery / RFC 7517 describe."""


def _json_object(response: Any, what: str) -> JsonObject:
    """The JSON object of a `ServiceClient` response."""
    try:
        body = response.json()
    except ValueError:
        raise _IssuerMisbehaves(f"the {what} is not JSON") from None
    if not isinstance(body, dict):
        raise _IssuerMisbehaves(f"the {what} is not a JSON object")
    return body


def _signing_keys(key_set: JsonObject) -> dict[str | None, JsonObject]:
    """The keys of a JWKS that may verify signatures, by key id."""
    keys = key_set.get("keys")
    if not isinstance(keys, list):
        raise _IssuerMisbehaves("the JWKS has no keys list")
    usable: dict[str | None, JsonObject] = {}
    for key in keys:
        if not isinstance(key, dict) or key.get("kty") not in PUBLIC_KEY_TYPES:
            continue
        if key.get("use", "sig") != "sig":
            continue
        kid = key.get("kid")
        usable[kid if isinstance(kid, str) else None] = key
    return usable


class OpenIdVerifier:
    """Checks a bearer token as the module says; one per process (inside `FrontAuth`)."""

    def __init__(
        self,
        keys: IssuerKeys,
        *,
        audience: str,
        algorithms: Sequence[str],
        leeway_seconds: float,
    ) -> None:
        self.keys = keys
        self.audience = audience
        self.algorithms = tuple(algorithms)
        self.leeway_seconds = leeway_seconds

    @classmethod
    def from_settings(cls, settings: CoreSettings, http: HttpKit) -> OpenIdVerifier:
        if settings.openid_issuer is None:
            raise ValueError("OPENID_ISSUER is not set")
        keys = IssuerKeys(
            issuer=settings.openid_issuer,
            jwks_url=str(settings.openid_jwks_url) if settings.openid_jwks_url else None,
            http=http,
            ttl_seconds=settings.openid_jwks_ttl_seconds,
            refresh_seconds=settings.openid_jwks_refresh_seconds,
        )
        return cls(
            keys,
            audience=settings.openid_audience_expected(),
            algorithms=settings.openid_algorithms,
            leeway_seconds=settings.openid_leeway_seconds,
        )

    async def verify(self, token: str) -> Mapping[str, Any]:
        """The token's claims, or `TokenRejected` saying what is wrong with it."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise TokenRejected("invalid_token", "The bearer token is not valid.") from None
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise TokenRejected(
                "token_algorithm_refused", "The token's signing algorithm is not accepted."
            )
        kid = header.get("kid")
        jwk = await self.keys.key(kid if isinstance(kid, str) else None)
        if jwk.get("alg", algorithm) != algorithm:
            # The issuer published this key for another algorithm.
            raise TokenRejected(
                "token_algorithm_refused", "The token's signing algorithm is not accepted."
            )
        try:
            key = jwt.PyJWK(jwk, algorithm=algorithm)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.keys.issuer,
                leeway=self.leeway_seconds,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except (jwt.PyJWKError, jwt.InvalidTokenError) as error:
            raise _rejection(error) from None
        return claims


def _rejection(error: Exception) -> TokenRejected:
    """What to tell the caller about a token PyJWT refused (most specific first)."""
    if isinstance(error, jwt.ExpiredSignatureError):
        return TokenRejected("token_expired", "The token has expired.")
    if isinstance(error, jwt.ImmatureSignatureError):
        return TokenRejected("token_not_yet_valid", "The token is not valid yet.")
    if isinstance(error, jwt.InvalidIssuerError):
        return TokenRejected("token_wrong_issuer", "The token was issued by another issuer.")
    if isinstance(error, jwt.InvalidAudienceError):
        return TokenRejected("token_wrong_audience", "The token was issued for another audience.")
    if isinstance(error, jwt.MissingRequiredClaimError):
        return TokenRejected(
            "token_claim_missing", "The token lacks the {claim} claim.", claim=error.claim
        )
    if isinstance(error, jwt.InvalidSignatureError):
        return TokenRejected("token_bad_signature", "The token's signature is not valid.")
    if isinstance(error, jwt.InvalidAlgorithmError):
        return TokenRejected(
            "token_algorithm_refused", "The token's signing algorithm is not accepted."
        )
    return TokenRejected("invalid_token", "The bearer token is not valid.")
