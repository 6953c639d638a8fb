"""The API's wire formats: request and response models, input patterns, and problem responses.

The patterns are in the OpenAPI document, so clients can check input before sending it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .. import db
from ..problems import PROBLEM_MEDIA_TYPE

# No control characters anywhere (PostgreSQL rejects NUL; they are never meant in a name), and at
# least one visible character. The patterns are in the OpenAPI document, so clients can check first.
_NAME_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
_EMAIL_PATTERN = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$"
_TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
SEARCH_PATTERN = r"^[^\x00-\x1f\x7f]*$"
ROLE_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
PERMISSION_PATTERN = r"^[a-z][a-z0-9_-]{0,48}:[a-z][a-z0-9_.-]{0,48}$"
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,512}$"

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


class UserListItem(User):
    etag: str = Field(
        description="The user's version, the same as `GET /api/users/{id}` gives in its ETag header: send it "
        "as If-Match to write without reading the user first"
    )


class UserPage(BaseModel):
    items: list[UserListItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")
    total: int | None = Field(
        default=None,
        ge=0,
        description="How many users match the filters (all pages); present only when `count=true` was asked",
    )


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


class RoleListItem(Role):
    member_count: int = Field(ge=0, description="How many users hold the role now")


class RoleList(BaseModel):
    items: list[RoleListItem]


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


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "Malformed request (bad cursor, bad query)",
        401: "No valid access token",
        403: "The token lacks the scope, the account's roles lack the permission, or (a write to an account) "
        "the target holds permissions you lack (outranks-you)",
        404: "No such resource",
        409: "Conflicts with the current state (duplicate, in use, yourself)",
        412: "If-Match does not match the current ETag",
        413: "The body is over the API's limit (1 MiB)",
        422: "The body or a parameter is invalid",
        428: "If-Match is required",
    }
    return {s: {"model": Problem, "description": descriptions[s]} for s in statuses}


ETAG_HEADER = {"ETag": {"description": "The resource's version, for If-Match", "schema": {"type": "string"}}}
READ = problem_responses(401, 403, 422)
READ_ONE = problem_responses(401, 403, 404, 422)
WRITE_ONE = problem_responses(401, 403, 404, 409, 412, 422)
WRITE_MATCHED = problem_responses(401, 403, 404, 409, 412, 422, 428)
WRITE_BODY = problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 428)
CREATE = problem_responses(400, 401, 403, 409, 413, 422)


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
