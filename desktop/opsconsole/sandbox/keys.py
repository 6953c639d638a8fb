"""The authorization server's RS256 signing key, kept in the data dir, and its public JWK.

The key is created once (RSA 2048, PKCS#8 PEM, mode 0600) and reused on every start, so tokens issued
before a restart stay verifiable. Its ``kid`` is the RFC 7638 thumbprint of the public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_FILE = "oauth-signing-key.pem"


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True)
class SigningKey:
    private_key: rsa.RSAPrivateKey
    kid: str

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    def public_jwk(self) -> dict[str, Any]:
        numbers = self.public_key.public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
        }


def _thumbprint(key: rsa.RSAPublicKey) -> str:
    numbers = key.public_numbers()
    # RFC 7638: the required members in lexicographic order, no whitespace.
    canonical = json.dumps(
        {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).decode().rstrip("=")


class KeyFileError(RuntimeError):
    """The key file exists but is not a usable RSA private key."""


def load_or_create(data_dir: Path) -> SigningKey:
    """The signing key from ``data_dir``, created there first if missing."""
    path = data_dir / KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            # O_EXCL: if another sandbox on the same data dir won the race, use its key instead.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
            return SigningKey(key, _thumbprint(key.public_key()))
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(
            f"{path} is not a PEM private key ({exc}); move it away to create a new one"
        ) from exc
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise KeyFileError(f"{path} holds a {type(loaded).__name__}, not an RSA key; move it away")
    return SigningKey(loaded, _thumbprint(loaded.public_key()))
