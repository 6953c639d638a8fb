"""PKCE (RFC 7636) with S256 only, and the other one-time random values of a sign-in (state, nonce).

The verifier is 86 characters from the unreserved set (the RFC allows 43 to 128), drawn from the
operating system's CSPRNG; only its SHA-256 challenge ever leaves the process before the code exchange.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

METHOD = "S256"
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def make_verifier() -> str:
    return secrets.token_urlsafe(64)


def s256_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(verifier))) without padding (RFC 7636 4.2)."""
    if not _VERIFIER.match(verifier):
        raise ValueError("a PKCE verifier is 43 to 128 unreserved characters (RFC 7636 4.1)")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def make_state() -> str:
    return secrets.token_urlsafe(32)


def make_nonce() -> str:
    return secrets.token_urlsafe(32)
