"""The protocol steps on authlib: the authorization URL and the token requests, as the provider sees them."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlsplit

from opsconsole import __version__
from opsconsole.auth import flow
from opsconsole.auth.discovery import ProviderMetadata
from tests.unit.auth.conftest import session_for
from tests.unit.auth.mini_provider import MiniProvider


def _metadata(authorization_endpoint: str) -> ProviderMetadata:
    return ProviderMetadata(
        issuer="https://idp.example",
        authorization_endpoint=authorization_endpoint,
        token_endpoint="https://idp.example/token",
    )


async def test_the_authorization_url_carries_pkce_s256_state_and_nonce(provider: MiniProvider) -> None:
    async with session_for(provider) as session:
        state = flow.new_state()
        request = flow.new_authorization_request(
            session._client(),
            _metadata("https://idp.example/authorize?tenant=ops"),  # its own query is kept (RFC 6749 3.1)
            ("openid", "read:users"),
            "http://127.0.0.1:5000/callback",
            state=state,
        )
    query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query, strict_parsing=True).items()}
    assert request.url.startswith("https://idp.example/authorize?")
    assert query["tenant"] == "ops" and query["response_type"] == "code"
    assert query["client_id"] == "opsconsole" and query["redirect_uri"] == "http://127.0.0.1:5000/callback"
    assert query["scope"] == "openid read:users"
    assert query["state"] == state == request.state and query["nonce"] == request.nonce
    assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", request.verifier)  # RFC 7636 4.1
    challenge = base64.urlsafe_b64encode(hashlib.sha256(request.verifier.encode()).digest()).rstrip(b"=")
    assert query["code_challenge"] == challenge.decode() and query["code_challenge_method"] == "S256"
    assert request.verifier not in request.url and "code_verifier" not in query
    assert request.verifier not in repr(request) and state not in repr(request)


async def test_one_time_values_are_fresh_and_without_nonce_when_openid_is_not_asked(
    provider: MiniProvider,
) -> None:
    async with session_for(provider) as session:
        requests = [
            flow.new_authorization_request(
                session._client(),
                _metadata("https://idp.example/authorize"),
                ("read:users",),
                "http://127.0.0.1:5000/callback",
                state=flow.new_state(),
            )
            for _ in range(20)
        ]
    assert len({r.state for r in requests}) == len({r.verifier for r in requests}) == 20
    assert all(r.nonce is None and "nonce=" not in r.url for r in requests)


async def test_token_requests_are_a_public_clients_forms_with_the_consoles_identity(
    provider: MiniProvider,
) -> None:
    async with session_for(provider) as session:
        tokens = await session.login()
        await session.refresh(force=True)
        await session.logout()
    posts = {path: (headers, form) for path, headers, form in provider.posts}
    code_headers, code_form = next(
        (h, f) for p, h, f in provider.posts if f.get("grant_type") == "authorization_code"
    )
    assert set(code_form) == {"grant_type", "code", "redirect_uri", "code_verifier", "client_id"}
    refresh_headers, refresh_form = next(
        (h, f) for p, h, f in provider.posts if f.get("grant_type") == "refresh_token"
    )
    # No scope on refresh: the grant keeps what was consented to (RFC 6749 6).
    assert set(refresh_form) == {"grant_type", "refresh_token", "client_id"}
    revoke_headers, revoke_form = posts["/revoke"]
    assert set(revoke_form) == {"token", "token_type_hint", "client_id"}
    assert revoke_form["token_type_hint"] == "refresh_token" and revoke_form["token"] != tokens.refresh_token
    for headers in (code_headers, refresh_headers, revoke_headers):
        assert "Authorization" not in headers  # a public client: no secret, no Basic auth
        assert headers["User-Agent"].startswith(f"opsconsole/{__version__} ")
        assert len(headers["X-Request-ID"]) == 32
