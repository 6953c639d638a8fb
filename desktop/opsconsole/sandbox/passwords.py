"""Password hashing for the sandbox's accounts: scrypt from the standard library.

Stored form: ``scrypt$<log2 n>$<r>$<p>$<salt b64>$<hash b64>``, so the cost can be raised later and
old hashes still verify. Verification compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# 2**14 with r=8 needs 16 MiB and about 40 ms per hash: slow for guessing, fine for a login form.
LOG2_N = 14
R = 8
P = 1
SALT_BYTES = 16
KEY_BYTES = 32
_MAX_LOG2_N = 20


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8", "surrogatepass"),
        salt=salt,
        n=2**log2_n,
        r=r,
        p=p,
        maxmem=2**log2_n * r * 128 * 2 + 1024 * 1024,
        dklen=KEY_BYTES,
    )


def hash_password(password: str) -> str:
    """A fresh salted scrypt hash of ``password`` in the stored form."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _derive(password, salt, LOG2_N, R, P)
    return f"scrypt${LOG2_N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored``; False for a mismatch or a malformed stored value."""
    try:
        scheme, log2_n_s, r_s, p_s, salt_s, digest_s = stored.split("$")
        log2_n, r, p = int(log2_n_s), int(r_s), int(p_s)
        salt = base64.b64decode(salt_s, validate=True)
        expected = base64.b64decode(digest_s, validate=True)
    except ValueError:
        return False
    if scheme != "scrypt" or not (1 <= log2_n <= _MAX_LOG2_N and 1 <= r <= 32 and 1 <= p <= 16):
        return False
    candidate = _derive(password, salt, log2_n, r, p)
    return hmac.compare_digest(candidate, expected)
