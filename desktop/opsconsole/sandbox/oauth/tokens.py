"""The token core of the authorization server: the signing key, access and ID tokens, their
verification (the seams ``verify_access_token`` and ``mint_service_token``), and the sessions
(refresh-token families) that the grants create, rotate and revoke."""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import logging
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
import sqlalchemy as sa
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Connection, Engine

from .. import db, keys, seed, store
from ..settings import API_AUDIENCE, SandboxSettings
from .common import NO_STORE, OIDC_SCOPES, SERVICE_CLIENT_ID, b64url, sha256_hex, token_error

log = logging.getLogger("opsconsole.sandbox.oauth")

_TOKEN_CACHE_SIZE = 4096


class InvalidToken(ValueError):
    """An access token that is malformed, forged, expired or revoked."""


@dataclass(frozen=True, slots=True)
class Grant:
    """What a successful grant hands to :meth:`TokenService.token_response`."""

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


class TokenService:
    """Keys, token minting and checking, and the session rows: what every grant and the API rely on."""

    def __init__(self, settings: SandboxSettings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.issuer = settings.public_url
        self.key = keys.load_or_create(settings.data_dir)
        self.public_key = self.key.public_key
        self._cache = _TokenCache(_TOKEN_CACHE_SIZE)

    def sign(self, claims: dict[str, Any], typ: str) -> str:
        return jwt.encode(
            claims, self.key.private_key, algorithm="RS256", headers={"kid": self.key.kid, "typ": typ}
        )

    def access_token(
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
        return self.sign(claims, "at+jwt")

    def cached_claims(self, token: str) -> dict[str, Any] | None:
        """The claims of ``token`` if it was verified before and has not expired (no revocation check)."""
        if not token or len(token) > 8192:
            return None
        return self._cache.get(sha256_hex(token))

    def decode_access_token(self, token: str) -> dict[str, Any]:
        """Claims of a well-formed access token signed by this server and not expired (no revocation check).

        Raises :class:`InvalidToken`.
        """
        if not token or len(token) > 8192:
            raise InvalidToken("malformed token")
        cache_key = sha256_hex(token)
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        try:
            header = jwt.get_unverified_header(token)
            if header.get("typ") != "at+jwt":
                raise InvalidToken("not an access token")
            claims: dict[str, Any] = jwt.decode(
                token,
                self.public_key,
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
        return self.access_token(
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

    @staticmethod
    def account_active(conn: Connection, user_id: uuid.UUID) -> bool:
        status = conn.execute(
            sa.select(db.users.c.status).where(db.users.c.id == user_id)
        ).scalar_one_or_none()
        return status == "active"

    @staticmethod
    def granted_scopes(conn: Connection, user_id: uuid.UUID, requested: list[str]) -> list[str]:
        held = store.permission_names(conn, user_id)
        return [s for s in requested if s in OIDC_SCOPES or s in held]

    @staticmethod
    def revoke_session(conn: Connection, session_id: uuid.UUID, reason: str) -> None:
        conn.execute(
            sa.update(db.oauth_sessions)
            .where(db.oauth_sessions.c.id == session_id, db.oauth_sessions.c.revoked_at.is_(None))
            .values(revoked_at=db.utcnow(), revoked_reason=reason)
        )

    def start_session(
        self,
        conn: Connection,
        *,
        user_id: uuid.UUID,
        client_id: str,
        scopes: list[str],
        auth_time: dt.datetime,
        now: dt.datetime,
    ) -> tuple[uuid.UUID, str | None]:
        """A new sign-in (refresh-token family) and its first refresh token if ``offline_access``."""
        session_id = uuid.uuid4()
        conn.execute(
            sa.insert(db.oauth_sessions).values(
                id=session_id,
                user_id=user_id,
                client_id=client_id,
                scope=" ".join(scopes),
                auth_time=auth_time,
                created_at=now,
                expires_at=now + dt.timedelta(seconds=self.settings.access_token_ttl),
            )
        )
        refresh = self.new_refresh_token(conn, session_id, now) if "offline_access" in scopes else None
        return session_id, refresh

    def first_use(
        self,
        conn: Connection,
        link: sa.Update,
        *,
        user_id: uuid.UUID,
        client_id: str,
        scope: str,
        auth_time: dt.datetime,
        nonce: str | None,
        now: dt.datetime,
    ) -> JSONResponse:
        """The tokens for the one use of a code (authorization or device): a new session with the
        scopes the account's roles allow now. ``link`` is the UPDATE of the code's row that records
        the session, so that a replay of the code can revoke it."""
        if not self.account_active(conn, user_id):
            return token_error("invalid_grant", "the account is disabled or gone")
        scopes = self.granted_scopes(conn, user_id, scope.split())
        session_id, refresh = self.start_session(
            conn, user_id=user_id, client_id=client_id, scopes=scopes, auth_time=auth_time, now=now
        )
        conn.execute(link.values(session_id=session_id))
        grant = Grant(user_id, scopes, session_id, auth_time, nonce, refresh)
        return self.token_response(conn, grant, client_id)

    def replayed(
        self, conn: Connection, key: sa.ColumnElement[bool], session: sa.Column[Any], what: str
    ) -> JSONResponse:
        """The answer to a single-use code presented again: the session its one use created is revoked
        (RFC 6749 4.1.2), since the replay may be an attacker's. ``key`` selects the code's row. A fresh
        read: on PostgreSQL the caller's conditional UPDATE waited for the winner, committed by now."""
        session_id = conn.execute(sa.select(session).where(key)).scalar_one_or_none()
        if session_id is not None:
            self.revoke_session(conn, session_id, f"{what.replace(' ', '_')}_replay")
        log.warning("%s used again: the session it created is revoked", what)
        return token_error("invalid_grant", f"{what} already used; its tokens are revoked")

    def new_refresh_token(self, conn: Connection, session_id: uuid.UUID, now: dt.datetime) -> str:
        token = secrets.token_urlsafe(32)
        expires = now + dt.timedelta(seconds=self.settings.refresh_token_ttl)
        conn.execute(
            sa.insert(db.refresh_tokens).values(
                token_hash=sha256_hex(token), session_id=session_id, issued_at=now, expires_at=expires
            )
        )
        conn.execute(
            sa.update(db.oauth_sessions)
            .where(db.oauth_sessions.c.id == session_id)
            .values(expires_at=expires)
        )
        return token

    def token_response(self, conn: Connection, grant: Grant, client_id: str) -> JSONResponse:
        user = conn.execute(
            sa.select(db.users.c.email, db.users.c.name, db.users.c.updated_at).where(
                db.users.c.id == grant.user_id
            )
        ).one()
        access = self.access_token(
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
                "at_hash": b64url(digest[: len(digest) // 2]),
                "sid": str(grant.session_id),
            }
            if grant.nonce:
                id_claims["nonce"] = grant.nonce
            if "email" in grant.scopes:
                id_claims.update(email=user.email, email_verified=True)
            if "profile" in grant.scopes:
                id_claims.update(name=user.name, updated_at=int(user.updated_at.timestamp()))
            body["id_token"] = self.sign(id_claims, "JWT")
        return JSONResponse(body, headers=NO_STORE)
