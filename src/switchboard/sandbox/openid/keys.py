"""Signing keys of the sandbox issuer: RSA (RS256) and P-256 (ES256), published as JWKs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

#: The algorithms the sandbox signs with.
ALGORITHMS = ("RS256", "ES256")


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    private: PrivateKey

    @classmethod
    def generate(cls, algorithm: str = "RS256") -> SigningKey:
        if algorithm == "RS256":
            private: PrivateKey = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif algorithm == "ES256":
            private = ec.generate_private_key(ec.SECP256R1())
        else:
            raise ValueError(f"the sandbox issuer signs with {', '.join(ALGORITHMS)}")
        return cls(kid=f"sbx-{secrets.token_hex(6)}", algorithm=algorithm, private=private)

    def public_jwk(self) -> dict[str, Any]:
        """The key as the JWKS publishes it (RFC 7517), with its id, use and algorithm."""
        if isinstance(self.private, rsa.RSAPrivateKey):
            jwk = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            jwk = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
