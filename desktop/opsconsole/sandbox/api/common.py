"""What every resource router shares: the caller and its scope and permission checks, the rule for
granting roles, ETags, the user cache and publishing events after a commit."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from .. import db, store
from ..oauth import AuthServer, InvalidToken
from ..problems import Forbidden, ProblemError, Unauthorized
from ..tracing import span
from .models import ROLE_NAME_PATTERN

log = logging.getLogger("opsconsole.sandbox.api")

bearer = HTTPBearer(auto_error=False, description="An access token from the sandbox's /token endpoint")


@dataclass(frozen=True)
class Caller:
    """The authenticated user behind a request, with what the token and the roles allow."""

    id: uuid.UUID
    email: str
    scopes: list[str]
    permissions: frozenset[str]
    claims: Mapping[str, Any]

    @property
    def actor(self) -> store.Actor:
        return store.Actor(self.id, self.email)

    @property
    def event_actor(self) -> dict[str, str]:
        """Who made a change, as the events it publishes say it. The stream leaves `actor` (the email)
        out for a reader without read:users (stream_access.FIELD_PERMISSIONS); `actor_id` stays."""
        return {"actor": self.email, "actor_id": str(self.id)}

    @property
    def session_id(self) -> uuid.UUID | None:
        """The sign-in session the token belongs to (None for the sandbox's own service tokens)."""
        sid = self.claims.get("sid")
        return uuid.UUID(str(sid)) if sid is not None else None


def app_state(request: Request) -> Any:
    return request.app.state


def require(scope: str | None) -> Callable[..., Caller]:
    """A dependency that authenticates the caller and checks ``scope`` (token) and permission (roles)."""

    def dependency(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
    ) -> Caller:
        state = app_state(request)
        auth: AuthServer = state.auth
        engine: Engine = state.engine
        with span("Authentication Service", service="auth-service"):
            if credentials is None or not credentials.credentials:
                raise Unauthorized("an access token is required (Authorization: Bearer ...)", error=None)
            token = credentials.credentials
            try:
                with span("Cache Check", service="auth-service"):
                    claims = auth.cached_claims(token)
                if claims is None:
                    claims = auth.decode_access_token(token)
                with span("DB Query", service="auth-service"), db.reading(engine) as conn:
                    email = auth.check_account(conn, claims)
                    user_id = uuid.UUID(str(claims["sub"]))
                    permissions = frozenset(store.permission_names(conn, user_id))
            except InvalidToken as exc:
                raise Unauthorized(str(exc)) from None
            scopes = list(claims["scopes"])
            if scope is not None:
                if scope not in scopes:
                    raise Forbidden(
                        f"the access token lacks the scope {scope}",
                        slug="insufficient-scope",
                        headers={
                            "WWW-Authenticate": f'Bearer realm="opsconsole-sandbox", error="insufficient_scope", '
                            f'scope="{scope}"'
                        },
                    )
                if scope not in permissions:
                    raise Forbidden(
                        f"your roles do not (or no longer) grant {scope}", slug="permission-denied"
                    )
        return Caller(user_id, email, scopes, permissions, claims)

    return dependency


ReadUsers = Annotated[Caller, Depends(require("read:users"))]
WriteUsers = Annotated[Caller, Depends(require("write:users"))]
ReadRoles = Annotated[Caller, Depends(require("read:roles"))]
WriteRoles = Annotated[Caller, Depends(require("write:roles"))]
AnyCaller = Annotated[Caller, Depends(require(None))]
UserId = Annotated[uuid.UUID, Path(description="The user's id (UUID)")]
RolePath = Annotated[str, Path(min_length=1, max_length=db.ROLE_NAME_MAX, pattern=ROLE_NAME_PATTERN)]
IfMatch = Annotated[str | None, Header(max_length=1024, description="The ETag you last read")]


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def engine_of(request: Request) -> Engine:
    engine: Engine = app_state(request).engine
    return engine


def publish(request: Request, topic: str, data: dict[str, Any]) -> None:
    try:
        app_state(request).bus.publish(topic, data)
    except Exception:
        # The change is committed and audited; a lost event must not turn it into an error.
        log.exception("could not publish %s", topic)


def recheck_streams(request: Request, user_id: uuid.UUID | None) -> None:
    """Have the open event streams of ``user_id`` (of everyone when None) re-check their token and
    permissions now rather than at their next heartbeat: call it after a change that may take away."""
    app_state(request).streams.recheck(None if user_id is None else str(user_id))


def user_cache(request: Request) -> store.UserCache:
    cache: store.UserCache = app_state(request).user_cache
    return cache


def remember(request: Request, *records: store.UserRecord) -> None:
    with span("Cache Write", service="user-service"):
        user_cache(request).put(records)


def with_etag(response: Response, etag: str) -> None:
    response.headers["ETag"] = etag


def may_change_account(
    conn: Any, caller: Caller, target_id: uuid.UUID | None, *, roles: Iterable[str] = ()
) -> None:
    """The one rule for every write to an account: profile, email, password, status, delete, grants.

    The caller may change an account when everything the account's roles carry (and, for a grant or
    revoke, everything ``roles`` carry) is within the caller's own permissions, or when the caller
    holds write:roles (in the token and in the database). Otherwise a write:users holder could set an
    admin's password and sign in as that admin. ``target_id`` None is an account about to be created.
    """
    if "write:roles" in caller.permissions and "write:roles" in caller.scopes:
        return
    carried = store.permissions_carried(conn, target_id) if target_id is not None else set()
    checks = [("this account's roles carry", carried)]
    checks += [(f"the role {role} carries", store.role_permission_names(conn, role)) for role in roles]
    for what, permissions in checks:
        missing = sorted(permissions - caller.permissions)
        if missing:
            raise ProblemError(
                403,
                f"{what} permissions you do not hold ({', '.join(missing)}): changing an account needs "
                "write:roles, or holding every permission it has or would get",
                slug="outranks-you",
                extra={"missing_permissions": missing},
            )


def known_roles(conn: Any, roles: Iterable[str]) -> None:
    """Roles named in a request body must exist: an unknown one is invalid input (422), not a 404."""
    for role in roles:
        try:
            store.get_role_row(conn, role)
        except ProblemError as exc:
            if exc.status == 404:
                raise ProblemError(422, f"no such role: {role}") from None
            raise
