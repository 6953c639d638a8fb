"""Discovery against a real provider on 127.0.0.1: OpenID first, then RFC 8414, and every way it fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from opsconsole.auth.discovery import (
    DiscoveryCache,
    discovery_urls,
    fetch_metadata,
    parse_metadata,
    require_secure_url,
)
from opsconsole.auth.errors import DiscoveryError, InsecureTransportError
from opsconsole.net import NetworkError
from tests.unit.auth.mini_provider import MiniProvider


async def test_openid_discovery_is_read_and_checked(provider: MiniProvider) -> None:
    async with httpx.AsyncClient() as client:
        meta = await fetch_metadata(client, provider.issuer)
    assert meta.issuer == provider.issuer
    assert meta.token_endpoint == f"{provider.issuer}/token"
    assert meta.revocation_endpoint == f"{provider.issuer}/revoke"
    assert meta.authorization_response_iss_parameter_supported is True
    assert meta.openid is True


async def test_rfc_8414_is_the_fallback(make_provider: Callable[..., MiniProvider]) -> None:
    provider = make_provider(discovery="oauth")
    async with httpx.AsyncClient() as client:
        meta = await fetch_metadata(client, provider.issuer)
    assert meta.openid is False
    assert provider.requests[:2] == [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ]


def test_rfc_8414_puts_the_well_known_part_before_the_issuer_path() -> None:
    assert discovery_urls("https://idp.example/realms/ops") == [
        "https://idp.example/realms/ops/.well-known/openid-configuration",
        "https://idp.example/.well-known/oauth-authorization-server/realms/ops",
    ]


@pytest.mark.parametrize(("mode", "words"), [("404", "HTTP 404"), ("html", "an HTML page")])
async def test_missing_or_html_discovery_is_a_clear_error(
    make_provider: Callable[..., MiniProvider], mode: str, words: str
) -> None:
    provider = make_provider(discovery=mode)
    async with httpx.AsyncClient() as client:
        with pytest.raises(DiscoveryError) as caught:
            await fetch_metadata(client, provider.issuer)
    text = str(caught.value)
    assert f"issuer {provider.issuer}" in text
    assert text.count(words) == 2  # both places were tried and both are reported
    if mode == "404":  # an error page is summarised by its title, as net.py does for every API error
        assert "Not Found (HTTP 404): an HTML page" in text and ": 404 Not Found" in text
    assert caught.value.exit_code == 3
    assert "issuer" in caught.value.hint


async def test_an_unreachable_issuer_is_a_network_error() -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(NetworkError, match="Could not connect"):
            await fetch_metadata(client, "http://127.0.0.1:9")


def _doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "issuer": "https://idp.example",
        "authorization_endpoint": "https://idp.example/authorize",
        "token_endpoint": "https://idp.example/token",
        "jwks_uri": "https://idp.example/jwks",
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
    }
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"token_endpoint": None}, '"token_endpoint" is missing'),
        ({"authorization_endpoint": 42}, '"authorization_endpoint" must be a string'),
        ({"code_challenge_methods_supported": ["plain"]}, "PKCE is required"),
        ({"response_types_supported": ["token"]}, 'does not include "code"'),
        ({"grant_types_supported": ["client_credentials"]}, '"authorization_code"'),
        ({"jwks_uri": None}, '"jwks_uri" is missing'),
        ({"authorization_response_iss_parameter_supported": "yes"}, "true or false"),
    ],
)
def test_metadata_lacking_what_is_needed_is_refused(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(DiscoveryError, match="cannot be used for sign-in") as caught:
        parse_metadata(
            _doc(**changes),
            "https://idp.example",
            source="https://idp.example/.well-known/openid-configuration",
        )
    assert words in str(caught.value)


def test_metadata_for_another_issuer_is_refused() -> None:
    with pytest.raises(DiscoveryError, match=r"names the issuer 'https://evil\.example'"):
        parse_metadata(_doc(issuer="https://evil.example"), "https://idp.example")


def test_a_trailing_slash_on_the_advertised_issuer_is_kept_exactly() -> None:
    meta = parse_metadata(_doc(issuer="https://idp.example/"), "https://idp.example")
    assert meta.issuer == "https://idp.example/"  # tokens must then carry exactly this iss


def test_endpoints_over_plain_http_to_another_host_are_refused() -> None:
    with pytest.raises(InsecureTransportError, match="must be an https URL"):
        parse_metadata(_doc(token_endpoint="http://idp.example/token"), "https://idp.example")


def test_require_secure_url_allows_https_and_loopback_http_only() -> None:
    require_secure_url("https://api.example/x", "API")
    require_secure_url("http://127.0.0.1:8700/api", "API")
    require_secure_url("http://[::1]:8700/api", "API")
    require_secure_url("http://localhost/api", "API")
    with pytest.raises(InsecureTransportError):
        require_secure_url("http://10.0.0.5/api", "API")


async def test_the_cache_fetches_once_per_issuer(provider: MiniProvider) -> None:
    cache = DiscoveryCache()
    async with httpx.AsyncClient() as client:
        first = await cache.get(client, provider.issuer)
        second = await cache.get(client, provider.issuer)
    assert first is second
    assert provider.requests.count("/.well-known/openid-configuration") == 1


async def test_the_cache_fetches_again_after_its_lifetime(provider: MiniProvider) -> None:
    now = [0.0]
    cache = DiscoveryCache(ttl=60, clock=lambda: now[0])
    async with httpx.AsyncClient() as client:
        await cache.get(client, provider.issuer)
        now[0] = 61
        await cache.get(client, provider.issuer)
    assert provider.requests.count("/.well-known/openid-configuration") == 2
