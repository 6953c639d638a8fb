"""The device authorization grant (RFC 8628) at the sandbox, on SQLite and PostgreSQL over real HTTP:
the codes it hands out, the verification page with the same login and consent forms, and every answer
of the polling /token (pending, slow_down, denied, expired, tokens once)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from opsconsole.sandbox import db
from opsconsole.sandbox.server import RunningSandbox
from tests.support.oauth_sandboxes import sandbox_fixture
from tests.support.sandbox import ADMIN, CLIENT_ID, PASSWORD, VIEWER, bearer
from tests.support.signin_pages import alerts, approve_device, submit

GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SCOPES = "openid offline_access read:users write:roles"

sb = sandbox_fixture("sb", "module")


@pytest.fixture
def client(sb: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sb.url, timeout=15) as http:
        yield http


def _start(client: httpx.Client, scope: str = SCOPES) -> dict[str, Any]:
    response = client.post("/device_authorization", data={"client_id": CLIENT_ID, "scope": scope})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


def _poll(client: httpx.Client, device_code: str) -> httpx.Response:
    return client.post(
        "/token", data={"grant_type": GRANT, "device_code": device_code, "client_id": CLIENT_ID}
    )


def _error(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    error: str = response.json()["error"]
    return error


def _wait_out_the_interval(sb: RunningSandbox) -> None:
    """As if the polling interval had passed since the last poll."""
    with db.writing(sb.app.state.engine) as conn:
        conn.execute(sa.update(db.device_codes).values(last_poll_at=db.utcnow() - dt.timedelta(seconds=60)))


def test_the_device_authorization_answer(client: httpx.Client, sb: RunningSandbox) -> None:
    started = _start(client)
    assert started["verification_uri"] == f"{sb.url}/device"
    assert started["verification_uri_complete"] == f"{sb.url}/device?user_code={started['user_code']}"
    assert started["expires_in"] == 600 and started["interval"] == 5
    letters = started["user_code"].replace("-", "")
    assert len(letters) == 8 and set(letters) <= set("BCDFGHJKLMNPQRSTVWXZ")
    assert len(started["device_code"]) >= 43
    unknown = client.post("/device_authorization", data={"client_id": "someone-else", "scope": "openid"})
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    assert _error(client.post("/device_authorization", data={"client_id": CLIENT_ID})) == "invalid_scope"
    no_such = client.post("/device_authorization", data={"client_id": CLIENT_ID, "scope": "openid admin:all"})
    assert _error(no_such) == "invalid_scope"


def test_pending_slow_down_then_tokens_exactly_once(client: httpx.Client, sb: RunningSandbox) -> None:
    started = _start(client)
    assert _error(_poll(client, started["device_code"])) == "authorization_pending"
    assert _error(_poll(client, started["device_code"])) == "slow_down"  # polled at once again

    done = approve_device(started["verification_uri_complete"], VIEWER, PASSWORD)
    assert done.status_code == 200 and "You are signed in on your device" in done.text

    _wait_out_the_interval(sb)
    response = _poll(client, started["device_code"])
    assert response.status_code == 200, response.text
    tokens = response.json()
    # The viewer's roles allow reading users, not writing roles: the scopes are what the roles allow.
    assert tokens["scope"].split() == ["openid", "offline_access", "read:users"]
    assert tokens["refresh_token"] and tokens["id_token"]
    me = client.get("/api/me", headers=bearer(tokens))
    assert me.status_code == 200 and me.json()["email"] == VIEWER

    _wait_out_the_interval(sb)
    assert _error(_poll(client, started["device_code"])) == "invalid_grant"
    assert client.get("/api/me", headers=bearer(tokens)).status_code == 401  # the second poll revoked them


def test_denied_and_expired_codes(client: httpx.Client, sb: RunningSandbox) -> None:
    denied = _start(client)
    page = approve_device(denied["verification_uri_complete"], ADMIN, PASSWORD, allow=False)
    assert page.status_code == 200 and "not signed in" in page.text
    assert _error(_poll(client, denied["device_code"])) == "access_denied"

    late = _start(client)
    with db.writing(sb.app.state.engine) as conn:
        conn.execute(
            sa.update(db.device_codes)
            .where(db.device_codes.c.status == "pending")
            .values(expires_at=db.utcnow() - dt.timedelta(seconds=1))
        )
    assert _error(_poll(client, late["device_code"])) == "expired_token"
    gone = client.get(late["verification_uri_complete"])
    assert gone.status_code == 400 and "wrong, has expired or was already used" in alerts(gone)
    assert _error(_poll(client, "not-a-device-code")) == "invalid_grant"


def test_the_verification_page_takes_the_code_as_typed(client: httpx.Client, sb: RunningSandbox) -> None:
    entry = client.get("/device")
    assert entry.status_code == 200 and 'name="user_code"' in entry.text
    started = _start(client)
    typed = started["user_code"].replace("-", " ").lower()
    with httpx.Client(base_url=sb.url, timeout=15) as browser:
        login = browser.get("/device", params={"user_code": typed})
        assert login.status_code == 200 and started["user_code"] in login.text
        consent = submit(browser, login, "login", email=ADMIN, password=PASSWORD)
        assert consent.status_code == 200 and started["user_code"] in consent.text
        done = submit(browser, consent, "consent", decision="allow")
        assert done.status_code == 200
        # The consent form answers once: a replay does not approve anything again.
        assert submit(browser, consent, "consent", decision="allow").status_code == 400
    _wait_out_the_interval(sb)
    assert _poll(client, started["device_code"]).status_code == 200
