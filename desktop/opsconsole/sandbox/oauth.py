"""The sandbox's OAuth 2.0 / OpenID Connect authorization server, implemented by hand with care.

Endpoints (issuer at the root): discovery (``/.well-known/openid-configuration`` and the RFC 8414
``/.well-known/oauth-authorization-server``), ``/jwks.json``, ``/authorize`` with HTML login and consent
pages, ``/token`` (authorization_code, refresh_token), ``/revoke`` (RFC 7009) and ``/userinfo``.

Rules it keeps:
- One public client, ``opsconsole``, with loopback redirect URIs on any port (RFC 8252 7.3):
  ``http://127.0.0.1:{port}/callback``, ``http://[::1]:{port}/callback``, ``http://localhost:{port}/callback``.
  An unknown client or a bad redirect URI gets an HTML error page, never a redirect.
- PKCE S256 is required (``plain`` is refused); ``state`` is required and returned; responses carry
  ``iss`` (RFC 9207).
- Codes are single-use and short-lived; a replayed code revokes the session it created.
- Refresh tokens rotate; presenting a used one revokes its whole family (the session).
- Access tokens are RS256 JWTs (RFC 9068 ``at+jwt``) with sub, iss, aud, iat, exp, jti, client_id,
  ``scope`` and ``scopes``; the API scopes are those requested that the user's roles allow.
- Only hashes of codes and refresh tokens are stored, and none of them is ever logged.

The login and consent forms carry no server-side state: the pending request travels in an HMAC-signed
hidden field, and a CSRF token bound to a cookie protects each form.
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
import jwt
import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.engine import Connection, Engine
from starlette.concurrency import run_in_threadpool

from . import db, keys, seed, store
from .passwords import hash_password, verify_password
from .settings import API_AUDIENCE, CLIENT_ID, SandboxSettings

log = logging.getLogger("opsconsole.sandbox.oauth")

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

_VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE_RE = re.compile(r"^[A-Za-z0-9\-_]{43}$")
_TOKEN_CACHE_SIZE = 4096


class InvalidToken(ValueError):
    """An access token that is malformed, forged, expired or revoked."""


# --- small helpers --------------------------------------------------------------------------------------


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of ``verifier``."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


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


def _redirect_with(uri: str, params: dict[str, str]) -> RedirectResponse:
    return RedirectResponse(f"{uri}?{urlencode(params)}", status_code=303, headers=_NO_STORE)


_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_PAGE_HEADERS = {
    **_NO_STORE,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _token_error(error: str, description: str, status: int = 400) -> JSONResponse:
    headers = dict(_NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="opsconsole-sandbox"'
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


def _single_params(items: list[tuple[str, str]]) -> tuple[dict[str, str], str | None]:
    """The parameters as a dict, or the name of one given more than once (RFC 6749 3.1)."""
    found: dict[str, str] = {}
    for key, value in items:
        if key in found:
            return found, key
        found[key] = value
    return found, None


@dataclass(frozen=True)
class _Grant:
    user_id: uuid.UUID
    scopes: list[str]
    session_id: uuid.UUID
    auth_time: dt.datetime
    nonce: str | None
    refresh_token: str | None


class _TokenCache:
    """Verified access-token claims by token hash: saves the RSA check on every API call."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            claims = self._items.get(key)
            if claims is None:
                return None
            if claims["exp"] <= time.time():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return claims

    def put(self, key: str, claims: dict[str, Any]) -> None:
        with self._lock:
            self._items[key] = claims
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class AuthServer:
    """The authorization server of one sandbox app: keys, token logic and the HTTP routes."""

    def __init__(self, settings: SandboxSettings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.issuer = settings.public_url
        self.key = keys.load_or_create(settings.data_dir)
        self._public_key = self.key.public_key
        # Signs the hidden form fields and CSRF tokens; per process, so a restart voids pending forms.
        self._form_secret = secrets.token_bytes(32)
        self._cache = _TokenCache(_TOKEN_CACHE_SIZE)
        self._dummy: str | None = None
        self._templates = jinja2.Environment(
            loader=jinja2.PackageLoader("opsconsole.sandbox", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.router = self._build_router()

    # --- tokens -------------------------------------------------------------------------------------

    def _sign(self, claims: dict[str, Any], typ: str) -> str:
        return jwt.encode(
            claims, self.key.private_key, algorithm="RS256", headers={"kid": self.key.kid, "typ": typ}
        )

    def _access_token(
        self,
        *,
        subject: uuid.UUID,
        scopes: list[str],
        client_id: str,
        session_id: uuid.UUID | None,
        ttl: int,
        email: str | None = None,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": str(subject),
            "aud": API_AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "client_id": client_id,
            "scope": " ".join(scopes),
            "scopes": scopes,
        }
        if session_id is not None:
            claims["sid"] = str(session_id)
        if email is not None:
            claims["email"] = email
        return self._sign(claims, "at+jwt")

    def cached_claims(self, token: str) -> dict[str, Any] | None:
        """The claims of ``token`` if it was verified before and has not expired (no revocation check)."""
        if not token or len(token) > 8192:
            return None
        return self._cache.get(_sha256(token))

    def decode_access_token(self, token: str) -> dict[str, Any]:
        """Claims of a well-formed access token signed by this server and not expired (no revocation check).

        Raises :class:`InvalidToken`.
        """
        if not token or len(token) > 8192:
            raise InvalidToken("malformed token")
        cache_key = _sha256(token)
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        try:
            header = jwt.get_unverified_header(token)
            if header.get("typ") != "at+jwt":
                raise InvalidToken("not an access token")
            claims: dict[str, Any] = jwt.decode(
                token,
                self._public_key,
                algorithms=["RS256"],
                audience=API_AUDIENCE,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "jti", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the access token has expired") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"invalid access token: {exc}") from None
        scopes = claims.get("scopes")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise InvalidToken("invalid access token: no scopes")
        try:
            uuid.UUID(str(claims["sub"]))
        except ValueError:
            raise InvalidToken("invalid access token: bad subject") from None
        self._cache.put(cache_key, claims)
        return claims

    def check_account(self, conn: Connection, claims: dict[str, Any]) -> str:
        """The email of the token's account, after one query that checks everything the signature
        cannot: the token was not revoked, its session has not ended, the account is still active.

        Raises :class:`InvalidToken`.
        """
        try:
            user_id = uuid.UUID(str(claims["sub"]))
            sid = uuid.UUID(str(claims["sid"])) if claims.get("sid") is not None else None
        except ValueError:
            raise InvalidToken("invalid access token: bad subject or session") from None
        jti_revoked = sa.exists().where(db.revoked_access_tokens.c.jti == str(claims["jti"]))
        session_live: sa.ColumnElement[bool] = (
            sa.exists().where(db.oauth_sessions.c.id == sid, db.oauth_sessions.c.revoked_at.is_(None))
            if sid is not None
            else sa.literal(True)
        )
        row = conn.execute(
            sa.select(
                db.users.c.email,
                db.users.c.status,
                jti_revoked.label("jti_revoked"),
                session_live.label("session_live"),
            ).where(db.users.c.id == user_id)
        ).first()
        if row is None:
            raise InvalidToken("the account of this access token is gone")
        if row.jti_revoked:
            raise InvalidToken("the access token was revoked")
        if not row.session_live:
            raise InvalidToken("the session of this access token has ended")
        if row.status != "active":
            raise InvalidToken("the account is disabled")
        email: str = row.email
        return email

    def verify_access_token(self, token: str) -> dict[str, Any]:
        """The claims of a valid, unexpired, unrevoked access token of an active account.

        Raises :class:`InvalidToken`.
        """
        claims = self.decode_access_token(token)
        with db.reading(self.engine) as conn:
            self.check_account(conn, claims)
        return claims

    def mint_service_token(self, scopes: list[str], ttl: int = 900) -> str:
        """An access token for the sandbox's own synthetic traffic, with the admin account as subject."""
        with db.reading(self.engine) as conn:
            admin_id = store.find_user_id_by_email(conn, seed.DEMO_ACCOUNTS[0][0])
            if admin_id is None:
                admin_id = conn.execute(
                    sa.select(db.users.c.id)
                    .join(db.user_roles, db.user_roles.c.user_id == db.users.c.id)
                    .join(db.roles, db.roles.c.id == db.user_roles.c.role_id)
                    .where(db.roles.c.name == "admin", db.users.c.status == "active")
                    .limit(1)
                ).scalar_one_or_none()
        if admin_id is None:
            raise RuntimeError("no admin account to mint a service token for")
        return self._access_token(
            subject=admin_id, scopes=list(scopes), client_id=SERVICE_CLIENT_ID, session_id=None, ttl=ttl
        )

    def active_sessions(self) -> int:
        """Live refresh-token families (sessions neither revoked nor expired)."""
        with db.reading(self.engine) as conn:
            count: int = conn.execute(
                sa.select(sa.func.count())
                .select_from(db.oauth_sessions)
                .where(db.oauth_sessions.c.revoked_at.is_(None), db.oauth_sessions.c.expires_at > db.utcnow())
            ).scalar_one()
        return count

    def _granted_scopes(self, conn: Connection, user_id: uuid.UUID, requested: list[str]) -> list[str]:
        held = store.permission_names(conn, user_id)
        return [s for s in requested if s in OIDC_SCOPES or s in held]

    @staticmethod
    def _revoke_session(conn: Connection, session_id: uuid.UUID, reason: str) -> None:
        conn.execute(
            sa.update(db.oauth_sessions)
            .where(db.oauth_sessions.c.id == session_id, db.oauth_sessions.c.revoked_at.is_(None))
            .values(revoked_at=db.utcnow(), revoked_reason=reason)
        )

    def _new_refresh_token(self, conn: Connection, session_id: uuid.UUID, now: dt.datetime) -> str:
        token = secrets.token_urlsafe(32)
        expires = now + dt.timedelta(seconds=self.settings.refresh_token_ttl)
        conn.execute(
            sa.insert(db.refresh_tokens).values(
                token_hash=_sha256(token), session_id=session_id, issued_at=now, expires_at=expires
            )
        )
        conn.execute(
            sa.update(db.oauth_sessions)
            .where(db.oauth_sessions.c.id == session_id)
            .values(expires_at=expires)
        )
        return token

    def _token_response(self, conn: Connection, grant: _Grant, client_id: str) -> JSONResponse:
        user = conn.execute(
            sa.select(db.users.c.email, db.users.c.name, db.users.c.updated_at).where(
                db.users.c.id == grant.user_id
            )
        ).one()
        access = self._access_token(
            subject=grant.user_id,
            scopes=grant.scopes,
            client_id=client_id,
            session_id=grant.session_id,
            ttl=self.settings.access_token_ttl,
            email=user.email,
        )
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.settings.access_token_ttl,
            "scope": " ".join(grant.scopes),
        }
        if grant.refresh_token is not None:
            body["refresh_token"] = grant.refresh_token
            body["refresh_token_expires_in"] = self.settings.refresh_token_ttl
        if "openid" in grant.scopes:
            now = int(time.time())
            digest = hashlib.sha256(access.encode("ascii")).digest()
            id_claims: dict[str, Any] = {
                "iss": self.issuer,
                "sub": str(grant.user_id),
                "aud": client_id,
                "azp": client_id,
                "iat": now,
                "exp": now + self.settings.access_token_ttl,
                "auth_time": int(grant.auth_time.timestamp()),
                "at_hash": _b64url(digest[: len(digest) // 2]),
                "sid": str(grant.session_id),
            }
            if grant.nonce:
                id_claims["nonce"] = grant.nonce
            if "email" in grant.scopes:
                id_claims.update(email=user.email, email_verified=True)
            if "profile" in grant.scopes:
                id_claims.update(name=user.name, updated_at=int(user.updated_at.timestamp()))
            body["id_token"] = self._sign(id_claims, "JWT")
        return JSONResponse(body, headers=_NO_STORE)

    # --- /token grants ------------------------------------------------------------------------------

    def _exchange_code(self, params: dict[str, str]) -> JSONResponse:
        code = params.get("code", "")
        verifier = params.get("code_verifier", "")
        redirect_uri = params.get("redirect_uri", "")
        client_id = params.get("client_id", "")
        if not code or not redirect_uri:
            return _token_error("invalid_request", "code and redirect_uri are required")
        if not verifier:
            return _token_error("invalid_request", "code_verifier is required (PKCE)")
        if not _VERIFIER_RE.match(verifier):
            return _token_error("invalid_grant", "code_verifier must be 43-128 characters of [A-Za-z0-9-._~]")
        now = db.utcnow()
        with db.writing(self.engine) as conn:
            row = conn.execute(
                sa.select(db.oauth_codes).where(db.oauth_codes.c.code_hash == _sha256(code))
            ).first()
            if row is None:
                return _token_error("invalid_grant", "unknown or expired authorization code")
            if row.used_at is not None:
                # RFC 6749 4.1.2: a code used twice revokes what it issued; the replay may be an attacker's.
                if row.session_id is not None:
                    self._revoke_session(conn, row.session_id, "code_replay")
                log.warning("authorization code replayed: the session it created is revoked")
                return _token_error(
                    "invalid_grant", "authorization code already used; its tokens are revoked"
                )
            conn.execute(
                sa.update(db.oauth_codes)
                .where(db.oauth_codes.c.code_hash == row.code_hash)
                .values(used_at=now)
            )
            if row.expires_at <= now:
                return _token_error("invalid_grant", "authorization code expired")
            if row.client_id != client_id:
                return _token_error("invalid_grant", "the code was issued to another client")
            if row.redirect_uri != redirect_uri:
                return _token_error("invalid_grant", "redirect_uri does not match the authorization request")
            if not hmac.compare_digest(s256(verifier), row.code_challenge):
                return _token_error("invalid_grant", "code_verifier does not match the code_challenge")
            status = conn.execute(
                sa.select(db.users.c.status).where(db.users.c.id == row.user_id)
            ).scalar_one_or_none()
            if status != "active":
                return _token_error("invalid_grant", "the account is disabled or gone")
            scopes = self._granted_scopes(conn, row.user_id, row.scope.split())
            session_id = uuid.uuid4()
            with_refresh = "offline_access" in scopes
            conn.execute(
                sa.insert(db.oauth_sessions).values(
                    id=session_id,
                    user_id=row.user_id,
                    client_id=client_id,
                    scope=" ".join(scopes),
                    auth_time=row.auth_time,
                    created_at=now,
                    expires_at=now + dt.timedelta(seconds=self.settings.access_token_ttl),
                )
            )
            conn.execute(
                sa.update(db.oauth_codes)
                .where(db.oauth_codes.c.code_hash == row.code_hash)
                .values(session_id=session_id)
            )
            refresh = self._new_refresh_token(conn, session_id, now) if with_refresh else None
            grant = _Grant(row.user_id, scopes, session_id, row.auth_time, row.nonce, refresh)
            return self._token_response(conn, grant, client_id)

    def _refresh(self, params: dict[str, str]) -> JSONResponse:
        token = params.get("refresh_token", "")
        client_id = params.get("client_id", "")
        if not token:
            return _token_error("invalid_request", "refresh_token is required")
        if len(token) > 512:
            return _token_error("invalid_grant", "unknown refresh token")
        now = db.utcnow()
        with db.writing(self.engine) as conn:
            row = conn.execute(
                sa.select(
                    db.refresh_tokens.c.token_hash,
                    db.refresh_tokens.c.used_at,
                    db.refresh_tokens.c.expires_at,
                    db.oauth_sessions.c.id.label("session_id"),
                    db.oauth_sessions.c.user_id,
                    db.oauth_sessions.c.client_id,
                    db.oauth_sessions.c.scope,
                    db.oauth_sessions.c.auth_time,
                    db.oauth_sessions.c.revoked_at,
                )
                .join(db.oauth_sessions, db.oauth_sessions.c.id == db.refresh_tokens.c.session_id)
                .where(db.refresh_tokens.c.token_hash == _sha256(token))
            ).first()
            if row is None:
                return _token_error("invalid_grant", "unknown refresh token")
            if row.client_id != client_id:
                return _token_error("invalid_grant", "the refresh token was issued to another client")
            if row.revoked_at is not None:
                return _token_error("invalid_grant", "the session was revoked: sign in again")
            if row.used_at is not None:
                # Reuse of a rotated token: the family is compromised, end it (RFC 9700 4.14.2).
                self._revoke_session(conn, row.session_id, "refresh_reuse")
                log.warning("refresh token reused: its whole family is revoked")
                return _token_error("invalid_grant", "refresh token already used; the session is revoked")
            if row.expires_at <= now:
                return _token_error("invalid_grant", "the refresh token has expired: sign in again")
            marked = conn.execute(
                sa.update(db.refresh_tokens)
                .where(
                    db.refresh_tokens.c.token_hash == row.token_hash, db.refresh_tokens.c.used_at.is_(None)
                )
                .values(used_at=now)
            )
            if marked.rowcount != 1:
                self._revoke_session(conn, row.session_id, "refresh_reuse")
                return _token_error("invalid_grant", "refresh token already used; the session is revoked")
            status = conn.execute(
                sa.select(db.users.c.status).where(db.users.c.id == row.user_id)
            ).scalar_one_or_none()
            if status != "active":
                self._revoke_session(conn, row.session_id, "account_disabled")
                return _token_error("invalid_grant", "the account is disabled or gone")
            session_scopes = row.scope.split()
            requested = params.get("scope")
            if requested is not None:
                wanted = requested.split()
                extra = [s for s in wanted if s not in session_scopes]
                if extra:
                    return _token_error("invalid_scope", f"not granted in this session: {' '.join(extra)}")
            else:
                wanted = session_scopes
            # Roles may have changed since sign-in: the new token carries what they allow now.
            scopes = self._granted_scopes(conn, row.user_id, wanted)
            refresh = self._new_refresh_token(conn, row.session_id, now)
            grant = _Grant(row.user_id, scopes, row.session_id, row.auth_time, None, refresh)
            return self._token_response(conn, grant, client_id)

    def _revoke(self, params: dict[str, str]) -> Response:
        token = params.get("token", "")
        if not token:
            return _token_error("invalid_request", "token is required")
        hint = params.get("token_type_hint")
        if hint is not None and hint not in ("access_token", "refresh_token"):
            return _token_error(
                "unsupported_token_type", "token_type_hint must be access_token or refresh_token"
            )
        if len(token) <= 8192:
            with db.writing(self.engine) as conn:
                if token.count(".") == 2:
                    self._revoke_access_token(conn, token)
                else:
                    session_id = conn.execute(
                        sa.select(db.refresh_tokens.c.session_id).where(
                            db.refresh_tokens.c.token_hash == _sha256(token)
                        )
                    ).scalar_one_or_none()
                    if session_id is not None:
                        self._revoke_session(conn, session_id, "revoked")
        # RFC 7009 2.2: unknown and already revoked tokens are answered the same way.
        return Response(status_code=200, headers=_NO_STORE)

    def _revoke_access_token(self, conn: Connection, token: str) -> None:
        try:
            claims = jwt.decode(
                token,
                self._public_key,
                algorithms=["RS256"],
                audience=API_AUDIENCE,
                issuer=self.issuer,
                options={"verify_exp": False},
            )
        except jwt.PyJWTError:
            return
        jti = claims.get("jti")
        exp = claims.get("exp")
        if not isinstance(jti, str) or not isinstance(exp, int) or len(jti) > 64:
            return
        if exp <= time.time():
            return
        exists = conn.execute(
            sa.select(db.revoked_access_tokens.c.jti).where(db.revoked_access_tokens.c.jti == jti)
        ).first()
        if exists is None:
            conn.execute(
                sa.insert(db.revoked_access_tokens).values(
                    jti=jti, expires_at=dt.datetime.fromtimestamp(exp, dt.UTC)
                )
            )

    # --- forms --------------------------------------------------------------------------------------

    def _seal(self, payload: dict[str, Any]) -> str:
        data = _b64url(json.dumps(payload, separators=(",", ":")).encode())
        mac = _b64url(hmac.new(self._form_secret, data.encode(), hashlib.sha256).digest())
        return f"{data}.{mac}"

    def _unseal(self, blob: str) -> dict[str, Any] | None:
        if len(blob) > 8192 or blob.count(".") != 1:
            return None
        data, mac = blob.split(".")
        expected = _b64url(hmac.new(self._form_secret, data.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(mac, expected):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
        except ValueError:
            return None
        if not isinstance(payload, dict) or payload.get("exp", 0) < time.time():
            return None
        return payload

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = hash_password(secrets.token_urlsafe(16))
        return self._dummy

    def _csrf_for(self, cookie: str) -> str:
        return _b64url(hmac.new(self._form_secret, b"csrf:" + cookie.encode(), hashlib.sha256).digest())

    def _csrf_ok(self, request: Request, token: str) -> bool:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        return bool(cookie) and hmac.compare_digest(token, self._csrf_for(cookie))

    def _page(
        self, template: str, status: int = 200, cookie: str | None = None, **context: Any
    ) -> HTMLResponse:
        html = self._templates.get_template(template).render(client_name=CLIENT_NAME, **context)
        response = HTMLResponse(html, status_code=status, headers=_PAGE_HEADERS)
        if cookie is not None:
            response.set_cookie(
                CSRF_COOKIE,
                cookie,
                path="/authorize",
                httponly=True,
                samesite="lax",
                max_age=self.settings.login_ttl,
            )
        return response

    def _error_page(self, title: str, message: str, status: int = 400) -> HTMLResponse:
        return self._page("error.html", status=status, title=title, message=message)

    def _login_page(
        self, request: Request, pending: dict[str, Any], *, error: str = "", email: str = ""
    ) -> HTMLResponse:
        cookie = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        default_password = self.settings.password == "sandbox"
        return self._page(
            "login.html",
            status=401 if error else 200,
            cookie=cookie,
            action="/authorize/login",
            request_blob=self._seal(pending),
            csrf_token=self._csrf_for(cookie),
            error=error,
            email=email,
            demo_accounts=[account for account, _, _ in seed.DEMO_ACCOUNTS],
            password_hint=self.settings.password if default_password else "",
        )

    def _authorize(self, request: Request) -> Response:
        params, repeated = _single_params(list(request.query_params.multi_items()))
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        if client_id != CLIENT_ID:
            return self._error_page(
                "Unknown application", "This sign-in request names an application the sandbox does not know."
            )
        if not valid_redirect_uri(redirect_uri):
            return self._error_page(
                "Invalid redirect address",
                "The application asked to return to an address that is not a loopback callback "
                "(http://127.0.0.1:PORT/callback); the sandbox will not send your sign-in there.",
            )
        state = params.get("state")

        def fail(error: str, description: str) -> Response:
            out = {"error": error, "error_description": description, "iss": self.issuer}
            if state:
                out["state"] = state
            return _redirect_with(redirect_uri, out)

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
        if not _CHALLENGE_RE.match(challenge):
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
        return self._login_page(request, pending, email=params.get("login_hint", "")[:254])

    @staticmethod
    async def _form(request: Request) -> tuple[dict[str, str], str | None]:
        """The form's fields, or an error description (wrong content type, a field given twice)."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return {}, "send the parameters as application/x-www-form-urlencoded"
        form = await request.form()
        items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        params, repeated = _single_params(items)
        if repeated is not None:
            return params, f"parameter {repeated[:40]} given more than once"
        return params, None

    def _login(self, request: Request, form: dict[str, str]) -> Response:
        pending = self._unseal(form.get("request", ""))
        if pending is None or "user_id" in pending:
            return self._error_page("Sign-in expired", "This sign-in page is too old or was altered.")
        if not self._csrf_ok(request, form.get("csrf_token", "")):
            return self._error_page(
                "Form expired", "The form's security token is missing or wrong (are cookies allowed?)."
            )
        email = form.get("email", "").strip()[:254]
        password = form.get("password", "")
        with db.reading(self.engine) as conn:
            account = store.login_record(conn, email) if email else None
            stored = account["password_hash"] if account is not None else None
            # Hash even for unknown accounts, so response time does not tell which emails exist.
            ok = verify_password(password[:1024], stored or self._dummy_hash()) and stored is not None
            if not ok or account is None:
                return self._login_page(
                    request, pending, error="Email or password is incorrect.", email=email
                )
            if account["status"] != "active":
                return self._login_page(request, pending, error="This account is disabled.", email=email)
            held = store.permission_names(conn, account["id"])
        granted = [s for s in pending["scope"] if s in OIDC_SCOPES or s in held]
        withheld = [s for s in pending["scope"] if s not in granted]
        sealed = dict(pending, user_id=str(account["id"]), auth_time=int(time.time()))
        cookie = request.cookies.get(CSRF_COOKIE, "")
        return self._page(
            "consent.html",
            action="/authorize/consent",
            request_blob=self._seal(sealed),
            csrf_token=self._csrf_for(cookie),
            user_email=account["email"],
            granted=[SCOPE_WORDS[s] for s in granted],
            withheld=[SCOPE_WORDS[s] for s in withheld],
        )

    def _consent(self, request: Request, form: dict[str, str]) -> Response:
        pending = self._unseal(form.get("request", ""))
        if pending is None or "user_id" not in pending:
            return self._error_page("Sign-in expired", "This consent page is too old or was altered.")
        if not self._csrf_ok(request, form.get("csrf_token", "")):
            return self._error_page(
                "Form expired", "The form's security token is missing or wrong (are cookies allowed?)."
            )
        redirect_uri = pending["redirect_uri"]
        base = {"state": pending["state"], "iss": self.issuer}
        decision = form.get("decision")
        if decision != "allow":
            return _redirect_with(
                redirect_uri,
                {"error": "access_denied", "error_description": "the user denied the request", **base},
            )
        user_id = uuid.UUID(pending["user_id"])
        code = secrets.token_urlsafe(32)
        now = db.utcnow()
        with db.writing(self.engine) as conn:
            status = conn.execute(
                sa.select(db.users.c.status).where(db.users.c.id == user_id)
            ).scalar_one_or_none()
            if status != "active":
                return _redirect_with(
                    redirect_uri,
                    {"error": "access_denied", "error_description": "the account is disabled", **base},
                )
            conn.execute(
                sa.insert(db.oauth_codes).values(
                    code_hash=_sha256(code),
                    client_id=pending["client_id"],
                    user_id=user_id,
                    redirect_uri=redirect_uri,
                    scope=" ".join(pending["scope"]),
                    code_challenge=pending["code_challenge"],
                    nonce=pending.get("nonce"),
                    auth_time=dt.datetime.fromtimestamp(pending["auth_time"], dt.UTC),
                    expires_at=now + dt.timedelta(seconds=self.settings.code_ttl),
                )
            )
        return _redirect_with(redirect_uri, {"code": code, **base})

    # --- metadata -----------------------------------------------------------------------------------

    def metadata(self, *, openid: bool) -> dict[str, Any]:
        base = self.issuer
        doc: dict[str, Any] = {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "revocation_endpoint": f"{base}/revoke",
            "userinfo_endpoint": f"{base}/userinfo",
            "jwks_uri": f"{base}/jwks.json",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "revocation_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": list(SCOPES_SUPPORTED),
            "authorization_response_iss_parameter_supported": True,
            "service_documentation": f"{base}/docs",
        }
        if openid:
            doc.update(
                {
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "claims_supported": [
                        "sub",
                        "iss",
                        "aud",
                        "exp",
                        "iat",
                        "auth_time",
                        "nonce",
                        "email",
                        "email_verified",
                        "name",
                    ],
                    "prompt_values_supported": ["login", "consent"],
                }
            )
        return doc

    def _userinfo(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return Response(
                status_code=401, headers={"WWW-Authenticate": 'Bearer realm="opsconsole-sandbox"'}
            )
        try:
            claims = self.verify_access_token(token.strip())
        except InvalidToken as exc:
            return _bearer_error(401, "invalid_token", str(exc))
        if "openid" not in claims["scopes"]:
            return _bearer_error(403, "insufficient_scope", "userinfo needs the openid scope")
        with db.reading(self.engine) as conn:
            user = conn.execute(
                sa.select(db.users.c.email, db.users.c.name, db.users.c.status, db.users.c.updated_at).where(
                    db.users.c.id == uuid.UUID(claims["sub"])
                )
            ).first()
            roles = store.get_user(conn, uuid.UUID(claims["sub"])).data["roles"] if user is not None else []
        if user is None or user.status != "active":
            return _bearer_error(401, "invalid_token", "the account is disabled or gone")
        info: dict[str, Any] = {"sub": claims["sub"], "roles": roles}
        if "email" in claims["scopes"]:
            info.update(email=user.email, email_verified=True)
        if "profile" in claims["scopes"]:
            info.update(
                name=user.name, preferred_username=user.email, updated_at=int(user.updated_at.timestamp())
            )
        return JSONResponse(info, headers=_NO_STORE)

    # --- routes -------------------------------------------------------------------------------------

    def _build_router(self) -> APIRouter:
        router = APIRouter(include_in_schema=False)

        @router.get("/.well-known/openid-configuration")
        def openid_configuration() -> JSONResponse:
            return JSONResponse(self.metadata(openid=True))

        @router.get("/.well-known/oauth-authorization-server")
        def authorization_server_metadata() -> JSONResponse:
            return JSONResponse(self.metadata(openid=False))

        @router.get("/jwks.json")
        @router.get("/.well-known/jwks.json")
        def jwks() -> JSONResponse:
            return JSONResponse({"keys": [self.key.public_jwk()]}, headers={"Cache-Control": "max-age=300"})

        @router.get("/authorize")
        def authorize(request: Request) -> Response:
            return self._authorize(request)

        @router.post("/authorize/login")
        async def login(request: Request) -> Response:
            form, problem = await self._form(request)
            if problem is not None:
                return self._error_page("Bad form", "The sign-in form was not sent as a form.")
            return await _in_thread(self._login, request, form)

        @router.post("/authorize/consent")
        async def consent(request: Request) -> Response:
            form, problem = await self._form(request)
            if problem is not None:
                return self._error_page("Bad form", "The consent form was not sent as a form.")
            return await _in_thread(self._consent, request, form)

        @router.post("/token")
        async def token(request: Request) -> Response:
            params, problem = await self._form(request)
            if problem is not None:
                return _token_error("invalid_request", problem)
            basic_client = _basic_client_id(request)
            if basic_client is not None:
                if params.get("client_id", basic_client) != basic_client:
                    return _token_error("invalid_request", "client_id differs from the Authorization header")
                params["client_id"] = basic_client
            if params.get("client_id") != CLIENT_ID:
                return _token_error("invalid_client", "unknown client", status=401)
            grant_type = params.get("grant_type", "")
            if grant_type == "authorization_code":
                return await _in_thread(self._exchange_code, params)
            if grant_type == "refresh_token":
                return await _in_thread(self._refresh, params)
            if not grant_type:
                return _token_error("invalid_request", "grant_type is required")
            return _token_error("unsupported_grant_type", "supported: authorization_code, refresh_token")

        @router.post("/revoke")
        async def revoke(request: Request) -> Response:
            params, problem = await self._form(request)
            if problem is not None:
                return _token_error("invalid_request", problem)
            client_id = _basic_client_id(request) or params.get("client_id")
            if client_id != CLIENT_ID:
                return _token_error("invalid_client", "unknown client", status=401)
            return await _in_thread(self._revoke, params)

        @router.api_route("/userinfo", methods=["GET", "POST"])
        def userinfo(request: Request) -> Response:
            return self._userinfo(request)

        return router


def _bearer_error(status: int, error: str, description: str) -> JSONResponse:
    challenge = f'Bearer realm="opsconsole-sandbox", error="{error}"'
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"WWW-Authenticate": challenge, **_NO_STORE},
    )


def _basic_client_id(request: Request) -> str | None:
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


async def _in_thread(func: Any, *args: Any) -> Response:
    """Run blocking database work (and scrypt) off the event loop."""
    result: Response = await run_in_threadpool(func, *args)
    return result
