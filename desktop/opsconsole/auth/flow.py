"""The OAuth 2.0 exchanges of a public native client (RFC 6749, RFC 7636, RFC 8252, RFC 9700, RFC 9207).

- :func:`new_authorization_request` builds the browser URL with PKCE S256, ``state`` and (when
  ``openid`` is asked) ``nonce``, all fresh per sign-in.
- :func:`check_callback` reads the browser's return, which the loopback receiver only delivers when it
  carries the request's ``state``: the RFC 9207 ``iss`` first (when present, or required because the
  provider advertises it), then an ``error=`` answer in words, and only then the ``code``.
- :func:`exchange_code`, :func:`refresh_grant` and :func:`revoke` talk to the token and revocation
  endpoints. The client authenticates as a public client: ``client_id`` in the form, no secret.
- :func:`start_device_authorization` and :func:`poll_device_token`: the device authorization grant
  (RFC 8628) for a console on a machine without a browser, when the provider offers it.

Nothing here stores anything or keeps state between calls; session.py does that.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from ..net import error_from_response, network_error
from . import pkce
from .discovery import ProviderMetadata
from .errors import CallbackError, ProviderError, SignInRefused
from .loopback import Callback, check_callback_shape
from .tokens import TokenResponse, parse_token_response

FORM_HEADERS = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """One sign-in attempt's secrets and the URL the browser is sent to."""

    url: str
    redirect_uri: str
    client_id: str
    scopes: tuple[str, ...]
    state: str
    verifier: str
    nonce: str | None

    def __repr__(self) -> str:
        return f"AuthorizationRequest(redirect_uri={self.redirect_uri!r}, scopes={self.scopes!r}, ...)"


def new_authorization_request(
    metadata: ProviderMetadata,
    client_id: str,
    scopes: tuple[str, ...],
    redirect_uri: str,
    *,
    state: str,
    extra: dict[str, str] | None = None,
) -> AuthorizationRequest:
    verifier = pkce.make_verifier()
    nonce = pkce.make_nonce() if "openid" in scopes else None
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "state": state,
        "code_challenge": pkce.s256_challenge(verifier),
        "code_challenge_method": pkce.METHOD,
    }
    if nonce is not None:
        params["nonce"] = nonce
    params.update(extra or {})
    url = _add_query(metadata.authorization_endpoint, params)
    return AuthorizationRequest(url, redirect_uri, client_id, scopes, state, verifier, nonce)


def _add_query(endpoint: str, params: dict[str, str]) -> str:
    # The endpoint may carry its own query (RFC 6749 3.1 says it must be kept).
    parts = urlsplit(endpoint)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


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


async def token_request(
    client: httpx.AsyncClient, metadata: ProviderMetadata, form: dict[str, str]
) -> TokenResponse:
    """POST to the token endpoint; the parsed success response, or a readable error."""
    try:
        response = await client.post(metadata.token_endpoint, data=form, headers=FORM_HEADERS)
    except httpx.HTTPError as exc:
        raise network_error(exc, metadata.token_endpoint) from exc
    body = _json_or_none(response)
    if response.status_code == 200:
        if body is None:
            raise ProviderError(
                "The provider's token endpoint answered with something that is not JSON: "
                + error_from_response(response).detail
            )
        return parse_token_response(body)
    if response.status_code in (400, 401) and isinstance(body, dict) and isinstance(body.get("error"), str):
        raise SignInRefused(body["error"], str(body.get("error_description") or ""))
    raise ProviderError(
        f"The provider's token endpoint failed: {error_from_response(response)}",
        hint="This is a problem on the provider's side; try again in a moment.",
    )


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content) if response.content else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


async def exchange_code(
    client: httpx.AsyncClient, metadata: ProviderMetadata, request: AuthorizationRequest, code: str
) -> TokenResponse:
    return await token_request(
        client,
        metadata,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.redirect_uri,
            "client_id": request.client_id,
            "code_verifier": request.verifier,
        },
    )


async def refresh_grant(
    client: httpx.AsyncClient, metadata: ProviderMetadata, client_id: str, refresh_token: str
) -> TokenResponse:
    # No scope parameter: the refreshed grant keeps the scopes originally granted (RFC 6749 6).
    return await token_request(
        client,
        metadata,
        {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id},
    )


@dataclass(frozen=True, slots=True)
class Revocation:
    done: bool
    message: str


async def revoke(
    client: httpx.AsyncClient, metadata: ProviderMetadata, client_id: str, token: str, token_type_hint: str
) -> Revocation:
    """RFC 7009. A 200 means revoked (or already invalid); anything else is reported, not raised."""
    if not metadata.revocation_endpoint:
        return Revocation(False, "the provider has no revocation endpoint; the token expires on its own")
    try:
        response = await client.post(
            metadata.revocation_endpoint,
            data={"token": token, "token_type_hint": token_type_hint, "client_id": client_id},
            headers=FORM_HEADERS,
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
    client: httpx.AsyncClient, metadata: ProviderMetadata, client_id: str, scopes: tuple[str, ...]
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
            data={"client_id": client_id, "scope": " ".join(scopes)},
            headers=FORM_HEADERS,
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
    expires_in = body.get("expires_in")
    interval = body.get("interval", DEFAULT_INTERVAL)
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or expires_in <= 0:
        raise ProviderError("The provider's device authorization answer has no valid expires_in.")
    if isinstance(interval, bool) or not isinstance(interval, int | float) or interval < 0:
        interval = DEFAULT_INTERVAL
    return DeviceAuthorization(
        user_code=fields["user_code"],
        verification_uri=fields["verification_uri"],
        verification_uri_complete=complete if isinstance(complete, str) else "",
        expires_in=float(expires_in),
        interval=float(interval),
        device_code=fields["device_code"],
    )


async def poll_device_token(
    client: httpx.AsyncClient,
    metadata: ProviderMetadata,
    client_id: str,
    device: DeviceAuthorization,
    *,
    wait: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> TokenResponse:
    """RFC 8628 3.4/3.5: poll until the user approves, refuses, or the code expires."""
    interval = device.interval
    waited = 0.0
    form = {"grant_type": DEVICE_GRANT, "device_code": device.device_code, "client_id": client_id}
    while True:
        await wait(interval)
        waited += interval
        try:
            return await token_request(client, metadata, form)
        except SignInRefused as exc:
            if exc.error == "authorization_pending":
                pass
            elif exc.error == "slow_down":
                interval += 5.0  # RFC 8628 3.5: and keep the longer interval from now on
            else:
                raise
        if waited >= device.expires_in:
            raise SignInRefused("expired_token", "the code was not used in time")
