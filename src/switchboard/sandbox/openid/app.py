"""The sandbox issuer's HTTP face: discovery, JWKS, the token endpoint and key rotation."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from switchboard.sandbox.faults import CONTROL_PREFIX, SandboxMiddleware
from switchboard.sandbox.openid.keys import ALGORITHMS

if TYPE_CHECKING:
    from switchboard.sandbox.openid import OpenIdIssuer

ROTATE_PATH = f"{CONTROL_PREFIX}/rotate"


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), status, headers=headers, media_type="application/json")


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def build_app(issuer: OpenIdIssuer) -> ASGIApp:
    async def discovery(request: Request) -> Response:
        base = _base_url(request)
        return _json(
            {
                "issuer": issuer.issuer_for(base),
                "jwks_uri": f"{base}/jwks",
                "token_endpoint": f"{base}/token",
                "grant_types_supported": ["client_credentials"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "response_types_supported": ["token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": list(ALGORITHMS),
            }
        )

    async def jwks(request: Request) -> Response:
        return _json(issuer.jwks(), headers={"Cache-Control": "public, max-age=3600"})

    async def token(request: Request) -> Response:
        form = await request.form()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        client_id, client_secret = _client_credentials(request, fields)
        if fields.get("grant_type") != "client_credentials":
            return _json({"error": "unsupported_grant_type"}, 400)
        known = hmac.compare_digest(client_id.encode(), issuer.client_id.encode())
        if not (
            known and hmac.compare_digest(client_secret.encode(), issuer.client_secret.encode())
        ):
            return _json(
                {"error": "invalid_client"}, 401, {"WWW-Authenticate": 'Basic realm="token"'}
            )
        access_token = issuer.mint(
            sub=client_id,
            aud=fields.get("audience") or None,
            issuer=issuer.issuer_for(_base_url(request)),
            claims={"scope": fields["scope"]} if fields.get("scope") else None,
        )
        return _json(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": issuer.token_lifetime,
            },
            headers={"Cache-Control": "no-store"},
        )

    routes = Starlette(
        routes=[
            Route("/.well-known/openid-configuration", discovery, methods=["GET"]),
            Route("/jwks", jwks, methods=["GET"]),
            Route("/token", token, methods=["POST"]),
        ]
    )
    wrapped = SandboxMiddleware(
        routes, faults=issuer.faults, journal=issuer.journal, reset=issuer.reset
    )

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        # Rotation is this emulator's own control, beside the shared ones under /__sandbox__/.
        if scope["type"] == "http" and scope["path"] == ROTATE_PATH and scope["method"] == "POST":
            await _rotate(issuer, scope, receive, send)
            return
        await wrapped(scope, receive, send)

    return app


async def _rotate(issuer: OpenIdIssuer, scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    try:
        options = orjson.loads(await request.body() or b"{}")
        kid = issuer.rotate(
            keep_previous=bool(options.get("keep_previous", True)),
            algorithm=options.get("algorithm"),
        )
        response = _json({"kid": kid, "keys": [key.kid for key in issuer.keys]})
    except (orjson.JSONDecodeError, AttributeError, ValueError) as error:
        response = _json({"error": f"bad rotation request: {error}"}, 400)
    await response(scope, receive, send)


def _client_credentials(request: Request, fields: dict[str, str]) -> tuple[str, str]:
    """client_secret_basic (HTTP Basic) or client_secret_post (form fields)."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        return user, password
    return fields.get("client_id", ""), fields.get("client_secret", "")
