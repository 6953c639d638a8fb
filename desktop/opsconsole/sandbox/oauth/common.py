"""What every endpoint family of the authorization server shares: its constants, the redirect-URI rule,
PKCE S256, and the small HTTP helpers (error answers, form parsing, Basic client ids, thread offload)."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any
from urllib.parse import urlencode, urlsplit

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

OIDC_SCOPES = ("openid", "offline_access", "profile", "email")
API_SCOPES = ("read:users", "write:users", "read:roles", "write:roles")
SCOPES_SUPPORTED = OIDC_SCOPES + API_SCOPES
CLIENT_NAME = "Ops Console"
SERVICE_CLIENT_ID = "opsconsole-sandbox"
CSRF_COOKIE = "sandbox_csrf"
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
REDIRECT_PATH = "/callback"

SCOPE_WORDS = {
    "openid": "Confirm who you are (your account id)",
    "profile": "See your name",
    "email": "See your email address",
    "offline_access": "Stay signed in until you sign out (refresh tokens)",
    "read:users": "See users, their roles and the audit trail",
    "write:users": "Create, change, disable and delete users",
    "read:roles": "See roles and their permissions",
    "write:roles": "Create and delete roles, change their permissions and grant them",
}

VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
CHALLENGE_RE = re.compile(r"^[A-Za-z0-9\-_]{43}$")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
PAGE_HEADERS = {
    **NO_STORE,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of ``verifier`` (RFC 7636 4.2)."""
    return str(create_s256_code_challenge(verifier))


def valid_redirect_uri(uri: str) -> bool:
    """True for the client's loopback callback on any port (RFC 8252 7.3), nothing else."""
    if len(uri) > 200:
        return False
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "http"
        and parts.hostname in LOOPBACK_HOSTS
        and port is not None
        and parts.path == REDIRECT_PATH
        and not parts.query
        and not parts.fragment
        and parts.username is None
        and parts.password is None
        and "#" not in uri
    )


def redirect_with(uri: str, params: dict[str, str]) -> RedirectResponse:
    return RedirectResponse(f"{uri}?{urlencode(params)}", status_code=303, headers=NO_STORE)


def token_error(error: str, description: str, status: int = 400) -> JSONResponse:
    headers = dict(NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="opsconsole-sandbox"'
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


def bearer_error(status: int, error: str, description: str) -> JSONResponse:
    challenge = f'Bearer realm="opsconsole-sandbox", error="{error}"'
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"WWW-Authenticate": challenge, **NO_STORE},
    )


def single_params(items: list[tuple[str, str]]) -> tuple[dict[str, str], str | None]:
    """The parameters as a dict, or the name of one given more than once (RFC 6749 3.1)."""
    found: dict[str, str] = {}
    for key, value in items:
        if key in found:
            return found, key
        found[key] = value
    return found, None


async def read_form(request: Request) -> tuple[dict[str, str], str | None]:
    """The form's fields, or an error description (wrong content type, a field given twice)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return {}, "send the parameters as application/x-www-form-urlencoded"
    form = await request.form()
    items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    params, repeated = single_params(items)
    if repeated is not None:
        return params, f"parameter {repeated[:40]} given more than once"
    return params, None


def basic_client_id(request: Request) -> str | None:
    """The client id of an HTTP Basic ``Authorization`` header (a public client's secret is empty)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except ValueError:
        return ""
    client, _, _ = decoded.partition(":")
    return client


async def in_thread(func: Any, *args: Any) -> Response:
    """Run blocking database work (and scrypt) off the event loop."""
    result: Response = await run_in_threadpool(func, *args)
    return result
