"""End to end against the real sandbox over HTTP: the CLI with a scripted BROWSER, a real Secret
Service, refresh with rotation, revocation, forced expiry, 20 concurrent requests, two processes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsconsole import paths
from opsconsole.auth import SignInRefused
from opsconsole.auth.discovery import DiscoveryCache
from opsconsole.auth.session import Session
from opsconsole.auth.store import SERVICE, MemoryStore
from opsconsole.auth.tokens import TokenSet
from opsconsole.config import Profile
from opsconsole.sandbox.server import RunningSandbox
from tests.support.keyring_service import SecretService
from tests.support.sandbox import PASSWORD, SUPPORT, scripted_login
from tests.support.scripted_browser import browser_command

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


def _profiles(tmp_path: Path, sandbox: RunningSandbox, storage: str = "keyring") -> Path:
    url = sandbox.url.rstrip("/")
    path = tmp_path / "profiles.toml"
    path.write_text(
        f"""
default_profile = "sandbox"
[profiles.sandbox]
api_url = "{url}/api"
issuer = "{url}"
client_id = "opsconsole"
audience = "opsconsole-api"
token_storage = "{storage}"
""",
        encoding="utf-8",
    )
    return path


def _cli(profiles: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opsconsole", "--config", str(profiles), *args],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        check=False,
    )


def _token_posts(sandbox: RunningSandbox) -> int:
    """POST /token requests the sandbox answered, whatever their status (from its /metrics)."""
    text = httpx.get(sandbox.url.rstrip("/") + "/metrics", timeout=10).text
    pattern = re.compile(r"^http_requests_total\{([^}]*)\}\s+([0-9.e+]+)$", re.MULTILINE)
    total = 0.0
    for labels, value in pattern.findall(text):
        if 'path="/token"' in labels and 'method="POST"' in labels:
            total += float(value)
    return int(total)


def _refresh_at_sandbox(sandbox: RunningSandbox, refresh_token: str) -> httpx.Response:
    return httpx.post(
        sandbox.url.rstrip("/") + "/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": "opsconsole"},
        timeout=10,
    )


def _stored(secret_service: SecretService) -> TokenSet:
    text = secret_service.lookup(SERVICE, "sandbox")
    assert text is not None, "nothing in the keyring"
    return TokenSet.from_json(text)


def _files_containing(secrets: list[str]) -> list[str]:
    found = []
    for folder in paths.all_user_dirs().values():
        if not folder.exists():
            continue
        for file in folder.rglob("*"):
            if file.is_file():
                data = file.read_bytes()
                found += [f"{file} holds a secret" for s in secrets if s.encode() in data]
                if re.search(rb"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.", data):
                    found.append(f"{file} holds something shaped like a JWT")
    return found


@pytest.mark.keyring
def test_the_whole_flow_through_the_cli_keyring_and_a_scripted_browser(
    tmp_path: Path, sandbox: RunningSandbox, secret_service: SecretService
) -> None:
    profiles = _profiles(tmp_path, sandbox)
    page_log = tmp_path / "browser.log"
    browser = {"BROWSER": browser_command(tmp_path), "OPSCONSOLE_TEST_BROWSER_LOG": str(page_log)}

    login = _cli(profiles, "-vv", "login", env=browser)
    assert login.returncode == 0, login.stderr
    link = [line for line in login.stdout.splitlines() if line.startswith("http")]
    assert len(link) == 1 and link[0].startswith(sandbox.url.rstrip("/") + "/authorize?")
    assert "Signed in to profile sandbox as support@sandbox.test" in login.stdout
    callback_path, status, page = page_log.read_text().split("\n", 2)
    assert (callback_path, status) == ("/callback", "200") and "You can close this tab" in page

    first = _stored(secret_service)  # read with secret-tool, not with the console's code
    assert first.username == "support@sandbox.test" and first.refresh_token

    status_json = json.loads(_cli(profiles, "--json", "auth", "status").stdout)  # another process
    assert status_json["signed_in"] is True and status_json["storage"] == "keyring"
    assert status_json["subject"] == first.subject and "read:users" in status_json["scopes"]

    refreshed = _cli(profiles, "-vv", "--json", "auth", "refresh")
    assert refreshed.returncode == 0, refreshed.stderr
    second = _stored(secret_service)
    assert second.refresh_token != first.refresh_token and second.access_token != first.access_token
    api = httpx.get(
        sandbox.url.rstrip("/") + "/api/me",
        headers={"Authorization": f"Bearer {second.access_token}"},
        timeout=10,
    )
    assert api.status_code == 200

    # Rotation: the old refresh token is dead, and presenting it again makes the sandbox revoke the
    # whole family (RFC 9700 4.14), so the console's next refresh is refused: it must say "sign in".
    old = _refresh_at_sandbox(sandbox, first.refresh_token)
    assert old.status_code == 400 and old.json()["error"] == "invalid_grant"
    ended = _cli(profiles, "auth", "refresh")
    assert ended.returncode == 3 and "has ended" in ended.stderr and "opsconsole login" in ended.stderr
    assert secret_service.lookup(SERVICE, "sandbox") is None

    secrets = [first.access_token, first.refresh_token, second.access_token, second.refresh_token]
    assert _files_containing(secrets) == []
    assert paths.user_log_dir().exists()  # the scan covered a real log written at debug level


@pytest.mark.keyring
def test_logout_revokes_and_forgets(
    tmp_path: Path, sandbox: RunningSandbox, secret_service: SecretService
) -> None:
    profiles = _profiles(tmp_path, sandbox)
    assert _cli(profiles, "login", env={"BROWSER": browser_command(tmp_path)}).returncode == 0
    tokens = _stored(secret_service)
    result = _cli(profiles, "logout")
    assert result.returncode == 0 and "the provider revoked the session" in result.stdout
    assert secret_service.lookup(SERVICE, "sandbox") is None
    assert _refresh_at_sandbox(sandbox, tokens.refresh_token).status_code == 400
    status = json.loads(_cli(profiles, "--json", "auth", "status").stdout)
    assert status["signed_in"] is False
    refused = _cli(profiles, "auth", "refresh")
    assert refused.returncode == 3 and "opsconsole login" in refused.stderr


def test_a_denied_consent_is_shown_in_words(tmp_path: Path, sandbox: RunningSandbox) -> None:
    profiles = _profiles(tmp_path, sandbox, storage="memory")
    denied = _cli(
        profiles, "login", env={"BROWSER": browser_command(tmp_path), "OPSCONSOLE_TEST_CONSENT": "0"}
    )
    assert denied.returncode == 3
    assert "The sign-in was declined" in denied.stderr and "access_denied" in denied.stderr


# -- in-process sessions against the sandbox ---------------------------------------------------------


def _browser(email: str = SUPPORT, deliver: Callable[[str], str] | None = None) -> Callable[[str], bool]:
    def open_url(url: str) -> bool:
        callback = scripted_login(url, email, PASSWORD)
        httpx.get(deliver(callback) if deliver else callback, timeout=30)
        return True

    return open_url


def _session(sandbox: RunningSandbox, **kwargs: Any) -> Session:
    url = sandbox.url.rstrip("/")
    profile = Profile(
        name="sandbox",
        api_url=f"{url}/api",
        issuer=url,
        client_id="opsconsole",
        audience="opsconsole-api",
        token_storage="memory",
    )
    kwargs.setdefault("open_browser", _browser())
    return Session(profile, store=MemoryStore(), interactive=True, discovery=DiscoveryCache(), **kwargs)


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


async def test_forced_expiry_and_twenty_concurrent_requests_share_one_refresh(
    sandbox: RunningSandbox,
) -> None:
    MemoryStore.clear_all()
    clock = Clock()
    async with _session(sandbox, clock=clock) as session:
        first = await session.login()
        assert first.expires_at is not None
        clock.offset = first.expires_at - time.time() - 1  # one second before expiry, inside the margin
        before = _token_posts(sandbox)
        async with session.client() as client:
            responses = await asyncio.gather(*(client.get("/me") for _ in range(20)))
        assert [r.status_code for r in responses] == [200] * 20
        assert {r.json()["email"] for r in responses} == {"support@sandbox.test"}
        assert _token_posts(sandbox) - before == 1
        second = await session.current()
        assert second is not None and second.access_token != first.access_token
    MemoryStore.clear_all()


async def test_a_replayed_callback_is_refused_by_the_console(sandbox: RunningSandbox) -> None:
    MemoryStore.clear_all()
    captured: list[str] = []

    def keep(callback: str) -> str:
        captured.append(callback)
        return callback

    async with _session(sandbox, open_browser=_browser(deliver=keep)) as session:
        first = await session.login()
        refused: list[httpx.Response] = []

        def replay_then_browse(url: str) -> bool:
            # the old callback (old code, old state) reaches the new sign-in's receiver first
            callback = scripted_login(url, SUPPORT, PASSWORD)
            receiver = callback.split("/callback")[0]
            refused.append(httpx.get(re.sub(r"^http://127\.0\.0\.1:\d+", receiver, captured[0]), timeout=30))
            httpx.get(callback, timeout=30)
            return True

        session._open_browser = replay_then_browse
        second = await session.login()
        assert [r.status_code for r in refused] == [400] and "Not this sign-in" in refused[0].text
        assert second.refresh_token != first.refresh_token and await session.current() == second
        # and the code itself is spent: the sandbox refuses to exchange it again
        with pytest.raises(SignInRefused, match="invalid_grant"):
            from opsconsole.auth import flow

            params = httpx.URL(captured[0]).params
            request = flow.AuthorizationRequest(
                url="",
                redirect_uri=captured[0].split("?")[0],
                scopes=(),
                state=params["state"],
                verifier="x" * 43,
                nonce=None,
            )
            await flow.exchange_code(session._client(), await session.metadata(), request, params["code"])
    MemoryStore.clear_all()


@pytest.mark.keyring
def test_two_processes_refreshing_at_once_make_one_refresh(
    tmp_path: Path, sandbox: RunningSandbox, secret_service: SecretService
) -> None:
    profiles = _profiles(tmp_path, sandbox)
    assert _cli(profiles, "login", env={"BROWSER": browser_command(tmp_path)}).returncode == 0
    signed_in = _stored(secret_service)
    assert signed_in.expires_at is not None
    offset = str(signed_in.expires_at - time.time() - 1)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.auth.refresh_worker", str(profiles), offset],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=dict(os.environ),
        )
        for _ in range(2)
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    before = _token_posts(sandbox)
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert _token_posts(sandbox) - before == 1
    assert results[0] == results[1] and results[0]["store"] == "keyring"
    final = _stored(secret_service)
    assert hashlib.sha256(final.access_token.encode()).hexdigest() == results[0]["access"]
    assert final.refresh_token != signed_in.refresh_token
    me = httpx.get(
        sandbox.url.rstrip("/") + "/api/me",
        headers={"Authorization": f"Bearer {final.access_token}"},
        timeout=10,
    )
    assert me.status_code == 200
