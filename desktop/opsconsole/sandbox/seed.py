"""Seeding: the role and permission catalog, the demo accounts and N realistic users, fast.

Seeding only ever writes into an empty database (no users yet), so restarting the sandbox keeps what
people did in it. The N generated users share one scrypt hash of the sandbox password, computed once:
hashing 100k passwords one by one would take over an hour, and every account is meant to sign in with
the same documented password anyway. Rows go in with executemany batches (100k users in a few
seconds on SQLite and PostgreSQL).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import logging
import random
import time
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import db
from .passwords import hash_password, verify_password

log = logging.getLogger("opsconsole.sandbox.seed")

# Permission names are scope names: an access token's API scopes are the requested ones the user's
# roles allow.
PERMISSIONS: dict[str, str] = {
    "read:users": "See users, their roles and the audit trail",
    "write:users": "Create, edit, disable, enable and delete users; grant roles you hold",
    "read:roles": "See roles and their permissions",
    "write:roles": "Create and delete roles, change their permissions, grant any role",
    "read:posts": "Read posts (example permission of the seed system)",
    "write:posts": "Write posts (example permission of the seed system)",
    "delete:posts": "Delete posts (example permission of the seed system)",
    "read:reports": "Read reports (example permission of the seed system)",
    "read:telemetry": "Read /metrics and /jaeger when the sandbox is reachable beyond loopback",
}

ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "admin": (
        "Manages users and roles",
        ("read:users", "write:users", "read:roles", "write:roles", "read:telemetry"),
    ),
    "support": ("Helps users: edits accounts, reads roles", ("read:users", "write:users", "read:roles")),
    "viewer": ("Read-only access to users and roles", ("read:users", "read:roles")),
    "editor": ("Writes and moderates posts", ("read:posts", "write:posts", "delete:posts")),
    "analyst": ("Reads reports and the user directory", ("read:reports", "read:users")),
}

DEMO_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("admin@sandbox.test", "Sandbox Admin", "admin"),
    ("support@sandbox.test", "Sandbox Support", "support"),
    ("viewer@sandbox.test", "Sandbox Viewer", "viewer"),
)

_FIRST = (
    "Ada",
    "Alan",
    "Amara",
    "Ana",
    "Anders",
    "Aiko",
    "Amir",
    "Anna",
    "Arjun",
    "Astrid",
    "Beatriz",
    "Ben",
    "Bianca",
    "Björn",
    "Camille",
    "Carlos",
    "Chen",
    "Chiara",
    "Chloé",
    "Daniel",
    "Daniela",
    "David",
    "Divya",
    "Elena",
    "Elif",
    "Emma",
    "Erik",
    "Fatima",
    "Felix",
    "Francesca",
    "Freya",
    "Gabriel",
    "Grace",
    "Hana",
    "Hannah",
    "Hiroshi",
    "Ibrahim",
    "Ines",
    "Ingrid",
    "Isabel",
    "Ivan",
    "Jakub",
    "Jamal",
    "Jana",
    "Javier",
    "Jin",
    "Johan",
    "José",
    "Julia",
    "Kai",
    "Kamala",
    "Karim",
    "Katarzyna",
    "Kenji",
    "Lars",
    "Laura",
    "Leila",
    "Léa",
    "Liam",
    "Lina",
    "Lucas",
    "Luca",
    "Lucía",
    "Magnus",
    "Maja",
    "Malik",
    "Marco",
    "María",
    "Marta",
    "Mateo",
    "Mei",
    "Mia",
    "Mikhail",
    "Mohammed",
    "Nadia",
    "Naomi",
    "Nikhil",
    "Nils",
    "Noah",
    "Nora",
    "Olga",
    "Omar",
    "Oscar",
    "Paula",
    "Pedro",
    "Priya",
    "Rafael",
    "Rania",
    "Ravi",
    "Rosa",
    "Sakura",
    "Samuel",
    "Sara",
    "Sebastián",
    "Sofia",
    "Sven",
    "Tariq",
    "Thomas",
    "Tomás",
    "Valentina",
    "Wei",
    "Yara",
    "Yusuf",
    "Zainab",
    "Zoe",
)
_LAST = (
    "Abe",
    "Adeyemi",
    "Ahmed",
    "Alvarez",
    "Andersson",
    "Bakker",
    "Banerjee",
    "Becker",
    "Bernard",
    "Bianchi",
    "Brown",
    "Castro",
    "Chen",
    "Costa",
    "Cruz",
    "Dang",
    "Davies",
    "Dubois",
    "Dvořák",
    "Eriksen",
    "Fernández",
    "Fischer",
    "Fontaine",
    "García",
    "Gomes",
    "Gonzalez",
    "Gupta",
    "Hansen",
    "Hoffmann",
    "Horvat",
    "Ivanova",
    "Jansen",
    "Jensen",
    "Johansson",
    "Kato",
    "Khan",
    "Kim",
    "Kowalski",
    "Kumar",
    "Lambert",
    "Larsen",
    "Laurent",
    "Lee",
    "Lindqvist",
    "Lopez",
    "Martin",
    "Martínez",
    "Meyer",
    "Moreau",
    "Müller",
    "Murphy",
    "Nakamura",
    "Nguyen",
    "Nielsen",
    "Novak",
    "Okafor",
    "Olsen",
    "Ortiz",
    "Park",
    "Patel",
    "Pereira",
    "Petrov",
    "Popescu",
    "Quinn",
    "Ramos",
    "Reddy",
    "Rossi",
    "Russo",
    "Sánchez",
    "Santos",
    "Sato",
    "Schmidt",
    "Schneider",
    "Silva",
    "Singh",
    "Smith",
    "Sousa",
    "Suzuki",
    "Takahashi",
    "Tanaka",
    "Taylor",
    "Thompson",
    "Torres",
    "Tran",
    "Valdez",
    "Vargas",
    "Varga",
    "Virtanen",
    "Wagner",
    "Walker",
    "Wang",
    "Weber",
    "Williams",
    "Wilson",
    "Wójcik",
    "Yamamoto",
    "Yilmaz",
    "Zhang",
)
_DOMAINS = ("example.com", "example.org", "example.net", "corp.example", "mail.example", "shop.example")

# How generated users are spread over roles: mostly viewers, a few admins, some without any role.
_ROLE_MIX: tuple[tuple[tuple[str, ...], float], ...] = (
    (("viewer",), 0.62),
    (("support",), 0.12),
    (("editor",), 0.08),
    (("analyst",), 0.05),
    (("viewer", "editor"), 0.05),
    (("admin",), 0.02),
    ((), 0.06),
)
_DISABLED_SHARE = 0.04
_BATCH = 5000
_HISTORY = dt.timedelta(days=3 * 365)


@dataclass(frozen=True)
class SeedResult:
    seeded: bool
    users_created: int
    seconds: float


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


def _seed_catalog(conn: Connection, now: dt.datetime) -> dict[str, int]:
    """Insert the permission and role catalog; returns role ids by name."""
    conn.execute(sa.insert(db.permissions), [{"name": n, "description": d} for n, d in PERMISSIONS.items()])
    permission_ids = db.pairs(conn.execute(sa.select(db.permissions.c.name, db.permissions.c.id)).all())
    conn.execute(
        sa.insert(db.roles),
        [
            {"name": name, "description": desc, "created_at": now, "updated_at": now, "version": 1}
            for name, (desc, _) in ROLES.items()
        ],
    )
    role_ids = db.pairs(conn.execute(sa.select(db.roles.c.name, db.roles.c.id)).all())
    conn.execute(
        sa.insert(db.role_permissions),
        [
            {"role_id": role_ids[name], "permission_id": permission_ids[perm]}
            for name, (_, perms) in ROLES.items()
            for perm in perms
        ],
    )
    return role_ids


def _add_new_permissions(conn: Connection) -> None:
    """Bring a database seeded by an older sandbox up to the catalog: permissions added since, each
    given to the seed roles that carry it (if those roles still exist). Nothing else is touched."""
    have = set(conn.execute(sa.select(db.permissions.c.name)).scalars())
    new = {name: text for name, text in PERMISSIONS.items() if name not in have}
    if not new:
        return
    conn.execute(sa.insert(db.permissions), [{"name": n, "description": d} for n, d in new.items()])
    permission_ids = db.pairs(
        conn.execute(
            sa.select(db.permissions.c.name, db.permissions.c.id).where(db.permissions.c.name.in_(new))
        )
    )
    role_ids = db.pairs(
        conn.execute(sa.select(db.roles.c.name, db.roles.c.id).where(db.roles.c.name.in_(ROLES)))
    )
    grants = [
        {"role_id": role_ids[role], "permission_id": permission_ids[perm]}
        for role, (_, perms) in ROLES.items()
        for perm in perms
        if perm in new and role in role_ids
    ]
    if grants:
        conn.execute(sa.insert(db.role_permissions), grants)
        # The roles changed: a new version, so that ETags read before no longer match.
        changed = {g["role_id"] for g in grants}
        conn.execute(
            sa.update(db.roles)
            .where(db.roles.c.id.in_(changed))
            .values(version=db.roles.c.version + 1, updated_at=db.utcnow())
        )
    log.info("added to the permission catalog: %s", ", ".join(sorted(new)))


_USER_COLUMNS = (
    "id",
    "email",
    "email_key",
    "name",
    "status",
    "password_hash",
    "created_at",
    "updated_at",
    "version",
)
_MEMBERSHIP_COLUMNS = ("user_id", "role_id", "granted_at")


def _generated_users(
    count: int, rng: random.Random, password_hash: str, role_ids: dict[str, int], now: dt.datetime
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Batches of (user rows, user_role rows) as tuples in column order, oldest account first."""
    used: dict[str, int] = {}
    firsts = [(f, _ascii(f)) for f in _FIRST]
    lasts = [(n, _ascii(n)) for n in _LAST]
    mixes = [tuple(r for r in roles if r in role_ids) for roles, _ in _ROLE_MIX]
    cumulative = list(itertools.accumulate(w for _, w in _ROLE_MIX))
    start = now - _HISTORY
    step_us = int(_HISTORY / dt.timedelta(microseconds=1)) // max(count, 1)
    users: list[tuple[Any, ...]] = []
    memberships: list[tuple[Any, ...]] = []
    random_ = rng.random
    for i in range(count):
        first, first_ascii = firsts[int(random_() * len(firsts))]
        last, last_ascii = lasts[int(random_() * len(lasts))]
        domain = _DOMAINS[int(random_() * len(_DOMAINS))]
        local = f"{first_ascii}.{last_ascii}"
        key = f"{local}@{domain}"
        n = used.get(key, 0) + 1
        used[key] = n
        email = key if n == 1 else f"{local}{n}@{domain}"
        created = start + dt.timedelta(microseconds=step_us * i + int(random_() * step_us))
        updated = created
        if random_() < 0.3:
            updated = min(created + dt.timedelta(seconds=int(random_() * 90 * 86400)), now)
        user_id = db.uuid7(created, rng.getrandbits(74))
        status = "disabled" if random_() < _DISABLED_SHARE else "active"
        users.append((user_id, email, email, f"{first} {last}", status, password_hash, created, updated, 1))
        mix = mixes[bisect.bisect(cumulative, random_() * cumulative[-1])]
        for role in mix:
            memberships.append((user_id, role_ids[role], created))
        if len(users) >= _BATCH:
            yield users, memberships
            users, memberships = [], []
    if users:
        yield users, memberships


def _sqlite_value(value: Any) -> Any:
    # The forms SQLAlchemy's Uuid and UTCDateTime store on SQLite (hex text; naive UTC ISO text).
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value


def _bulk_insert(conn: Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Insert many rows past SQLAlchemy's per-value processing: COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    placeholders = ", ".join("?" for _ in columns)
    converted = [tuple(_sqlite_value(v) for v in row) for row in rows]
    # Table and column names are this module's constants; the values go in as parameters.
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
    conn.exec_driver_sql(statement, converted)


def _seed_users(
    conn: Connection,
    count: int,
    password_hash: str,
    role_ids: dict[str, int],
    rng: random.Random,
    now: dt.datetime,
) -> None:
    if conn.dialect.name == "sqlite":
        # A bigger page cache for this connection while the indexes grow; put back afterwards.
        conn.exec_driver_sql("PRAGMA cache_size=-131072")
    try:
        for users, memberships in _generated_users(count, rng, password_hash, role_ids, now):
            _bulk_insert(conn, "users", _USER_COLUMNS, users)
            _bulk_insert(conn, "user_roles", _MEMBERSHIP_COLUMNS, memberships)
    finally:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA cache_size=-2000")


def _refresh_demo_passwords(conn: Connection, password: str) -> None:
    """Give the demo accounts the configured password if a restart changed ``--password``."""
    emails = [email for email, _, _ in DEMO_ACCOUNTS]
    stored = conn.execute(
        sa.select(db.users.c.password_hash).where(db.users.c.email_key == emails[0])
    ).scalar_one_or_none()
    if stored is None or verify_password(password, stored):
        return
    conn.execute(
        sa.update(db.users)
        .where(db.users.c.email_key.in_(emails))
        .values(password_hash=hash_password(password))
    )
    log.info("demo accounts now use the configured password")


def seed_database(engine: Engine, *, password: str, users: int = 0, random_seed: int = 0) -> SeedResult:
    """Seed an empty database: catalog, the three demo accounts and ``users`` generated users.

    A database that already has users is left as it is, apart from the demo accounts' password.
    """
    started = time.perf_counter()
    with db.writing(engine) as conn:
        existing = conn.execute(sa.select(sa.func.count()).select_from(db.users)).scalar_one()
        if existing:
            if users:
                log.warning("the database already has %d users: --users %d is ignored", existing, users)
            _refresh_demo_passwords(conn, password)
            _add_new_permissions(conn)
            return SeedResult(False, 0, time.perf_counter() - started)
        now = db.utcnow()
        password_hash = hash_password(password)
        role_ids = _seed_catalog(conn, now) if not _has_roles(conn) else _existing_role_ids(conn)
        conn.execute(
            sa.insert(db.users),
            [
                {
                    "id": db.uuid7(now),
                    "email": email,
                    "email_key": email,
                    "name": name,
                    "status": "active",
                    "password_hash": password_hash,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
                for email, name, _ in DEMO_ACCOUNTS
            ],
        )
        demo_ids = db.pairs(
            conn.execute(
                sa.select(db.users.c.email_key, db.users.c.id).where(
                    db.users.c.email_key.in_([e for e, _, _ in DEMO_ACCOUNTS])
                )
            ).all()
        )
        conn.execute(
            sa.insert(db.user_roles),
            [
                {"user_id": demo_ids[email], "role_id": role_ids[role], "granted_at": now}
                for email, _, role in DEMO_ACCOUNTS
                if role in role_ids
            ],
        )
        if users:
            _seed_users(conn, users, password_hash, role_ids, random.Random(random_seed), now)  # noqa: S311
            # Fresh planner statistics: without them PostgreSQL sorts 100k rows for a 100-row page.
            conn.exec_driver_sql("ANALYZE")
    seconds = time.perf_counter() - started
    log.info("seeded %d users in %.1f s", users + len(DEMO_ACCOUNTS), seconds)
    return SeedResult(True, users + len(DEMO_ACCOUNTS), seconds)


def _has_roles(conn: Connection) -> bool:
    return conn.execute(sa.select(db.roles.c.id).limit(1)).first() is not None


def _existing_role_ids(conn: Connection) -> dict[str, int]:
    return db.pairs(conn.execute(sa.select(db.roles.c.name, db.roles.c.id)).all())
