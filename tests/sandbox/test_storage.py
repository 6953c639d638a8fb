"""The sandbox's storage on both databases: schema, seeding, RBAC checks, keyset paging, ETags, audit."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from opsconsole.sandbox import db, seed, store
from opsconsole.sandbox.passwords import verify_password
from opsconsole.sandbox.problems import (
    Conflict,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
)
from opsconsole.sandbox.settings import SandboxSettings


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    url = request.getfixturevalue("postgres_db_url") if request.param == "postgresql" else None
    engine = db.create_engine_for(SandboxSettings(data_dir=tmp_path, db_url=url))
    db.create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def seeded(engine: sa.Engine) -> sa.Engine:
    result = seed.seed_database(engine, password="sandbox", users=240, random_seed=7)
    assert result.seeded and result.users_created == 243
    return engine


def _user_count(engine: sa.Engine) -> int:
    with db.reading(engine) as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(db.users)).scalar_one())


def test_schema_is_stamped_and_creating_it_again_is_harmless(engine: sa.Engine) -> None:
    db.create_schema(engine)
    with db.reading(engine) as conn:
        version = conn.execute(sa.select(db.sandbox_meta.c.value)).scalar_one()
    assert version == str(db.SCHEMA_VERSION)


def test_a_database_from_a_newer_sandbox_is_refused(engine: sa.Engine) -> None:
    with db.writing(engine) as conn:
        conn.execute(sa.update(db.sandbox_meta).values(value=str(db.SCHEMA_VERSION + 1)))
    with pytest.raises(db.SchemaTooNew):
        db.create_schema(engine)


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = db.create_engine_for(SandboxSettings(data_dir=tmp_path))
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert (tmp_path / db.SQLITE_FILE).exists()
    finally:
        engine.dispose()


def test_database_urls_map_to_the_psycopg_driver(tmp_path: Path) -> None:
    def url(value: str | None) -> str:
        return db.database_url(SandboxSettings(data_dir=tmp_path, db_url=value))

    assert url(None) == f"sqlite:///{tmp_path / db.SQLITE_FILE}"
    assert url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    with pytest.raises(ValueError, match="postgresql"):
        url("mysql://u@h/d")


def test_seed_creates_catalog_demo_accounts_and_realistic_users(seeded: sa.Engine) -> None:
    with db.reading(seeded) as conn:
        roles = {r["name"]: r["permissions"] for r in store.list_roles(conn)}
        assert roles["admin"] == ["read:roles", "read:telemetry", "read:users", "write:roles", "write:users"]
        assert roles["support"] == ["read:roles", "read:users", "write:users"]
        assert roles["viewer"] == ["read:roles", "read:users"]
        assert any("read:posts" in perms for perms in roles.values())
        for email, _, role in seed.DEMO_ACCOUNTS:
            user_id = store.find_user_id_by_email(conn, email)
            assert user_id is not None
            assert store.get_user(conn, user_id).data["roles"] == [role]
            row = store.login_record(conn, email.upper())
            assert row is not None and verify_password("sandbox", row["password_hash"])
        rows = conn.execute(sa.select(db.users.c.email_key, db.users.c.name, db.users.c.status)).all()
    emails = [r.email_key for r in rows]
    assert len(emails) == len(set(emails)) == 243
    assert all("@" in e and " " in n for e, n, _ in rows)
    statuses = {s for _, _, s in rows}
    assert statuses <= {"active", "disabled"}


def test_seeding_only_touches_an_empty_database(seeded: sa.Engine) -> None:
    again = seed.seed_database(seeded, password="sandbox", users=50)
    assert not again.seeded
    assert _user_count(seeded) == 243


def test_a_new_password_on_restart_reaches_the_demo_accounts(seeded: sa.Engine) -> None:
    seed.seed_database(seeded, password="another secret")
    with db.reading(seeded) as conn:
        admin = store.login_record(conn, "admin@sandbox.test")
    assert admin is not None and verify_password("another secret", admin["password_hash"])


def test_has_permission_follows_roles_and_account_status(seeded: sa.Engine) -> None:
    with db.writing(seeded) as conn:
        viewer = store.find_user_id_by_email(conn, "viewer@sandbox.test")
        support = store.find_user_id_by_email(conn, "support@sandbox.test")
        assert viewer is not None and support is not None
        assert store.has_permission(conn, viewer, "read:users")
        assert not store.has_permission(conn, viewer, "write:users")
        assert store.has_permission(conn, support, "write:users")
        assert not store.has_permission(conn, support, "write:roles")
        store.update_user(conn, support, if_match=None, require_if_match=False, status="disabled")
        assert not store.has_permission(conn, support, "write:users")
        assert store.effective_permissions(conn, support) == []
        sources = {p["name"]: p["roles"] for p in store.effective_permissions(conn, viewer)}
    assert sources == {"read:roles": ["viewer"], "read:users": ["viewer"]}


def test_email_is_unique_whatever_its_case(engine: sa.Engine) -> None:
    with db.writing(engine) as conn:
        store.create_user(conn, email="Ann.Lee@Example.com", name="Ann Lee")
    with pytest.raises(Conflict), db.writing(engine) as conn:
        store.create_user(conn, email="ann.lee@example.COM", name="Ann Again")
    with db.writing(engine) as conn:
        other = store.create_user(conn, email="bob@example.com", name="Bob")
    with pytest.raises(Conflict), db.writing(engine) as conn:
        store.update_user(conn, other.id, if_match=other.etag, email="ANN.LEE@example.com")


def _walk(engine: sa.Engine, **filters: object) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    for _ in range(1000):
        with db.reading(engine) as conn:
            page, cursor = store.list_users(conn, limit=37, cursor=cursor, **filters)  # type: ignore[arg-type]
        items.extend(r.data for r in page)
        if cursor is None:
            return items
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("sort", store.SORTS)
def test_keyset_paging_visits_every_user_once_in_order(seeded: sa.Engine, sort: str) -> None:
    # A user created after seeding (other id generator, other timestamp source) must sort in too.
    with db.writing(seeded) as conn:
        store.create_user(conn, email="zed@late.example", name="Zed Late", roles=["viewer"])
    items = _walk(seeded, sort=sort)
    assert len(items) == 244
    assert len({i["id"] for i in items}) == 244
    key = sort.lstrip("-")

    def sort_key(item: dict[str, object]) -> tuple[object, str]:
        value = item[key]
        value = str(value).lower() if key == "email" else value
        return value, str(uuid.UUID(str(item["id"])))

    expected = sorted(items, key=sort_key, reverse=sort.startswith("-"))
    assert [i["id"] for i in items] == [i["id"] for i in expected]


def test_filters_by_search_role_status_and_email(seeded: sa.Engine) -> None:
    everyone = _walk(seeded)
    admins = _walk(seeded, role="admin")
    assert admins and all("admin" in u["roles"] for u in admins)
    assert len(admins) == sum(1 for u in everyone if "admin" in u["roles"])
    disabled = _walk(seeded, status="disabled")
    assert len(disabled) == sum(1 for u in everyone if u["status"] == "disabled")
    target = everyone[100]
    last_name = str(target["name"]).split()[-1]
    found = _walk(seeded, search=last_name.upper())
    assert target["id"] in {u["id"] for u in found}
    assert all(
        last_name.lower() in str(u["name"]).lower() or last_name.lower() in str(u["email"]).lower()
        for u in found
    )
    assert [u["id"] for u in _walk(seeded, email=str(target["email"]).upper())] == [target["id"]]
    assert _walk(seeded, search="100%_no-such") == []


def test_bad_cursors_are_client_errors(seeded: sa.Engine) -> None:
    with db.reading(seeded) as conn:
        _, cursor = store.list_users(conn, limit=5, sort="email")
        assert cursor is not None
        for bad in ("%%%", "bm90IGpzb24", cursor[:-3], "x" * 600):
            with pytest.raises(InvalidInput) as caught:
                store.list_users(conn, limit=5, sort="email", cursor=bad)
            assert caught.value.status == 400
        with pytest.raises(InvalidInput, match="sort"):
            store.list_users(conn, limit=5, sort="name", cursor=cursor)


def test_if_match_guards_every_versioned_write(engine: sa.Engine) -> None:
    with db.writing(engine) as conn:
        user = store.create_user(conn, email="etag@example.com", name="Etag")
    with pytest.raises(PreconditionRequired), db.writing(engine) as conn:
        store.update_user(conn, user.id, if_match=None, name="No match")
    with db.writing(engine) as conn:
        before, after = store.update_user(conn, user.id, if_match=user.etag, name="Changed")
    assert after.etag != before.etag and after.version == user.version + 1
    with pytest.raises(PreconditionFailed) as caught, db.writing(engine) as conn:
        store.update_user(conn, user.id, if_match=user.etag, name="Stale")
    assert caught.value.headers["ETag"] == after.etag
    with pytest.raises(PreconditionFailed), db.writing(engine) as conn:
        store.update_user(conn, user.id, if_match=f"W/{after.etag}", name="Weak never matches")
    with db.writing(engine) as conn:
        _, wildcard = store.update_user(conn, user.id, if_match="*", name="Any")
        assert wildcard.data["name"] == "Any"
        store.delete_user(conn, user.id, if_match=f'"nope", {wildcard.etag}')
    with pytest.raises(NotFound), db.reading(engine) as conn:
        store.get_user(conn, user.id)


def test_a_recreated_role_does_not_match_old_etags(seeded: sa.Engine) -> None:
    with db.writing(seeded) as conn:
        first = store.create_role(conn, name="temp", description="", permissions=["read:posts"])
        store.delete_role(conn, "temp", if_match=first.etag)
    with db.writing(seeded) as conn:
        store.create_role(conn, name="temp", description="again", permissions=[])
    with pytest.raises(PreconditionFailed), db.writing(seeded) as conn:
        store.set_role_permissions(conn, "temp", ["read:posts"], if_match=first.etag)


def test_role_rules(seeded: sa.Engine) -> None:
    with pytest.raises(Conflict), db.writing(seeded) as conn:
        store.create_role(conn, name="viewer", description="", permissions=[])
    with pytest.raises(InvalidInput, match="no such permission"), db.writing(seeded) as conn:
        store.create_role(conn, name="fresh", description="", permissions=["fly:planes"])
    with db.reading(seeded) as conn:
        viewer = store.get_role(conn, "viewer")
    with pytest.raises(Conflict, match="still granted"), db.writing(seeded) as conn:
        store.delete_role(conn, "viewer", if_match=viewer.etag)
    with db.writing(seeded) as conn:
        _, after = store.set_role_permissions(conn, "viewer", ["read:users"], if_match=viewer.etag)
        assert after.data["permissions"] == ["read:users"]
        viewer_id = store.find_user_id_by_email(conn, "viewer@sandbox.test")
        assert viewer_id is not None
        assert not store.has_permission(conn, viewer_id, "read:roles")


def test_memberships_are_idempotent_and_bump_the_user_version(engine: sa.Engine) -> None:
    seed.seed_database(engine, password="sandbox")
    with db.writing(engine) as conn:
        user = store.create_user(conn, email="m@example.com", name="M")
        before, granted = store.set_membership(
            conn, user.id, "support", granted=True, if_match=None, required=False
        )
        assert granted.data["roles"] == ["support"] and granted.etag != before.etag
        _, again = store.set_membership(conn, user.id, "support", granted=True, if_match=None, required=False)
        assert again is not None and again.etag == granted.etag
        with pytest.raises(PreconditionRequired):
            store.set_membership(conn, user.id, "support", granted=False, if_match=None, required=True)
        _, revoked = store.set_membership(
            conn, user.id, "support", granted=False, if_match=granted.etag, required=True
        )
        assert revoked.data["roles"] == []
        with pytest.raises(NotFound):
            store.set_membership(conn, user.id, "nosuchrole", granted=True, if_match=None, required=False)


def test_audit_rows_page_newest_first(engine: sa.Engine) -> None:
    actor = store.Actor(uuid.uuid4(), "auditor@example.com")
    with db.writing(engine) as conn:
        for i in range(7):
            store.add_audit(
                conn,
                actor=actor,
                action="user.updated",
                target_type="user",
                target_id=f"t{i % 2}",
                old={"name": f"n{i}", "at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)},
                new={"name": f"n{i + 1}"},
                request_id=f"r{i}",
            )
    seen: list[dict[str, object]] = []
    cursor = None
    while True:
        with db.reading(engine) as conn:
            items, cursor = store.list_audit(conn, limit=3, cursor=cursor)
        seen.extend(items)
        if cursor is None:
            break
    assert [i["request_id"] for i in seen] == [f"r{i}" for i in reversed(range(7))]
    assert seen[-1]["old"] == {"name": "n0", "at": "2024-01-01T00:00:00Z"}
    with db.reading(engine) as conn:
        only_t1, _ = store.list_audit(conn, target_id="t1", actor="AUDITOR@example.com")
    assert len(only_t1) == 3


def test_purge_drops_expired_oauth_rows(engine: sa.Engine) -> None:
    seed.seed_database(engine, password="sandbox")
    past = db.utcnow() - dt.timedelta(hours=1)
    with db.writing(engine) as conn:
        conn.execute(sa.insert(db.revoked_access_tokens).values(jti="old", expires_at=past))
        conn.execute(
            sa.insert(db.revoked_access_tokens).values(jti="new", expires_at=past + dt.timedelta(hours=2))
        )
    assert db.purge_expired(engine) == 1
    with db.reading(engine) as conn:
        assert conn.execute(sa.select(db.revoked_access_tokens.c.jti)).scalars().all() == ["new"]


def test_uuid7_ids_sort_by_time() -> None:
    early = db.uuid7(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    late = db.uuid7(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    assert early.version == late.version == 7
    assert early.hex < late.hex


def test_listed_roles_match_the_single_user_view(seeded: sa.Engine) -> None:
    listed = _walk(seeded)
    multi = [u for u in listed if len(u["roles"]) > 1]  # type: ignore[arg-type]
    assert multi, "the seed mixes in users with two roles"
    with db.reading(seeded) as conn:
        for user in multi[:5] + listed[:20]:
            single = store.get_user(conn, uuid.UUID(str(user["id"]))).data
            assert single["roles"] == user["roles"] == sorted(user["roles"])  # type: ignore[type-var]


def test_a_database_seeded_before_a_new_permission_gets_it_at_start(seeded: sa.Engine) -> None:
    with db.writing(seeded) as conn:
        perm_id = conn.execute(
            sa.select(db.permissions.c.id).where(db.permissions.c.name == "read:telemetry")
        ).scalar_one()
        conn.execute(sa.delete(db.role_permissions).where(db.role_permissions.c.permission_id == perm_id))
        conn.execute(sa.delete(db.permissions).where(db.permissions.c.id == perm_id))
        before = store.get_role(conn, "admin")
    assert "read:telemetry" not in before.data["permissions"]
    seed.seed_database(seeded, password="sandbox")
    with db.reading(seeded) as conn:
        after = store.get_role(conn, "admin")
    assert "read:telemetry" in after.data["permissions"] and after.etag != before.etag
