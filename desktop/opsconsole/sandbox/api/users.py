"""``/api/users``: list, read, create, edit, disable, enable and delete accounts, grant and revoke roles,
and a user's effective permissions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response

from .. import db, store
from ..passwords import hash_password
from ..problems import Conflict
from ..tracing import span
from .common import (
    Caller,
    IfMatch,
    ReadUsers,
    RolePath,
    UserId,
    WriteUsers,
    app_state,
    engine_of,
    known_roles,
    may_change_account,
    publish,
    recheck_streams,
    remember,
    request_id_of,
    user_cache,
    with_etag,
)
from .models import (
    CREATE,
    CURSOR_PATTERN,
    ETAG_HEADER,
    READ_ONE,
    ROLE_NAME_PATTERN,
    SEARCH_PATTERN,
    WRITE_BODY,
    WRITE_MATCHED,
    WRITE_ONE,
    EffectivePermissionList,
    Status,
    User,
    UserCreate,
    UserPage,
    UserPatch,
    problem_responses,
)

router = APIRouter(prefix="/api")


@router.get(
    "/users",
    response_model=UserPage,
    # `total` is left out unless counted; the items and next_cursor are always set.
    response_model_exclude_unset=True,
    tags=["users"],
    responses=problem_responses(400, 401, 403, 422),
)
def list_users(
    request: Request,
    caller: ReadUsers,
    limit: Annotated[int, Query(ge=1, le=store.MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=512, pattern=CURSOR_PATTERN)] = None,
    search: Annotated[
        str | None,
        Query(max_length=200, pattern=SEARCH_PATTERN, description="Part of the email or name"),
    ] = None,
    role: Annotated[str | None, Query(max_length=db.ROLE_NAME_MAX, pattern=ROLE_NAME_PATTERN)] = None,
    status: Status | None = None,
    sort: Annotated[
        Literal["created_at", "-created_at", "updated_at", "-updated_at", "email", "-email", "name", "-name"],
        Query(description="Sort key; a leading - sorts descending"),
    ] = "created_at",
    email: Annotated[
        str | None,
        Query(max_length=db.EMAIL_MAX, pattern=SEARCH_PATTERN, description="Exact email, any case"),
    ] = None,
    count: Annotated[
        bool,
        Query(
            description="Also give `total`, the number of users matching the filters (a second query: ask "
            "on the first page only)"
        ),
    ] = False,
) -> dict[str, Any]:
    """A page of users (keyset paging: follow ``next_cursor``), each with its ETag."""
    filters = {"search": search, "role": role, "status": status, "email": email}
    with span("User Service", service="user-service"):
        with span("DB Query", service="user-service"), db.reading(engine_of(request)) as conn:
            records, next_cursor = store.list_users(conn, limit=limit, cursor=cursor, sort=sort, **filters)
            total = store.count_users(conn, **filters) if count else None
        remember(request, *records)
    body: dict[str, Any] = {
        "items": [{**r.data, "etag": r.etag} for r in records],
        "next_cursor": next_cursor,
    }
    if total is not None:
        body["total"] = total
    return body


@router.post(
    "/users",
    response_model=User,
    status_code=201,
    tags=["users"],
    responses={201: {"headers": ETAG_HEADER}, **CREATE},
)
def create_user(request: Request, response: Response, body: UserCreate, caller: WriteUsers) -> dict[str, Any]:
    with span("User Service", service="user-service"):
        with span("DB Query", service="user-service"), db.writing(engine_of(request)) as conn:
            known_roles(conn, body.roles)
            may_change_account(conn, caller, None, roles=body.roles)
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
                request_id=request_id_of(request),
            )
        remember(request, record)
    app_state(request).metrics.user_registrations.inc()
    publish(request, "user.created", {"user": store.jsonable(record.data), **caller.event_actor})
    with_etag(response, record.etag)
    response.headers["Location"] = f"/api/users/{record.data['id']}"
    return record.data


@router.get(
    "/users/{user_id}",
    response_model=User,
    tags=["users"],
    responses={
        200: {"headers": ETAG_HEADER},
        304: {"description": "Not modified (If-None-Match)"},
        **READ_ONE,
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
        with span("DB Query", service="user-service"), db.reading(engine_of(request)) as conn:
            record = store.get_user(conn, user_id, user_cache(request))
        remember(request, record)
    if if_none_match and record.etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers={"ETag": record.etag})
    with_etag(response, record.etag)
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
        with span("DB Query", service="user-service"), db.writing(engine_of(request)) as conn:
            may_change_account(conn, caller, user_id)
            before, after = store.update_user(
                conn, user_id, if_match=if_match, require_if_match=required, **changes
            )
            if changes.get("password_hash") is not None:
                # Whoever knew the old password may hold its sessions: they end with it (but the
                # caller's own, when changing its own password, goes on).
                store.end_sessions(conn, user_id, "password changed", keep=caller.session_id)
            if after is not before:
                store.add_audit(
                    conn,
                    actor=caller.actor,
                    action=action,
                    target_type="user",
                    target_id=str(user_id),
                    old=before.data,
                    new=after.data,
                    request_id=request_id_of(request),
                )
        remember(request, after)
    if after is not before:
        changed = sorted(k for k in after.data if k != "updated_at" and after.data[k] != before.data[k])
        if "password_hash" in changes and changes["password_hash"] is not None:
            changed.append("password")
        publish(
            request,
            action,
            {"user": store.jsonable(after.data), "changes": changed, **caller.event_actor},
        )
        if "password" in changed or after.data["status"] != "active":
            recheck_streams(request, user_id)  # its sessions ended, or the account is disabled
    return after


@router.patch(
    "/users/{user_id}",
    response_model=User,
    tags=["users"],
    responses={200: {"headers": ETAG_HEADER}, **WRITE_BODY},
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
    with_etag(response, record.etag)
    return record.data


@router.post(
    "/users/{user_id}/disable",
    response_model=User,
    tags=["users"],
    responses={200: {"headers": ETAG_HEADER}, **WRITE_ONE},
)
def disable_user(
    request: Request, response: Response, user_id: UserId, caller: WriteUsers, if_match: IfMatch = None
) -> dict[str, Any]:
    """Disable the account: it can no longer sign in and its tokens stop working at once."""
    record = _change_user(
        request, caller, user_id, if_match, action="user.disabled", required=False, status="disabled"
    )
    with_etag(response, record.etag)
    return record.data


@router.post(
    "/users/{user_id}/enable",
    response_model=User,
    tags=["users"],
    responses={200: {"headers": ETAG_HEADER}, **WRITE_ONE},
)
def enable_user(
    request: Request, response: Response, user_id: UserId, caller: WriteUsers, if_match: IfMatch = None
) -> dict[str, Any]:
    record = _change_user(
        request, caller, user_id, if_match, action="user.enabled", required=False, status="active"
    )
    with_etag(response, record.etag)
    return record.data


@router.delete(
    "/users/{user_id}",
    status_code=204,
    response_class=Response,
    tags=["users"],
    responses=WRITE_MATCHED,
)
def delete_user(request: Request, user_id: UserId, caller: WriteUsers, if_match: IfMatch = None) -> Response:
    """Delete the account; needs If-Match."""
    if user_id == caller.id:
        raise Conflict("you cannot delete your own account", slug="self")
    with (
        span("User Service", service="user-service"),
        span("DB Query", service="user-service"),
        db.writing(engine_of(request)) as conn,
    ):
        may_change_account(conn, caller, user_id)
        before = store.delete_user(conn, user_id, if_match=if_match)
        store.add_audit(
            conn,
            actor=caller.actor,
            action="user.deleted",
            target_type="user",
            target_id=str(user_id),
            old=before.data,
            new=None,
            request_id=request_id_of(request),
        )
    publish(request, "user.deleted", {"user": store.jsonable(before.data), **caller.event_actor})
    recheck_streams(request, user_id)
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
        with span("DB Query", service="user-service"), db.writing(engine_of(request)) as conn:
            store.get_user(conn, user_id)
            may_change_account(conn, caller, user_id, roles=[role])
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
                    request_id=request_id_of(request),
                )
        remember(request, after)
    if after is not before:
        publish(request, action, {"user": store.jsonable(after.data), "role": role, **caller.event_actor})
        if not granted:
            recheck_streams(request, user_id)
    return after


@router.put(
    "/users/{user_id}/roles/{role}",
    response_model=User,
    tags=["users"],
    responses={200: {"headers": ETAG_HEADER}, **WRITE_ONE},
)
def grant_role(
    request: Request,
    response: Response,
    user_id: UserId,
    role: RolePath,
    caller: WriteUsers,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Grant a role (idempotent): needs write:roles, or holding every permission of the role and the user."""
    record = _membership(request, caller, user_id, role, if_match, granted=True)
    with_etag(response, record.etag)
    return record.data


@router.delete(
    "/users/{user_id}/roles/{role}",
    response_model=User,
    tags=["users"],
    responses={200: {"headers": ETAG_HEADER}, **WRITE_MATCHED},
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
    with_etag(response, record.etag)
    return record.data


@router.get(
    "/users/{user_id}/permissions",
    response_model=EffectivePermissionList,
    tags=["users"],
    responses=READ_ONE,
)
def user_permissions(request: Request, user_id: UserId, caller: ReadUsers) -> dict[str, Any]:
    """The user's effective permissions, each with the roles it comes from (empty when disabled)."""
    with (
        span("User Service", service="user-service"),
        span("DB Query", service="user-service"),
        db.reading(engine_of(request)) as conn,
    ):
        items = store.effective_permissions(conn, user_id)
    return {"user_id": user_id, "items": items}
