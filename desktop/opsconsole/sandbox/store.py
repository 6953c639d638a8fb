"""The directory's data access: users, roles, permissions, memberships and the audit trail.

Every function takes a :class:`~sqlalchemy.engine.Connection` inside a transaction opened by the caller
(``db.reading`` / ``db.writing``), so one API request is one transaction and its audit row commits or
rolls back with the change it describes. Functions return plain JSON-ready dicts in the shapes of the
outside contract; they raise :mod:`problems` errors for the client's mistakes.

Optimistic concurrency: each user and role row has a ``version``; its ETag is that version plus a tag
of the row's identity, and writes are conditional on the version read in the same transaction, so a
concurrent writer turns into a 412 rather than a lost update.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import threading
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from . import db
from .problems import Conflict, InvalidInput, NotFound, PreconditionFailed, PreconditionRequired

USER_STATUSES = ("active", "disabled")
SORTS = ("created_at", "-created_at", "updated_at", "-updated_at", "email", "-email", "name", "-name")
MAX_LIMIT = 500
CURSOR_MAX = 512


@dataclass(frozen=True)
class Actor:
    """Who is making a change: recorded in the audit trail and on events."""

    id: uuid.UUID | None
    email: str

    @classmethod
    def system(cls) -> Actor:
        return cls(id=None, email="system")


def iso(value: dt.datetime) -> str:
    """RFC 3339 UTC with a ``Z``, the form used on the wire, in events and in the audit trail."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def jsonable(resource: Mapping[str, Any]) -> dict[str, Any]:
    """``resource`` with datetimes as strings: for events and audit rows."""
    return {k: iso(v) if isinstance(v, dt.datetime) else v for k, v in resource.items()}


def make_etag(kind: str, identity: str, created_at: dt.datetime, version: int) -> str:
    # The identity tag keeps a recreated role (same name, same version number) from matching old ETags.
    tag = hashlib.sha256(f"{kind}:{identity}:{iso(created_at)}".encode()).hexdigest()[:12]
    return f'"{version}-{tag}"'


def check_if_match(if_match: str | None, current: str, *, required: bool) -> None:
    """Enforce an ``If-Match`` precondition (RFC 9110 13.1.1, strong comparison)."""
    if if_match is None or not if_match.strip():
        if required:
            raise PreconditionRequired()
        return
    tags = [t.strip() for t in if_match.split(",") if t.strip()]
    if "*" in tags or current in tags:
        return
    raise PreconditionFailed(current)


def normalize_email(email: str) -> tuple[str, str]:
    """(email as given, trimmed; its lower-cased uniqueness key)."""
    trimmed = email.strip()
    return trimmed, trimmed.lower()


# --- users -------------------------------------------------------------------------------------------

_USER_COLUMNS = (
    db.users.c.id,
    db.users.c.email,
    db.users.c.name,
    db.users.c.status,
    db.users.c.created_at,
    db.users.c.updated_at,
    db.users.c.version,
)


# The user's role names in the same query (one index lookup per row): group_concat on SQLite,
# string_agg on PostgreSQL. Role names cannot contain a comma (ROLE_NAME_PATTERN in api.py).
_ROLE_NAMES = (
    sa.select(sa.func.aggregate_strings(db.roles.c.name, ","))
    .select_from(db.user_roles)
    .join(db.roles, db.roles.c.id == db.user_roles.c.role_id)
    .where(db.user_roles.c.user_id == db.users.c.id)
    .scalar_subquery()
)


def _roles_by_user(conn: Connection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    found: dict[uuid.UUID, list[str]] = defaultdict(list)
    if not ids:
        return found
    rows = conn.execute(
        sa.select(db.user_roles.c.user_id, db.roles.c.name)
        .join(db.roles, db.roles.c.id == db.user_roles.c.role_id)
        .where(db.user_roles.c.user_id.in_(ids))
        .order_by(db.roles.c.name)
    )
    for user_id, role_name in rows:
        found[user_id].append(role_name)
    return found


def _user_dict(row: RowMapping, roles: list[str]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "email": row["email"],
        "name": row["name"],
        "status": row["status"],
        "roles": roles,
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def user_etag(row: RowMapping | Mapping[str, Any]) -> str:
    return make_etag("user", str(row["id"]), row["created_at"], int(row["version"]))


@dataclass(frozen=True)
class UserRecord:
    """A user as stored: the public representation, its ETag and its version."""

    data: dict[str, Any]
    etag: str
    version: int

    @property
    def id(self) -> uuid.UUID:
        return uuid.UUID(self.data["id"])


class UserCache:
    """Rendered users by (id, version): a version never changes meaning, so an entry is never stale.

    It saves the roles query when a user that was just listed or changed is read again.
    """

    def __init__(self, size: int = 20_000) -> None:
        self._size = size
        self._items: OrderedDict[tuple[uuid.UUID, int], UserRecord] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, user_id: uuid.UUID, version: int) -> UserRecord | None:
        with self._lock:
            record = self._items.get((user_id, version))
            if record is not None:
                self._items.move_to_end((user_id, version))
            return record

    def put(self, records: Iterable[UserRecord]) -> None:
        with self._lock:
            for record in records:
                key = (record.id, record.version)
                self._items[key] = record
                self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def get_user(conn: Connection, user_id: uuid.UUID, cache: UserCache | None = None) -> UserRecord:
    row = conn.execute(sa.select(*_USER_COLUMNS).where(db.users.c.id == user_id)).mappings().first()
    if row is None:
        raise NotFound(f"no user with id {user_id}")
    if cache is not None:
        cached = cache.get(user_id, int(row["version"]))
        if cached is not None:
            return cached
    roles = _roles_by_user(conn, [user_id]).get(user_id, [])
    return UserRecord(_user_dict(row, roles), user_etag(row), int(row["version"]))


def find_user_id_by_email(conn: Connection, email: str) -> uuid.UUID | None:
    _, key = normalize_email(email)
    found: uuid.UUID | None = conn.execute(
        sa.select(db.users.c.id).where(db.users.c.email_key == key)
    ).scalar_one_or_none()
    return found


def login_record(conn: Connection, email: str) -> RowMapping | None:
    """id, email, name, status and password hash of the account with ``email`` (any case)."""
    _, key = normalize_email(email)
    return (
        conn.execute(
            sa.select(
                db.users.c.id,
                db.users.c.email,
                db.users.c.name,
                db.users.c.status,
                db.users.c.password_hash,
                db.users.c.updated_at,
            ).where(db.users.c.email_key == key)
        )
        .mappings()
        .first()
    )


_SORT_COLUMNS = {
    "created_at": db.users.c.created_at,
    "updated_at": db.users.c.updated_at,
    "email": db.users.c.email_key,
    "name": db.users.c.name,
}


def _encode_cursor(sort: str, value: Any, last_id: uuid.UUID) -> str:
    payload = {"s": sort, "v": iso(value) if isinstance(value, dt.datetime) else value, "i": last_id.hex}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad_cursor(why: str) -> InvalidInput:
    return InvalidInput(f"invalid cursor: {why}; start again without a cursor", status=400)


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, uuid.UUID]:
    if len(cursor) > CURSOR_MAX:
        raise _bad_cursor("too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _bad_cursor("not one this server issued") from None
    if not isinstance(payload, dict) or set(payload) != {"s", "v", "i"}:
        raise _bad_cursor("not one this server issued")
    if payload["s"] != sort:
        raise _bad_cursor(f"it belongs to sort={payload['s']!s:.20}, not sort={sort}")
    try:
        last_id = uuid.UUID(hex=str(payload["i"]))
    except ValueError:
        raise _bad_cursor("malformed position") from None
    value = payload["v"]
    if not isinstance(value, str) or len(value) > 300:
        raise _bad_cursor("malformed position")
    if sort.lstrip("-") in ("created_at", "updated_at"):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise _bad_cursor("malformed position") from None
        if parsed.tzinfo is None:
            raise _bad_cursor("malformed position")
        return parsed, last_id
    return value, last_id


def _user_filters(
    *, search: str | None, role: str | None, status: str | None, email: str | None
) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses of a users list: the page and its count use the same ones."""
    where: list[sa.ColumnElement[bool]] = []
    if search:
        term = search.strip()
        where.append(
            sa.or_(
                db.users.c.email_key.contains(term.lower(), autoescape=True),
                db.users.c.name.icontains(term, autoescape=True),
            )
        )
    if email:
        where.append(db.users.c.email_key == normalize_email(email)[1])
    if status:
        where.append(db.users.c.status == status)
    if role:
        where.append(
            sa.exists()
            .where(db.user_roles.c.user_id == db.users.c.id)
            .where(db.user_roles.c.role_id == db.roles.c.id)
            .where(db.roles.c.name == role)
        )
    return where


def count_users(
    conn: Connection,
    *,
    search: str | None = None,
    role: str | None = None,
    status: str | None = None,
    email: str | None = None,
) -> int:
    """How many users match the same filters as :func:`list_users` (in the caller's transaction, so a
    page and its count see the same data)."""
    if status is not None and status not in USER_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(USER_STATUSES)}", status=400)
    if role and status and not (search or email):
        return _count_role_with_status(conn, role, status)
    where = _user_filters(search=search, role=None, status=status, email=email)
    if not role:
        query = sa.select(sa.func.count()).select_from(db.users)
    else:
        # Counted from the role's members (the (role_id, user_id) index), joining users only for the
        # other filters: probing the membership once per user took 200 ms at 100k users with a status.
        members = db.user_roles.join(db.roles, db.roles.c.id == db.user_roles.c.role_id)
        if where:
            members = members.join(db.users, db.users.c.id == db.user_roles.c.user_id)
        query = sa.select(sa.func.count()).select_from(members).where(db.roles.c.name == role)
    count: int = conn.execute(query.where(*where)).scalar_one()
    return count


def _count_role_with_status(conn: Connection, role: str, status: str) -> int:
    """Holders of ``role`` with ``status``, counted from whichever side is smallest.

    Joining a large role's members to their users costs a lookup per member (about 50 ms for 67k
    members at 100k users on SQLite), and so does probing the role for each user of a common status.
    Index-only counts, each stopping once it passes the role's size, say which side is smallest: the
    role's members (joined to their users), the users with ``status`` (each probed for the role), or
    the users with the other status (probed, and subtracted from the members).
    """
    role_id = conn.execute(sa.select(db.roles.c.id).where(db.roles.c.name == role)).scalar_one_or_none()
    if role_id is None:
        return 0

    def count(query: sa.Select[Any]) -> int:
        found: int = conn.execute(query).scalar_one()
        return found

    def with_status(value: str, limit: int) -> int:
        some = sa.select(db.users.c.id).where(db.users.c.status == value).limit(limit).subquery()
        return count(sa.select(sa.func.count()).select_from(some))

    def holding(value: str) -> sa.Select[Any]:
        holds = (
            sa.exists()
            .where(db.user_roles.c.user_id == db.users.c.id)
            .where(db.user_roles.c.role_id == role_id)
        )
        return sa.select(sa.func.count()).select_from(db.users).where(db.users.c.status == value, holds)

    members_query = (
        sa.select(sa.func.count()).select_from(db.user_roles).where(db.user_roles.c.role_id == role_id)
    )
    members = count(members_query)
    other = next(s for s in USER_STATUSES if s != status)  # two statuses: the rest is the other one
    rest = with_status(other, members + 1)
    same = with_status(status, min(members, rest) + 1)  # past the smaller of the two, its size is moot
    if members <= min(same, rest):
        joined = db.user_roles.join(db.users, db.users.c.id == db.user_roles.c.user_id)
        return count(
            sa.select(sa.func.count())
            .select_from(joined)
            .where(db.user_roles.c.role_id == role_id, db.users.c.status == status)
        )
    if same <= rest:
        return count(holding(status))
    return members - count(holding(other))  # the members less those with the other status


def list_users(
    conn: Connection,
    *,
    limit: int = 50,
    cursor: str | None = None,
    search: str | None = None,
    role: str | None = None,
    status: str | None = None,
    sort: str = "created_at",
    email: str | None = None,
) -> tuple[list[UserRecord], str | None]:
    """One page of users in ``sort`` order and the cursor of the next page (None on the last).

    Keyset paging on (sort key, id): a deep page costs the same as the first one, and rows inserted
    or deleted meanwhile never shift a page.
    """
    if sort not in SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(SORTS)}", status=400)
    if status is not None and status not in USER_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(USER_STATUSES)}", status=400)
    limit = max(1, min(limit, MAX_LIMIT))
    descending = sort.startswith("-")
    key = _SORT_COLUMNS[sort.lstrip("-")]
    query = sa.select(*_USER_COLUMNS, key.label("sort_key"), _ROLE_NAMES.label("role_names")).where(
        *_user_filters(search=search, role=role, status=status, email=email)
    )
    if cursor:
        after_value, after_id = _decode_cursor(cursor, sort)
        # A row-value comparison: both databases turn it into one range scan of the (key, id) index.
        position = sa.tuple_(key, db.users.c.id)
        after = sa.tuple_(sa.literal(after_value, key.type), sa.literal(after_id, db.users.c.id.type))
        query = query.where(position < after if descending else position > after)
    if descending:
        query = query.order_by(key.desc(), db.users.c.id.desc())
    else:
        query = query.order_by(key.asc(), db.users.c.id.asc())
    rows = conn.execute(query.limit(limit + 1)).mappings().all()
    more = len(rows) > limit
    rows = rows[:limit]
    records = [
        UserRecord(
            _user_dict(r, sorted(r["role_names"].split(",")) if r["role_names"] else []),
            user_etag(r),
            int(r["version"]),
        )
        for r in rows
    ]
    next_cursor = _encode_cursor(sort, rows[-1]["sort_key"], rows[-1]["id"]) if more and rows else None
    return records, next_cursor


def _role_ids(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(names))
    if not wanted:
        return {}
    found = db.pairs(
        conn.execute(sa.select(db.roles.c.name, db.roles.c.id).where(db.roles.c.name.in_(wanted))).all()
    )
    missing = [n for n in wanted if n not in found]
    if missing:
        raise InvalidInput(f"no such role: {', '.join(missing)}")
    return found


def _email_taken(conn: Connection, key: str, except_id: uuid.UUID | None = None) -> bool:
    query = sa.select(db.users.c.id).where(db.users.c.email_key == key)
    if except_id is not None:
        query = query.where(db.users.c.id != except_id)
    return conn.execute(query.limit(1)).first() is not None


def create_user(
    conn: Connection,
    *,
    email: str,
    name: str,
    status: str = "active",
    roles: Sequence[str] = (),
    password_hash: str | None = None,
    now: dt.datetime | None = None,
) -> UserRecord:
    now = now or db.utcnow()
    email, key = normalize_email(email)
    if _email_taken(conn, key):
        raise Conflict(f"a user with email {email} already exists", slug="duplicate-email")
    role_ids = _role_ids(conn, roles)
    user_id = db.uuid7(now)
    conn.execute(
        sa.insert(db.users).values(
            id=user_id,
            email=email,
            email_key=key,
            name=name.strip(),
            status=status,
            password_hash=password_hash,
            created_at=now,
            updated_at=now,
            version=1,
        )
    )
    if role_ids:
        conn.execute(
            sa.insert(db.user_roles),
            [{"user_id": user_id, "role_id": rid, "granted_at": now} for rid in role_ids.values()],
        )
    return get_user(conn, user_id)


def _bump_user(conn: Connection, record: UserRecord, values: dict[str, Any], now: dt.datetime) -> None:
    """Write ``values`` and a new version, provided nobody changed the user since ``record`` was read."""
    result = conn.execute(
        sa.update(db.users)
        .where(db.users.c.id == record.id, db.users.c.version == record.version)
        .values(**values, updated_at=now, version=record.version + 1)
    )
    if result.rowcount != 1:
        raise PreconditionFailed(None)


def update_user(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    if_match: str | None,
    email: str | None = None,
    name: str | None = None,
    status: str | None = None,
    password_hash: str | None = None,
    require_if_match: bool = True,
) -> tuple[UserRecord, UserRecord]:
    """Apply the given changes; returns (before, after). Nothing given: the user is returned unchanged."""
    before = get_user(conn, user_id)
    check_if_match(if_match, before.etag, required=require_if_match)
    values: dict[str, Any] = {}
    if email is not None:
        email, key = normalize_email(email)
        if email != before.data["email"]:
            if _email_taken(conn, key, except_id=user_id):
                raise Conflict(f"a user with email {email} already exists", slug="duplicate-email")
            values.update(email=email, email_key=key)
    if name is not None and name.strip() != before.data["name"]:
        values["name"] = name.strip()
    if status is not None and status != before.data["status"]:
        values["status"] = status
    if password_hash is not None:
        values["password_hash"] = password_hash
    if not values:
        return before, before
    _bump_user(conn, before, values, db.utcnow())
    return before, get_user(conn, user_id)


def delete_user(conn: Connection, user_id: uuid.UUID, *, if_match: str | None) -> UserRecord:
    before = get_user(conn, user_id)
    check_if_match(if_match, before.etag, required=True)
    result = conn.execute(
        sa.delete(db.users).where(db.users.c.id == user_id, db.users.c.version == before.version)
    )
    if result.rowcount != 1:
        raise PreconditionFailed(None)
    return before


def set_membership(
    conn: Connection, user_id: uuid.UUID, role: str, *, granted: bool, if_match: str | None, required: bool
) -> tuple[UserRecord, UserRecord]:
    """Grant (``granted``) or revoke ``role``; idempotent. Returns (before, after)."""
    before = get_user(conn, user_id)
    check_if_match(if_match, before.etag, required=required)
    role_row = get_role_row(conn, role)
    has_it = role in before.data["roles"]
    if has_it == granted:
        return before, before
    now = db.utcnow()
    if granted:
        conn.execute(sa.insert(db.user_roles).values(user_id=user_id, role_id=role_row["id"], granted_at=now))
    else:
        conn.execute(
            sa.delete(db.user_roles).where(
                db.user_roles.c.user_id == user_id, db.user_roles.c.role_id == role_row["id"]
            )
        )
    # The user's representation lists its roles, so a membership change is a new version of the user.
    _bump_user(conn, before, {}, now)
    return before, get_user(conn, user_id)


# --- permissions and the has_permission check ---------------------------------------------------------


def _permission_rows_query(user_id: uuid.UUID) -> sa.Select[Any]:
    return (
        sa.select(db.permissions.c.name, db.permissions.c.description, db.roles.c.name.label("role"))
        .select_from(db.user_roles)
        .join(db.roles, db.roles.c.id == db.user_roles.c.role_id)
        .join(db.role_permissions, db.role_permissions.c.role_id == db.roles.c.id)
        .join(db.permissions, db.permissions.c.id == db.role_permissions.c.permission_id)
        .join(db.users, db.users.c.id == db.user_roles.c.user_id)
        .where(db.user_roles.c.user_id == user_id, db.users.c.status == "active")
    )


def has_permission(conn: Connection, user_id: uuid.UUID, permission: str) -> bool:
    """The system's RBAC check: does any of the user's roles carry ``permission``?

    A disabled account holds no permissions, whatever its roles.
    """
    query = _permission_rows_query(user_id).where(db.permissions.c.name == permission).limit(1)
    return conn.execute(query).first() is not None


def permission_names(conn: Connection, user_id: uuid.UUID) -> set[str]:
    """Every permission the (active) user holds through any role."""
    return {row.name for row in conn.execute(_permission_rows_query(user_id))}


def permissions_carried(conn: Connection, user_id: uuid.UUID) -> set[str]:
    """Every permission the user's roles carry, whether or not the account is disabled.

    Who may change an account is judged by this rather than by :func:`permission_names`: a disabled
    account gets its roles' permissions back when enabled, so disabling must not make it fair game.
    """
    query = (
        sa.select(db.permissions.c.name)
        .select_from(db.user_roles)
        .join(db.role_permissions, db.role_permissions.c.role_id == db.user_roles.c.role_id)
        .join(db.permissions, db.permissions.c.id == db.role_permissions.c.permission_id)
        .where(db.user_roles.c.user_id == user_id)
    )
    return set(conn.execute(query).scalars())


def end_sessions(conn: Connection, user_id: uuid.UUID, reason: str, *, keep: uuid.UUID | None = None) -> int:
    """Revoke the user's live sign-in sessions (refresh-token families), all but ``keep``.

    Access tokens carry their session's id (``sid``), and every API call checks that the session is
    live, so they stop working at once too. Returns how many sessions were ended.
    """
    s = db.oauth_sessions.c
    query = sa.update(db.oauth_sessions).where(s.user_id == user_id, s.revoked_at.is_(None))
    if keep is not None:
        query = query.where(s.id != keep)
    ended: int = conn.execute(query.values(revoked_at=db.utcnow(), revoked_reason=reason)).rowcount
    return ended


def effective_permissions(conn: Connection, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """The user's permissions, each with the roles it comes from (a disabled user's list is empty)."""
    get_user(conn, user_id)
    merged: dict[str, dict[str, Any]] = {}
    for row in conn.execute(_permission_rows_query(user_id).order_by(db.permissions.c.name, db.roles.c.name)):
        entry = merged.setdefault(row.name, {"name": row.name, "description": row.description, "roles": []})
        entry["roles"].append(row.role)
    return list(merged.values())


def list_permissions(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(db.permissions.c.name, db.permissions.c.description).order_by(db.permissions.c.name)
    )
    return [{"name": r.name, "description": r.description} for r in rows]


# --- roles -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleRecord:
    data: dict[str, Any]
    etag: str
    version: int
    id: int


def get_role_row(conn: Connection, name: str) -> RowMapping:
    row = conn.execute(sa.select(db.roles).where(db.roles.c.name == name)).mappings().first()
    if row is None:
        raise NotFound(f"no role named {name}")
    return row


def _permissions_by_role(conn: Connection, role_ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    if not role_ids:
        return found
    rows = conn.execute(
        sa.select(db.role_permissions.c.role_id, db.permissions.c.name)
        .join(db.permissions, db.permissions.c.id == db.role_permissions.c.permission_id)
        .where(db.role_permissions.c.role_id.in_(role_ids))
        .order_by(db.permissions.c.name)
    )
    for role_id, name in rows:
        found[role_id].append(name)
    return found


def _role_record(row: RowMapping, permissions: list[str]) -> RoleRecord:
    data = {"name": row["name"], "description": row["description"], "permissions": permissions}
    etag = make_etag("role", row["name"], row["created_at"], int(row["version"]))
    return RoleRecord(data, etag, int(row["version"]), int(row["id"]))


def get_role(conn: Connection, name: str) -> RoleRecord:
    row = get_role_row(conn, name)
    return _role_record(row, _permissions_by_role(conn, [row["id"]]).get(row["id"], []))


def member_counts(conn: Connection) -> dict[int, int]:
    """How many users hold each role, by role id (one GROUP BY over the membership index; a role
    nobody holds is absent)."""
    rows = conn.execute(
        sa.select(db.user_roles.c.role_id, sa.func.count()).group_by(db.user_roles.c.role_id)
    ).all()
    return {int(role_id): int(count) for role_id, count in rows}


def list_roles(conn: Connection, *, members: bool = False) -> list[dict[str, Any]]:
    """Every role by name; with ``members``, each carries ``member_count``."""
    rows = conn.execute(sa.select(db.roles).order_by(db.roles.c.name)).mappings().all()
    perms = _permissions_by_role(conn, [r["id"] for r in rows])
    items = [_role_record(r, perms.get(r["id"], [])).data for r in rows]
    if members:
        counts = member_counts(conn)
        for row, item in zip(rows, items, strict=True):
            item["member_count"] = counts.get(int(row["id"]), 0)
    return items


def _permission_ids(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(names))
    if not wanted:
        return {}
    found = db.pairs(
        conn.execute(
            sa.select(db.permissions.c.name, db.permissions.c.id).where(db.permissions.c.name.in_(wanted))
        ).all()
    )
    missing = [n for n in wanted if n not in found]
    if missing:
        raise InvalidInput(f"no such permission: {', '.join(missing)} (GET /api/permissions lists them)")
    return found


def create_role(conn: Connection, *, name: str, description: str, permissions: Sequence[str]) -> RoleRecord:
    if conn.execute(sa.select(db.roles.c.id).where(db.roles.c.name == name)).first() is not None:
        raise Conflict(f"a role named {name} already exists", slug="duplicate-role")
    permission_ids = _permission_ids(conn, permissions)
    now = db.utcnow()
    role_id = conn.execute(
        sa.insert(db.roles)
        .values(name=name, description=description.strip(), created_at=now, updated_at=now, version=1)
        .returning(db.roles.c.id)
    ).scalar_one()
    if permission_ids:
        conn.execute(
            sa.insert(db.role_permissions),
            [{"role_id": role_id, "permission_id": pid} for pid in permission_ids.values()],
        )
    return get_role(conn, name)


def role_holders(conn: Connection, role_id: int) -> int:
    count: int = conn.execute(
        sa.select(sa.func.count()).select_from(db.user_roles).where(db.user_roles.c.role_id == role_id)
    ).scalar_one()
    return count


def delete_role(conn: Connection, name: str, *, if_match: str | None) -> RoleRecord:
    before = get_role(conn, name)
    check_if_match(if_match, before.etag, required=True)
    holders = role_holders(conn, before.id)
    if holders:
        raise Conflict(
            f"role {name} is still granted to {holders} user(s); revoke it from them first",
            slug="role-in-use",
        )
    result = conn.execute(
        sa.delete(db.roles).where(db.roles.c.id == before.id, db.roles.c.version == before.version)
    )
    if result.rowcount != 1:
        raise PreconditionFailed(None)
    return before


def set_role_permissions(
    conn: Connection, name: str, permissions: Sequence[str], *, if_match: str | None
) -> tuple[RoleRecord, RoleRecord]:
    before = get_role(conn, name)
    check_if_match(if_match, before.etag, required=True)
    permission_ids = _permission_ids(conn, permissions)
    if sorted(permission_ids) == before.data["permissions"]:
        return before, before
    result = conn.execute(
        sa.update(db.roles)
        .where(db.roles.c.id == before.id, db.roles.c.version == before.version)
        .values(version=before.version + 1, updated_at=db.utcnow())
    )
    if result.rowcount != 1:
        raise PreconditionFailed(None)
    conn.execute(sa.delete(db.role_permissions).where(db.role_permissions.c.role_id == before.id))
    if permission_ids:
        conn.execute(
            sa.insert(db.role_permissions),
            [{"role_id": before.id, "permission_id": pid} for pid in permission_ids.values()],
        )
    return before, get_role(conn, name)


def role_permission_names(conn: Connection, role_name: str) -> set[str]:
    row = get_role_row(conn, role_name)
    return set(_permissions_by_role(conn, [row["id"]]).get(row["id"], []))


# --- audit -------------------------------------------------------------------------------------------


def add_audit(
    conn: Connection,
    *,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    request_id: str | None,
) -> None:
    conn.execute(
        sa.insert(db.audit).values(
            time=db.utcnow(),
            actor_id=actor.id,
            actor=actor.email,
            action=action,
            target_type=target_type,
            target_id=target_id,
            old=jsonable(old) if old is not None else None,
            new=jsonable(new) if new is not None else None,
            request_id=request_id,
        )
    )


def list_audit(
    conn: Connection,
    *,
    limit: int = 50,
    cursor: str | None = None,
    target_id: str | None = None,
    action: str | None = None,
    actor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Audit entries, newest first, with the cursor of the next (older) page."""
    limit = max(1, min(limit, MAX_LIMIT))
    query = sa.select(db.audit)
    if cursor:
        if len(cursor) > 18 or not cursor.isdigit():
            raise _bad_cursor("not one this server issued")
        query = query.where(db.audit.c.id < int(cursor))
    if target_id:
        query = query.where(db.audit.c.target_id == target_id)
    if action:
        query = query.where(db.audit.c.action == action)
    if actor:
        query = query.where(sa.func.lower(db.audit.c.actor) == actor.strip().lower())
    rows = conn.execute(query.order_by(db.audit.c.id.desc()).limit(limit + 1)).mappings().all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        {
            "id": int(r["id"]),
            "time": r["time"],
            "actor": r["actor"],
            "actor_id": str(r["actor_id"]) if r["actor_id"] else None,
            "action": r["action"],
            "target_type": r["target_type"],
            "target_id": r["target_id"],
            "old": r["old"],
            "new": r["new"],
            "request_id": r["request_id"],
        }
        for r in rows
    ]
    return items, (str(rows[-1]["id"]) if more and rows else None)
