"""``/api/roles`` and ``/api/permissions``: the role catalog and what each role allows."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from .. import db, store
from ..tracing import span
from .common import (
    IfMatch,
    ReadRoles,
    RolePath,
    WriteRoles,
    engine_of,
    publish,
    recheck_streams,
    request_id_of,
    with_etag,
)
from .models import (
    CREATE,
    ETAG_HEADER,
    READ,
    READ_ONE,
    WRITE_BODY,
    WRITE_MATCHED,
    PermissionList,
    Role,
    RoleCreate,
    RoleList,
    RolePermissions,
)

router = APIRouter(prefix="/api")


@router.get("/roles", response_model=RoleList, tags=["roles"], responses=READ)
def list_roles(request: Request, caller: ReadRoles) -> dict[str, Any]:
    """Every role, each with how many users hold it."""
    with (
        span("User Service", service="user-service"),
        span("DB Query", service="user-service"),
        db.reading(engine_of(request)) as conn,
    ):
        items = store.list_roles(conn, members=True)
    return {"items": items}


@router.post(
    "/roles",
    response_model=Role,
    status_code=201,
    tags=["roles"],
    responses={201: {"headers": ETAG_HEADER}, **CREATE},
)
def create_role(request: Request, response: Response, body: RoleCreate, caller: WriteRoles) -> dict[str, Any]:
    with (
        span("User Service", service="user-service"),
        span("DB Query", service="user-service"),
        db.writing(engine_of(request)) as conn,
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
            request_id=request_id_of(request),
        )
    publish(request, "role.created", {"role": record.data, **caller.event_actor})
    with_etag(response, record.etag)
    response.headers["Location"] = f"/api/roles/{body.name}"
    return record.data


@router.get(
    "/roles/{role}",
    response_model=Role,
    tags=["roles"],
    responses={200: {"headers": ETAG_HEADER}, **READ_ONE},
)
def get_role(request: Request, response: Response, role: RolePath, caller: ReadRoles) -> dict[str, Any]:
    with (
        span("User Service", service="user-service"),
        span("DB Query", service="user-service"),
        db.reading(engine_of(request)) as conn,
    ):
        record = store.get_role(conn, role)
    with_etag(response, record.etag)
    return record.data


@router.delete(
    "/roles/{role}", status_code=204, response_class=Response, tags=["roles"], responses=WRITE_MATCHED
)
def delete_role(request: Request, role: RolePath, caller: WriteRoles, if_match: IfMatch = None) -> Response:
    """Delete a role nobody holds; needs If-Match."""
    with (
        span("User Service", service="user-service"),
        span("DB Query", service="user-service"),
        db.writing(engine_of(request)) as conn,
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
            request_id=request_id_of(request),
        )
    publish(request, "role.deleted", {"role": before.data, **caller.event_actor})
    return Response(status_code=204)


@router.put(
    "/roles/{role}/permissions",
    response_model=Role,
    tags=["roles"],
    responses={200: {"headers": ETAG_HEADER}, **WRITE_BODY},
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
        db.writing(engine_of(request)) as conn,
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
                request_id=request_id_of(request),
            )
    if after is not before:
        publish(request, "role.updated", {"role": after.data, **caller.event_actor})
        recheck_streams(request, None)  # its holders may have lost a permission their streams read with
    with_etag(response, after.etag)
    return after.data


@router.get("/permissions", response_model=PermissionList, tags=["roles"], responses=READ)
def list_permissions(request: Request, caller: ReadRoles) -> dict[str, Any]:
    with (
        span("User Service", service="user-service"),
        span("DB Query", service="user-service"),
        db.reading(engine_of(request)) as conn,
    ):
        items = store.list_permissions(conn)
    return {"items": items}
