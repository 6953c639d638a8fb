"""Provider discovery: what the identity provider says about itself, fetched from the profile's issuer.

OpenID Connect Discovery 1.0 (``{issuer}/.well-known/openid-configuration``) is tried first, then
RFC 8414 (``{origin}/.well-known/oauth-authorization-server{path}``). The document is checked before it
is used: its ``issuer`` must be the configured one (both specs require it, and it stops a mix-up
between providers), the endpoints the flow needs must be there and use https (http only on this
machine's loopback, for development), and what it advertises must allow a public client with PKCE
S256. The result is cached per process for an hour, so one console run fetches it once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..net import error_from_response, network_error, safe_url
from .errors import DiscoveryError, InsecureTransportError

OIDC_PATH = "/.well-known/openid-configuration"
OAUTH_PATH = "/.well-known/oauth-authorization-server"
CACHE_SECONDS = 3600.0
MAX_DOCUMENT_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """The parts of a provider's metadata the console uses; optional endpoints are "" when absent."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str = ""
    revocation_endpoint: str = ""
    userinfo_endpoint: str = ""
    device_authorization_endpoint: str = ""
    end_session_endpoint: str = ""
    scopes_supported: tuple[str, ...] = ()
    code_challenge_methods_supported: tuple[str, ...] = ()
    grant_types_supported: tuple[str, ...] = ()
    # RFC 9207: the provider adds `iss` to its authorization responses, and the client must check it.
    authorization_response_iss_parameter_supported: bool = False
    openid: bool = False  # came from OpenID Connect discovery (ID tokens will be issued for `openid`)
    source: str = ""

    def supports_grant(self, grant: str) -> bool:
        # RFC 8414 2: when omitted, the default is ["authorization_code", "implicit"]; refresh_token
        # support is then simply unknown, and trying is the only way to tell.
        if not self.grant_types_supported:
            return grant != "urn:ietf:params:oauth:grant-type:device_code" or bool(
                self.device_authorization_endpoint
            )
        return grant in self.grant_types_supported


def is_loopback_host(host: str) -> bool:
    """True for a loopback IP literal, and for the name ``localhost``.

    RFC 8252 8.3 prefers IP literals to ``localhost`` for the redirect URI, which the console's own
    receiver honours (it listens on 127.0.0.1 or ::1). For the provider's and the API's addresses the
    name is still accepted over plain http, on purpose: it is what people type for a local sandbox, and
    it cannot lead anywhere but this machine without someone changing /etc/hosts or the resolver, which
    takes root (RFC 6761 6.3 also asks resolvers to answer it with loopback themselves; systemd-resolved
    and glibc with the stock hosts file do). Resolving it here instead would check one lookup while httpx
    connects with another, and block the event loop on the resolver, for no protection against root.
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_secure_url(url: str, what: str) -> None:
    """Raise unless ``url`` is https, or http to this machine (RFC 6749 3.1/3.2, RFC 9700 2.6)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and is_loopback_host(parts.hostname):
        return
    raise InsecureTransportError(
        f"The {what} ({safe_url(url)}) must be an https URL: tokens and credentials are only sent "
        "over plain http to this machine's loopback address."
    )


def discovery_urls(issuer: str) -> list[str]:
    """Where the metadata is looked for, in order."""
    base = issuer.rstrip("/")
    parts = urlsplit(base)
    origin = f"{parts.scheme}://{parts.netloc}"
    urls = [base + OIDC_PATH, origin + OAUTH_PATH + parts.path]
    return list(dict.fromkeys(urls))


def issuers_match(configured: str, advertised: str) -> bool:
    # The profile loader strips a trailing slash from the issuer, while some providers (Auth0) advertise
    # one; apart from that single character the comparison is exact, as both specs require.
    return configured.rstrip("/") == advertised.rstrip("/")


async def fetch_metadata(client: httpx.AsyncClient, issuer: str) -> ProviderMetadata:
    """Fetch and check the provider metadata for ``issuer``; raise DiscoveryError with every attempt."""
    require_secure_url(issuer, "issuer")
    failures: list[str] = []
    for url in discovery_urls(issuer):
        try:
            response = await client.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            # Unreachable host: the next URL is on the same host, so stop here with the network's words.
            raise network_error(exc, url) from exc
        try:
            document = _decode(response)
        except _NotFound as exc:
            failures.append(f"{url}: {exc}")
            continue
        return parse_metadata(document, issuer, source=url)
    raise DiscoveryError(
        f"Could not find the sign-in provider's metadata for issuer {issuer}:\n  " + "\n  ".join(failures)
    )


class _NotFound(Exception):
    """This URL does not hold a metadata document; the next one may."""


def _decode(response: httpx.Response) -> Mapping[str, Any]:
    status = response.status_code
    if status != 200:
        # The same words as any other API error (a proxy's HTML page is summarised by its title), less
        # the request id: one per URL tried would bury the message.
        error = error_from_response(response)
        error.request_id = ""
        raise _NotFound(str(error))
    if len(response.content) > MAX_DOCUMENT_BYTES:
        raise _NotFound(f"the answer is too large ({len(response.content)} bytes) to be a metadata document")
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    text = response.content.lstrip()[:1]
    if "html" in content_type or text == b"<":
        raise _NotFound("an HTML page, not a JSON metadata document (is the issuer URL right?)")
    try:
        document = json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _NotFound("not JSON") from None
    if not isinstance(document, dict):
        raise _NotFound("JSON, but not an object")
    return document


def parse_metadata(document: Mapping[str, Any], issuer: str, *, source: str = "") -> ProviderMetadata:
    """Check a metadata document against what the console needs; raise DiscoveryError if it falls short."""
    where = f" (from {source})" if source else ""
    problems: list[str] = []

    def text(key: str, required: bool = False) -> str:
        value = document.get(key)
        if value is None or value == "":
            if required:
                problems.append(f'"{key}" is missing')
            return ""
        if not isinstance(value, str):
            problems.append(f'"{key}" must be a string')
            return ""
        return value

    def strings(key: str) -> tuple[str, ...]:
        value = document.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f'"{key}" must be a list of strings')
            return ()
        return tuple(value)

    advertised = text("issuer", required=True)
    if advertised and not issuers_match(issuer, advertised):
        raise DiscoveryError(
            f"The provider's metadata{where} names the issuer {advertised!r}, not the configured "
            f"{issuer!r}. The console only trusts the issuer it was configured with."
        )
    authorization_endpoint = text("authorization_endpoint", required=True)
    token_endpoint = text("token_endpoint", required=True)
    metadata_fields: dict[str, Any] = {
        "jwks_uri": text("jwks_uri"),
        "revocation_endpoint": text("revocation_endpoint"),
        "userinfo_endpoint": text("userinfo_endpoint"),
        "device_authorization_endpoint": text("device_authorization_endpoint"),
        "end_session_endpoint": text("end_session_endpoint"),
    }
    response_types = strings("response_types_supported")
    challenge_methods = strings("code_challenge_methods_supported")
    grant_types = strings("grant_types_supported")
    scopes = strings("scopes_supported")
    iss_parameter = document.get("authorization_response_iss_parameter_supported", False)
    if not isinstance(iss_parameter, bool):
        problems.append('"authorization_response_iss_parameter_supported" must be true or false')
        iss_parameter = False
    if response_types and "code" not in response_types:
        problems.append('"response_types_supported" does not include "code"')
    # Absent means "unknown" in practice (several providers omit it yet support PKCE); a list without
    # S256 is an explicit no, and plain PKCE is not an option (RFC 9700 2.1.1).
    if challenge_methods and "S256" not in challenge_methods:
        problems.append('"code_challenge_methods_supported" does not include "S256" (PKCE is required)')
    if grant_types and "authorization_code" not in grant_types:
        problems.append('"grant_types_supported" does not include "authorization_code"')
    openid = source.endswith(OIDC_PATH)
    if openid and not metadata_fields["jwks_uri"]:
        problems.append('"jwks_uri" is missing (OpenID Connect requires it to verify ID tokens)')
    if problems:
        raise DiscoveryError(
            f"The provider's metadata{where} cannot be used for sign-in: " + "; ".join(problems) + "."
        )
    for key, value in (
        ("authorization_endpoint", authorization_endpoint),
        ("token_endpoint", token_endpoint),
        *metadata_fields.items(),
    ):
        if value:
            _check_endpoint(value, key)
    return ProviderMetadata(
        issuer=advertised,
        authorization_endpoint=authorization_endpoint,
        token_endpoint=token_endpoint,
        scopes_supported=scopes,
        code_challenge_methods_supported=challenge_methods,
        grant_types_supported=grant_types,
        authorization_response_iss_parameter_supported=iss_parameter,
        openid=openid,
        source=source,
        **metadata_fields,
    )


def _check_endpoint(url: str, key: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DiscoveryError(f'The provider\'s "{key}" is not an absolute http(s) URL: {safe_url(url)!r}')
    if parts.fragment:
        raise DiscoveryError(f'The provider\'s "{key}" must not have a fragment (RFC 6749 3.1)')
    require_secure_url(url, f'provider\'s "{key}"')


@dataclass
class _Entry:
    metadata: ProviderMetadata
    fetched: float


@dataclass
class DiscoveryCache:
    """Metadata per issuer, fetched once and reused for ``ttl`` seconds; concurrent fetches coalesce."""

    ttl: float = CACHE_SECONDS
    clock: Callable[[], float] = time.monotonic
    _entries: dict[str, _Entry] = field(default_factory=dict)
    _locks: dict[tuple[int, str], asyncio.Lock] = field(default_factory=dict)

    async def get(self, client: httpx.AsyncClient, issuer: str) -> ProviderMetadata:
        entry = self._entries.get(issuer)
        if entry and self.clock() - entry.fetched < self.ttl:
            return entry.metadata
        # One lock per event loop and issuer: the GUI's loop and a CLI's asyncio.run never share one.
        key = (id(asyncio.get_running_loop()), issuer)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            entry = self._entries.get(issuer)
            if entry and self.clock() - entry.fetched < self.ttl:
                return entry.metadata
            metadata = await fetch_metadata(client, issuer)
            self._entries[issuer] = _Entry(metadata, self.clock())
            return metadata

    def forget(self, issuer: str | None = None) -> None:
        if issuer is None:
            self._entries.clear()
        else:
            self._entries.pop(issuer, None)


PROCESS_CACHE = DiscoveryCache()
