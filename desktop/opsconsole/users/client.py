"""A typed async client of the users API: users, roles, permissions, grants, audit and ``me``.

It is handed the session's ``httpx.AsyncClient`` (``session.client()``: the profile's API as base URL,
the bearer token, request ids, timeouts) and never builds one. Every method returns parsed records
(models.py) or raises: :class:`errors.NotFound`, :class:`errors.Refused`, :class:`errors.Conflict`,
other :class:`net.ApiError`, :class:`net.MalformedResponse` when a success carries the wrong shape,
:class:`net.NetworkError` when the server cannot be reached.

Writes take the record they change, and send its ETag as ``If-Match``: a write never overwrites a
version its caller has not seen. When the server answers 412 (stale) or 428 (no version), the client
reads the record again and raises a Conflict carrying the current version and the refused change.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from .. import net
from .errors import Conflict, MissingVersion, NotFound, convert, specific
from .models import (
    AuditPage,
    EffectivePermissions,
    Me,
    Permission,
    Role,
    User,
    UserPage,
    UserQuery,
    parse_audit_page,
    parse_list,
    parse_user_page,
)
from .parse import ShapeError

T = TypeVar("T")
ALL_USERS = UserQuery()

DEFAULT_PAGE = 100
MAX_PAGE = 500  # the API's largest page


def _seg(value: str) -> str:
    """One path segment, quoted (an id or role name typed by a person must not change the path)."""
    return quote(value, safe="")


def _etag(record: User | Role) -> str:
    if not record.etag:
        what = f"user {record.email}" if isinstance(record, User) else f"role {record.name}"
        raise MissingVersion(
            f"the {what} carries no version (ETag), so it cannot be changed safely: read it again first"
        )
    return record.etag


class UsersClient:
    """The users API over an authenticated ``httpx.AsyncClient`` whose base URL is the profile's API."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    # -- plumbing ----------------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        if_match: str | None = None,
    ) -> httpx.Response:
        headers = {"If-Match": if_match} if if_match else None
        try:
            return await net.request(
                self.http, method, url, json_body=json_body, params=params, headers=headers
            )
        except net.ApiError as exc:
            raise specific(exc) from exc.__cause__

    @staticmethod
    def _parsed(response: httpx.Response, parser: Callable[[Any], T]) -> T:
        body = net.decode_json(response)
        try:
            return parser(body)
        except ShapeError as exc:
            raise net.MalformedResponse(
                status=response.status_code,
                title="The server's answer is not what the users API promises",
                detail=str(exc),
                request_id=str(
                    response.headers.get(net.REQUEST_ID_HEADER)
                    or response.request.headers.get(net.REQUEST_ID_HEADER, "")
                ),
                method=response.request.method,
                url=net.safe_url(str(response.request.url)),
            ) from None

    async def _get(self, url: str, parser: Callable[[Any], T], params: Mapping[str, Any] | None = None) -> T:
        return self._parsed(await self._send("GET", url, params=params), parser)

    async def _write(
        self,
        method: str,
        url: str,
        record: User | Role,
        attempted: Mapping[str, Any],
        *,
        json_body: Any = None,
    ) -> httpx.Response:
        """A write with ``If-Match: record.etag``; a stale version becomes a Conflict with the current one."""
        etag = _etag(record)
        try:
            return await self._send(method, url, json_body=json_body, if_match=etag)
        except Conflict as exc:
            if not exc.stale:
                raise
            reread: Awaitable[User | Role] = (
                self.get_user(record.id) if isinstance(record, User) else self.get_role(record.name)
            )
            try:
                current = await reread
            except NotFound:
                raise  # deleted meanwhile: that is the news, not the version
            conflict = convert(exc, Conflict, current=current, attempted=dict(attempted), sent_etag=etag)
            conflict.hint = (
                "someone changed it since it was read: look at the current version, then try again"
            )
            raise conflict from None

    @staticmethod
    def _user(response: httpx.Response) -> User:
        etag = response.headers.get("ETag")
        return UsersClient._parsed(response, lambda body: User.parse(body, etag=etag))

    @staticmethod
    def _role(response: httpx.Response) -> Role:
        etag = response.headers.get("ETag")
        return UsersClient._parsed(response, lambda body: Role.parse(body, etag=etag))

    # -- the signed-in account ---------------------------------------------------------------------

    async def me(self) -> Me:
        response = await self._send("GET", "me")
        etag = response.headers.get("ETag")
        return self._parsed(response, lambda body: Me.parse(body, etag=etag))

    # -- users: reading ----------------------------------------------------------------------------

    async def list_users(
        self,
        query: UserQuery = ALL_USERS,
        *,
        cursor: str | None = None,
        limit: int = DEFAULT_PAGE,
        count: bool = False,
    ) -> UserPage:
        """One page of users matching ``query``; pass the page's ``next_cursor`` for the next one.

        With ``count``, the page's ``total`` says how many match in all (the server counts with a second
        query: ask on the first page, not on every one).
        """
        params: dict[str, Any] = {**query.params(), "limit": max(1, min(limit, MAX_PAGE))}
        if cursor:
            params["cursor"] = cursor
        if count:
            params["count"] = "true"
        return await self._get("users", parse_user_page, params)

    async def walk_users(
        self, query: UserQuery = ALL_USERS, *, page_size: int = MAX_PAGE
    ) -> AsyncIterator[UserPage]:
        """Every page of users matching ``query``, in order (keyset paging: a deep page costs the same)."""
        cursor: str | None = None
        while True:
            page = await self.list_users(query, cursor=cursor, limit=page_size)
            yield page
            if page.next_cursor is None or not page.items:
                return
            cursor = page.next_cursor

    async def get_user(self, user_id: str) -> User:
        """One user with its ETag."""
        return self._user(await self._send("GET", f"users/{_seg(user_id)}"))

    async def find_user(self, email: str) -> User:
        """The user with this email (any case), with its ETag; NotFound when there is none."""
        page = await self._get("users", parse_user_page, {"email": email.strip(), "limit": 1})
        if not page.items:
            raise NotFound(status=404, title="Not found", detail=f"no user has the email {email.strip()}")
        found = page.items[0]
        return found if found.etag else await self.get_user(found.id)  # an older server gives none

    async def resolve_user(self, ref: str) -> User:
        """A user by id or by email (anything with an ``@``), with its ETag."""
        return await (self.find_user(ref) if "@" in ref else self.get_user(ref.strip()))

    async def permissions_of(self, user_id: str) -> EffectivePermissions:
        """The user's effective permissions, each with the roles it comes from."""
        return await self._get(f"users/{_seg(user_id)}/permissions", EffectivePermissions.parse)

    # -- users: writing ----------------------------------------------------------------------------

    async def create_user(
        self,
        *,
        email: str,
        name: str,
        roles: Iterable[str] = (),
        status: str = "active",
        password: str | None = None,
    ) -> User:
        body: dict[str, Any] = {"email": email, "name": name, "status": status, "roles": list(roles)}
        if password is not None:
            body["password"] = password
        return self._user(await self._send("POST", "users", json_body=body))

    async def update_user(self, user: User, *, name: str | None = None, email: str | None = None) -> User:
        """Change the name and/or email of ``user`` (the version it carries)."""
        body = {k: v for k, v in (("name", name), ("email", email)) if v is not None}
        if not body:
            return user
        return self._user(await self._write("PATCH", f"users/{_seg(user.id)}", user, body, json_body=body))

    async def set_password(self, user: User, password: str) -> User:
        response = await self._write(
            "PATCH", f"users/{_seg(user.id)}", user, {"password": "(new)"}, json_body={"password": password}
        )
        return self._user(response)

    async def disable_user(self, user: User) -> User:
        response = await self._write("POST", f"users/{_seg(user.id)}/disable", user, {"status": "disabled"})
        return self._user(response)

    async def enable_user(self, user: User) -> User:
        response = await self._write("POST", f"users/{_seg(user.id)}/enable", user, {"status": "active"})
        return self._user(response)

    async def delete_user(self, user: User) -> None:
        await self._write("DELETE", f"users/{_seg(user.id)}", user, {"deleted": True})

    async def grant_role(self, user: User, role: str) -> User:
        response = await self._write(
            "PUT", f"users/{_seg(user.id)}/roles/{_seg(role)}", user, {"grant": role}
        )
        return self._user(response)

    async def revoke_role(self, user: User, role: str) -> User:
        response = await self._write(
            "DELETE", f"users/{_seg(user.id)}/roles/{_seg(role)}", user, {"revoke": role}
        )
        return self._user(response)

    # -- roles and permissions ---------------------------------------------------------------------

    async def list_roles(self) -> list[Role]:
        return await self._get("roles", lambda body: parse_list(body, Role.parse))

    async def get_role(self, name: str) -> Role:
        return self._role(await self._send("GET", f"roles/{_seg(name)}"))

    async def create_role(self, name: str, *, description: str = "", permissions: Iterable[str] = ()) -> Role:
        body = {"name": name, "description": description, "permissions": list(permissions)}
        return self._role(await self._send("POST", "roles", json_body=body))

    async def delete_role(self, role: Role) -> None:
        await self._write("DELETE", f"roles/{_seg(role.name)}", role, {"deleted": True})

    async def set_role_permissions(self, role: Role, permissions: Iterable[str]) -> Role:
        wanted = sorted(set(permissions))
        response = await self._write(
            "PUT",
            f"roles/{_seg(role.name)}/permissions",
            role,
            {"permissions": wanted},
            json_body={"permissions": wanted},
        )
        return self._role(response)

    async def role_members(
        self, name: str, *, cursor: str | None = None, limit: int = DEFAULT_PAGE
    ) -> UserPage:
        """A page of the users holding the role ``name``."""
        return await self.list_users(UserQuery(role=name), cursor=cursor, limit=limit)

    async def list_permissions(self) -> list[Permission]:
        return await self._get("permissions", lambda body: parse_list(body, Permission.parse))

    # -- audit -------------------------------------------------------------------------------------

    async def audit(
        self,
        *,
        target_id: str | None = None,
        action: str | None = None,
        actor: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> AuditPage:
        """Audit entries, newest first, optionally for one target (a user's id, a role's name)."""
        params: dict[str, Any] = {"limit": max(1, min(limit, MAX_PAGE))}
        for key, value in (
            ("target_id", target_id),
            ("action", action),
            ("actor", actor),
            ("cursor", cursor),
        ):
            if value:
                params[key] = value
        return await self._get("audit", parse_audit_page, params)
