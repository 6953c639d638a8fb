"""Who may change whom, over real HTTP on SQLite and PostgreSQL.

The rule: a write to an account (profile, email, password, status, delete, role grants and revokes)
needs the target's permissions to be within the caller's, or write:roles. A support user (write:users,
no write:roles) must not be able to take over an admin by setting its password; it keeps managing
ordinary accounts. A password change ends the target's sessions.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from opsconsole.sandbox.server import RunningSandbox
from tests.sandbox.live_support import sandbox_on
from tests.support.sandbox import ADMIN, SUPPORT, bearer, obtain_tokens

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sb(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with sandbox_on(request, tmp_path_factory) as running:
        yield running


@pytest.fixture(scope="module")
def admin(sb: RunningSandbox) -> dict[str, str]:
    return bearer(obtain_tokens(sb.url, ADMIN))


@pytest.fixture(scope="module")
def support(sb: RunningSandbox) -> dict[str, str]:
    return bearer(obtain_tokens(sb.url, SUPPORT))


@pytest.fixture
def client(sb: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{sb.url}/api", timeout=20) as http:
        yield http


def _new_account(client: httpx.Client, headers: dict[str, str], roles: list[str]) -> dict[str, Any]:
    email = f"rules-{uuid.uuid4().hex[:10]}@example.org"
    made = client.post(
        "/users",
        headers=headers,
        json={"email": email, "name": "Rules Test", "roles": roles, "password": PASSWORD},
    )
    assert made.status_code == 201, made.text
    user: dict[str, Any] = made.json()
    user["etag"] = made.headers["etag"]
    return user


def _refused(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"].endswith(":outranks-you")
    assert "write:roles" in body["detail"]
    assert "write:roles" in body["missing_permissions"]
    return body


Write = Callable[[httpx.Client, dict[str, str], dict[str, Any]], httpx.Response]

WRITES: dict[str, Write] = {
    "password": lambda c, h, u: c.patch(
        f"/users/{u['id']}", headers={**h, "If-Match": u["etag"]}, json={"password": "attacker-chosen-1"}
    ),
    "email": lambda c, h, u: c.patch(
        f"/users/{u['id']}", headers={**h, "If-Match": u["etag"]}, json={"email": "mine@attacker.test"}
    ),
    "name": lambda c, h, u: c.patch(
        f"/users/{u['id']}", headers={**h, "If-Match": u["etag"]}, json={"name": "X"}
    ),
    "disable": lambda c, h, u: c.post(f"/users/{u['id']}/disable", headers=h),
    "enable": lambda c, h, u: c.post(f"/users/{u['id']}/enable", headers=h),
    "delete": lambda c, h, u: c.delete(f"/users/{u['id']}", headers={**h, "If-Match": u["etag"]}),
    "grant": lambda c, h, u: c.put(f"/users/{u['id']}/roles/viewer", headers=h),
    "revoke": lambda c, h, u: c.delete(f"/users/{u['id']}/roles/admin", headers={**h, "If-Match": u["etag"]}),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_support_cannot_change_an_admin(
    client: httpx.Client, admin: dict[str, str], support: dict[str, str], write: str
) -> None:
    target = _new_account(client, admin, ["admin"])
    _refused(WRITES[write](client, support, target))
    after = client.get(f"/users/{target['id']}", headers=admin)
    assert after.headers["etag"] == target["etag"], "a refused write changed the account"


@pytest.mark.parametrize("write", ["password", "enable"])
def test_a_disabled_admin_still_outranks_support(
    client: httpx.Client, admin: dict[str, str], support: dict[str, str], write: str
) -> None:
    # A disabled account has no effective permissions, but its roles come back with it when enabled:
    # judging it by its roles keeps "set the password while disabled, then enable" closed.
    target = _new_account(client, admin, ["admin"])
    disabled = client.post(f"/users/{target['id']}/disable", headers=admin)
    target["etag"] = disabled.headers["etag"]
    _refused(WRITES[write](client, support, target))


def test_support_cannot_create_or_grant_beyond_itself(
    client: httpx.Client, admin: dict[str, str], support: dict[str, str]
) -> None:
    email = f"rules-{uuid.uuid4().hex[:10]}@example.org"
    refused = client.post("/users", headers=support, json={"email": email, "name": "X", "roles": ["admin"]})
    assert refused.status_code == 403 and "write:roles" in refused.json()["detail"]
    ordinary = _new_account(client, support, [])
    assert client.put(f"/users/{ordinary['id']}/roles/admin", headers=support).status_code == 403
    assert client.put(f"/users/{ordinary['id']}/roles/editor", headers=support).status_code == 403


def test_support_still_manages_ordinary_accounts(client: httpx.Client, support: dict[str, str]) -> None:
    user = _new_account(client, support, ["viewer"])
    uid = user["id"]
    patched = client.patch(
        f"/users/{uid}",
        headers={**support, "If-Match": user["etag"]},
        json={
            "name": "Renamed",
            "email": f"renamed-{uuid.uuid4().hex[:8]}@example.org",
            "password": "new-pass-123",
        },
    )
    assert patched.status_code == 200, patched.text
    assert client.post(f"/users/{uid}/disable", headers=support).json()["status"] == "disabled"
    assert client.post(f"/users/{uid}/enable", headers=support).json()["status"] == "active"
    granted = client.put(f"/users/{uid}/roles/support", headers=support)
    assert granted.status_code == 200 and granted.json()["roles"] == ["support", "viewer"]
    revoked = client.delete(
        f"/users/{uid}/roles/viewer", headers={**support, "If-Match": granted.headers["etag"]}
    )
    assert revoked.status_code == 200 and revoked.json()["roles"] == ["support"]
    deleted = client.delete(f"/users/{uid}", headers={**support, "If-Match": revoked.headers["etag"]})
    assert deleted.status_code == 204


def test_admin_may_change_another_admin(client: httpx.Client, admin: dict[str, str]) -> None:
    target = _new_account(client, admin, ["admin"])
    assert WRITES["password"](client, admin, target).status_code == 200


def test_a_password_change_ends_the_targets_sessions(
    sb: RunningSandbox, client: httpx.Client, admin: dict[str, str]
) -> None:
    user = _new_account(client, admin, ["viewer"])
    tokens = obtain_tokens(sb.url, user["email"], password=PASSWORD)
    assert client.get("/me", headers=bearer(tokens)).status_code == 200
    changed = client.patch(
        f"/users/{user['id']}",
        headers={**admin, "If-Match": user["etag"]},
        json={"password": "brand-new-pass"},
    )
    assert changed.status_code == 200, changed.text
    assert client.get("/me", headers=bearer(tokens)).status_code == 401
    refreshed = httpx.post(
        f"{sb.url}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "opsconsole",
        },
        timeout=20,
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    # A change of name alone leaves sessions alone.
    again = obtain_tokens(sb.url, user["email"], password="brand-new-pass")
    renamed = client.patch(
        f"/users/{user['id']}", headers={**admin, "If-Match": changed.headers["etag"]}, json={"name": "Other"}
    )
    assert renamed.status_code == 200
    assert client.get("/me", headers=bearer(again)).status_code == 200
