"""Tokens: the token set a sign-in yields, how a token response is read, and how JWTs are verified.

A :class:`TokenSet` is what the store keeps per profile. Its JSON form is compact on purpose (short
keys, no ID token: only the identity claims the console shows), because some keyrings cap a secret's
size (see store.py).

Verification (:class:`TokenVerifier`) follows OpenID Connect Core 3.1.3.7 for ID tokens and RFC 9068
for access tokens that are JWTs: the signature against the provider's JWKS (fetched again once when a
token names a key the cached set does not have, which is how key rotation shows up), only asymmetric
algorithms, ``iss`` equal to the discovered issuer, ``aud`` (the client id for ID tokens; the profile's
``audience``, when set, for access tokens), ``exp``/``nbf`` against the console's clock with a small
leeway, and the ``nonce`` of the sign-in. Access tokens that are not JWTs are opaque: they are used as
they are, with ``expires_in`` telling when to refresh.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import httpx
import jwt

from ..net import network_error, safe_url
from .discovery import ProviderMetadata
from .errors import ProviderError, TokenError

LEEWAY = 30.0
# Asymmetric only: a public client has no shared secret, so an HS* token could not come from the provider
# in a form the console can check, and "none" is never acceptable.
ALLOWED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
FORMAT_VERSION = 1
MAX_JWKS_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class TokenSet:
    """One profile's tokens and what the console knows about them. Times are Unix seconds."""

    access_token: str
    issuer: str
    client_id: str
    refresh_token: str = ""
    expires_at: float | None = None  # None: the provider did not say; refreshed only after a 401
    issued_at: float = 0.0
    scopes: tuple[str, ...] = ()
    subject: str = ""
    username: str = ""  # what people recognise: email, preferred_username or name
    name: str = ""
    refresh_expires_at: float | None = None  # when the provider said (Keycloak's refresh_expires_in)

    def access_valid(self, now: float, margin: float = 0.0) -> bool:
        if not self.access_token:
            return False
        return self.expires_at is None or now < self.expires_at - margin

    def refresh_margin(self) -> float:
        """Refresh this long before expiry: a minute, or a tenth of a short lifetime."""
        if self.expires_at is None:
            return 0.0
        lifetime = max(self.expires_at - self.issued_at, 0.0)
        return min(60.0, lifetime / 10.0)

    def can_refresh(self, now: float) -> bool:
        if not self.refresh_token:
            return False
        return self.refresh_expires_at is None or now < self.refresh_expires_at

    def who(self) -> str:
        return self.username or self.name or self.subject or "an unknown user"

    def to_json(self, *, include_access_token: bool = True) -> str:
        data = {
            "v": FORMAT_VERSION,
            "iss": self.issuer,
            "cid": self.client_id,
            "at": self.access_token if include_access_token else "",
            "rt": self.refresh_token,
            "exp": self.expires_at,
            "iat": self.issued_at,
            "rexp": self.refresh_expires_at,
            "scp": " ".join(self.scopes),
            "sub": self.subject,
            "usr": self.username,
            "nm": self.name,
        }
        return json.dumps({k: v for k, v in data.items() if v not in ("", None)}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> TokenSet:
        """Parse a stored document; ValueError when it is not one this version wrote."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("v") != FORMAT_VERSION:
            raise ValueError("not a token document of a known version")

        def string(key: str) -> str:
            value = data.get(key, "")
            if not isinstance(value, str):
                raise ValueError(f"{key} is not a string")
            return value

        def number(key: str) -> float | None:
            value = data.get(key)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key} is not a number")
            return float(value)

        tokens = cls(
            access_token=string("at"),
            issuer=string("iss"),
            client_id=string("cid"),
            refresh_token=string("rt"),
            expires_at=number("exp"),
            issued_at=number("iat") or 0.0,
            refresh_expires_at=number("rexp"),
            scopes=tuple(string("scp").split()),
            subject=string("sub"),
            username=string("usr"),
            name=string("nm"),
        )
        if not tokens.issuer or not tokens.client_id or not (tokens.access_token or tokens.refresh_token):
            raise ValueError("the document lacks the issuer, the client id or any token")
        return tokens

    def __repr__(self) -> str:  # never let a token reach a log or a traceback through repr()
        shown = {k: v for k, v in asdict(self).items() if k not in ("access_token", "refresh_token")}
        return f"TokenSet({shown}, access_token=***, refresh_token={'***' if self.refresh_token else ''})"


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """A successful token endpoint answer (RFC 6749 5.1), checked for shape, not yet verified."""

    access_token: str
    token_type: str
    expires_in: float | None
    refresh_token: str
    scope: tuple[str, ...] | None  # None: not sent, meaning "as requested" (RFC 6749 5.1)
    id_token: str
    refresh_expires_in: float | None

    def __repr__(self) -> str:
        return f"TokenResponse(token_type={self.token_type!r}, expires_in={self.expires_in!r}, scope=...)"


def parse_token_response(body: Any) -> TokenResponse:
    """Check the JSON of a 200 token response; raise ProviderError when it is not one."""
    if not isinstance(body, dict):
        raise ProviderError(
            "The provider's token endpoint answered with something that is not a JSON object."
        )
    access_token = body.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise ProviderError("The provider's token response has no access_token.")
    token_type = body.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        shown = token_type if isinstance(token_type, str) else "none"
        raise ProviderError(
            f"The provider issued a token of type {shown[:40]!r}; the console only uses Bearer tokens."
        )

    def seconds(key: str) -> float | None:
        value = body.get(key)
        if value is None:
            return None
        if isinstance(value, str) and value.strip().isdigit():  # some providers send "3600"
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ProviderError(f"The provider's token response has an invalid {key}.")
        return float(value)

    refresh_token = body.get("refresh_token") or ""
    id_token = body.get("id_token") or ""
    scope = body.get("scope")
    if not isinstance(refresh_token, str) or not isinstance(id_token, str):
        raise ProviderError("The provider's token response has a refresh_token or id_token that is not text.")
    if scope is not None and not isinstance(scope, str):
        raise ProviderError("The provider's token response has a scope that is not text.")
    return TokenResponse(
        access_token=access_token,
        token_type="Bearer",
        expires_in=seconds("expires_in"),
        refresh_token=refresh_token,
        scope=tuple(scope.split()) if isinstance(scope, str) else None,
        id_token=id_token,
        # Not in RFC 6749, but common: Keycloak says refresh_expires_in, others refresh_token_expires_in.
        refresh_expires_in=seconds("refresh_expires_in") or seconds("refresh_token_expires_in"),
    )


def scopes_from_claims(claims: Mapping[str, Any]) -> tuple[str, ...] | None:
    """Scopes carried by an access token: ``scope`` (RFC 9068/8693), ``scp`` (Okta, Entra) or ``scopes``."""
    for key in ("scope", "scp", "scopes"):
        value = claims.get(key)
        if isinstance(value, str):
            return tuple(value.split())
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
    return None


def identity_from_claims(claims: Mapping[str, Any]) -> tuple[str, str, str]:
    """(subject, username, name) from ID-token or access-token claims."""

    def text(key: str) -> str:
        value = claims.get(key)
        return value if isinstance(value, str) else ""

    username = text("email") or text("preferred_username") or text("upn") or text("username")
    return text("sub"), username, text("name")


def _b64json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def jwt_header(token: str) -> dict[str, Any] | None:
    """The JOSE header when ``token`` is a JWS in compact form, else None (an opaque token)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None  # opaque, or a JWE (5 parts) that only the resource server can read
    try:
        header = _b64json(parts[0])
    except (ValueError, UnicodeError):
        return None
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        return None
    return header


@dataclass
class JwksCache:
    """The provider's signing keys, fetched on first use and again when a token names an unknown key."""

    jwks_uri: str
    _keys: list[dict[str, Any]] | None = None
    _lock: asyncio.Lock | None = field(default=None, repr=False)
    fetches: int = 0

    async def keys(self, client: httpx.AsyncClient, *, refresh: bool = False) -> list[dict[str, Any]]:
        if self._keys is not None and not refresh:
            return self._keys
        if self._lock is None:
            self._lock = asyncio.Lock()
        seen = self.fetches
        async with self._lock:
            if self._keys is not None and (not refresh or self.fetches != seen):
                return self._keys  # someone fetched while we waited
            self._keys = await self._fetch(client)
            self.fetches += 1
            return self._keys

    async def _fetch(self, client: httpx.AsyncClient) -> list[dict[str, Any]]:
        try:
            response = await client.get(self.jwks_uri, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise network_error(exc, self.jwks_uri) from exc
        where = safe_url(self.jwks_uri)
        if response.status_code != 200:
            raise ProviderError(f"The provider's key set ({where}) answered HTTP {response.status_code}.")
        if len(response.content) > MAX_JWKS_BYTES:
            raise ProviderError(f"The provider's key set ({where}) is implausibly large.")
        try:
            document = json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ProviderError(f"The provider's key set ({where}) is not JSON.") from None
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise ProviderError(f'The provider\'s key set ({where}) has no "keys" list.')
        return [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"]


@dataclass
class TokenVerifier:
    """Checks the provider's JWTs for one profile; ``clock`` is the console's notion of now."""

    metadata: ProviderMetadata
    client_id: str
    audience: str = ""
    clock: Callable[[], float] = time.time
    leeway: float = LEEWAY
    jwks: JwksCache | None = None

    def __post_init__(self) -> None:
        if self.jwks is None and self.metadata.jwks_uri:
            self.jwks = JwksCache(self.metadata.jwks_uri)

    async def verify_id_token(
        self, client: httpx.AsyncClient, token: str, *, nonce: str | None
    ) -> dict[str, Any]:
        """OpenID Connect Core 3.1.3.7; ``nonce`` None on refresh (12.2), where none is required."""
        header = jwt_header(token)
        if header is None:
            raise TokenError("The provider's ID token is not a signed JWT.")
        claims = await self._verify(client, token, header, what="ID token")
        audiences = _audiences(claims)
        if self.client_id not in audiences:
            raise TokenError("The ID token was issued to another client (its aud is not this client_id).")
        if len(audiences) > 1 and claims.get("azp") not in (None, self.client_id):
            raise TokenError("The ID token's authorized party (azp) is another client.")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise TokenError("The ID token has no subject (sub).")
        if nonce is not None and claims.get("nonce") != nonce:
            raise TokenError(
                "The ID token does not carry this sign-in's nonce: it was not issued for this sign-in."
            )
        return claims

    async def verify_access_token(self, client: httpx.AsyncClient, token: str) -> dict[str, Any] | None:
        """The claims of a JWT access token, verified; None for an opaque token."""
        header = jwt_header(token)
        if header is None:
            return None
        alg = header.get("alg")
        if isinstance(alg, str) and alg.upper().startswith("HS"):
            # Signed with a secret only the provider and the API share: opaque to the console.
            return None
        claims = await self._verify(client, token, header, what="access token")
        if self.audience and self.audience not in _audiences(claims):
            raise TokenError(
                f"The access token is not for the configured audience {self.audience!r} "
                f"(it is for {', '.join(_audiences(claims)) or 'no audience'})."
            )
        return claims

    async def _verify(
        self, client: httpx.AsyncClient, token: str, header: Mapping[str, Any], *, what: str
    ) -> dict[str, Any]:
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise TokenError(
                f"The {what} is signed with {str(alg)[:20]!r}, which the console does not accept."
            )
        if self.jwks is None:
            raise TokenError(
                f"The {what} is a JWT, but the provider publishes no jwks_uri to check its signature."
            )
        claims = await self._check_signature(client, token, header, str(alg), what)
        self._check_claims(claims, what)
        return claims

    async def _check_signature(
        self, client: httpx.AsyncClient, token: str, header: Mapping[str, Any], alg: str, what: str
    ) -> dict[str, Any]:
        assert self.jwks is not None
        kid = header.get("kid")
        keys = _candidates(await self.jwks.keys(client), kid, alg)
        if not keys:
            # A key the cached set does not have: the provider rotated. Fetch the set again, once.
            keys = _candidates(await self.jwks.keys(client, refresh=True), kid, alg)
        if not keys:
            raise TokenError(
                f"The {what} is signed with a key the provider does not publish"
                + (f" (kid {str(kid)[:64]!r})." if kid else ".")
            )
        for jwk in keys:
            try:
                key = jwt.PyJWK(jwk, algorithm=alg)
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
                continue
            try:
                claims = jwt.decode(
                    token,
                    key=key.key,
                    algorithms=[alg],
                    # Time and audience are checked below with the console's clock and clearer words.
                    options={
                        "verify_signature": True,
                        "verify_exp": False,
                        "verify_nbf": False,
                        "verify_iat": False,
                        "verify_aud": False,
                        "verify_iss": False,
                    },
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.DecodeError as exc:
                raise TokenError(f"The {what} is not a well-formed JWT ({exc}).") from None
            except jwt.InvalidTokenError as exc:
                raise TokenError(f"The {what} was refused: {exc}.") from None
            if not isinstance(claims, dict):
                raise TokenError(f"The {what}'s payload is not a JSON object.")
            return claims
        raise TokenError(f"The {what}'s signature does not verify with the provider's published keys.")

    def _check_claims(self, claims: Mapping[str, Any], what: str) -> None:
        if claims.get("iss") != self.metadata.issuer:
            raise TokenError(
                f"The {what} was issued by {str(claims.get('iss'))[:120]!r}, "
                f"not by the configured issuer {self.metadata.issuer!r}."
            )
        now = self.clock()
        exp = claims.get("exp")
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise TokenError(f"The {what} has no valid expiry time (exp).")
        if now > exp + self.leeway:
            raise TokenError(
                f"The {what} has already expired ({int(now - exp)} s ago); "
                "check that this computer's clock is right."
            )
        nbf = claims.get("nbf")
        if isinstance(nbf, int | float) and not isinstance(nbf, bool) and now + self.leeway < nbf:
            raise TokenError(
                f"The {what} is not valid yet (by {int(nbf - now)} s); check that this computer's clock is right."
            )


def _audiences(claims: Mapping[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [a for a in aud if isinstance(a, str)]
    return []


_KTY_FOR_ALG = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


def _candidates(keys: list[dict[str, Any]], kid: Any, alg: str) -> list[dict[str, Any]]:
    kty = _KTY_FOR_ALG.get(alg[:2])
    out = []
    for jwk in keys:
        if kid is not None and jwk.get("kid") != kid:
            continue
        if jwk.get("kty") != kty:
            continue
        if jwk.get("alg") not in (None, alg):
            continue
        out.append(jwk)
    return out


def build_token_set(
    response: TokenResponse,
    *,
    issuer: str,
    client_id: str,
    requested_scopes: tuple[str, ...],
    now: float,
    access_claims: Mapping[str, Any] | None,
    id_claims: Mapping[str, Any] | None,
    previous: TokenSet | None = None,
) -> TokenSet:
    """The token set for a verified response; on refresh, what the response omits comes from ``previous``."""
    expires_at: float | None = None
    if response.expires_in is not None:
        expires_at = now + response.expires_in
    elif access_claims and isinstance(access_claims.get("exp"), int | float):
        expires_at = float(access_claims["exp"])
    scopes = scopes_from_claims(access_claims) if access_claims else None
    if scopes is None:
        scopes = response.scope
    if scopes is None:
        scopes = previous.scopes if previous else requested_scopes
    subject = username = name = ""
    for claims in (id_claims, access_claims):
        if claims:
            sub, user, full = identity_from_claims(claims)
            subject, username, name = subject or sub, username or user, name or full
    base = TokenSet(
        access_token=response.access_token,
        issuer=issuer,
        client_id=client_id,
        refresh_token=response.refresh_token,
        expires_at=expires_at,
        issued_at=now,
        scopes=scopes,
        subject=subject,
        username=username,
        name=name,
        refresh_expires_at=now + response.refresh_expires_in if response.refresh_expires_in else None,
    )
    if previous is None:
        return base
    # RFC 6749 6: without a new refresh token the old one stays valid (authlib hands the old one back
    # then), and so does its expiry unless the provider restates it; identity does not change on refresh.
    rotated = bool(response.refresh_token) and response.refresh_token != previous.refresh_token
    return replace(
        base,
        refresh_token=response.refresh_token or previous.refresh_token,
        refresh_expires_at=(
            base.refresh_expires_at
            if rotated or base.refresh_expires_at is not None
            else previous.refresh_expires_at
        ),
        subject=base.subject or previous.subject,
        username=base.username or previous.username,
        name=base.name or previous.name,
    )
