"""The sandbox's REST API over real HTTP, on SQLite and on PostgreSQL: paging, writes with ETags and
If-Match, scopes and live permission checks, problem details, events, audit and request ids."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from opsconsole.sandbox.server import RunningSandbox, start_background
from tests.support.postgres import fresh_database
from tests.support.sandbox import ADMIN, SUPPORT, VIEWER, bearer, obtain_tokens, test_settings

SEEDED = 300


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sb(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with contextlib.ExitStack() as stack:
        db_url = None
        if request.param == "postgresql":
            db_url = stack.enter_context(fresh_database(request.getfixturevalue("postgres_url")))
        settings = test_settings(tmp_path_factory.mktemp("api"), users=SEEDED, db_url=db_url)
        yield stack.enter_context(start_background(settings))


@pytest.fixture(scope="module")
def tokens(sb: RunningSandbox) -> dict[str, dict[str, str]]:
    return {email: bearer(obtain_tokens(sb.url, email)) for email in (ADMIN, SUPPORT, VIEWER)}


@pytest.fixture
def client(sb: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{sb.url}/api", timeout=20) as http:
        yield http


@pytest.fixture
def admin(tokens: dict[str, dict[str, str]]) -> dict[str, str]:
    return tokens[ADMIN]


def _email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@Example.org"


def _create(client: httpx.Client, headers: dict[str, str], **body: Any) -> httpx.Response:
    payload = {"email": _email(), "name": "Test Person", **body}
    return client.post("/users", headers=headers, json=payload)


def _is_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def _events_since(sb: RunningSandbox, after: int) -> list[tuple[str, Any]]:
    events, _ = sb.app.state.bus.read_after(after)
    return [(e.topic, e.data) for e in events]


def test_listing_pages_through_everyone(client: httpx.Client, admin: dict[str, str]) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 100, "sort": "-created_at"}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/users", headers=admin, params=params).json()
        seen.extend(u["id"] for u in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) >= SEEDED + 3
    first = client.get("/users", headers=admin, params={"limit": 3}).json()["items"][0]
    assert set(first) == {"id", "email", "name", "status", "roles", "created_at", "updated_at", "etag"}


def test_filters_and_search(client: httpx.Client, admin: dict[str, str]) -> None:
    support = client.get("/users", headers=admin, params={"role": "support", "limit": 500}).json()["items"]
    assert support and all("support" in u["roles"] for u in support)
    disabled = client.get("/users", headers=admin, params={"status": "disabled", "limit": 500}).json()[
        "items"
    ]
    assert all(u["status"] == "disabled" for u in disabled)
    found = client.get("/users", headers=admin, params={"search": "SANDBOX.test"}).json()["items"]
    assert {u["email"] for u in found} >= {ADMIN, SUPPORT, VIEWER}
    exact = client.get("/users", headers=admin, params={"email": "Viewer@Sandbox.Test"}).json()["items"]
    assert [u["email"] for u in exact] == [VIEWER]
    by_name = client.get("/users", headers=admin, params={"sort": "name", "limit": 50}).json()["items"]
    assert [u["name"] for u in by_name] == sorted(u["name"] for u in by_name)


def test_user_lifecycle_with_etags_events_and_audit(
    sb: RunningSandbox, client: httpx.Client, admin: dict[str, str]
) -> None:
    last_event = sb.app.state.bus.last_id
    created = _create(client, {**admin, "X-Request-ID": "req-create-1"}, roles=["viewer"])
    assert created.status_code == 201, created.text
    user = created.json()
    assert created.headers["location"] == f"/api/users/{user['id']}"
    assert created.headers["x-request-id"] == "req-create-1"
    assert user["roles"] == ["viewer"] and user["status"] == "active"
    etag = created.headers["etag"]

    fetched = client.get(f"/users/{user['id']}", headers=admin)
    assert fetched.json() == user and fetched.headers["etag"] == etag
    assert client.get(f"/users/{user['id']}", headers={**admin, "If-None-Match": etag}).status_code == 304

    patched = client.patch(
        f"/users/{user['id']}", headers={**admin, "If-Match": etag}, json={"name": "New Name"}
    )
    assert patched.status_code == 200 and patched.json()["name"] == "New Name"
    etag2 = patched.headers["etag"]
    assert etag2 != etag

    disabled = client.post(f"/users/{user['id']}/disable", headers=admin)
    assert disabled.json()["status"] == "disabled"
    enabled = client.post(f"/users/{user['id']}/enable", headers=admin)
    assert enabled.json()["status"] == "active"
    granted = client.put(f"/users/{user['id']}/roles/support", headers=admin)
    assert granted.json()["roles"] == ["support", "viewer"]
    revoked = client.delete(
        f"/users/{user['id']}/roles/viewer", headers={**admin, "If-Match": granted.headers["etag"]}
    )
    assert revoked.json()["roles"] == ["support"]
    permissions = client.get(f"/users/{user['id']}/permissions", headers=admin).json()
    assert {p["name"]: p["roles"] for p in permissions["items"]} == {
        "read:roles": ["support"],
        "read:users": ["support"],
        "write:users": ["support"],
    }
    deleted = client.delete(f"/users/{user['id']}", headers={**admin, "If-Match": revoked.headers["etag"]})
    assert deleted.status_code == 204
    _is_problem(client.get(f"/users/{user['id']}", headers=admin), 404)

    events = _events_since(sb, last_event)
    assert [t for t, _ in events] == [
        "user.created",
        "user.updated",
        "user.disabled",
        "user.enabled",
        "role.granted",
        "role.revoked",
        "user.deleted",
    ]
    assert events[0][1]["user"]["email"] == user["email"] and events[0][1]["actor"] == ADMIN
    assert events[1][1]["changes"] == ["name"]
    assert events[4][1]["role"] == "support"

    audit = client.get("/audit", headers=admin, params={"target_id": user["id"], "limit": 20}).json()["items"]
    assert [a["action"] for a in audit] == [t for t, _ in reversed(events)]
    creation = audit[-1]
    assert creation["old"] is None and creation["new"]["email"] == user["email"]
    assert creation["actor"] == ADMIN and creation["request_id"] == "req-create-1"
    update = audit[-2]
    assert update["old"]["name"] == "Test Person" and update["new"]["name"] == "New Name"


def test_registrations_are_counted(sb: RunningSandbox, client: httpx.Client, admin: dict[str, str]) -> None:
    def registrations() -> float:
        text = httpx.get(f"{sb.url}/metrics", timeout=10).text
        match = re.search(r"^user_registrations_total(?:\{[^}]*\})? ([0-9.e+]+)$", text, re.MULTILINE)
        assert match, text[:500]
        return float(match.group(1))

    before = registrations()
    assert _create(client, admin).status_code == 201
    assert registrations() == before + 1


def test_if_match_is_required_and_checked(client: httpx.Client, admin: dict[str, str]) -> None:
    user = _create(client, admin, roles=["viewer"])
    uid, etag = user.json()["id"], user.headers["etag"]
    _is_problem(client.patch(f"/users/{uid}", headers=admin, json={"name": "x"}), 428)
    _is_problem(client.delete(f"/users/{uid}", headers=admin), 428)
    _is_problem(client.delete(f"/users/{uid}/roles/viewer", headers=admin), 428)
    changed = client.patch(f"/users/{uid}", headers={**admin, "If-Match": etag}, json={"name": "First"})
    assert changed.status_code == 200
    stale = client.patch(f"/users/{uid}", headers={**admin, "If-Match": etag}, json={"name": "Second"})
    body = _is_problem(stale, 412)
    assert body["type"].endswith("precondition-failed")
    assert stale.headers["etag"] == changed.headers["etag"]
    _is_problem(client.delete(f"/users/{uid}", headers={**admin, "If-Match": etag}), 412)
    _is_problem(client.post(f"/users/{uid}/disable", headers={**admin, "If-Match": etag}), 412)
    assert (
        client.patch(f"/users/{uid}", headers={**admin, "If-Match": "*"}, json={"name": "Any"}).status_code
        == 200
    )

    role = client.post("/roles", headers=admin, json={"name": f"r{uuid.uuid4().hex[:8]}", "permissions": []})
    assert role.status_code == 201
    name, role_etag = role.json()["name"], role.headers["etag"]
    _is_problem(
        client.put(f"/roles/{name}/permissions", headers=admin, json={"permissions": ["read:posts"]}), 428
    )
    updated = client.put(
        f"/roles/{name}/permissions",
        headers={**admin, "If-Match": role_etag},
        json={"permissions": ["read:posts"]},
    )
    assert updated.json()["permissions"] == ["read:posts"]
    _is_problem(client.delete(f"/roles/{name}", headers={**admin, "If-Match": role_etag}), 412)
    _is_problem(client.delete(f"/roles/{name}", headers=admin), 428)
    assert (
        client.delete(f"/roles/{name}", headers={**admin, "If-Match": updated.headers["etag"]}).status_code
        == 204
    )


def test_conflicts(client: httpx.Client, admin: dict[str, str], tokens: dict[str, dict[str, str]]) -> None:
    email = _email()
    assert _create(client, admin, email=email).status_code == 201
    body = _is_problem(_create(client, admin, email=email.upper()), 409)
    assert "already exists" in body["detail"]
    _is_problem(client.post("/roles", headers=admin, json={"name": "viewer"}), 409)
    viewer_role = client.get("/roles/viewer", headers=admin)
    _is_problem(
        client.delete("/roles/viewer", headers={**admin, "If-Match": viewer_role.headers["etag"]}), 409
    )
    me = client.get("/me", headers=admin).json()
    _is_problem(client.delete(f"/users/{me['id']}", headers={**admin, "If-Match": "*"}), 409)
    _is_problem(client.post(f"/users/{me['id']}/disable", headers=admin), 409)


def test_scopes_and_permissions_are_enforced(client: httpx.Client, tokens: dict[str, dict[str, str]]) -> None:
    viewer, support, admin = tokens[VIEWER], tokens[SUPPORT], tokens[ADMIN]
    assert client.get("/users", headers=viewer).status_code == 200
    denied = _is_problem(_create(client, viewer), 403)
    assert denied["type"].endswith("insufficient-scope")
    assert client.get("/roles", headers=support).status_code == 200
    _is_problem(client.post("/roles", headers=support, json={"name": "nope"}), 403)
    target = _create(client, support).json()
    # support (write:users, no write:roles) may grant roles within its own permissions, not above them.
    assert client.put(f"/users/{target['id']}/roles/viewer", headers=support).status_code == 200
    escalation = _is_problem(client.put(f"/users/{target['id']}/roles/admin", headers=support), 403)
    assert "write:roles" in escalation["detail"]
    _is_problem(_create(client, support, roles=["admin"]), 403)
    assert client.put(f"/users/{target['id']}/roles/admin", headers=admin).status_code == 200
    _is_problem(client.get("/users"), 401)


def test_revoking_a_role_takes_effect_at_once(
    sb: RunningSandbox, client: httpx.Client, admin: dict[str, str]
) -> None:
    created = _create(client, admin, roles=["support"], password="correct horse battery")
    person = created.json()
    theirs = bearer(obtain_tokens(sb.url, person["email"], password="correct horse battery"))
    assert _create(client, theirs).status_code == 201
    revoked = client.delete(
        f"/users/{person['id']}/roles/support", headers={**admin, "If-Match": created.headers["etag"]}
    )
    assert revoked.status_code == 200
    # The token still says write:users; the database no longer does.
    body = _is_problem(_create(client, theirs), 403)
    assert body["type"].endswith("permission-denied")
    _is_problem(client.get("/users", headers=theirs), 403)
    assert client.get("/me", headers=theirs).json()["permissions"] == []
    client.put(f"/users/{person['id']}/roles/viewer", headers=admin)
    assert client.get("/users", headers=theirs).status_code == 200
    client.post(f"/users/{person['id']}/disable", headers=admin)
    _is_problem(client.get("/users", headers=theirs), 401)


def test_malformed_input_is_a_client_error(client: httpx.Client, admin: dict[str, str]) -> None:
    json_headers = {**admin, "content-type": "application/json"}
    _is_problem(client.post("/users", headers=json_headers, content=b'{"email": '), 400)
    invalid = _is_problem(client.get("/users/not-a-uuid", headers=admin), 422)
    assert invalid["errors"][0]["loc"] == ["path", "user_id"]
    _is_problem(client.post("/users", headers=admin, json={"email": "a@b.co", "name": "x" * 201}), 422)
    _is_problem(client.post("/users", headers=admin, json={"email": "a@b.co", "name": "ok", "extra": 1}), 422)
    _is_problem(client.post("/users", headers=admin, json={"email": "a@b.co", "name": "nul\x00name"}), 422)
    _is_problem(client.post("/users", headers=admin, json={"email": "a@b.co", "name": "   "}), 422)
    _is_problem(client.post("/users", headers=admin, json={"email": "not-an-email", "name": "ok"}), 422)
    _is_problem(
        client.post("/users", headers=admin, json={"email": "a@b.co", "name": "ok", "roles": ["ghost"]}), 422
    )
    _is_problem(client.post("/users", headers=admin, json=["not", "an", "object"]), 422)
    _is_problem(client.get("/users", headers=admin, params={"cursor": "Zm9vYmFy"}), 400)
    _is_problem(client.get("/users", headers=admin, params={"limit": 0}), 422)
    _is_problem(client.get("/users", headers=admin, params={"sort": "password"}), 422)
    _is_problem(client.get("/users", headers=admin, params={"search": "x" * 201}), 422)
    _is_problem(
        client.put(
            "/roles/viewer/permissions", headers={**admin, "If-Match": "*"}, json={"permissions": ["x:y"]}
        ),
        422,
    )
    _is_problem(client.get("/roles/NOT_A_ROLE", headers=admin), 422)
    _is_problem(client.get("/nowhere", headers=admin), 404)
    not_allowed = _is_problem(client.put("/users", headers=admin), 405)
    assert not_allowed["status"] == 405


def test_request_ids_are_echoed_or_made(client: httpx.Client, admin: dict[str, str]) -> None:
    echoed = client.get("/roles", headers={**admin, "X-Request-ID": "trace-me.1"})
    assert echoed.headers["x-request-id"] == "trace-me.1"
    for insane in ("with spaces", "x" * 200, "<script>"):
        made = client.get("/roles", headers={**admin, "X-Request-ID": insane})
        assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"]), insane
    assert re.fullmatch(r"[0-9a-f]{32}", client.get("/roles", headers=admin).headers["x-request-id"])


def test_roles_permissions_and_me(client: httpx.Client, tokens: dict[str, dict[str, str]]) -> None:
    admin, viewer = tokens[ADMIN], tokens[VIEWER]
    roles = {r["name"]: r for r in client.get("/roles", headers=viewer).json()["items"]}
    assert roles["support"]["permissions"] == ["read:roles", "read:users", "write:users"]
    one = client.get("/roles/admin", headers=viewer)
    assert (
        one.json() == {k: v for k, v in roles["admin"].items() if k != "member_count"} and one.headers["etag"]
    )
    _is_problem(client.get("/roles/ghost", headers=viewer), 404)
    names = {p["name"] for p in client.get("/permissions", headers=viewer).json()["items"]}
    assert {"read:users", "write:users", "read:roles", "write:roles", "read:posts"} <= names
    me_response = client.get("/me", headers=viewer)
    me = me_response.json()
    assert me_response.headers["etag"] == client.get(f"/users/{me['id']}", headers=viewer).headers["etag"]
    assert me["email"] == VIEWER and me["roles"] == ["viewer"]
    assert me["permissions"] == ["read:roles", "read:users"] and "read:users" in me["scopes"]
    _is_problem(client.get("/audit", headers={"Authorization": "Bearer x"}), 401)
    assert client.get("/audit", headers=admin, params={"limit": 1}).status_code == 200


def test_concurrent_creates_of_one_email_make_one_user(client: httpx.Client, admin: dict[str, str]) -> None:
    email = _email()

    def create(_: int) -> int:
        return _create(client, admin, email=email).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(create, range(6)))
    assert statuses == [201, 409, 409, 409, 409, 409]


def _walk(client: httpx.Client, headers: dict[str, str], **filters: str) -> list[dict[str, Any]]:
    """Every user matching ``filters``, page by page."""
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {**filters, "limit": 500}
    while True:
        page = client.get("/users", headers=headers, params=params).json()
        found += page["items"]
        if page["next_cursor"] is None:
            return found
        params["cursor"] = page["next_cursor"]


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"status": "disabled"},
        {"role": "support"},
        # A role with a status is counted from its smallest side: the members, or the users of either status.
        {"role": "viewer", "status": "active"},
        {"role": "viewer", "status": "disabled"},
        {"role": "admin", "status": "active"},
        {"role": "no-such-role", "status": "active"},
        {"search": "sandbox.TEST"},
        {"search": "a", "role": "viewer", "sort": "-email"},
        {"email": "Support@Sandbox.test"},
        {"search": "no-such-user-anywhere"},
    ],
    ids=[
        "all",
        "status",
        "role",
        "role+active",
        "role+disabled",
        "small-role+active",
        "no-role",
        "search",
        "search+role",
        "email",
        "none",
    ],
)
def test_a_total_is_counted_with_the_same_filters_only_when_asked(
    client: httpx.Client, admin: dict[str, str], filters: dict[str, str]
) -> None:
    everyone = _walk(client, admin, **filters)
    plain = client.get("/users", headers=admin, params={**filters, "limit": 5}).json()
    assert "total" not in plain  # counting is a second query: only when asked
    counted = client.get("/users", headers=admin, params={**filters, "limit": 5, "count": "true"}).json()
    assert counted["total"] == len(everyone)
    assert counted["items"] == plain["items"] and counted["next_cursor"] == plain["next_cursor"]
    if plain["next_cursor"]:  # a later page counts the whole list too, not what is left
        later = {**filters, "limit": 5, "count": "true", "cursor": plain["next_cursor"]}
        assert client.get("/users", headers=admin, params=later).json()["total"] == len(everyone)


def test_a_total_follows_changes(client: httpx.Client, admin: dict[str, str]) -> None:
    role = f"r{uuid.uuid4().hex[:8]}"
    assert client.post("/roles", headers=admin, json={"name": role}).status_code == 201

    def total(**filters: str) -> int:
        params = {**filters, "limit": 1, "count": "true"}
        value: int = client.get("/users", headers=admin, params=params).json()["total"]
        return value

    assert total(role=role) == 0
    before = total()
    made = [_create(client, admin, roles=[role]).json() for _ in range(3)]
    assert total(role=role) == 3 and total() == before + 3
    assert client.post(f"/users/{made[0]['id']}/disable", headers=admin).status_code == 200
    assert total(role=role, status="active") == 2 and total(role=role, status="disabled") == 1
    _is_problem(client.get("/users", headers=admin, params={"count": "maybe"}), 422)


def test_roles_carry_their_member_counts(client: httpx.Client, admin: dict[str, str]) -> None:
    def counts() -> dict[str, int]:
        return {r["name"]: r["member_count"] for r in client.get("/roles", headers=admin).json()["items"]}

    listed = counts()
    for name, count in listed.items():
        assert count == len(_walk(client, admin, role=name)), name
    assert listed["admin"] >= 1
    role = f"r{uuid.uuid4().hex[:8]}"
    assert client.post("/roles", headers=admin, json={"name": role}).status_code == 201
    assert counts()[role] == 0  # a role nobody holds is counted, as 0
    user = _create(client, admin, roles=["viewer"]).json()
    granted = client.put(f"/users/{user['id']}/roles/{role}", headers=admin)
    after = counts()
    assert after[role] == 1 and after["viewer"] == listed["viewer"] + 1
    revoked = client.delete(
        f"/users/{user['id']}/roles/{role}", headers={**admin, "If-Match": granted.headers["etag"]}
    )
    assert revoked.status_code == 200 and counts()[role] == 0


def test_list_items_carry_the_etag_a_write_needs(client: httpx.Client, admin: dict[str, str]) -> None:
    made = _create(client, admin, roles=["viewer"])
    uid = made.json()["id"]
    listed = client.get("/users", headers=admin, params={"email": made.json()["email"]}).json()["items"]
    assert [u["etag"] for u in listed] == [made.headers["etag"]]
    for item in client.get("/users", headers=admin, params={"limit": 20, "sort": "-updated_at"}).json()[
        "items"
    ]:
        assert client.get(f"/users/{item['id']}", headers=admin).headers["etag"] == item["etag"]

    # A write straight from the list row, with no read first.
    row_etag = listed[0]["etag"]
    renamed = client.patch(
        f"/users/{uid}", headers={**admin, "If-Match": row_etag}, json={"name": "From Row"}
    )
    assert renamed.status_code == 200 and renamed.headers["etag"] != row_etag
    # The row is stale now: every write with its version is refused, and the 412 names the current one.
    for stale in (
        client.patch(f"/users/{uid}", headers={**admin, "If-Match": row_etag}, json={"name": "Lost"}),
        client.post(f"/users/{uid}/disable", headers={**admin, "If-Match": row_etag}),
        client.put(f"/users/{uid}/roles/support", headers={**admin, "If-Match": row_etag}),
        client.delete(f"/users/{uid}/roles/viewer", headers={**admin, "If-Match": row_etag}),
        client.delete(f"/users/{uid}", headers={**admin, "If-Match": row_etag}),
    ):
        _is_problem(stale, 412)
        assert stale.headers["etag"] == renamed.headers["etag"]
    now = client.get("/users", headers=admin, params={"email": made.json()["email"]}).json()["items"][0]
    assert now["name"] == "From Row" and now["roles"] == ["viewer"] and now["status"] == "active"
    assert now["etag"] == renamed.headers["etag"]


def test_openapi_declares_the_count_the_totals_and_the_etags(sb: RunningSandbox) -> None:
    spec = httpx.get(f"{sb.url}/openapi.json", timeout=10).json()
    listing = spec["paths"]["/api/users"]["get"]
    [count] = [p for p in listing["parameters"] if p["name"] == "count"]
    assert (
        count["in"] == "query"
        and count["schema"]["type"] == "boolean"
        and count["schema"]["default"] is False
    )
    schemas = spec["components"]["schemas"]
    assert "total" in schemas["UserPage"]["properties"] and "total" not in schemas["UserPage"].get(
        "required", []
    )
    assert schemas["UserPage"]["properties"]["items"]["items"]["$ref"].endswith("/UserListItem")
    assert "etag" in schemas["UserListItem"]["required"] and "etag" not in schemas["User"]["properties"]
    assert schemas["RoleList"]["properties"]["items"]["items"]["$ref"].endswith("/RoleListItem")
    assert "member_count" in schemas["RoleListItem"]["required"]
