"""The sandbox's authorization server end to end over real HTTP: discovery, the HTML sign-in, PKCE,
codes, refresh rotation and reuse detection, revocation, userinfo, and the error paths."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import pytest
import sqlalchemy as sa

from opsconsole.sandbox import db
from opsconsole.sandbox.oauth import InvalidToken
from opsconsole.sandbox.server import RunningSandbox, start_background
from tests.support.sandbox import (
    ADMIN,
    ALL_SCOPES,
    CLIENT_ID,
    PASSWORD,
    SUPPORT,
    VIEWER,
    ScriptedLoginError,
    authorize_url,
    bearer,
    callback_params,
    obtain_tokens,
    pkce_pair,
    scripted_login,
    test_settings,
)

REDIRECT = "http://127.0.0.1:7777/callback"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with start_background(test_settings(tmp_path_factory.mktemp("oauth"))) as running:
        yield running


@pytest.fixture
def client(sb: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sb.url, timeout=15) as http:
        yield http


def _code(
    sb: RunningSandbox, email: str = ADMIN, scopes: tuple[str, ...] = ALL_SCOPES, **extra: str
) -> tuple[str, str]:
    """(code, verifier) from a real sign-in."""
    verifier, challenge = pkce_pair()
    url = authorize_url(sb.url, challenge=challenge, state="s1", scopes=scopes, **extra)
    params = callback_params(scripted_login(url, email, PASSWORD))
    assert params["state"] == "s1" and params["iss"] == sb.url
    return params["code"], verifier


def _exchange(client: httpx.Client, code: str, verifier: str, redirect_uri: str = REDIRECT) -> httpx.Response:
    return client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": CLIENT_ID,
            "code_verifier": verifier,
        },
    )


def _refresh(client: httpx.Client, refresh_token: str, **extra: str) -> httpx.Response:
    return client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": CLIENT_ID, **extra},
    )


def _jwks_key(client: httpx.Client, token: str) -> Any:
    keys = client.get("/jwks.json").json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    (jwk,) = [k for k in keys if k["kid"] == kid]
    return jwt.PyJWK(jwk).key


def test_discovery_documents_describe_the_server(client: httpx.Client, sb: RunningSandbox) -> None:
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        doc = client.get(path).json()
        assert doc["issuer"] == sb.url
        for endpoint in ("authorization", "token", "revocation", "userinfo", "device_authorization"):
            assert doc[f"{endpoint}_endpoint"].startswith(sb.url + "/")
        assert doc["code_challenge_methods_supported"] == ["S256"]
        assert doc["authorization_response_iss_parameter_supported"] is True
        assert set(ALL_SCOPES) <= set(doc["scopes_supported"])
        assert doc["grant_types_supported"] == ["authorization_code", "refresh_token", DEVICE_GRANT]
        assert client.get(doc["jwks_uri"]).status_code == 200
    assert (
        "RS256"
        in client.get("/.well-known/openid-configuration").json()["id_token_signing_alg_values_supported"]
    )


def test_full_flow_issues_verifiable_tokens(client: httpx.Client, sb: RunningSandbox) -> None:
    code, verifier = _code(sb, nonce="nonce-42")
    response = _exchange(client, code, verifier)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == sb.settings.access_token_ttl
    assert tokens["scope"].split() == list(ALL_SCOPES)
    key = _jwks_key(client, tokens["access_token"])
    claims = jwt.decode(
        tokens["access_token"], key, algorithms=["RS256"], audience="opsconsole-api", issuer=sb.url
    )
    assert jwt.get_unverified_header(tokens["access_token"])["typ"] == "at+jwt"
    assert claims["exp"] - claims["iat"] == sb.settings.access_token_ttl
    assert claims["scopes"] == list(ALL_SCOPES) and claims["scope"] == " ".join(ALL_SCOPES)
    assert claims["client_id"] == CLIENT_ID and claims["jti"]
    uuid.UUID(claims["sub"])
    id_token = jwt.decode(tokens["id_token"], key, algorithms=["RS256"], audience=CLIENT_ID, issuer=sb.url)
    assert id_token["nonce"] == "nonce-42" and id_token["sub"] == claims["sub"]
    assert sb.app.state.verify_access_token(tokens["access_token"])["sub"] == claims["sub"]


def test_scopes_are_what_the_roles_allow(client: httpx.Client, sb: RunningSandbox) -> None:
    viewer = obtain_tokens(sb.url, VIEWER)
    assert viewer["scope"].split() == ["openid", "offline_access", "read:users", "read:roles"]
    support = obtain_tokens(sb.url, SUPPORT, scopes=("read:users", "write:users", "write:roles"))
    assert support["scope"].split() == ["read:users", "write:users"]
    assert "refresh_token" not in support and "id_token" not in support


def test_the_consent_page_names_the_client_and_the_scopes(sb: RunningSandbox) -> None:
    _, challenge = pkce_pair()
    with httpx.Client(timeout=15) as browser:
        page = browser.get(authorize_url(sb.url, challenge=challenge, scopes=("openid", "write:roles")))
        assert page.status_code == 200 and 'autocomplete="current-password"' in page.text
        assert "admin@sandbox.test" in page.text  # the demo accounts are listed for the demo
        fields = dict(
            request=page.text.split('name="request" value="')[1].split('"')[0],
            csrf_token=page.text.split('name="csrf_token" value="')[1].split('"')[0],
            email=VIEWER,
            password=PASSWORD,
        )
        consent = browser.post(f"{sb.url}/authorize/login", data=fields)
    assert consent.status_code == 200
    assert "Ops Console" in consent.text
    assert "Confirm who you are" in consent.text
    assert "Create and delete roles" in consent.text and "will not get" in consent.text
    assert 'value="allow"' in consent.text and 'value="deny"' in consent.text


def test_deny_returns_access_denied_with_state_and_iss(sb: RunningSandbox) -> None:
    _, challenge = pkce_pair()
    url = authorize_url(sb.url, challenge=challenge, state="deny-me")
    params = callback_params(scripted_login(url, ADMIN, PASSWORD, consent=False))
    assert params["error"] == "access_denied"
    assert params["state"] == "deny-me" and params["iss"] == sb.url
    assert "code" not in params


def test_wrong_password_and_disabled_accounts_cannot_sign_in(
    sb: RunningSandbox, client: httpx.Client
) -> None:
    _, challenge = pkce_pair()
    with pytest.raises(ScriptedLoginError, match="incorrect"):
        scripted_login(authorize_url(sb.url, challenge=challenge), ADMIN, "wrong password")
    with pytest.raises(ScriptedLoginError, match="incorrect"):
        scripted_login(authorize_url(sb.url, challenge=challenge), "nobody@sandbox.test", PASSWORD)
    admin = bearer(obtain_tokens(sb.url, ADMIN))
    created = client.post(
        "/api/users",
        headers=admin,
        json={"email": "gone@example.com", "name": "Gone", "password": "long enough"},
    )
    assert created.status_code == 201
    obtain_tokens(sb.url, "gone@example.com", password="long enough", scopes=("openid",))
    assert client.post(f"/api/users/{created.json()['id']}/disable", headers=admin).status_code == 200
    with pytest.raises(ScriptedLoginError, match="disabled"):
        scripted_login(authorize_url(sb.url, challenge=challenge), "gone@example.com", "long enough")


def test_wrong_verifier_is_refused_and_burns_the_code(client: httpx.Client, sb: RunningSandbox) -> None:
    code, verifier = _code(sb)
    wrong, _ = pkce_pair()
    response = _exchange(client, code, wrong)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert _exchange(client, code, verifier).json()["error"] == "invalid_grant"
    short = _exchange(client, code, "too-short")
    assert short.json()["error"] == "invalid_grant"


def test_a_replayed_code_fails_and_revokes_what_it_issued(client: httpx.Client, sb: RunningSandbox) -> None:
    code, verifier = _code(sb)
    first = _exchange(client, code, verifier)
    assert first.status_code == 200
    tokens = first.json()
    assert client.get("/api/me", headers=bearer(tokens)).status_code == 200
    replay = _exchange(client, code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert client.get("/api/me", headers=bearer(tokens)).status_code == 401
    assert _refresh(client, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_refresh_rotates_and_reuse_revokes_the_family(client: httpx.Client, sb: RunningSandbox) -> None:
    code, verifier = _code(sb)
    original = _exchange(client, code, verifier).json()
    rotated = _refresh(client, original["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != original["refresh_token"]
    assert client.get("/api/me", headers=bearer(second)).status_code == 200
    # The old refresh token again: an attacker (or a bug) holds a copy, so the whole family ends.
    reuse = _refresh(client, original["refresh_token"])
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert _refresh(client, second["refresh_token"]).json()["error"] == "invalid_grant"
    assert client.get("/api/me", headers=bearer(second)).status_code == 401
    assert client.get("/api/me", headers=bearer(original)).status_code == 401


def test_refresh_can_narrow_but_not_widen_scopes(client: httpx.Client, sb: RunningSandbox) -> None:
    tokens = obtain_tokens(sb.url, ADMIN, scopes=("offline_access", "read:users", "write:users"))
    narrowed = _refresh(client, tokens["refresh_token"], scope="read:users")
    assert narrowed.json()["scope"] == "read:users"
    widened = _refresh(client, narrowed.json()["refresh_token"], scope="read:users write:roles")
    assert widened.json()["error"] == "invalid_scope"


def test_a_redirect_uri_that_is_not_the_loopback_callback_gets_an_error_page(
    sb: RunningSandbox, client: httpx.Client
) -> None:
    _, challenge = pkce_pair()
    bad_uris = (
        "https://evil.example/callback",
        "http://127.0.0.1.evil.example:80/callback",
        "http://127.0.0.1:7777/elsewhere",
        "http://127.0.0.1/callback",
        "http://127.0.0.1:7777/callback?next=x",
        "http://user@127.0.0.1:7777/callback",
        "http://127.0.0.1:99999/callback",
    )
    with httpx.Client(timeout=15, follow_redirects=False) as browser:
        for uri in bad_uris:
            page = browser.get(authorize_url(sb.url, challenge=challenge, redirect_uri=uri))
            assert page.status_code == 400, uri
            assert "location" not in page.headers
            assert "Invalid redirect address" in page.text
        unknown = browser.get(
            authorize_url(sb.url, challenge=challenge).replace("client_id=opsconsole", "client_id=x")
        )
        assert unknown.status_code == 400 and "Unknown application" in unknown.text
    for ok in (
        "http://[::1]:5000/callback",
        "http://localhost:5001/callback",
        "http://127.0.0.1:65535/callback",
    ):
        code, verifier = _code(sb, redirect_uri=ok)
        assert _exchange(client, code, verifier, redirect_uri=ok).status_code == 200


def test_the_token_request_must_repeat_the_redirect_uri(client: httpx.Client, sb: RunningSandbox) -> None:
    code, verifier = _code(sb)
    response = _exchange(client, code, verifier, redirect_uri="http://127.0.0.1:7778/callback")
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"state": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "read:users fly:planes"}, "invalid_scope"),
        ({"scope": None}, "invalid_scope"),
        ({"prompt": "none"}, "login_required"),
    ],
)
def test_authorize_errors_redirect_with_iss(
    sb: RunningSandbox, change: dict[str, str | None], error: str
) -> None:
    _, challenge = pkce_pair()
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": "openid read:users",
        "state": "st",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(change)
    query = {k: v for k, v in params.items() if v is not None}
    response = httpx.get(f"{sb.url}/authorize", params=query, timeout=15)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    result = callback_params(location)
    assert result["error"] == error and result["iss"] == sb.url
    assert result.get("state") == params["state"]


def test_forms_need_their_csrf_token_and_an_untampered_request(sb: RunningSandbox) -> None:
    _, challenge = pkce_pair()
    with httpx.Client(timeout=15) as browser:
        page = browser.get(authorize_url(sb.url, challenge=challenge))
        blob = page.text.split('name="request" value="')[1].split('"')[0]
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        creds = {"email": ADMIN, "password": PASSWORD}
        no_csrf = browser.post(
            f"{sb.url}/authorize/login", data={"request": blob, "csrf_token": "x", **creds}
        )
        assert no_csrf.status_code == 400 and "security token" in no_csrf.text
        tampered = blob[:-2] + ("AA" if blob[-2:] != "AA" else "BB")
        bad = browser.post(
            f"{sb.url}/authorize/login", data={"request": tampered, "csrf_token": csrf, **creds}
        )
        assert bad.status_code == 400
        # A login form is not a consent form: skipping the password step is impossible.
        skip = browser.post(
            f"{sb.url}/authorize/consent", data={"request": blob, "csrf_token": csrf, "decision": "allow"}
        )
        assert skip.status_code == 400
    with httpx.Client(timeout=15) as other_browser:  # no cookie: someone else's form
        stolen = other_browser.post(
            f"{sb.url}/authorize/login", data={"request": blob, "csrf_token": csrf, **creds}
        )
        assert stolen.status_code == 400


def test_an_expired_code_is_refused(client: httpx.Client, sb: RunningSandbox) -> None:
    code, verifier = _code(sb)
    with db.writing(sb.app.state.engine) as conn:
        conn.execute(sa.update(db.oauth_codes).values(expires_at=db.utcnow() - dt.timedelta(seconds=1)))
    response = _exchange(client, code, verifier)
    assert response.json() == {"error": "invalid_grant", "error_description": "authorization code expired"}


def test_expired_and_forged_access_tokens_are_rejected(client: httpx.Client, sb: RunningSandbox) -> None:
    auth = sb.app.state.auth
    with db.reading(sb.app.state.engine) as conn:
        admin_id = conn.execute(sa.select(db.users.c.id).where(db.users.c.email_key == ADMIN)).scalar_one()
    expired = auth.access_token(
        subject=admin_id, scopes=["read:users"], client_id=CLIENT_ID, session_id=None, ttl=-5
    )
    with pytest.raises(InvalidToken, match="expired"):
        sb.app.state.verify_access_token(expired)
    response = client.get("/api/users", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    forged = jwt.encode(
        {
            "sub": str(admin_id),
            "iss": sb.url,
            "aud": "opsconsole-api",
            "exp": time.time() + 60,
            "scopes": ["read:users"],
        },
        "a guessed secret that is long enough for HS256",
        algorithm="HS256",
        headers={"typ": "at+jwt"},
    )
    assert client.get("/api/users", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert client.get("/api/users", headers={"Authorization": "Bearer not-a-jwt"}).status_code == 401
    missing = client.get("/api/users")
    assert missing.status_code == 401 and missing.headers["content-type"] == "application/problem+json"
    id_token = obtain_tokens(sb.url, ADMIN)["id_token"]
    assert client.get("/api/me", headers={"Authorization": f"Bearer {id_token}"}).status_code == 401


def test_service_tokens_act_as_the_admin(client: httpx.Client, sb: RunningSandbox) -> None:
    token = sb.app.state.mint_service_token(["read:users"], ttl=60)
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["email"] == ADMIN
    assert client.post("/api/users", headers={"Authorization": f"Bearer {token}"}, json={}).status_code == 403


def test_revocation(client: httpx.Client, sb: RunningSandbox) -> None:
    tokens = obtain_tokens(sb.url, ADMIN)
    for unknown in ("no-such-token", "a.b.c"):
        response = client.post("/revoke", data={"token": unknown, "client_id": CLIENT_ID})
        assert response.status_code == 200
    assert client.post("/revoke", data={"token": "x"}).status_code == 401
    assert client.post("/revoke", data={"client_id": CLIENT_ID}).json()["error"] == "invalid_request"
    # Revoking the access token ends that token only.
    revoked = client.post(
        "/revoke",
        data={"token": tokens["access_token"], "token_type_hint": "access_token", "client_id": CLIENT_ID},
    )
    assert revoked.status_code == 200
    assert client.get("/api/me", headers=bearer(tokens)).status_code == 401
    fresh = _refresh(client, tokens["refresh_token"]).json()
    assert client.get("/api/me", headers=bearer(fresh)).status_code == 200
    # Revoking the refresh token ends the session: its access tokens and any refresh.
    assert (
        client.post("/revoke", data={"token": fresh["refresh_token"], "client_id": CLIENT_ID}).status_code
        == 200
    )
    assert client.get("/api/me", headers=bearer(fresh)).status_code == 401
    assert _refresh(client, fresh["refresh_token"]).json()["error"] == "invalid_grant"


def test_active_sessions_count_live_families(sb: RunningSandbox, client: httpx.Client) -> None:
    before = sb.app.state.auth.active_sessions()
    tokens = obtain_tokens(sb.url, VIEWER)
    assert sb.app.state.auth.active_sessions() == before + 1
    client.post("/revoke", data={"token": tokens["refresh_token"], "client_id": CLIENT_ID})
    assert sb.app.state.auth.active_sessions() == before


def test_token_endpoint_errors(client: httpx.Client) -> None:
    cases: list[tuple[Callable[[], httpx.Response], int, str]] = [
        (
            lambda: client.post("/token", data={"grant_type": "password", "client_id": CLIENT_ID}),
            400,
            "unsupported_grant_type",
        ),
        (lambda: client.post("/token", data={"client_id": CLIENT_ID}), 400, "invalid_request"),
        (
            lambda: client.post("/token", data={"grant_type": "authorization_code", "client_id": "evil"}),
            401,
            "invalid_client",
        ),
        (lambda: client.post("/token", json={"grant_type": "refresh_token"}), 400, "invalid_request"),
        (
            lambda: client.post(
                "/token",
                content="grant_type=a&grant_type=b&client_id=opsconsole",
                headers={"content-type": "application/x-www-form-urlencoded"},
            ),
            400,
            "invalid_request",
        ),
        (
            lambda: client.post(
                "/token",
                data={
                    "grant_type": "authorization_code",
                    "client_id": CLIENT_ID,
                    "code": "nope",
                    "redirect_uri": REDIRECT,
                    "code_verifier": "v" * 43,
                },
            ),
            400,
            "invalid_grant",
        ),
        (
            lambda: client.post(
                "/token",
                data={"grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": "nope"},
            ),
            400,
            "invalid_grant",
        ),
    ]
    for call, status, error in cases:
        response = call()
        assert (response.status_code, response.json()["error"]) == (status, error), response.text
        assert response.json()["error_description"]


def test_userinfo(client: httpx.Client, sb: RunningSandbox) -> None:
    tokens = obtain_tokens(sb.url, SUPPORT, scopes=("openid", "profile", "email", "read:users"))
    info = client.get("/userinfo", headers=bearer(tokens))
    assert info.status_code == 200
    body = info.json()
    assert body["email"] == SUPPORT and body["name"] == "Sandbox Support" and body["roles"] == ["support"]
    no_openid = obtain_tokens(sb.url, SUPPORT, scopes=("read:users",))
    assert client.get("/userinfo", headers=bearer(no_openid)).status_code == 403
    assert client.get("/userinfo").status_code == 401


def test_the_issuer_follows_the_port_chosen_at_start(sb: RunningSandbox) -> None:
    assert urlsplit(sb.url).port == sb.settings.port != 0
