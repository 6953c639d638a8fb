"""End to end: ``opsconsole login --device`` (RFC 8628) against the real sandbox, run as a user runs it,
with a scripted person who opens the address it prints on "another device", signs in and answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from opsconsole.auth.store import SERVICE
from opsconsole.auth.tokens import TokenSet
from opsconsole.sandbox.server import RunningSandbox

# The sign-in test's profile file, so both write the same one.
from tests.e2e.auth.test_signin_sandbox import _profiles
from tests.support.keyring_service import SecretService
from tests.support.sandbox import PASSWORD, SUPPORT
from tests.support.signin_pages import approve_device

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


def _cli(profiles: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "opsconsole", "--config", str(profiles), *args]


def _login_device(profiles: Path, person: Callable[[str], httpx.Response]) -> tuple[int, str, str, str]:
    """Run ``opsconsole login --device``; when it prints the address with the code, ``person`` acts on
    it. Returns (exit code, stdout, stderr, the page the person ended on)."""
    process = subprocess.Popen(
        _cli(profiles, "login", "--device"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=dict(os.environ),
    )
    assert process.stdout is not None
    shown: list[str] = []
    page = ""
    try:
        for line in process.stdout:  # ends at EOF if the console exits before showing a code
            shown.append(line)
            if "user_code=" in line:
                page = person(line.strip()).text
                break
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, "".join(shown) + out, err, page


@pytest.mark.parametrize("allow", [True, False], ids=["allowed", "denied"])
def test_login_device_with_a_person_on_another_device(
    tmp_path: Path, sandbox: RunningSandbox, allow: bool
) -> None:
    profiles = _profiles(tmp_path, sandbox, storage="memory")

    code, out, err, page = _login_device(
        profiles, lambda url: approve_device(url, SUPPORT, PASSWORD, allow=allow)
    )

    assert f"{sandbox.url.rstrip('/')}/device" in out and "and enter the code " in out
    assert "Traceback" not in err
    if allow:
        assert code == 0, err
        assert "You are signed in on your device" in page
        assert "Signed in to profile sandbox as support@sandbox.test" in out
    else:
        assert code != 0 and "not signed in" in page
        assert "denied" in err.lower(), err


@pytest.mark.keyring
def test_login_device_stores_the_session_in_the_keyring(
    tmp_path: Path, sandbox: RunningSandbox, secret_service: SecretService
) -> None:
    profiles = _profiles(tmp_path, sandbox, storage="keyring")

    code, _, err, _ = _login_device(profiles, lambda url: approve_device(url, SUPPORT, PASSWORD))

    assert code == 0, err
    text = secret_service.lookup(SERVICE, "sandbox")  # read with secret-tool, not the console's code
    assert text is not None
    stored = TokenSet.from_json(text)
    assert stored.username == SUPPORT and stored.refresh_token
    status = subprocess.run(
        _cli(profiles, "--json", "auth", "status"),
        capture_output=True,
        text=True,
        timeout=90,
        cwd=ROOT,
        check=False,
    )
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["signed_in"] is True
    me = httpx.get(
        f"{sandbox.url.rstrip('/')}/api/me",
        headers={"Authorization": f"Bearer {stored.access_token}"},
        timeout=10,
    )
    assert me.status_code == 200 and me.json()["email"] == SUPPORT
