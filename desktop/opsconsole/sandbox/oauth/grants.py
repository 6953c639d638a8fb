"""The grants of ``/token``: authorization_code (with PKCE) and refresh_token (rotation with reuse
detection). Each runs in one write transaction and answers with :meth:`TokenService.token_response`."""

from __future__ import annotations

import hmac
import logging

import sqlalchemy as sa
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Connection

from .. import db
from .common import VERIFIER_RE, s256, sha256_hex, token_error
from .tokens import Grant, TokenService

log = logging.getLogger("opsconsole.sandbox.oauth")


class TokenGrants:
    """The grant types ``/token`` accepts, on top of the token core."""

    def __init__(self, tokens: TokenService) -> None:
        self.tokens = tokens
        self.engine = tokens.engine
        self.settings = tokens.settings

    def exchange_code(self, params: dict[str, str]) -> JSONResponse:
        code = params.get("code", "")
        verifier = params.get("code_verifier", "")
        redirect_uri = params.get("redirect_uri", "")
        client_id = params.get("client_id", "")
        if not code or not redirect_uri:
            return token_error("invalid_request", "code and redirect_uri are required")
        if not verifier:
            return token_error("invalid_request", "code_verifier is required (PKCE)")
        if not VERIFIER_RE.match(verifier):
            return token_error("invalid_grant", "code_verifier must be 43-128 characters of [A-Za-z0-9-._~]")
        now = db.utcnow()
        code_hash = sha256_hex(code)
        with db.writing(self.engine) as conn:
            row = conn.execute(
                sa.select(db.oauth_codes).where(db.oauth_codes.c.code_hash == code_hash)
            ).first()
            if row is None:
                return token_error("invalid_grant", "unknown or expired authorization code")
            # Single use decided by the row count of a conditional UPDATE, not by the SELECT above: under
            # READ COMMITTED two exchanges can both read used_at NULL, but only one can set it.
            marked = conn.execute(
                sa.update(db.oauth_codes)
                .where(db.oauth_codes.c.code_hash == code_hash, db.oauth_codes.c.used_at.is_(None))
                .values(used_at=now)
            )
            if marked.rowcount != 1:
                return self._code_replayed(conn, code_hash)
            if row.expires_at <= now:
                return token_error("invalid_grant", "authorization code expired")
            if row.client_id != client_id:
                return token_error("invalid_grant", "the code was issued to another client")
            if row.redirect_uri != redirect_uri:
                return token_error("invalid_grant", "redirect_uri does not match the authorization request")
            if not hmac.compare_digest(s256(verifier), row.code_challenge):
                return token_error("invalid_grant", "code_verifier does not match the code_challenge")
            return self.tokens.first_use(
                conn,
                sa.update(db.oauth_codes).where(db.oauth_codes.c.code_hash == code_hash),
                user_id=row.user_id,
                client_id=client_id,
                scope=row.scope,
                auth_time=row.auth_time,
                nonce=row.nonce,
                now=now,
            )

    def _code_replayed(self, conn: Connection, code_hash: str) -> JSONResponse:
        key = db.oauth_codes.c.code_hash == code_hash
        return self.tokens.replayed(conn, key, db.oauth_codes.c.session_id, "authorization code")

    def refresh(self, params: dict[str, str]) -> JSONResponse:
        token = params.get("refresh_token", "")
        client_id = params.get("client_id", "")
        if not token:
            return token_error("invalid_request", "refresh_token is required")
        if len(token) > 512:
            return token_error("invalid_grant", "unknown refresh token")
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
                .where(db.refresh_tokens.c.token_hash == sha256_hex(token))
            ).first()
            if row is None:
                return token_error("invalid_grant", "unknown refresh token")
            if row.client_id != client_id:
                return token_error("invalid_grant", "the refresh token was issued to another client")
            if row.revoked_at is not None:
                return token_error("invalid_grant", "the session was revoked: sign in again")
            if row.used_at is not None:
                # Reuse of a rotated token: the family is compromised, end it (RFC 9700 4.14.2).
                self.tokens.revoke_session(conn, row.session_id, "refresh_reuse")
                log.warning("refresh token reused: its whole family is revoked")
                return token_error("invalid_grant", "refresh token already used; the session is revoked")
            if row.expires_at <= now:
                return token_error("invalid_grant", "the refresh token has expired: sign in again")
            marked = conn.execute(
                sa.update(db.refresh_tokens)
                .where(
                    db.refresh_tokens.c.token_hash == row.token_hash, db.refresh_tokens.c.used_at.is_(None)
                )
                .values(used_at=now)
            )
            if marked.rowcount != 1:
                self.tokens.revoke_session(conn, row.session_id, "refresh_reuse")
                return token_error("invalid_grant", "refresh token already used; the session is revoked")
            if not self.tokens.account_active(conn, row.user_id):
                self.tokens.revoke_session(conn, row.session_id, "account_disabled")
                return token_error("invalid_grant", "the account is disabled or gone")
            session_scopes = row.scope.split()
            requested = params.get("scope")
            if requested is not None:
                wanted = requested.split()
                extra = [s for s in wanted if s not in session_scopes]
                if extra:
                    return token_error("invalid_scope", f"not granted in this session: {' '.join(extra)}")
            else:
                wanted = session_scopes
            # Roles may have changed since sign-in: the new token carries what they allow now.
            scopes = self.tokens.granted_scopes(conn, row.user_id, wanted)
            refresh = self.tokens.new_refresh_token(conn, row.session_id, now)
            grant = Grant(row.user_id, scopes, row.session_id, row.auth_time, None, refresh)
            return self.tokens.token_response(conn, grant, client_id)
