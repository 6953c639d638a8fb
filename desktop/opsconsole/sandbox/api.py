"""The sandbox's REST API under ``/api``: users, roles, permissions, memberships, audit, and ``/api/me``.

Each endpoint checks the bearer token, the scope the endpoint needs in that token, and the caller's
current permissions in the database (the system's ``has_permission``), so revoking a role or disabling
an account takes effect on the next request, whatever tokens are out there. Changes are one
transaction with their audit row; after the commit they publish an event on ``app.state.bus``.

Resources carry ETags; PATCH, DELETE and PUT of role permissions need ``If-Match`` (428 without it,
412 when stale), and every other write honours it when given. Errors are RFC 9457 problem details,
and the response models are explicit so that ``/openapi.json`` describes what is really sent.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine

from . import db, store
from .oauth import AuthServer, InvalidToken
from .passwords import hash_password
from .problems import PROBLEM_MEDIA_TYPE, Conflict, Forbidden, ProblemError, Unauthorized
from .tracing import span

log = logging.getLogger("opsconsole.sandbox.api")

# --- wire formats ------------------------------------------------------------------------------------

# No control characters anywhere (PostgreSQL rejects NUL; they are never meant in a name), and at
# least one visible character. The patterns are in the OpenAPI document, so clients can check first.
_NAME_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
_EMAIL_PATTERN = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$"
_TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
_SEARCH_PATTERN = r"^[^\x00-\x1f\x7f]*$"
ROLE_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
PERMISSION_PATTERN = r"^[a-z][a-z0-9_-]{0,48}:[a-z][a-z0-9_.-]{0,48}$"
_CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,512}$"

Email = Annotated[
    str, Field(min_length=3, max_length=db.EMAIL_MAX, pattern=_EMAIL_PATTERN, examples=["ann@example.com"])
]
Name = Annotated[
    str, Field(min_length=1, max_length=db.NAME_MAX, pattern=_NAME_PATTERN, examples=["Ann Lee"])
]
RoleName = Annotated[str, Field(min_length=1, max_length=db.ROLE_NAME_MAX, pattern=ROLE_NAME_PATTERN)]
PermissionName = Annotated[
    str, Field(min_length=3, max_length=db.PERMISSION_NAME_MAX, pattern=PERMISSION_PATTERN)
]
Description = Annotated[str, Field(max_length=db.DESCRIPTION_MAX, pattern=_TEXT_PATTERN)]
Status = Literal["active", "disabled"]


class User(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    status: Status
    roles: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime


class UserPage(BaseModel):
    items: list[User]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class Me(User):
    permissions: list[str] = Field(description="What the account's roles allow now")
    scopes: list[str] = Field(description="What the presented access token carries")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email
    name: Name
    status: Status = "active"
    roles: list[RoleName] = Field(default_factory=list, max_length=20)
    password: str | None = Field(
        default=None, min_length=8, max_length=1024, description="Lets the account sign in; write-only"
    )


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email | None = None
    name: Name | None = None
    password: str | None = Field(default=None, min_length=8, max_length=1024, description="write-only")


class Role(BaseModel):
    name: str
    description: str
    permissions: list[str]


class RoleList(BaseModel):
    items: list[Role]


class RoleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: RoleName
    description: Description = ""
    permissions: list[PermissionName] = Field(default_factory=list, max_length=100)


class RolePermissions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    permissions: list[PermissionName] = Field(max_length=100)


class Permission(BaseModel):
    name: str
    description: str


class PermissionList(BaseModel):
    items: list[Permission]


class EffectivePermission(Permission):
    roles: list[str] = Field(description="The user's roles that carry this permission")


class EffectivePermissionList(BaseModel):
    user_id: uuid.UUID
    items: list[EffectivePermission]


class AuditEntry(BaseModel):
    id: int
    time: dt.datetime
    actor: str
    actor_id: uuid.UUID | None
    action: str
    target_type: str
    target_id: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    request_id: str | None


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[ValidationIssue] | None = None


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "Malformed request (bad cursor, bad query)",
        401: "No valid access token",
        403: "The token lacks the scope, or the account's roles lack the permission",
        404: "No such resource",
        409: "Conflicts with the current state (duplicate, in use, yourself)",
        412: "If-Match does not match the current ETag",
        422: "The body or a parameter is invalid",
        428: "If-Match is required",
    }
    return {s: {"model": Problem, "description": descriptions[s]} for s in statuses}


_ETAG_HEADER = {"ETag": {"description": "The resource's version, for If-Match", "schema": {"type": "string"}}}
_READ = _problems(401, 403, 422)
_READ_ONE = _problems(401, 403, 404, 422)
_WRITE_ONE = _problems(401, 403, 404, 409, 412, 422)
_WRITE_MATCHED = _problems(401, 403, 404, 409, 412, 422, 428)
_WRITE_BODY = _problems(400, 401, 403, 404, 409, 412, 422, 428)


def problem_media_types(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare problem responses as ``application/problem+json`` in an OpenAPI document (in place)."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                body = content.get("application/json")
                if (
                    body
                    and str(status)[:1] in "45"
                    and body.get("schema", {}).get("$ref", "").endswith("/Problem")
                ):
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
    return schema


# --- callers -----------------------------------------------------------------------------------------

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


def _state(request: Request) -> Any:
    return request.app.state


def require(scope: str | None) -> Callable[..., Caller]:
    """A dependency that authenticates the caller and checks ``scope`` (token) and permission (roles)."""

    def dependency(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
    ) -> Caller:
        state = _state(request)
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


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _engine(request: Request) -> Engine:
    engine: Engine = _state(request).engine
    return engine


def _publish(request: Request, topic: str, data: dict[str, Any]) -> None:
    try:
        _state(request).bus.publish(topic, data)
    except Exception:
        # The change is committed and audited; a lost event must not turn it into an error.
        log.exception("could not publish %s", topic)


def _cache(request: Request) -> store.UserCache:
    cache: store.UserCache = _state(request).user_cache
    return cache


def _remember(request: Request, *records: store.UserRecord) -> None:
    with span("Cache Write", service="user-service"):
        _cache(request).put(records)


def _with_etag(response: Response, etag: str) -> None:
    response.headers["ETag"] = etag


def _may_grant(conn: Any, caller: Caller, role: str) -> None:
    """write:roles may grant anything; write:users alone may grant only roles within its own permissions."""
    if "write:roles" in caller.permissions and "write:roles" in caller.scopes:
        return
    extra = store.role_permission_names(conn, role) - caller.permissions
    if extra:
        raise Forbidden(
            f"granting or revoking {role} needs write:roles, or holding all its permissions "
            f"(you lack {', '.join(sorted(extra))})",
            slug="permission-denied",
        )


# --- routes ------------------------------------------------------------------------------------------


def build_router() -> APIRouter:
    router = APIRouter(prefix="/api")

    @router.get(
        "/me",
        response_model=Me,
        tags=["me"],
        responses={200: {"headers": _ETAG_HEADER}, **_problems(401, 422)},
        summary="The caller",
    )
    def get_me(request: Request, response: Response, caller: AnyCaller) -> dict[str, Any]:
        """The signed-in user, what their roles allow now and what the token carries; any valid token."""
        with span("User Service", service="user-service"):
            with span("DB Query", service="user-service"), db.reading(_engine(request)) as conn:
                record = store.get_user(conn, caller.id, _cache(request))
            _remember(request, record)
        _with_etag(response, record.etag)  # the user's ETag, usable for If-Match on /api/users/{id}
        return {**record.data, "permissions": sorted(caller.permissions), "scopes": caller.scopes}

    @router.get("/users", response_model=UserPage, tags=["users"], responses=_problems(400, 401, 403, 422))
    def list_users(
        request: Request,
        caller: ReadUsers,
        limit: Annotated[int, Query(ge=1, le=store.MAX_LIMIT)] = 50,
        cursor: Annotated[str | None, Query(max_length=512, pattern=_CURSOR_PATTERN)] = None,
        search: Annotated[
            str | None,
            Query(max_length=200, pattern=_SEARCH_PATTERN, description="Part of the email or name"),
        ] = None,
        role: Annotated[str | None, Query(max_length=db.ROLE_NAME_MAX, pattern=ROLE_NAME_PATTERN)] = None,
        status: Status | None = None,
        sort: Annotated[
            Literal[
                "created_at", "-created_at", "updated_at", "-updated_at", "email", "-email", "name", "-name"
            ],
            Query(description="Sort key; a leading - sorts descending"),
        ] = "created_at",
        email: Annotated[
            str | None,
            Query(max_length=db.EMAIL_MAX, pattern=_SEARCH_PATTERN, description="Exact email, any case"),
        ] = None,
    ) -> dict[str, Any]:
        """A page of users (keyset paging: follow ``next_cursor``)."""
        with span("User Service", service="user-service"):
            with span("DB Query", service="user-service"), db.reading(_engine(request)) as conn:
                records, next_cursor = store.list_users(
                    conn,
                    limit=limit,
                    cursor=cursor,
                    search=search,
                    role=role,
                    status=status,
                    sort=sort,
                    email=email,
                )
            _remember(request, *records)
        return {"items": [r.data for r in records], "next_cursor": next_cursor}

    @router.post(
        "/users",
        response_model=User,
        status_code=201,
        tags=["users"],
        responses={201: {"headers": _ETAG_HEADER}, **_problems(400, 401, 403, 409, 422)},
    )
    def create_user(
        request: Request, response: Response, body: UserCreate, caller: WriteUsers
    ) -> dict[str, Any]:
        with span("User Service", service="user-service"):
            with span("DB Query", service="user-service"), db.writing(_engine(request)) as conn:
                for role in body.roles:
                    _may_grant_or_422(conn, caller, role)
                record = store.create_user(
                    conn,
                    email=body.email,
                    name=body.name,
                    status=body.status,
                    roles=body.roles,
                    password_hash=hash_password(body.password) if body.password else None,
                )
                store.add_audit(
                    conn,
                    actor=caller.actor,
                    action="user.created",
                    target_type="user",
                    target_id=record.data["id"],
                    old=None,
                    new=record.data,
                    request_id=_request_id(request),
                )
            _remember(request, record)
        _state(request).metrics.user_registrations.inc()
        _publish(request, "user.created", {"user": store.jsonable(record.data), "actor": caller.email})
        _with_etag(response, record.etag)
        response.headers["Location"] = f"/api/users/{record.data['id']}"
        return record.data

    @router.get(
        "/users/{user_id}",
        response_model=User,
        tags=["users"],
        responses={
            200: {"headers": _ETAG_HEADER},
            304: {"description": "Not modified (If-None-Match)"},
            **_READ_ONE,
        },
    )
    def get_user(
        request: Request,
        response: Response,
        user_id: UserId,
        caller: ReadUsers,
        if_none_match: Annotated[str | None, Header(max_length=1024)] = None,
    ) -> Any:
        with span("User Service", service="user-service"):
            with span("DB Query", service="user-service"), db.reading(_engine(request)) as conn:
                record = store.get_user(conn, user_id, _cache(request))
            _remember(request, record)
        if if_none_match and record.etag in [t.strip() for t in if_none_match.split(",")]:
            return Response(status_code=304, headers={"ETag": record.etag})
        _with_etag(response, record.etag)
        return record.data

    def _change_user(
        request: Request,
        caller: Caller,
        user_id: uuid.UUID,
        if_match: str | None,
        *,
        action: str,
        required: bool,
        **changes: Any,
    ) -> store.UserRecord:
        if action in ("user.disabled",) and user_id == caller.id:
            raise Conflict("you cannot disable your own account", slug="self")
        with span("User Service", service="user-service"):
            with span("DB Query", service="user-service"), db.writing(_engine(request)) as conn:
                before, after = store.update_user(
                    conn, user_id, if_match=if_match, require_if_match=required, **changes
                )
                if after is not before:
                    store.add_audit(
                        conn,
                        actor=caller.actor,
                        action=action,
                        target_type="user",
                        target_id=str(user_id),
                        old=before.data,
                        new=after.data,
                        request_id=_request_id(request),
                    )
            _remember(request, after)
        if after is not before:
            changed = sorted(k for k in after.data if k != "updated_at" and after.data[k] != before.data[k])
            if "password_hash" in changes and changes["password_hash"] is not None:
                changed.append("password")
            _publish(
                request,
                action,
                {"user": store.jsonable(after.data), "changes": changed, "actor": caller.email},
            )
        return after

    @router.patch(
        "/users/{user_id}",
        response_model=User,
        tags=["users"],
        responses={200: {"headers": _ETAG_HEADER}, **_WRITE_BODY},
    )
    def patch_user(
        request: Request,
        response: Response,
        user_id: UserId,
        body: UserPatch,
        caller: WriteUsers,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        """Change email, name or password; needs If-Match."""
        record = _change_user(
            request,
            caller,
            user_id,
            if_match,
            action="user.updated",
            required=True,
            email=body.email,
            name=body.name,
            password_hash=hash_password(body.password) if body.password else None,
        )
        _with_etag(response, record.etag)
        return record.data

    @router.post(
        "/users/{user_id}/disable",
        response_model=User,
        tags=["users"],
        responses={200: {"headers": _ETAG_HEADER}, **_WRITE_ONE},
    )
    def disable_user(
        request: Request, response: Response, user_id: UserId, caller: WriteUsers, if_match: IfMatch = None
    ) -> dict[str, Any]:
        """Disable the account: it can no longer sign in and its tokens stop working at once."""
        record = _change_user(
            request, caller, user_id, if_match, action="user.disabled", required=False, status="disabled"
        )
        _with_etag(response, record.etag)
        return record.data

    @router.post(
        "/users/{user_id}/enable",
        response_model=User,
        tags=["users"],
        responses={200: {"headers": _ETAG_HEADER}, **_WRITE_ONE},
    )
    def enable_user(
        request: Request, response: Response, user_id: UserId, caller: WriteUsers, if_match: IfMatch = None
    ) -> dict[str, Any]:
        record = _change_user(
            request, caller, user_id, if_match, action="user.enabled", required=False, status="active"
        )
        _with_etag(response, record.etag)
        return record.data

    @router.delete(
        "/users/{user_id}",
        status_code=204,
        response_class=Response,
        tags=["users"],
        responses=_WRITE_MATCHED,
    )
    def delete_user(
        request: Request, user_id: UserId, caller: WriteUsers, if_match: IfMatch = None
    ) -> Response:
        """Delete the account; needs If-Match."""
        if user_id == caller.id:
            raise Conflict("you cannot delete your own account", slug="self")
        with (
            span("User Service", service="user-service"),
            span("DB Query", service="user-service"),
            db.writing(_engine(request)) as conn,
        ):
            before = store.delete_user(conn, user_id, if_match=if_match)
            store.add_audit(
                conn,
                actor=caller.actor,
                action="user.deleted",
                target_type="user",
                target_id=str(user_id),
                old=before.data,
                new=None,
                request_id=_request_id(request),
            )
        _publish(request, "user.deleted", {"user": store.jsonable(before.data), "actor": caller.email})
        return Response(status_code=204)

    def _membership(
        request: Request,
        caller: Caller,
        user_id: uuid.UUID,
        role: str,
        if_match: str | None,
        *,
        granted: bool,
    ) -> store.UserRecord:
        action = "role.granted" if granted else "role.revoked"
        with span("User Service", service="user-service"):
            with span("DB Query", service="user-service"), db.writing(_engine(request)) as conn:
                store.get_user(conn, user_id)
                _may_grant(conn, caller, role)
                before, after = store.set_membership(
                    conn, user_id, role, granted=granted, if_match=if_match, required=not granted
                )
                if after is not before:
                    store.add_audit(
                        conn,
                        actor=caller.actor,
                        action=action,
                        target_type="user",
                        target_id=str(user_id),
                        old={"roles": before.data["roles"]},
                        new={"roles": after.data["roles"], "role": role},
                        request_id=_request_id(request),
                    )
            _remember(request, after)
        if after is not before:
            _publish(
                request, action, {"user": store.jsonable(after.data), "role": role, "actor": caller.email}
            )
        return after

    @router.put(
        "/users/{user_id}/roles/{role}",
        response_model=User,
        tags=["users"],
        responses={200: {"headers": _ETAG_HEADER}, **_WRITE_ONE},
    )
    def grant_role(
        request: Request,
        response: Response,
        user_id: UserId,
        role: RolePath,
        caller: WriteUsers,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        """Grant a role (idempotent). write:users may grant roles within its own permissions, write:roles any."""
        record = _membership(request, caller, user_id, role, if_match, granted=True)
        _with_etag(response, record.etag)
        return record.data

    @router.delete(
        "/users/{user_id}/roles/{role}",
        response_model=User,
        tags=["users"],
        responses={200: {"headers": _ETAG_HEADER}, **_WRITE_MATCHED},
    )
    def revoke_role(
        request: Request,
        response: Response,
        user_id: UserId,
        role: RolePath,
        caller: WriteUsers,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        """Revoke a role; needs If-Match (the user's ETag). Returns the user."""
        record = _membership(request, caller, user_id, role, if_match, granted=False)
        _with_etag(response, record.etag)
        return record.data

    @router.get(
        "/users/{user_id}/permissions",
        response_model=EffectivePermissionList,
        tags=["users"],
        responses=_READ_ONE,
    )
    def user_permissions(request: Request, user_id: UserId, caller: ReadUsers) -> dict[str, Any]:
        """The user's effective permissions, each with the roles it comes from (empty when disabled)."""
        with (
            span("User Service", service="user-service"),
            span("DB Query", service="user-service"),
            db.reading(_engine(request)) as conn,
        ):
            items = store.effective_permissions(conn, user_id)
        return {"user_id": user_id, "items": items}

    @router.get("/roles", response_model=RoleList, tags=["roles"], responses=_READ)
    def list_roles(request: Request, caller: ReadRoles) -> dict[str, Any]:
        with (
            span("User Service", service="user-service"),
            span("DB Query", service="user-service"),
            db.reading(_engine(request)) as conn,
        ):
            items = store.list_roles(conn)
        return {"items": items}

    @router.post(
        "/roles",
        response_model=Role,
        status_code=201,
        tags=["roles"],
        responses={201: {"headers": _ETAG_HEADER}, **_problems(400, 401, 403, 409, 422)},
    )
    def create_role(
        request: Request, response: Response, body: RoleCreate, caller: WriteRoles
    ) -> dict[str, Any]:
        with (
            span("User Service", service="user-service"),
            span("DB Query", service="user-service"),
            db.writing(_engine(request)) as conn,
        ):
            record = store.create_role(
                conn, name=body.name, description=body.description, permissions=body.permissions
            )
            store.add_audit(
                conn,
                actor=caller.actor,
                action="role.created",
                target_type="role",
                target_id=body.name,
                old=None,
                new=record.data,
                request_id=_request_id(request),
            )
        _publish(request, "role.created", {"role": record.data, "actor": caller.email})
        _with_etag(response, record.etag)
        response.headers["Location"] = f"/api/roles/{body.name}"
        return record.data

    @router.get(
        "/roles/{role}",
        response_model=Role,
        tags=["roles"],
        responses={200: {"headers": _ETAG_HEADER}, **_READ_ONE},
    )
    def get_role(request: Request, response: Response, role: RolePath, caller: ReadRoles) -> dict[str, Any]:
        with (
            span("User Service", service="user-service"),
            span("DB Query", service="user-service"),
            db.reading(_engine(request)) as conn,
        ):
            record = store.get_role(conn, role)
        _with_etag(response, record.etag)
        return record.data

    @router.delete(
        "/roles/{role}", status_code=204, response_class=Response, tags=["roles"], responses=_WRITE_MATCHED
    )
    def delete_role(
        request: Request, role: RolePath, caller: WriteRoles, if_match: IfMatch = None
    ) -> Response:
        """Delete a role nobody holds; needs If-Match."""
        with (
            span("User Service", service="user-service"),
            span("DB Query", service="user-service"),
            db.writing(_engine(request)) as conn,
        ):
            before = store.delete_role(conn, role, if_match=if_match)
            store.add_audit(
                conn,
                actor=caller.actor,
                action="role.deleted",
                target_type="role",
                target_id=role,
                old=before.data,
                new=None,
                request_id=_request_id(request),
            )
        _publish(request, "role.deleted", {"role": before.data, "actor": caller.email})
        return Response(status_code=204)

    @router.put(
        "/roles/{role}/permissions",
        response_model=Role,
        tags=["roles"],
        responses={200: {"headers": _ETAG_HEADER}, **_WRITE_BODY},
    )
    def set_role_permissions(
        request: Request,
        response: Response,
        role: RolePath,
        body: RolePermissions,
        caller: WriteRoles,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        """Replace the role's permissions; needs If-Match."""
        with (
            span("User Service", service="user-service"),
            span("DB Query", service="user-service"),
            db.writing(_engine(request)) as conn,
        ):
            before, after = store.set_role_permissions(conn, role, body.permissions, if_match=if_match)
            if after is not before:
                store.add_audit(
                    conn,
                    actor=caller.actor,
                    action="role.updated",
                    target_type="role",
                    target_id=role,
                    old=before.data,
                    new=after.data,
                    request_id=_request_id(request),
                )
        if after is not before:
            _publish(request, "role.updated", {"role": after.data, "actor": caller.email})
        _with_etag(response, after.etag)
        return after.data

    @router.get("/permissions", response_model=PermissionList, tags=["roles"], responses=_READ)
    def list_permissions(request: Request, caller: ReadRoles) -> dict[str, Any]:
        with (
            span("User Service", service="user-service"),
            span("DB Query", service="user-service"),
            db.reading(_engine(request)) as conn,
        ):
            items = store.list_permissions(conn)
        return {"items": items}

    @router.get("/audit", response_model=AuditPage, tags=["audit"], responses=_problems(400, 401, 403, 422))
    def list_audit(
        request: Request,
        caller: ReadUsers,
        limit: Annotated[int, Query(ge=1, le=store.MAX_LIMIT)] = 50,
        cursor: Annotated[str | None, Query(max_length=18, pattern=r"^[0-9]{1,18}$")] = None,
        target_id: Annotated[str | None, Query(max_length=100, pattern=_SEARCH_PATTERN)] = None,
        action: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z]+\.[a-z]+$")] = None,
        actor: Annotated[str | None, Query(max_length=db.EMAIL_MAX, pattern=_SEARCH_PATTERN)] = None,
    ) -> dict[str, Any]:
        """Who changed what, newest first (follow ``next_cursor`` for older entries)."""
        with (
            span("User Service", service="user-service"),
            span("DB Query", service="user-service"),
            db.reading(_engine(request)) as conn,
        ):
            items, next_cursor = store.list_audit(
                conn, limit=limit, cursor=cursor, target_id=target_id, action=action, actor=actor
            )
        return {"items": items, "next_cursor": next_cursor}

    return router


def _may_grant_or_422(conn: Any, caller: Caller, role: str) -> None:
    """Like :func:`_may_grant` for roles named in a create body: an unknown role is invalid input."""
    try:
        store.get_role_row(conn, role)
    except ProblemError as exc:
        if exc.status == 404:
            raise ProblemError(422, f"no such role: {role}") from None
        raise
    _may_grant(conn, caller, role)
