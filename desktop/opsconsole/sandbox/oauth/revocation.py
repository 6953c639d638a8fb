"""``/revoke`` (RFC 7009) and ``/userinfo`` (OIDC Core 5.3): the endpoints that act on issued tokens."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import jwt
import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import Connection

from .. import db, store
from ..settings import API_AUDIENCE
from .common import NO_STORE, bearer_error, sha256_hex, token_error
from .tokens import InvalidToken, TokenService


def revoke(tokens: TokenService, params: dict[str, str]) -> Response:
    token = params.get("token", "")
    if not token:
        return token_error("invalid_request", "token is required")
    hint = params.get("token_type_hint")
    if hint is not None and hint not in ("access_token", "refresh_token"):
        return token_error("unsupported_token_type", "token_type_hint must be access_token or refresh_token")
    if len(token) <= 8192:
        with db.writing(tokens.engine) as conn:
            if token.count(".") == 2:
                _revoke_access_token(tokens, conn, token)
            else:
                session_id = conn.execute(
                    sa.select(db.refresh_tokens.c.session_id).where(
                        db.refresh_tokens.c.token_hash == sha256_hex(token)
                    )
                ).scalar_one_or_none()
                if session_id is not None:
                    tokens.revoke_session(conn, session_id, "revoked")
    # RFC 7009 2.2: unknown and already revoked tokens are answered the same way.
    return Response(status_code=200, headers=NO_STORE)


def _revoke_access_token(tokens: TokenService, conn: Connection, token: str) -> None:
    try:
        claims = jwt.decode(
            token,
            tokens.public_key,
            algorithms=["RS256"],
            audience=API_AUDIENCE,
            issuer=tokens.issuer,
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


def userinfo(tokens: TokenService, request: Request) -> Response:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return Response(status_code=401, headers={"WWW-Authenticate": 'Bearer realm="opsconsole-sandbox"'})
    try:
        claims = tokens.verify_access_token(token.strip())
    except InvalidToken as exc:
        return bearer_error(401, "invalid_token", str(exc))
    if "openid" not in claims["scopes"]:
        return bearer_error(403, "insufficient_scope", "userinfo needs the openid scope")
    with db.reading(tokens.engine) as conn:
        user = conn.execute(
            sa.select(db.users.c.email, db.users.c.name, db.users.c.status, db.users.c.updated_at).where(
                db.users.c.id == uuid.UUID(claims["sub"])
            )
        ).first()
        roles = store.get_user(conn, uuid.UUID(claims["sub"])).data["roles"] if user is not None else []
    if user is None or user.status != "active":
        return bearer_error(401, "invalid_token", "the account is disabled or gone")
    info: dict[str, Any] = {"sub": claims["sub"], "roles": roles}
    if "email" in claims["scopes"]:
        info.update(email=user.email, email_verified=True)
    if "profile" in claims["scopes"]:
        info.update(
            name=user.name, preferred_username=user.email, updated_at=int(user.updated_at.timestamp())
        )
    return JSONResponse(info, headers=NO_STORE)
