"""Races against the authorization server's single-use rules, on SQLite and PostgreSQL over real HTTP:
one authorization code exchanged by several clients at once, one consent form posted at once, one
approved device code polled at once."""

from __future__ import annotations

import httpx

from opsconsole.sandbox.server import RunningSandbox
from tests.support.oauth_sandboxes import RACERS, race, sandbox_fixture
from tests.support.sandbox import (
    ADMIN,
    CLIENT_ID,
    PASSWORD,
    VIEWER,
    authorize_url,
    bearer,
    callback_params,
    pkce_pair,
    scripted_login,
)
from tests.support.signin_pages import approve_device, consent_page, submit

REDIRECT = "http://127.0.0.1:7777/callback"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

sb = sandbox_fixture("sb", "module")


def _exchange(http: httpx.Client, code: str, verifier: str) -> httpx.Response:
    return http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": CLIENT_ID,
            "code_verifier": verifier,
        },
    )


def test_one_code_exchanged_concurrently_succeeds_once_and_the_replays_revoke_it(sb: RunningSandbox) -> None:
    verifier, challenge = pkce_pair()
    url = authorize_url(sb.url, challenge=challenge, state="race")
    code = callback_params(scripted_login(url, ADMIN, PASSWORD))["code"]

    responses = race(sb.url, lambda http: _exchange(http, code, verifier))

    won = [r for r in responses if r.status_code == 200]
    assert len(won) == 1, [r.text for r in responses]
    lost = [r.json() for r in responses if r.status_code != 200]
    assert {e["error"] for e in lost} == {"invalid_grant"} and len(lost) == RACERS - 1
    tokens = won[0].json()
    with httpx.Client(base_url=sb.url, timeout=15) as http:
        # The replays ended the session the one exchange created (RFC 6749 4.1.2).
        assert http.get("/userinfo", headers=bearer(tokens)).status_code == 401
        refreshed = http.post(
            "/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": CLIENT_ID,
            },
        )
        assert refreshed.json()["error"] == "invalid_grant"


def test_concurrent_posts_of_one_consent_form_yield_one_code(sb: RunningSandbox) -> None:
    with httpx.Client(timeout=15) as browser:
        consent = consent_page(sb.url, browser, VIEWER, PASSWORD)
        cookies = dict(browser.cookies)

    def post(http: httpx.Client) -> httpx.Response:
        http.cookies.update(cookies)
        return submit(http, consent, "consent", decision="allow")

    responses = race(sb.url, post)
    assert sorted(r.status_code for r in responses) == [303] + [400] * (RACERS - 1)


def test_one_approved_device_code_polled_concurrently_issues_tokens_once(sb: RunningSandbox) -> None:
    with httpx.Client(base_url=sb.url, timeout=15) as http:
        started = http.post("/device_authorization", data={"client_id": CLIENT_ID, "scope": "openid"}).json()
    approve_device(started["verification_uri_complete"], VIEWER, PASSWORD)
    form = {"grant_type": DEVICE_GRANT, "device_code": started["device_code"], "client_id": CLIENT_ID}

    responses = race(sb.url, lambda http: http.post("/token", data=form))

    assert sorted(r.status_code for r in responses) == [200] + [400] * (RACERS - 1)
    assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}
