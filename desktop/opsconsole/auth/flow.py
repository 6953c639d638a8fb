"""The OAuth 2.0 exchanges of a public native client (RFC 6749, RFC 7636, RFC 8252, RFC 9700, RFC 9207).

authlib's httpx client (:class:`OAuthClient`, built with net.py's settings: trust store, CA bundle,
proxies, User-Agent) drives the protocol: the authorization URL with PKCE S256, the code exchange,
refresh, revocation and the device grant's polling, authenticating as a public client
(``token_endpoint_auth_method="none"``: ``client_id`` in the form, no secret). What authlib does not do
stays here and in the modules beside it:

- :func:`new_authorization_request` adds a fresh ``nonce`` when ``openid`` is asked; the ``state`` is
  made first (:func:`new_state`), because the loopback receiver must know it before the URL is shown.
- :func:`check_callback` reads the browser's return, which the loopback receiver only delivers when it
  carries the request's ``state``: the RFC 9207 ``iss`` first (when present, or required because the
  provider advertises it), then an ``error=`` answer in words, and only then the ``code``.
- Every token response is read by :func:`~opsconsole.auth.tokens.parse_token_response`, and authlib's
  failures become the console's errors (:class:`SignInRefused` for an OAuth ``error``,
  :class:`ProviderError` for anything else) in :meth:`OAuthClient.parse_response_token`.
- :func:`start_device_authorization` (RFC 8628 3.1, which authlib's client lacks; the code and address
  it returns are plain text and the address https, because they are shown to the user) and the polling
  rules of :func:`poll_device_token` (``authorization_pending``, ``slow_down``, the code's expiry).

Nothing here stores anything or keeps state between calls; session.py does that.
"""

from __future__ import annotations

import asyncio
import json
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token

from ..config import Profile
from ..net import client_options, error_from_response, network_error
from .discovery import ProviderMetadata, require_secure_url
from .errors import CallbackError, ProviderError, SignInRefused
from .loopback import Callback, check_callback_shape
from .tokens import TokenResponse, parse_token_response

with warnings.catch_warnings():
    # authlib 1.9 prefers the httpx2 fork and warns that plain httpx is deprecated (its deprecate module
    # sets an "always" filter when imported, hence that import first); the console is built on httpx,
    # and the check below fails loudly if authlib ever stops using it.
    import authlib.deprecate

    warnings.filterwarnings(
        "ignore", "The httpx module is deprecated", authlib.deprecate.AuthlibDeprecationWarning
    )
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

if not issubclass(AsyncOAuth2Client, httpx.AsyncClient):  # pragma: no cover - an environment problem
    raise ImportError(
        "authlib's OAuth client is not built on httpx here (is the httpx2 package installed?); "
        "the console's network settings cannot apply to it."
    )

# Lengths in characters of [A-Za-z0-9] (about 5.95 bits each) from the OS's CSPRNG (generate_token).
STATE_LENGTH = 32
NONCE_LENGTH = 32
VERIFIER_LENGTH = 64  # RFC 7636 4.1: 43 to 128 characters


class OAuthClient(AsyncOAuth2Client):  # type: ignore[misc]  # authlib has no type hints
    """authlib's AsyncOAuth2Client for one profile, with two changes.

    It never attaches a token on its own (the session decides what is sent where), so the same client
    also fetches discovery documents and key sets; and it tells authlib's failures in the console's
    words, with the provider's response at hand.
    """

    async def request(  # type: ignore[no-untyped-def]
        self, method, url, withhold_token=True, auth=httpx.USE_CLIENT_DEFAULT, **kwargs
    ) -> httpx.Response:
        response: httpx.Response = await super().request(
            method, url, withhold_token=withhold_token, auth=auth, **kwargs
        )
        return response

    def parse_response_token(self, resp: httpx.Response) -> Any:
        try:
            token = super().parse_response_token(resp)
        except OAuthError as exc:  # the provider's {"error": ...}: the user gets its words
            raise SignInRefused(str(exc.error or ""), str(exc.description or "")) from None
        except (httpx.HTTPStatusError, ValueError, TypeError):  # 5xx, not JSON, fields authlib cannot read
            raise _unreadable_token_response(resp) from None
        if resp.status_code != 200:
            raise _unreadable_token_response(resp)
        return token


def oauth_client(profile: Profile, transport: httpx.AsyncBaseTransport | None = None) -> OAuthClient:
    """The OAuth client of ``profile``: a public client using PKCE S256, over the console's HTTP settings."""
    return OAuthClient(
        client_id=profile.client_id,
        token_endpoint_auth_method="none",
        revocation_endpoint_auth_method="none",
        code_challenge_method="S256",
        **client_options(profile, transport=transport),
    )


def _unreadable_token_response(response: httpx.Response) -> ProviderError:
    if response.status_code != 200:
        return ProviderError(
            f"The provider's token endpoint failed: {error_from_response(response)}",
            hint="This is a problem on the provider's side; try again in a moment.",
        )
    body = _json_or_none(response)
    if isinstance(body, dict):
        parse_token_response(body)  # raises, naming the field authlib could not read
    return ProviderError(
        "The provider's token endpoint answered with something that is not JSON: "
        + error_from_response(response).detail
    )


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """One sign-in attempt's secrets and the URL the browser is sent to."""

    url: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str
    verifier: str
    nonce: str | None

    def __repr__(self) -> str:
        return f"AuthorizationRequest(redirect_uri={self.redirect_uri!r}, scopes={self.scopes!r}, ...)"


def new_state() -> str:
    return str(generate_token(STATE_LENGTH))


def new_authorization_request(
    client: OAuthClient,
    metadata: ProviderMetadata,
    scopes: tuple[str, ...],
    redirect_uri: str,
    *,
    state: str,
    extra: dict[str, str] | None = None,
) -> AuthorizationRequest:
    """The authorization URL (authlib keeps the endpoint's own query, as RFC 6749 3.1 requires)."""
    verifier = str(generate_token(VERIFIER_LENGTH))
    nonce = str(generate_token(NONCE_LENGTH)) if "openid" in scopes else None
    url, _ = client.create_authorization_url(
        metadata.authorization_endpoint,
        state=state,
        code_verifier=verifier,
        redirect_uri=redirect_uri,
        scope=" ".join(scopes),
        nonce=nonce,
        **(extra or {}),
    )
    return AuthorizationRequest(str(url), redirect_uri, scopes, state, verifier, nonce)


def check_callback(callback: Callback, metadata: ProviderMetadata) -> str:
    """The authorization code of a callback the receiver delivered (its state matched); raises otherwise."""
    check_callback_shape(callback)
    params = callback.params
    iss = params.get("iss")
    if iss is not None or metadata.authorization_response_iss_parameter_supported:
        # RFC 9207 2.4: compared before anything else in the response is looked at, error responses too.
        if iss is None:
            raise CallbackError(
                "The sign-in response has no issuer (iss), although the provider says it always sends "
                "one. It may come from another provider (a mix-up attack); it was not used."
            )
        if iss != metadata.issuer:
            raise CallbackError(
                f"The sign-in response comes from the issuer {iss[:120]!r}, not from "
                f"{metadata.issuer!r}. It was not used (this protects against mix-up attacks)."
            )
    if "error" in params:
        raise SignInRefused(params["error"], params.get("error_description", ""))
    code = params.get("code", "")
    if not code:
        raise CallbackError("The sign-in response carries neither a code nor an error.")
    return code


async def _token_call(metadata: ProviderMetadata, call: Awaitable[Any]) -> TokenResponse:
    """Await one of authlib's token endpoint calls; the parsed success response, or a readable error."""
    try:
        token = await call
    except httpx.HTTPError as exc:
        raise network_error(exc, metadata.token_endpoint) from exc
    return parse_token_response(dict(token))


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content) if response.content else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


async def exchange_code(
    client: OAuthClient, metadata: ProviderMetadata, request: AuthorizationRequest, code: str
) -> TokenResponse:
    return await _token_call(
        metadata,
        client.fetch_token(
            metadata.token_endpoint,
            grant_type="authorization_code",
            code=code,
            redirect_uri=request.redirect_uri,
            code_verifier=request.verifier,
        ),
    )


async def refresh_grant(client: OAuthClient, metadata: ProviderMetadata, refresh_token: str) -> TokenResponse:
    # No scope parameter (the client has none set): the refreshed grant keeps the scopes originally
    # granted (RFC 6749 6).
    return await _token_call(
        metadata, client.refresh_token(metadata.token_endpoint, refresh_token=refresh_token)
    )


@dataclass(frozen=True, slots=True)
class Revocation:
    done: bool
    message: str


async def revoke(
    client: OAuthClient, metadata: ProviderMetadata, token: str, token_type_hint: str
) -> Revocation:
    """RFC 7009. A 200 means revoked (or already invalid); anything else is reported, not raised."""
    if not metadata.revocation_endpoint:
        return Revocation(False, "the provider has no revocation endpoint; the token expires on its own")
    try:
        response = await client.revoke_token(
            metadata.revocation_endpoint, token=token, token_type_hint=token_type_hint
        )
    except httpx.HTTPError as exc:
        return Revocation(False, f"could not reach the provider to revoke the session: {network_error(exc)}")
    if response.status_code == 200:
        return Revocation(True, "the provider revoked the session")
    body = _json_or_none(response)
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        refused = SignInRefused(body["error"], str(body.get("error_description") or ""))
        return Revocation(False, f"the provider did not revoke the session: {refused}")
    return Revocation(
        False,
        f"the provider did not revoke the session: {error_from_response(response)}",
    )


# -- RFC 8628: the device authorization grant, for sessions without a local browser (SSH) ---------------

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5.0
MIN_INTERVAL = 1.0  # polled no more often than this, whatever the provider says
_USER_CODE_LIMIT = 64  # RFC 8628 6.1: user codes are short, to be typed
_URI_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class DeviceAuthorization:
    """What the user needs to finish the sign-in on another device, and what the console polls with."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: float
    interval: float
    device_code: str

    def __repr__(self) -> str:
        return (
            f"DeviceAuthorization(user_code={self.user_code!r}, verification_uri={self.verification_uri!r})"
        )


async def start_device_authorization(
    client: OAuthClient, metadata: ProviderMetadata, scopes: tuple[str, ...]
) -> DeviceAuthorization:
    """RFC 8628 3.1/3.2: ask the provider for a device code and a user code."""
    if not metadata.device_authorization_endpoint:
        raise ProviderError(
            "The provider does not offer sign-in from another device (no device_authorization_endpoint).",
            hint="Run `opsconsole login` on a computer with a browser, or `opsconsole login --no-browser` "
            "and open the link on this computer.",
        )
    try:
        response = await client.post(
            metadata.device_authorization_endpoint,
            data={"client_id": client.client_id, "scope": " ".join(scopes)},
            headers={"Accept": "application/json"},
        )
    except httpx.HTTPError as exc:
        raise network_error(exc, metadata.device_authorization_endpoint) from exc
    body = _json_or_none(response)
    if response.status_code != 200:
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            raise SignInRefused(body["error"], str(body.get("error_description") or ""))
        raise ProviderError(f"The provider's device authorization failed: {error_from_response(response)}")
    if not isinstance(body, dict):
        raise ProviderError("The provider's device authorization answer is not a JSON object.")
    fields: dict[str, str] = {}
    for key in ("device_code", "user_code", "verification_uri"):
        value = body.get(key)
        if not isinstance(value, str) or not value:
            raise ProviderError(f"The provider's device authorization answer has no {key}.")
        fields[key] = value
    complete = body.get("verification_uri_complete")
    complete = complete if isinstance(complete, str) else ""
    _check_shown_text("user_code", fields["user_code"], _USER_CODE_LIMIT)
    for key, uri in (
        ("verification_uri", fields["verification_uri"]),
        ("verification_uri_complete", complete),
    ):
        if uri:
            _check_shown_text(key, uri, _URI_LIMIT)
            # The person types their password there: https, or plain http only on this machine.
            require_secure_url(uri, f"device sign-in address ({key})")
    expires_in = body.get("expires_in")
    interval = body.get("interval", DEFAULT_INTERVAL)
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or expires_in <= 0:
        raise ProviderError("The provider's device authorization answer has no valid expires_in.")
    if isinstance(interval, bool) or not isinstance(interval, int | float) or interval <= 0:
        interval = DEFAULT_INTERVAL  # RFC 8628 3.2: 5 s when absent; 0 would poll in a hot loop
    return DeviceAuthorization(
        user_code=fields["user_code"],
        verification_uri=fields["verification_uri"],
        verification_uri_complete=complete,
        expires_in=float(expires_in),
        interval=max(float(interval), MIN_INTERVAL),
        device_code=fields["device_code"],
    )


def _check_shown_text(key: str, value: str, limit: int) -> None:
    """Refuse provider text the user is shown that is not plain text: printed to a terminal, control
    characters and escape sequences are commands to it (and bidi overrides disguise an address)."""
    if len(value) > limit or not value.isprintable():
        raise ProviderError(
            f"The provider's device authorization answer has an unreadable {key} "
            "(control characters, or too long); it was not shown."
        )


async def poll_device_token(
    client: OAuthClient,
    metadata: ProviderMetadata,
    device: DeviceAuthorization,
    *,
    wait: Callable[[float], Awaitable[None]] = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> TokenResponse:
    """RFC 8628 3.4/3.5: poll until the user approves, refuses, or the code expires.

    The code's lifetime is measured on the monotonic clock from now, so slow answers from the provider
    count against it as well as the sleeps (and a wall-clock jump does not).
    """
    deadline = monotonic() + device.expires_in
    interval = device.interval
    while True:
        await wait(interval)
        try:
            return await _token_call(
                metadata,
                client.fetch_token(
                    metadata.token_endpoint, grant_type=DEVICE_GRANT, device_code=device.device_code
                ),
            )
        except SignInRefused as exc:
            if exc.error == "authorization_pending":
                pass
            elif exc.error == "slow_down":
                interval += 5.0  # RFC 8628 3.5: and keep the longer interval from now on
            else:
                raise
        if monotonic() >= deadline:
            raise SignInRefused("expired_token", "the code was not used in time")
