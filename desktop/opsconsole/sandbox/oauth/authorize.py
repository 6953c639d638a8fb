"""``/authorize`` and its HTML pages: the request checks (RFC 6749 4.1.1, PKCE, RFC 9207), the login
form and the consent form, which ends in a redirect to the client's loopback callback with a code."""

from __future__ import annotations

import datetime as dt
import secrets
import time
import uuid
from typing import Any

import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from .. import db, seed, store
from ..passwords import hash_password, verify_password
from ..settings import CLIENT_ID
from . import throttle
from .common import (
    CHALLENGE_RE,
    CSRF_COOKIE,
    OIDC_SCOPES,
    SCOPE_WORDS,
    SCOPES_SUPPORTED,
    redirect_with,
    sha256_hex,
    single_params,
    valid_redirect_uri,
)
from .device import DeviceFlow
from .forms import Forms
from .tokens import TokenService


class AuthorizePages:
    """The authorization endpoint and the login and consent pages it leads to."""

    def __init__(self, tokens: TokenService, forms: Forms, device: DeviceFlow) -> None:
        self.tokens = tokens
        self.forms = forms
        self.device = device
        self.settings = tokens.settings
        self.engine = tokens.engine
        self.issuer = tokens.issuer
        self._dummy: str | None = None

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = hash_password(secrets.token_urlsafe(16))
        return self._dummy

    def login_page(
        self,
        request: Request,
        pending: dict[str, Any],
        *,
        error: str = "",
        email: str = "",
        retry_after: int | None = None,
    ) -> HTMLResponse:
        cookie = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        default_password = self.settings.password == "sandbox"
        if retry_after is not None:
            error = (
                f"{error} Too many failed sign-ins: try again in {throttle.wait_words(retry_after)}.".lstrip()
            )
        return self.forms.page(
            "login.html",
            status=429 if retry_after is not None else 401 if error else 200,
            headers={"Retry-After": str(retry_after)} if retry_after is not None else None,
            cookie=cookie,
            user_code=pending.get("user_code", ""),
            action="/authorize/login",
            request_blob=self.forms.seal(pending),
            csrf_token=self.forms.csrf_for(cookie),
            error=error,
            email=email,
            demo_accounts=[account for account, _, _ in seed.DEMO_ACCOUNTS],
            password_hint=self.settings.password if default_password else "",
        )

    def authorize(self, request: Request) -> Response:
        params, repeated = single_params(list(request.query_params.multi_items()))
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        if client_id != CLIENT_ID:
            return self.forms.error_page(
                "Unknown application", "This sign-in request names an application the sandbox does not know."
            )
        if not valid_redirect_uri(redirect_uri):
            return self.forms.error_page(
                "Invalid redirect address",
                "The application asked to return to an address that is not a loopback callback "
                "(http://127.0.0.1:PORT/callback); the sandbox will not send your sign-in there.",
            )
        state = params.get("state")

        def fail(error: str, description: str) -> Response:
            out = {"error": error, "error_description": description, "iss": self.issuer}
            if state:
                out["state"] = state
            return redirect_with(redirect_uri, out)

        if repeated:
            return fail("invalid_request", f"parameter {repeated} given more than once")
        if params.get("response_type") != "code":
            return fail("unsupported_response_type", "only response_type=code is supported")
        if not state:
            return fail("invalid_request", "state is required")
        if len(state) > 512:
            return fail("invalid_request", "state is too long")
        challenge = params.get("code_challenge", "")
        method = params.get("code_challenge_method", "")
        if not challenge:
            return fail("invalid_request", "PKCE is required: code_challenge is missing")
        if method != "S256":
            return fail("invalid_request", "code_challenge_method must be S256 (plain is not accepted)")
        if not CHALLENGE_RE.match(challenge):
            return fail(
                "invalid_request", "code_challenge must be the 43-character base64url SHA-256 of the verifier"
            )
        scope = params.get("scope", "")
        requested = scope.split()
        if not requested:
            return fail("invalid_scope", "scope is required")
        unknown = [s for s in requested if s not in SCOPES_SUPPORTED]
        if unknown:
            return fail("invalid_scope", f"unknown scope: {' '.join(unknown)[:200]}")
        nonce = params.get("nonce")
        if nonce is not None and len(nonce) > 512:
            return fail("invalid_request", "nonce is too long")
        if params.get("prompt") == "none":
            return fail("login_required", "the sandbox keeps no browser session: a login is always needed")
        pending = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": list(dict.fromkeys(requested)),
            "code_challenge": challenge,
            "nonce": nonce,
            "exp": int(time.time()) + self.settings.login_ttl,
        }
        return self.login_page(request, pending, email=params.get("login_hint", "")[:254])

    def verify(self, request: Request) -> Response:
        """``/device``: the page where a person enters the code a device shows, then signs in."""
        typed = request.query_params.get("user_code", "")[:64]
        if not typed:
            return self._code_page()
        address = client_address_key(request)
        with db.writing(self.engine) as conn:
            # Wrong codes count against the address, like wrong passwords: user codes are short.
            attempt = throttle.begin(conn, {address: throttle.ADDRESS}, db.utcnow())
            pending = self.device.pending_for(conn, typed) if attempt.retry_after is None else None
            if pending is not None:
                throttle.succeeded(conn, None, address)
        locked = attempt.retry_after
        if pending is None and locked is None:
            locked = attempt.lock_if_wrong
        if locked is not None:
            return self._code_page(
                f"Too many wrong codes: try again in {throttle.wait_words(locked)}.", retry_after=locked
            )
        if pending is None:
            return self._code_page("This code is wrong, has expired or was already used.", typed=typed)
        return self.login_page(request, pending)

    def _code_page(self, error: str = "", typed: str = "", retry_after: int | None = None) -> HTMLResponse:
        return self.forms.page(
            "device.html",
            status=429 if retry_after is not None else 400 if error else 200,
            headers={"Retry-After": str(retry_after)} if retry_after is not None else None,
            error=error,
            typed=typed,
        )

    def login(self, request: Request, form: dict[str, str]) -> Response:
        pending = self.forms.unseal(form.get("request", ""))
        if pending is None or "user_id" in pending:
            return self.forms.error_page("Sign-in expired", "This sign-in page is too old or was altered.")
        if not self.forms.csrf_ok(request, form.get("csrf_token", "")):
            return self.forms.error_page(
                "Form expired", "The form's security token is missing or wrong (are cookies allowed?)."
            )
        email = form.get("email", "").strip()[:254]
        password = form.get("password", "")
        account_key, address_key = throttle.account_key(email), client_address_key(request)
        keys = {account_key: throttle.ACCOUNT, address_key: throttle.ADDRESS}
        with db.writing(self.engine) as conn:
            fresh = self.forms.consume(conn, pending)
            attempt = throttle.begin(conn, keys, db.utcnow()) if fresh else None
        if attempt is None:
            return self.forms.error_page(
                "Form already sent", "This sign-in form was already used; each form signs in once."
            )
        if attempt.retry_after is not None:
            return self.login_page(request, pending, email=email, retry_after=attempt.retry_after)
        with db.reading(self.engine) as conn:
            account = store.login_record(conn, email) if email else None
            stored = account["password_hash"] if account is not None else None
            # Hash even for unknown accounts, so response time does not tell which emails exist.
            ok = verify_password(password[:1024], stored or self._dummy_hash()) and stored is not None
            held = store.permission_names(conn, account["id"]) if ok and account is not None else set()
        if not ok or account is None:
            return self.login_page(
                request,
                pending,
                error="Email or password is incorrect.",
                email=email,
                retry_after=attempt.lock_if_wrong,
            )
        if account["status"] != "active":
            return self.login_page(request, pending, error="This account is disabled.", email=email)
        with db.writing(self.engine) as conn:
            throttle.succeeded(conn, account_key, address_key)
        granted = [s for s in pending["scope"] if s in OIDC_SCOPES or s in held]
        withheld = [s for s in pending["scope"] if s not in granted]
        sealed = dict(pending, user_id=str(account["id"]), auth_time=int(time.time()))
        cookie = request.cookies.get(CSRF_COOKIE, "")
        return self.forms.page(
            "consent.html",
            action="/authorize/consent",
            request_blob=self.forms.seal(sealed),
            csrf_token=self.forms.csrf_for(cookie),
            user_email=account["email"],
            user_code=pending.get("user_code", ""),
            granted=[SCOPE_WORDS[s] for s in granted],
            withheld=[SCOPE_WORDS[s] for s in withheld],
        )

    def consent(self, request: Request, form: dict[str, str]) -> Response:
        pending = self.forms.unseal(form.get("request", ""))
        if pending is None or "user_id" not in pending:
            return self.forms.error_page("Sign-in expired", "This consent page is too old or was altered.")
        if not self.forms.csrf_ok(request, form.get("csrf_token", "")):
            return self.forms.error_page(
                "Form expired", "The form's security token is missing or wrong (are cookies allowed?)."
            )
        allow = form.get("decision") == "allow"
        user_id = uuid.UUID(pending["user_id"])
        with db.writing(self.engine) as conn:
            if not self.forms.consume(conn, pending):
                return self.forms.error_page(
                    "Form already sent", "This consent was already given; each consent form answers once."
                )
            active = self.tokens.account_active(conn, user_id)
            if "device" in pending:
                return self.device.decide(conn, pending, user_id, allow=allow and active, disabled=not active)
            if not allow or not active:
                description = "the user denied the request" if not allow else "the account is disabled"
                return self._callback(pending, error="access_denied", error_description=description)
            code = secrets.token_urlsafe(32)
            now = db.utcnow()
            conn.execute(
                sa.insert(db.oauth_codes).values(
                    code_hash=sha256_hex(code),
                    client_id=pending["client_id"],
                    user_id=user_id,
                    redirect_uri=pending["redirect_uri"],
                    scope=" ".join(pending["scope"]),
                    code_challenge=pending["code_challenge"],
                    nonce=pending.get("nonce"),
                    auth_time=dt.datetime.fromtimestamp(pending["auth_time"], dt.UTC),
                    expires_at=now + dt.timedelta(seconds=self.settings.code_ttl),
                )
            )
        return self._callback(pending, code=code)

    def _callback(self, pending: dict[str, Any], **params: str) -> Response:
        """The redirect to the client's callback with ``params``, ``state`` and ``iss`` (RFC 9207)."""
        return redirect_with(
            pending["redirect_uri"], {**params, "state": pending["state"], "iss": self.issuer}
        )


def client_address_key(request: Request) -> str:
    """The throttle key of the request's peer address (the sandbox is not behind a proxy it trusts)."""
    return throttle.address_key(request.client.host if request.client else "unknown")
