"""OpenID bearer tokens beside the static secrets, against the sandbox issuer on a real socket.

Tokens are minted by the issuer (`openid.issuer.mint`); the forgeries a relying party must
refuse (`alg: none`, HS256 keyed with the public key) are put together here by hand.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import jwt
import pytest
from fastapi import APIRouter, Request

from switchboard.config import SettingsError, load_settings
from switchboard.core.auth import openid_claims_of
from switchboard.core.routing import FrontRoute
from switchboard.main import create_app
from switchboard.runtime import Runtime
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.openid import SigningKey
from switchboard.sandbox.pytest_plugin import RunningOpenId

SECRET = "front-secret-of-the-website"
BEARER = "static-bearer-of-the-website"

whoami = APIRouter(route_class=FrontRoute)


@whoami.get("/test/whoami")
async def who_am_i(request: Request) -> dict[str, Any]:
    claims = openid_claims_of(request)
    return {"sub": None if claims is None else claims["sub"]}


@pytest.fixture
async def app_client(runtime_factory: Any) -> AsyncIterator[Callable[..., Any]]:
    async with AsyncExitStack() as stack:

        async def make(**settings: Any) -> httpx.AsyncClient:
            values = {"FRONT_SECRET": SECRET, "FRONT_BEARER_TOKEN": BEARER}
            values.update({"DEFAULT_LOCALE": "en", **settings})
            runtime: Runtime = await runtime_factory(**values)
            app = create_app(runtime.settings, runtime=runtime)
            app.include_router(whoami)
            await stack.enter_async_context(app.router.lifespan_context(app))
            return await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://testserver"
                )
            )

        yield make


@pytest.fixture
async def client(app_client: Callable[..., Any], openid: RunningOpenId) -> httpx.AsyncClient:
    result: httpx.AsyncClient = await app_client(**openid.settings())
    return result


async def call(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/test/whoami", headers={"Authorization": f"Bearer {token}"})


def fetches(openid: RunningOpenId, path: str = "/jwks") -> int:
    return len(openid.issuer.journal.matching("GET", path))


def refused(response: httpx.Response, code: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == code, response.text
    assert (
        response.headers["WWW-Authenticate"] == 'Bearer realm="switchboard", error="invalid_token"'
    )


# --- tokens that pass ---------------------------------------------------------------------------


async def test_a_token_of_the_issuer_passes_and_its_claims_reach_the_endpoint(
    client: httpx.AsyncClient, openid: RunningOpenId
) -> None:
    response = await call(client, openid.issuer.mint(sub="fresh-user-17"))
    assert response.status_code == 200, response.text
    assert response.json() == {"sub": "fresh-user-17"}
    # discovery once, keys once; the next token needs neither
    assert (fetches(openid, "/.well-known/openid-configuration"), fetches(openid)) == (1, 1)
    assert (await call(client, openid.issuer.mint(sub="another"))).status_code == 200
    assert (fetches(openid, "/.well-known/openid-configuration"), fetches(openid)) == (1, 1)


async def test_a_token_from_the_token_endpoint_passes_on_real_endpoints(
    client: httpx.AsyncClient, openid: RunningOpenId
) -> None:
    async with httpx.AsyncClient() as outside:
        answer = await outside.post(
            f"{openid.url}/token",
            data={"grant_type": "client_credentials"},
            auth=(openid.issuer.client_id, openid.issuer.client_secret),
        )
    token = answer.json()["access_token"]
    response = await client.get("/api/dicts/po-types", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


async def test_es256_tokens_pass_too(client: httpx.AsyncClient, openid: RunningOpenId) -> None:
    openid.issuer.rotate(algorithm="ES256")
    response = await call(client, openid.issuer.mint(sub="ec-user"))
    assert response.status_code == 200, response.text


async def test_the_static_secrets_still_work_beside_openid(client: httpx.AsyncClient) -> None:
    assert (await client.get("/test/whoami", headers={"X-Front-Secret": SECRET})).json() == {
        "sub": None
    }
    assert (await call(client, BEARER)).status_code == 200
    unauthenticated = await client.get("/test/whoami")
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error"] == "unauthorized"


async def test_openid_alone_turns_the_check_on(
    app_client: Callable[..., Any], openid: RunningOpenId
) -> None:
    client = await app_client(FRONT_SECRET="", FRONT_BEARER_TOKEN="", **openid.settings())
    assert (await client.get("/api/dicts/po-types")).status_code == 401
    assert (await call(client, openid.issuer.mint())).status_code == 200


async def test_a_jwks_url_setting_skips_discovery(
    app_client: Callable[..., Any], openid: RunningOpenId
) -> None:
    client = await app_client(**openid.settings(), OPENID_JWKS_URL=f"{openid.url}/jwks")
    assert (await call(client, openid.issuer.mint())).status_code == 200
    assert (fetches(openid, "/.well-known/openid-configuration"), fetches(openid)) == (0, 1)


async def test_the_client_id_serves_as_the_audience(
    app_client: Callable[..., Any], openid: RunningOpenId
) -> None:
    client = await app_client(OPENID_ISSUER=openid.url, OPENID_CLIENT_ID="switchboard-front")
    assert (await call(client, openid.issuer.mint(aud="switchboard-front"))).status_code == 200
    refused(await call(client, openid.issuer.mint(aud="someone-else")), "token_wrong_audience")


# --- tokens that do not -------------------------------------------------------------------------


async def test_an_expired_token_says_so(client: httpx.AsyncClient, openid: RunningOpenId) -> None:
    token = openid.issuer.mint(issued_at=time.time() - 7200, expires_in=3600)
    response = await call(client, token)
    refused(response, "token_expired")
    assert response.json()["message"] == "The token has expired."


async def test_the_leeway_forgives_a_little_clock_difference(
    client: httpx.AsyncClient, openid: RunningOpenId
) -> None:
    just_expired = openid.issuer.mint(issued_at=time.time() - 3630, expires_in=3600)
    assert (await call(client, just_expired)).status_code == 200  # 30 s late, leeway 60 s


@pytest.mark.parametrize(
    ("mint", "code"),
    [
        pytest.param({"issuer": "https://elsewhere.example"}, "token_wrong_issuer", id="iss"),
        pytest.param({"aud": "another-service"}, "token_wrong_audience", id="aud"),
        pytest.param({"not_before": time.time() + 3600}, "token_not_yet_valid", id="nbf"),
        pytest.param({"issued_at": time.time() + 3600}, "token_not_yet_valid", id="iat"),
        pytest.param({"omit": ("exp",)}, "token_claim_missing", id="no-exp"),
        pytest.param({"omit": ("aud",)}, "token_claim_missing", id="no-aud"),
        pytest.param({"kid": "made-up-key"}, "token_unknown_key", id="unknown-kid"),
    ],
)
async def test_tokens_with_wrong_claims_or_keys_are_refused(
    client: httpx.AsyncClient, openid: RunningOpenId, mint: dict[str, Any], code: str
) -> None:
    refused(await call(client, openid.issuer.mint(**mint)), code)


async def test_a_missing_claim_is_named(client: httpx.AsyncClient, openid: RunningOpenId) -> None:
    response = await call(client, openid.issuer.mint(omit=("exp",)))
    assert response.json()["message"] == "The token lacks the exp claim."


async def test_a_token_signed_by_a_key_the_issuer_never_published_is_refused(
    client: httpx.AsyncClient, openid: RunningOpenId
) -> None:
    stranger = SigningKey.generate("RS256")
    claims = _claims(openid)
    token = jwt.encode(
        claims, stranger.private, algorithm="RS256", headers={"kid": openid.issuer.current.kid}
    )
    refused(await call(client, token), "token_bad_signature")


async def test_a_tampered_token_is_refused(
    client: httpx.AsyncClient, openid: RunningOpenId
) -> None:
    header, payload, signature = openid.issuer.mint(sub="client-5").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "administrator"
    tampered = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    refused(await call(client, tampered), "token_bad_signature")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(openid: RunningOpenId) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": openid.url,
        "aud": openid.issuer.audience,
        "sub": "x",
        "iat": now,
        "exp": now + 600,
    }


async def test_alg_none_is_refused(client: httpx.AsyncClient, openid: RunningOpenId) -> None:
    header = {"alg": "none", "typ": "JWT", "kid": openid.issuer.current.kid}
    token = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(_claims(openid)).encode())}."
    refused(await call(client, token), "token_algorithm_refused")


async def test_hs256_keyed_with_the_public_key_is_refused(
    client: httpx.AsyncClient, openid: RunningOpenId
) -> None:
    # The classic confusion attack: the issuer's public key (anyone has it) as an HMAC secret.
    header = {"alg": "HS256", "typ": "JWT", "kid": openid.issuer.current.kid}
    signing_input = (
        f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(_claims(openid)).encode())}"
    )
    for secret in (openid.issuer.current.public_pem(), json.dumps(openid.issuer.jwks()).encode()):
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        refused(await call(client, f"{signing_input}.{_b64(signature)}"), "token_algorithm_refused")


async def test_an_allowed_algorithm_that_the_key_is_not_for_is_refused(
    client: httpx.AsyncClient, openid: RunningOpenId
) -> None:
    rsa_kid = openid.issuer.current.kid
    openid.issuer.rotate(algorithm="ES256")
    token = openid.issuer.mint(kid=None)
    _header, payload, signature = token.split(".")
    relabelled = _b64(json.dumps({"alg": "ES256", "kid": rsa_kid, "typ": "JWT"}).encode())
    refused(await call(client, f"{relabelled}.{payload}.{signature}"), "token_algorithm_refused")


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9..", "é"])
async def test_garbage_bearer_tokens_are_refused(client: httpx.AsyncClient, token: str) -> None:
    authorization = f"Bearer {token}".encode("latin-1")  # a header's raw bytes
    response = await client.get("/test/whoami", headers={b"Authorization": authorization})
    assert response.status_code == 401
    assert response.json()["error"] in {"invalid_token", "token_bad_signature"}


@pytest.mark.parametrize("algorithms", ["HS256", "none", "RS256,HS512", ""])
def test_symmetric_algorithms_and_none_cannot_be_configured(algorithms: str) -> None:
    with pytest.raises(SettingsError, match="OPENID_ALGORITHMS"):
        load_settings(_env_file=None, OPENID_ALGORITHMS=algorithms)


def test_an_issuer_needs_an_audience() -> None:
    with pytest.raises(SettingsError, match="OPENID_AUDIENCE"):
        load_settings(_env_file=None, OPENID_ISSUER="https://login.example")


# --- key rotation -------------------------------------------------------------------------------


async def test_after_rotation_a_new_key_is_fetched_once_and_old_tokens_live_on(
    client: httpx.AsyncClient, openid: RunningOpenId
) -> None:
    old_token = openid.issuer.mint(sub="before")
    assert (await call(client, old_token)).status_code == 200
    assert fetches(openid) == 1

    async with httpx.AsyncClient() as outside:  # rotation over HTTP, as a person would
        rotated = (await outside.post(f"{openid.url}/__sandbox__/rotate")).json()
    new_token = openid.issuer.mint(sub="after")
    assert (
        json.loads(base64.urlsafe_b64decode(new_token.split(".")[0] + "=="))["kid"]
        == (rotated["kid"])
    )

    assert (await call(client, new_token)).json() == {"sub": "after"}
    assert fetches(openid) == 2  # the unknown kid refetched the keys, once
    assert (await call(client, new_token)).status_code == 200
    assert (await call(client, old_token)).status_code == 200  # the old key is still published
    assert fetches(openid) == 2


async def test_a_flood_of_unknown_kids_refetches_the_keys_once(
    client: httpx.AsyncClient, openid: RunningOpenId
) -> None:
    assert (await call(client, openid.issuer.mint())).status_code == 200
    assert fetches(openid) == 1
    flood = [openid.issuer.mint(kid=f"random-{secrets.token_hex(4)}") for _ in range(60)]
    responses = await asyncio.gather(*(call(client, token) for token in flood))
    assert {response.json()["error"] for response in responses} == {"token_unknown_key"}
    assert fetches(openid) == 2  # one refresh for sixty made-up key ids
    more = await asyncio.gather(*(call(client, token) for token in flood[:20]))
    assert all(response.status_code == 401 for response in more)
    assert fetches(openid) == 2  # and none more within OPENID_JWKS_REFRESH_SECONDS


async def test_with_no_refresh_interval_a_rotated_key_is_found_at_once(
    app_client: Callable[..., Any], openid: RunningOpenId
) -> None:
    client = await app_client(**openid.settings(), OPENID_JWKS_REFRESH_SECONDS=0)
    refused(await call(client, openid.issuer.mint(kid="unknown")), "token_unknown_key")
    openid.issuer.rotate(keep_previous=False)
    assert (await call(client, openid.issuer.mint())).status_code == 200


# --- the issuer down --------------------------------------------------------------------------


async def test_issuer_down_with_no_keys_held_answers_503_with_retry_after(
    client: httpx.AsyncClient, openid: RunningOpenId
) -> None:
    openid.issuer.faults.add(Fault(path="/*", status=503))
    token = openid.issuer.mint()
    response = await call(client, token)
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "openid_unavailable"
    assert 1 <= int(response.headers["Retry-After"]) <= 30
    asked = len(openid.issuer.journal.entries())
    assert asked == 2  # discovery, tried twice (a short retry while the request waits)
    # more requests within the refresh interval do not knock again
    again = await asyncio.gather(*(call(client, token) for _ in range(10)))
    assert {response.status_code for response in again} == {503}
    assert len(openid.issuer.journal.entries()) == asked


async def test_issuer_down_at_a_closed_port_answers_503(
    app_client: Callable[..., Any], openid: RunningOpenId
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    client = await app_client(OPENID_ISSUER=closed, OPENID_AUDIENCE=openid.issuer.audience)
    response = await call(client, openid.issuer.mint(issuer=closed))
    assert response.status_code == 503
    assert response.json()["error"] == "openid_unavailable"


async def test_keys_held_serve_while_the_issuer_is_down(
    client: httpx.AsyncClient, openid: RunningOpenId
) -> None:
    assert (await call(client, openid.issuer.mint())).status_code == 200
    openid.issuer.faults.add(Fault(path="/*", status=503))
    assert (await call(client, openid.issuer.mint(sub="later"))).json() == {"sub": "later"}
    # an unknown key id while the issuer cannot be asked: not the token's fault → 503
    openid.issuer.rotate()
    response = await call(client, openid.issuer.mint())
    assert response.status_code == 503
    assert response.json()["error"] == "openid_unavailable"


async def test_an_issuer_whose_discovery_names_another_issuer_is_not_trusted(
    app_client: Callable[..., Any], openid: RunningOpenId
) -> None:
    # A trailing slash is another issuer identifier: the discovery document disagrees.
    client = await app_client(OPENID_ISSUER=f"{openid.url}/", OPENID_AUDIENCE="switchboard-front")
    response = await call(client, openid.issuer.mint(issuer=f"{openid.url}/"))
    assert response.status_code == 503
    assert fetches(openid) == 0
