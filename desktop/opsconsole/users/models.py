"""The records of the users API (users, roles, permissions, audit, ``me``), parsed strictly from JSON.

Each record is a frozen, slotted dataclass with a ``parse(value, path)`` that checks every field it
reads (parse.py) and, where the contract defines a JSON shape (INTERFACE.md: a user, a role), a
``to_json()`` giving exactly that shape. A record carries the server's ETag, which a write sends back
as ``If-Match``: a user read on its own gets it from the ETag header, a user from a list page from the
item's ``etag`` (the same value), so a write from a list row needs no read first. A record without one
(``etag=None``: a role from the list, a user from an event) cannot be written until it is read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .parse import Obj, ShapeError

STATUSES = ("active", "disabled")
T = TypeVar("T")

SORTS = ("created_at", "-created_at", "updated_at", "-updated_at", "email", "-email", "name", "-name")


# A page of users repeats a handful of role lists and two statuses: sharing one copy of each keeps a
# Users page scrolled through 100k rows about a fifth smaller (bench/users_api.py). Bounded, in case a
# system has a great many distinct role combinations.
_SHARED_MAX = 4096
_shared: dict[object, Any] = {}


def shared(value: T) -> T:
    """One copy of a small, often-repeated immutable value (a role list, a status)."""
    found = _shared.get(value)
    if found is not None:
        return found  # type: ignore[no-any-return]
    if len(_shared) < _SHARED_MAX:
        _shared[value] = value
    return value


def iso(value: dt.datetime) -> str:
    """RFC 3339 UTC with a ``Z``, as the API writes times."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass(slots=True, frozen=True)
class User:
    id: str
    email: str
    name: str
    status: str
    roles: tuple[str, ...]
    created_at: dt.datetime
    updated_at: dt.datetime
    etag: str | None = None

    @classmethod
    def parse(cls, value: object, path: str = "", *, etag: str | None = None) -> User:
        # The hot path of a 100k-row list: well-formed users are built straight from the dict (a third
        # of the cost of the checked readers, bench/users_api.py). Anything it does not accept as it
        # stands goes through the checked readers, which either accept it the same way or name what
        # is wrong.
        if type(value) is dict:
            fast = _user_fast(value, etag)
            if fast is not None:
                return fast
        o = Obj(value, path)
        return cls(
            id=o.text("id", nonempty=True),
            email=o.text("email"),
            name=o.text("name"),
            status=shared(o.text("status", nonempty=True)),
            roles=shared(o.texts("roles")),
            created_at=o.time("created_at"),
            updated_at=o.time("updated_at"),
            etag=etag if etag is not None else o.opt_text("etag") or None,
        )

    @property
    def active(self) -> bool:
        return self.status == "active"

    def to_json(self) -> dict[str, Any]:
        """The contract's user shape."""
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "status": self.status,
            "roles": list(self.roles),
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


def _time_fast(text: object) -> dt.datetime | None:
    if type(text) is not str:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _user_fast(data: dict[str, Any], etag: str | None) -> User | None:
    """A well-formed user dict as a User, or None (then the checked readers say what is wrong)."""
    try:
        uid, email, name, status = data["id"], data["email"], data["name"], data["status"]
        roles, created, updated = data["roles"], data["created_at"], data["updated_at"]
    except KeyError:
        return None
    if not (
        type(uid) is str
        and uid
        and type(email) is str
        and type(name) is str
        and type(status) is str
        and status
    ):
        return None
    if type(roles) is not list or not all(type(r) is str for r in roles):
        return None
    created_at = _time_fast(created)
    updated_at = created_at if updated == created else _time_fast(updated)
    if created_at is None or updated_at is None:
        return None
    if etag is None:  # a list item carries its own (the header's value for a user read alone)
        etag = data.get("etag")
        if etag is not None and (type(etag) is not str or not etag):
            return None
    return User(uid, email, name, shared(status), shared(tuple(roles)), created_at, updated_at, etag)


@dataclass(slots=True, frozen=True)
class UserQuery:
    """What a users list shows: filters and sort, as one value (a new value starts the list afresh)."""

    search: str = ""
    role: str = ""
    status: str = ""
    sort: str = "created_at"

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}")
        if self.status and self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")

    def params(self) -> dict[str, str]:
        """The query parameters of ``GET /users`` for this query (empty filters left out)."""
        params = {"sort": self.sort}
        if self.search.strip():
            params["search"] = self.search.strip()
        if self.role:
            params["role"] = self.role
        if self.status:
            params["status"] = self.status
        return params


@dataclass(slots=True, frozen=True)
class Page(Generic[T]):
    """One page of a keyset-paged list, and the cursor of the next (None on the last page)."""

    items: tuple[T, ...]
    next_cursor: str | None
    total: int | None = None
    """How many match the query over all pages, when the server was asked to count (``count=true``)."""

    @staticmethod
    def parse(value: object, item: Callable[[object, str], T], path: str = "") -> Page[T]:
        o = Obj(value, path)
        items = tuple(item(each, where) for each, where in o.items("items"))
        return Page(items, o.opt_text("next_cursor") or None, o.opt_whole("total"))


@dataclass(slots=True, frozen=True)
class Me:
    """The signed-in account: ``permissions`` are what its roles allow now, ``scopes`` what the token carries."""

    user: User
    permissions: frozenset[str]
    scopes: frozenset[str]

    @classmethod
    def parse(cls, value: object, path: str = "", *, etag: str | None = None) -> Me:
        o = Obj(value, path)
        return cls(
            User.parse(value, path, etag=etag),
            frozenset(o.texts("permissions")),
            frozenset(o.texts("scopes")),
        )

    def holds(self, permission: str) -> bool:
        """Both the token and the account's roles allow ``permission`` (what the API checks)."""
        return permission in self.permissions and permission in self.scopes


@dataclass(slots=True, frozen=True)
class Role:
    name: str
    description: str
    permissions: tuple[str, ...]
    etag: str | None = None
    member_count: int | None = None
    """How many users hold the role: given by the roles list (``GET /roles``), not by a single read."""

    @classmethod
    def parse(cls, value: object, path: str = "", *, etag: str | None = None) -> Role:
        o = Obj(value, path)
        return cls(
            o.text("name", nonempty=True),
            o.text("description"),
            o.texts("permissions"),
            etag,
            o.opt_whole("member_count"),
        )

    def to_json(self) -> dict[str, Any]:
        """The contract's role shape."""
        return {"name": self.name, "description": self.description, "permissions": list(self.permissions)}


@dataclass(slots=True, frozen=True)
class Permission:
    name: str
    description: str

    @classmethod
    def parse(cls, value: object, path: str = "") -> Permission:
        o = Obj(value, path)
        return cls(o.text("name", nonempty=True), o.text("description"))


@dataclass(slots=True, frozen=True)
class EffectivePermission:
    """A permission the user holds, with the user's roles that carry it."""

    name: str
    description: str
    roles: tuple[str, ...]

    @classmethod
    def parse(cls, value: object, path: str = "") -> EffectivePermission:
        o = Obj(value, path)
        return cls(o.text("name", nonempty=True), o.text("description"), o.texts("roles"))


@dataclass(slots=True, frozen=True)
class EffectivePermissions:
    user_id: str
    items: tuple[EffectivePermission, ...]

    @classmethod
    def parse(cls, value: object, path: str = "") -> EffectivePermissions:
        o = Obj(value, path)
        items = tuple(EffectivePermission.parse(item, where) for item, where in o.items("items"))
        return cls(o.text("user_id", nonempty=True), items)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.items)


@dataclass(slots=True, frozen=True)
class AuditEntry:
    """One change: who, what, to which target, and the values before (``old``) and after (``new``)."""

    id: int
    time: dt.datetime
    actor: str
    actor_id: str | None
    action: str
    target_type: str
    target_id: str
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None
    request_id: str | None

    @classmethod
    def parse(cls, value: object, path: str = "") -> AuditEntry:
        o = Obj(value, path)
        return cls(
            id=o.whole("id"),
            time=o.time("time"),
            actor=o.text("actor"),
            actor_id=o.opt_text("actor_id"),
            action=o.text("action", nonempty=True),
            target_type=o.text("target_type"),
            target_id=o.text("target_id"),
            old=o.opt_mapping("old"),
            new=o.opt_mapping("new"),
            request_id=o.opt_text("request_id"),
        )

    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, old value, new value) for each field that differs, ``updated_at`` left out."""
        old, new = self.old or {}, self.new or {}
        keys = [k for k in (*old, *(k for k in new if k not in old)) if k != "updated_at"]
        return [(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k)]


UserPage = Page[User]
AuditPage = Page[AuditEntry]


def parse_user_page(value: object, path: str = "") -> Page[User]:
    return Page.parse(value, User.parse, path)


def parse_audit_page(value: object, path: str = "") -> Page[AuditEntry]:
    return Page.parse(value, AuditEntry.parse, path)


def parse_list(value: object, parser: Callable[[object, str], T], path: str = "") -> list[T]:
    """``{"items": [...]}`` parsed item by item with ``parser``."""
    return [parser(item, where) for item, where in Obj(value, path).items("items")]


__all__ = [
    "SORTS",
    "STATUSES",
    "AuditEntry",
    "AuditPage",
    "EffectivePermission",
    "EffectivePermissions",
    "Me",
    "Page",
    "Permission",
    "Role",
    "ShapeError",
    "User",
    "UserPage",
    "UserQuery",
    "iso",
    "parse_audit_page",
    "parse_list",
    "parse_user_page",
]
