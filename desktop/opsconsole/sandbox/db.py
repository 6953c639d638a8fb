"""The sandbox's storage: SQLAlchemy Core tables and the engine, the same code on SQLite and PostgreSQL.

Tables follow the RBAC schema of the system (users with UUID keys, roles, permissions, role_permissions,
user_roles) plus the audit trail and the authorization server's state (codes, sessions, i.e. refresh-token
families, refresh tokens, revoked access-token ids). The schema is created on start and stamped with
its version in ``sandbox_meta`` so a later release can migrate it.

SQLite runs in WAL mode with the driver's own transaction handling switched off, so that this module
decides when a transaction begins: writers use :func:`writing`, which starts with ``BEGIN IMMEDIATE`` and
therefore waits for the write lock (``busy_timeout``) instead of failing half way through a
read-then-write transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Dialect, Engine

from .settings import SandboxSettings

log = logging.getLogger("opsconsole.sandbox.db")

SCHEMA_VERSION = 1
SQLITE_FILE = "sandbox.db"

EMAIL_MAX = 254
NAME_MAX = 200
ROLE_NAME_MAX = 64
PERMISSION_NAME_MAX = 100
DESCRIPTION_MAX = 500


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both databases.

    SQLite has no time zone type, so values are stored there as naive UTC (ISO text that sorts in time
    order, which the keyset paging relies on) and come back as aware UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _sort_text(length: int) -> sa.types.TypeEngine[str]:
    """Text that sorts by code point on both databases (SQLite's default; "C" on PostgreSQL), so that a
    page boundary means the same thing whichever database the sandbox runs on."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


# SQLite only auto-increments INTEGER PRIMARY KEY, so wide ids fall back to INTEGER there.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

sandbox_meta = sa.Table(
    "sandbox_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("email", sa.String(EMAIL_MAX), nullable=False),
    # The lower-cased email carries the uniqueness, so "Ann@x" and "ann@x" cannot both exist.
    sa.Column("email_key", _sort_text(EMAIL_MAX), nullable=False, unique=True),
    sa.Column("name", _sort_text(NAME_MAX), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("password_hash", sa.String(200), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
    sa.CheckConstraint("status IN ('active', 'disabled')", name="status"),
    # Keyset paging walks these (sort key, id) pairs.
    sa.Index(None, "created_at", "id"),
    sa.Index(None, "updated_at", "id"),
    sa.Index(None, "name", "id"),
    sa.Index(None, "status", "created_at", "id"),
)

roles = sa.Table(
    "roles",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(ROLE_NAME_MAX), nullable=False, unique=True),
    sa.Column("description", sa.String(DESCRIPTION_MAX), nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
    # AUTOINCREMENT on SQLite: a deleted role's id is never handed to a new role.
    sqlite_autoincrement=True,
)

permissions = sa.Table(
    "permissions",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(PERMISSION_NAME_MAX), nullable=False, unique=True),
    sa.Column("description", sa.String(DESCRIPTION_MAX), nullable=False, server_default=""),
    sqlite_autoincrement=True,
)

role_permissions = sa.Table(
    "role_permissions",
    metadata,
    sa.Column("role_id", sa.ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("permission_id", sa.ForeignKey("permissions.id", ondelete="CASCADE"), primary_key=True),
    sa.Index(None, "permission_id"),
)

user_roles = sa.Table(
    "user_roles",
    metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role_id", sa.ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("granted_at", UTCDateTime(), nullable=False),
    sa.Index(None, "role_id", "user_id"),
)

audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("time", UTCDateTime(), nullable=False),
    sa.Column("actor_id", sa.Uuid(), nullable=True),
    sa.Column("actor", sa.String(EMAIL_MAX), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target_type", sa.String(32), nullable=False),
    sa.Column("target_id", sa.String(100), nullable=False),
    sa.Column("old", sa.JSON(), nullable=True),
    sa.Column("new", sa.JSON(), nullable=True),
    sa.Column("request_id", sa.String(128), nullable=True),
    sa.Index(None, "target_id", "id"),
    sa.Index(None, "action", "id"),
    sqlite_autoincrement=True,
)

oauth_sessions = sa.Table(
    "oauth_sessions",
    metadata,
    # One sign-in: the family of refresh tokens that descend from one authorization code.
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("scope", sa.String(1000), nullable=False),
    sa.Column("auth_time", UTCDateTime(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    sa.Column("revoked_reason", sa.String(64), nullable=True),
    sa.Index(None, "user_id"),
    sa.Index(None, "expires_at"),
)

oauth_codes = sa.Table(
    "oauth_codes",
    metadata,
    # Only a SHA-256 of the code is stored: a copy of the database does not hand out sign-ins.
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("redirect_uri", sa.String(512), nullable=False),
    sa.Column("scope", sa.String(1000), nullable=False),
    sa.Column("code_challenge", sa.String(128), nullable=False),
    sa.Column("nonce", sa.String(512), nullable=True),
    sa.Column("auth_time", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("used_at", UTCDateTime(), nullable=True),
    # The session its exchange created, so that a replayed code can revoke what it issued.
    sa.Column("session_id", sa.Uuid(), nullable=True),
    sa.Index(None, "expires_at"),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("session_id", sa.ForeignKey("oauth_sessions.id", ondelete="CASCADE"), nullable=False),
    sa.Column("issued_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("used_at", UTCDateTime(), nullable=True),
    sa.Index(None, "session_id"),
)

revoked_access_tokens = sa.Table(
    "revoked_access_tokens",
    metadata,
    sa.Column("jti", sa.String(64), primary_key=True),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
)


login_throttle = sa.Table(
    "login_throttle",
    metadata,
    # Failed sign-ins per account ("account:" + SHA-256 of the lower-cased email, so typed guesses are
    # not kept) and per client address ("address:" + IP). A row is forgotten at expires_at.
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("failures", sa.Integer(), nullable=False),
    sa.Column("locked_until", UTCDateTime(), nullable=True),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Index(None, "expires_at"),
)

used_forms = sa.Table(
    "used_forms",
    metadata,
    # The ids of sealed login and consent forms already posted: each form is good for one post.
    sa.Column("form_id", sa.String(64), primary_key=True),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Index(None, "expires_at"),
)

device_codes = sa.Table(
    "device_codes",
    metadata,
    # RFC 8628: one pending sign-in from another device. Only hashes of both codes are stored.
    sa.Column("device_code_hash", sa.String(64), primary_key=True),
    sa.Column("user_code_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("scope", sa.String(1000), nullable=False),
    # pending -> approved | denied; approved -> used (tokens issued, once).
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    sa.Column("auth_time", UTCDateTime(), nullable=True),
    sa.Column("interval", sa.Integer(), nullable=False),
    sa.Column("last_poll_at", UTCDateTime(), nullable=True),
    sa.Column("session_id", sa.Uuid(), nullable=True),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'approved', 'denied', 'used')", name="status"),
    sa.Index(None, "expires_at"),
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def insert_new(conn: Connection, table: sa.Table, **values: Any) -> bool:
    """INSERT a row unless its key exists (``ON CONFLICT DO NOTHING``); True when this call inserted it.

    Atomic on both databases, so two concurrent callers cannot both get True for one key.
    """
    insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT through SQLAlchemy.
    statement = insert(table).values(**values).on_conflict_do_nothing().returning(*table.primary_key.columns)
    return conn.execute(statement).first() is not None


def pairs(rows: Iterable[Any]) -> dict[Any, Any]:
    """A dict from two-column result rows (first column the key)."""
    return {row[0]: row[1] for row in rows}


def uuid7(when: dt.datetime | None = None, random_bits: int | None = None) -> uuid.UUID:
    """A version 7 UUID (RFC 9562): time-ordered, so new rows land at the end of the key index.

    ``random_bits`` (74 bits) lets the seeder draw them from its own seeded generator.
    """
    when = when or utcnow()
    millis = int(when.timestamp() * 1000) & ((1 << 48) - 1)
    rand = secrets.randbits(74) if random_bits is None else random_bits & ((1 << 74) - 1)
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return uuid.UUID(int=value)


def database_url(settings: SandboxSettings) -> str:
    """The SQLAlchemy URL for ``settings``: SQLite in the data dir, or the given PostgreSQL URL.

    ``postgresql://`` and ``postgres://`` URLs are mapped to the psycopg 3 driver.
    """
    if settings.db_url is None:
        return f"sqlite:///{settings.data_dir / SQLITE_FILE}"
    url = settings.db_url.strip()
    for prefix in ("postgresql+psycopg://", "sqlite:///"):
        if url.startswith(prefix):
            return url
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(
        "--db must be a postgresql://... URL (or sqlite:///FILE); other databases are not supported"
    )


def _setup_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to the "begin" hook below (the pysqlite recipe in SQLAlchemy's docs).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")


def create_engine_for(settings: SandboxSettings) -> Engine:
    """An engine for the configured database (the data dir is created for SQLite)."""
    url = database_url(settings)
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            poolclass=sa.pool.QueuePool,
            pool_size=8,
            max_overflow=32,
        )
        _setup_sqlite(engine)
        return engine
    return sa.create_engine(url, pool_size=8, max_overflow=24, pool_pre_ping=True)


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction: committed on success, rolled back on error (SQLite: ``BEGIN IMMEDIATE``)."""
    with engine.connect() as conn:
        conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            yield conn


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read transaction: one consistent snapshot for several queries."""
    with engine.connect() as conn, conn.begin():
        yield conn


class SchemaTooNew(RuntimeError):
    """The database was written by a newer sandbox than this one."""


def create_schema(engine: Engine) -> None:
    """Create the tables that are missing and stamp (or check) the schema version."""
    metadata.create_all(engine)
    with writing(engine) as conn:
        row = conn.execute(
            sa.select(sandbox_meta.c.value).where(sandbox_meta.c.key == "schema_version")
        ).scalar_one_or_none()
        if row is None:
            conn.execute(sa.insert(sandbox_meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
        elif int(row) > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"the database has schema version {row}; this sandbox knows up to {SCHEMA_VERSION}"
            )
        # Version 1 is the first schema: later versions add their migration steps here, in order.


def purge_expired(engine: Engine) -> int:
    """Delete expired codes, refresh tokens, sessions and revocation entries; returns rows deleted."""
    now = utcnow()
    deleted = 0
    with writing(engine) as conn:
        for table in (
            oauth_codes,
            refresh_tokens,
            revoked_access_tokens,
            used_forms,
            device_codes,
            login_throttle,
        ):
            deleted += conn.execute(sa.delete(table).where(table.c.expires_at < now)).rowcount
        deleted += conn.execute(sa.delete(oauth_sessions).where(oauth_sessions.c.expires_at < now)).rowcount
    return deleted
