"""Token sets and JWT verification against a real JWKS endpoint (signature, rotation, claims)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest

from opsconsole.auth.discovery import DiscoveryCache
from opsconsole.auth.errors import ProviderError, TokenError
from opsconsole.auth.tokens import (
    TokenSet,
    TokenVerifier,
    build_token_set,
    jwt_header,
    parse_token_response,
    scopes_from_claims,
)
from tests.unit.auth.mini_provider import AUDIENCE, CLIENT_ID, MiniProvider, pooled_key


async def _verifier(provider: MiniProvider, client: httpx.AsyncClient, **kw: Any) -> TokenVerifier:
    meta = await DiscoveryCache().get(client, provider.issuer)
    return TokenVerifier(meta, CLIENT_ID, audience=AUDIENCE, **kw)


def _claims(provider: MiniProvider, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": provider.issuer, "sub": "alice", "aud": AUDIENCE, "iat": now, "exp": now + 300}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


async def test_a_good_access_token_verifies_and_shows_its_scopes(provider: MiniProvider) -> None:
    async with httpx.AsyncClient() as client:
        verifier = await _verifier(provider, client)
        claims = await verifier.verify_access_token(
            client, provider.sign(_claims(provider, scope="read:users"))
        )
    assert claims is not None and claims["sub"] == "alice"
    assert scopes_from_claims(claims) == ("read:users",)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"iss": "https://evil.example"}, "issued by 'https://evil.example'"),
        ({"exp": int(time.time()) - 3600}, "has already expired"),
        ({"exp": None}, "no valid expiry"),
        ({"nbf": int(time.time()) + 3600}, "not valid yet"),
        ({"aud": "another-api"}, "not for the configured audience 'opsconsole-api'"),
    ],
)
async def test_access_tokens_with_bad_claims_are_refused(
    provider: MiniProvider, changes: dict[str, Any], words: str
) -> None:
    async with httpx.AsyncClient() as client:
        verifier = await _verifier(provider, client)
        with pytest.raises(TokenError, match=words):
            await verifier.verify_access_token(client, provider.sign(_claims(provider, **changes)))


async def test_the_leeway_tolerates_a_slightly_slow_clock(provider: MiniProvider) -> None:
    async with httpx.AsyncClient() as client:
        verifier = await _verifier(provider, client)
        token = provider.sign(_claims(provider, exp=int(time.time()) - 10))
        assert await verifier.verify_access_token(client, token) is not None


async def test_a_bad_signature_is_refused(provider: MiniProvider) -> None:
    provider.behaviour.sign_with_unpublished_key = True
    async with httpx.AsyncClient() as client:
        verifier = await _verifier(provider, client)
        with pytest.raises(TokenError, match="signature does not verify"):
            await verifier.verify_access_token(client, provider.sign(_claims(provider)))


async def test_a_tampered_payload_is_refused(provider: MiniProvider) -> None:
    token = provider.sign(_claims(provider, scope="read:users"))
    header, _payload, signature = token.split(".")
    forged = jwt.utils.base64url_encode(
        b'{"iss":"%s","sub":"root","aud":"opsconsole-api","exp":9999999999}' % provider.issuer.encode()
    ).decode()
    async with httpx.AsyncClient() as client:
        verifier = await _verifier(provider, client)
        with pytest.raises(TokenError, match="signature does not verify"):
            await verifier.verify_access_token(client, f"{header}.{forged}.{signature}")


@pytest.mark.parametrize("alg", ["none", "HS256"])
async def test_unsigned_and_hmac_id_tokens_are_refused(provider: MiniProvider, alg: str) -> None:
    key = "a-shared-secret-of-enough-length-for-hmac" if alg == "HS256" else None
    token = jwt.encode(_claims(provider, aud=CLIENT_ID), key, algorithm=alg)  # type: ignore[arg-type]
    async with httpx.AsyncClient() as client:
        verifier = await _verifier(provider, client)
        with pytest.raises(TokenError, match="does not accept"):
            await verifier.verify_id_token(client, token, nonce=None)


async def test_opaque_and_hmac_access_tokens_are_used_as_they_are(provider: MiniProvider) -> None:
    hmac_token = jwt.encode(_claims(provider), "a-secret-shared-by-provider-and-api-only!", algorithm="HS256")
    async with httpx.AsyncClient() as client:
        verifier = await _verifier(provider, client)
        assert await verifier.verify_access_token(client, "2YotnFZFEjr1zCsicMWpAA") is None
        assert await verifier.verify_access_token(client, hmac_token) is None
    assert jwt_header("a.b.c") is None and jwt_header("not-a-jwt") is None


async def test_key_rotation_fetches_the_key_set_again_once(provider: MiniProvider) -> None:
    async with httpx.AsyncClient() as client:
        verifier = await _verifier(provider, client)
        await verifier.verify_access_token(client, provider.sign(_claims(provider)))
        provider.rotate_keys(drop_old=True)
        await verifier.verify_access_token(client, provider.sign(_claims(provider)))
        await verifier.verify_access_token(client, provider.sign(_claims(provider)))
    assert verifier.jwks is not None and verifier.jwks.fetches == 2
    assert provider.requests.count("/jwks") == 2


async def test_a_key_the_provider_never_published_is_refused(provider: MiniProvider) -> None:
    stranger = pooled_key(7)
    token = jwt.encode(_claims(provider), stranger.private, algorithm="RS256", headers={"kid": "who-knows"})
    async with httpx.AsyncClient() as client:
        verifier = await _verifier(provider, client)
        with pytest.raises(TokenError, match="key the provider does not publish"):
            await verifier.verify_access_token(client, token)


async def test_id_token_checks_audience_nonce_and_subject(provider: MiniProvider) -> None:
    async with httpx.AsyncClient() as client:
        verifier = await _verifier(provider, client)
        good = provider.sign(_claims(provider, aud=CLIENT_ID, nonce="n-1"))
        assert (await verifier.verify_id_token(client, good, nonce="n-1"))["sub"] == "alice"
        with pytest.raises(TokenError, match="nonce"):
            await verifier.verify_id_token(client, good, nonce="n-2")
        with pytest.raises(TokenError, match="another client"):
            await verifier.verify_id_token(client, provider.sign(_claims(provider, aud="other")), nonce=None)
        with pytest.raises(TokenError, match="authorized party"):
            token = provider.sign(_claims(provider, aud=[CLIENT_ID, "other"], azp="other"))
            await verifier.verify_id_token(client, token, nonce=None)
        with pytest.raises(TokenError, match="no subject"):
            await verifier.verify_id_token(
                client, provider.sign(_claims(provider, aud=CLIENT_ID, sub=None)), nonce=None
            )


async def test_the_injected_clock_decides_expiry(provider: MiniProvider) -> None:
    async with httpx.AsyncClient() as client:
        verifier = await _verifier(provider, client, clock=lambda: time.time() + 3600)
        with pytest.raises(TokenError, match="already expired"):
            await verifier.verify_access_token(client, provider.sign(_claims(provider)))


@pytest.mark.parametrize(
    ("claims", "scopes"),
    [
        ({"scope": "a b"}, ("a", "b")),
        ({"scp": ["a", "b"]}, ("a", "b")),
        ({"scp": "a"}, ("a",)),
        ({"scopes": ["x"]}, ("x",)),
        ({}, None),
    ],
)
def test_scopes_are_read_from_every_common_claim(
    claims: dict[str, Any], scopes: tuple[str, ...] | None
) -> None:
    assert scopes_from_claims(claims) == scopes


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ([], "not a JSON object"),
        ({"token_type": "Bearer"}, "no access_token"),
        ({"access_token": "x", "token_type": "DPoP"}, "only uses Bearer"),
        ({"access_token": "x", "token_type": "bearer", "expires_in": -5}, "invalid expires_in"),
        ({"access_token": "x", "token_type": "bearer", "refresh_token": 5}, "not text"),
        ({"access_token": "x", "token_type": "bearer", "scope": ["a"]}, "scope that is not text"),
    ],
)
def test_malformed_token_responses_are_clear_errors(body: Any, words: str) -> None:
    with pytest.raises(ProviderError, match=words):
        parse_token_response(body)


def test_token_set_round_trips_compactly_and_never_shows_tokens_in_repr() -> None:
    tokens = TokenSet(
        access_token="AT-secret",
        refresh_token="RT-secret",
        issuer="https://idp.example",
        client_id="opsconsole",
        expires_at=2_000_000_000.0,
        issued_at=1_999_999_100.0,
        scopes=("openid", "read:users"),
        subject="u-1",
        username="alice@example.test",
    )
    assert TokenSet.from_json(tokens.to_json()) == tokens
    assert "AT-secret" not in repr(tokens) and "RT-secret" not in repr(tokens)
    slim = TokenSet.from_json(tokens.to_json(include_access_token=False))
    assert slim.access_token == "" and slim.refresh_token == "RT-secret"
    assert len(tokens.to_json()) < 300


@pytest.mark.parametrize(
    "text", ['{"v":2}', "[]", '{"v":1,"iss":"x","cid":"c"}', '{"v":1,"iss":"x","cid":"c","at":5}']
)
def test_unknown_or_broken_stored_documents_are_refused(text: str) -> None:
    with pytest.raises((ValueError, TypeError)):
        TokenSet.from_json(text)


def test_refresh_keeps_the_old_refresh_token_and_identity_when_the_provider_omits_them() -> None:
    previous = TokenSet(
        access_token="old",
        refresh_token="RT",
        issuer="i",
        client_id="c",
        scopes=("a",),
        subject="s",
        username="alice",
        expires_at=100.0,
        issued_at=0.0,
    )
    response = parse_token_response({"access_token": "new", "token_type": "Bearer", "expires_in": 60})
    tokens = build_token_set(
        response,
        issuer="i",
        client_id="c",
        requested_scopes=("x",),
        now=1000.0,
        access_claims=None,
        id_claims=None,
        previous=previous,
    )
    assert (tokens.access_token, tokens.refresh_token, tokens.subject, tokens.username) == (
        "new",
        "RT",
        "s",
        "alice",
    )
    assert tokens.scopes == ("a",) and tokens.expires_at == 1060.0


def test_refresh_margin_is_a_minute_or_a_tenth_of_a_short_lifetime() -> None:
    long = TokenSet(access_token="a", issuer="i", client_id="c", issued_at=0.0, expires_at=900.0)
    short = TokenSet(access_token="a", issuer="i", client_id="c", issued_at=0.0, expires_at=20.0)
    assert long.refresh_margin() == 60.0 and short.refresh_margin() == 2.0
    assert long.access_valid(839.0, long.refresh_margin()) and not long.access_valid(
        841.0, long.refresh_margin()
    )
