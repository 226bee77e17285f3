"""The sandbox OpenID issuer speaks OpenID Discovery, JWKS and OAuth 2.0 client credentials."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningOpenId


def verify(openid: RunningOpenId, token: str, **options: object) -> dict[str, object]:
    """Checks a token as a relying party would: the key from the published JWKS."""
    keys = jwt.PyJWKSet.from_dict(httpx.get(f"{openid.url}/jwks").json())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(key for key in keys.keys if key.key_id == kid)
    claims: dict[str, object] = jwt.decode(
        token,
        key,
        algorithms=[key.algorithm_name],
        audience=openid.issuer.audience,
        issuer=openid.url,
        **options,  # type: ignore[arg-type]
    )
    return claims


def test_discovery_names_the_issuer_and_its_endpoints(openid: RunningOpenId) -> None:
    document = httpx.get(f"{openid.url}/.well-known/openid-configuration").json()
    assert document["issuer"] == openid.url
    assert document["jwks_uri"] == f"{openid.url}/jwks"
    assert document["token_endpoint"] == f"{openid.url}/token"
    assert document["id_token_signing_alg_values_supported"] == ["RS256", "ES256"]


def test_the_jwks_publishes_the_current_key_without_its_private_part(
    openid: RunningOpenId,
) -> None:
    keys = httpx.get(f"{openid.url}/jwks").json()["keys"]
    assert [key["kid"] for key in keys] == [openid.issuer.current.kid]
    assert keys[0]["kty"] == "RSA"
    assert keys[0]["alg"] == "RS256"
    assert keys[0]["use"] == "sig"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(keys[0])


def test_minted_tokens_verify_with_the_published_key(openid: RunningOpenId) -> None:
    token = openid.issuer.mint(sub="user-7", claims={"email": "a@b.uz"})
    claims = verify(openid, token)
    assert claims["sub"] == "user-7"
    assert claims["email"] == "a@b.uz"
    assert claims["exp"] == claims["iat"] + openid.issuer.token_lifetime  # type: ignore[operator]


def test_minting_options_shape_the_claims(openid: RunningOpenId) -> None:
    now = time.time()
    token = openid.issuer.mint(aud="other", expires_in=60, not_before=now + 10, omit=("sub",))
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == "other"
    assert claims["exp"] - claims["iat"] == 60
    assert claims["nbf"] == int(now + 10)
    assert "sub" not in claims
    labelled = openid.issuer.mint(kid="nobody-publishes-this")
    assert jwt.get_unverified_header(labelled)["kid"] == "nobody-publishes-this"


@pytest.mark.parametrize("how", ["basic", "post"])
def test_the_token_endpoint_gives_client_credentials_tokens(
    openid: RunningOpenId, how: str
) -> None:
    issuer = openid.issuer
    form = {"grant_type": "client_credentials", "audience": "switchboard-front", "scope": "api"}
    if how == "basic":
        answer = httpx.post(
            f"{openid.url}/token", data=form, auth=(issuer.client_id, issuer.client_secret)
        )
    else:
        form |= {"client_id": issuer.client_id, "client_secret": issuer.client_secret}
        answer = httpx.post(f"{openid.url}/token", data=form)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == issuer.token_lifetime
    claims = verify(openid, body["access_token"])
    assert (claims["sub"], claims["scope"]) == (issuer.client_id, "api")


def test_the_token_endpoint_refuses_strangers_and_other_grants(openid: RunningOpenId) -> None:
    issuer = openid.issuer
    wrong = httpx.post(
        f"{openid.url}/token",
        data={"grant_type": "client_credentials"},
        auth=(issuer.client_id, "guess"),
    )
    assert (wrong.status_code, wrong.json()) == (401, {"error": "invalid_client"})
    other = httpx.post(
        f"{openid.url}/token",
        data={"grant_type": "password", "username": "u", "password": "p"},
        auth=(issuer.client_id, issuer.client_secret),
    )
    assert (other.status_code, other.json()) == (400, {"error": "unsupported_grant_type"})


def test_rotation_keeps_the_previous_key_published_until_asked_not_to(
    openid: RunningOpenId,
) -> None:
    first = openid.issuer.current.kid
    old_token = openid.issuer.mint()
    rotated = httpx.post(f"{openid.url}/__sandbox__/rotate").json()
    assert rotated["keys"] == [rotated["kid"], first]
    assert jwt.get_unverified_header(openid.issuer.mint())["kid"] == rotated["kid"]
    assert verify(openid, old_token)["sub"] == "sandbox-user"

    ec = httpx.post(
        f"{openid.url}/__sandbox__/rotate", json={"keep_previous": False, "algorithm": "ES256"}
    ).json()
    keys = httpx.get(f"{openid.url}/jwks").json()["keys"]
    assert [(key["kid"], key["kty"], key["crv"]) for key in keys] == [(ec["kid"], "EC", "P-256")]
    assert verify(openid, openid.issuer.mint())["sub"] == "sandbox-user"
    bad = httpx.post(f"{openid.url}/__sandbox__/rotate", json={"algorithm": "HS256"})
    assert bad.status_code == 400


def test_faults_journal_and_reset_work_as_on_every_emulator(openid: RunningOpenId) -> None:
    openid.issuer.rotate()
    httpx.post(f"{openid.url}/__sandbox__/faults", json={"path": "/jwks", "status": 503})
    assert httpx.get(f"{openid.url}/jwks").status_code == 503
    assert [entry.path for entry in openid.issuer.journal.matching("GET", "/jwks")] == ["/jwks"]
    openid.issuer.faults.add(Fault(path="/token", status=500, times=1))
    assert httpx.post(f"{openid.url}/token").status_code == 500
    httpx.post(f"{openid.url}/__sandbox__/reset")
    assert len(httpx.get(f"{openid.url}/jwks").json()["keys"]) == 1
