"""Races against the authorization server's single-use rules, on SQLite and PostgreSQL over real HTTP:
one authorization code exchanged by several clients at once."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.support.oauth_sandboxes import DATABASES, RACERS, race, running_on
from tests.support.sandbox import (
    ADMIN,
    CLIENT_ID,
    PASSWORD,
    authorize_url,
    bearer,
    callback_params,
    pkce_pair,
    scripted_login,
)

from opsconsole.sandbox.server import RunningSandbox

REDIRECT = "http://127.0.0.1:7777/callback"


@pytest.fixture(scope="module", params=DATABASES)
def sb(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with running_on(request, tmp_path_factory.mktemp("races")) as running:
        yield running


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
