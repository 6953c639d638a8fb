"""/metrics and /jaeger/* beyond loopback need a credential, on SQLite and PostgreSQL.

The sandbox binds the wildcard address here (so it counts as reachable from other machines) and is
reached through 127.0.0.1. Credentials: the scrape token from --scrape-token-file, or an access token
with read:telemetry whose account's roles still grant it.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from opsconsole.sandbox.server import RunningSandbox
from tests.sandbox.live_support import sandbox_on
from tests.support.sandbox import ADMIN, bearer, obtain_tokens

PATHS = ("/metrics", "/jaeger/api/services")
SCRAPE_TOKEN = secrets.token_urlsafe(24)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sb(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    token_file = tmp_path_factory.mktemp("secrets") / "scrape-token"
    token_file.write_text(SCRAPE_TOKEN + "\n")
    token_file.chmod(0o600)
    with sandbox_on(request, tmp_path_factory, host="0.0.0.0", scrape_token_file=token_file) as running:
        yield running


def _get(sb: RunningSandbox, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(f"{sb.url}{path}", headers=headers or {}, timeout=20)


@pytest.mark.parametrize("path", PATHS)
def test_without_a_credential_telemetry_is_closed(sb: RunningSandbox, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer " + "x" * len(SCRAPE_TOKEN)}):
        response = _get(sb, path, headers)
        assert response.status_code == 401, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "read:telemetry" in response.json()["detail"] or "scrape token" in response.json()["detail"]


@pytest.mark.parametrize("path", PATHS)
def test_the_scrape_token_opens_it(sb: RunningSandbox, path: str) -> None:
    assert _get(sb, path, {"Authorization": f"Bearer {SCRAPE_TOKEN}"}).status_code == 200


def test_an_access_token_needs_the_telemetry_scope_and_permission(sb: RunningSandbox) -> None:
    admin = bearer(obtain_tokens(sb.url, ADMIN))  # the usual scopes: no read:telemetry
    assert _get(sb, "/metrics", admin).status_code == 403
    scoped = {"Authorization": f"Bearer {sb.app.state.mint_service_token(['read:telemetry'], ttl=60)}"}
    for path in PATHS:
        assert _get(sb, path, scoped).status_code == 200
    role = httpx.get(f"{sb.url}/api/roles/admin", headers=admin, timeout=20)
    without = [p for p in role.json()["permissions"] if p != "read:telemetry"]
    changed = httpx.put(
        f"{sb.url}/api/roles/admin/permissions",
        headers={**admin, "If-Match": role.headers["etag"]},
        json={"permissions": without},
        timeout=20,
    )
    assert changed.status_code == 200, changed.text
    try:
        refused = _get(sb, "/metrics", scoped)
        assert refused.status_code == 403 and "no longer" in refused.json()["detail"]
    finally:
        httpx.put(
            f"{sb.url}/api/roles/admin/permissions",
            headers={**admin, "If-Match": changed.headers["etag"]},
            json={"permissions": role.json()["permissions"]},
            timeout=20,
        )


def test_on_loopback_telemetry_stays_open(sandbox: RunningSandbox) -> None:
    for path in PATHS:
        assert _get(sandbox, path).status_code == 200


def test_a_scrape_token_file_that_is_missing_or_too_short_stops_the_start(tmp_path: Path) -> None:
    from opsconsole.sandbox.telemetry_access import load_scrape_token

    with pytest.raises(ValueError, match="cannot read"):
        load_scrape_token(tmp_path / "absent")
    short = tmp_path / "short"
    short.write_text("abc")
    with pytest.raises(ValueError, match="shorter than"):
        load_scrape_token(short)


def test_the_cli_passes_the_scrape_token_file_and_refuses_a_missing_one(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-token"
    command = [sys.executable, "-m", "opsconsole", "sandbox", "--port", "0", "--data-dir", str(tmp_path)]
    done = subprocess.run(
        [*command, "--scrape-token-file", str(missing)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert f"cannot read the scrape token file {missing}" in done.stderr
