"""The sign-in commands as people and scripts run them: `python -m opsconsole ...` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.auth.mini_provider import AUDIENCE, CLIENT_ID, MiniProvider


def _config(tmp_path: Path, provider: MiniProvider, storage: str = "memory") -> Path:
    path = tmp_path / "profiles.toml"
    path.write_text(
        f"""
default_profile = "test"
[profiles.test]
api_url = "{provider.issuer}/api"
issuer = "{provider.issuer}"
client_id = "{CLIENT_ID}"
audience = "{AUDIENCE}"
token_storage = "{storage}"
""",
        encoding="utf-8",
    )
    return path


def _run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opsconsole", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
        check=False,
    )


def _login(config: Path, provider: MiniProvider, *extra: str) -> tuple[int, str, str, str]:
    """Run `login --no-browser`, act as the browser on the printed link; (status, stdout, stderr, url)."""
    json_mode = "--json" in extra
    process = subprocess.Popen(
        [sys.executable, "-m", "opsconsole", "--config", str(config), *extra, "login", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert process.stdout is not None and process.stderr is not None
    stream = process.stderr if json_mode else process.stdout
    seen: list[str] = []
    for line in stream:
        seen.append(line)
        if line.startswith("http"):
            break
    else:
        process.kill()
        pytest.fail(f"no sign-in link was printed: {seen!r} {process.stderr.read()}")
    url = seen[-1].strip()
    browser = threading.Thread(target=provider.browse, args=(url,))
    browser.start()
    out, err = process.communicate(timeout=60)
    browser.join(10)
    if json_mode:
        err = "".join(seen) + err
    else:
        out = "".join(seen) + out
    return process.returncode, out, err, url


def test_login_prints_the_link_on_its_own_line_and_who_signed_in(
    tmp_path: Path, provider: MiniProvider
) -> None:
    status, out, err, url = _login(_config(tmp_path, provider), provider)
    assert status == 0, err
    assert url.startswith(f"{provider.issuer}/authorize?")
    assert f"\n{url}\n" in out
    assert "Signed in to profile test as alice@example.test (subject alice)." in out
    assert "read:users" in out


def test_login_json_keeps_stdout_to_one_document(tmp_path: Path, provider: MiniProvider) -> None:
    status, out, err, _url = _login(_config(tmp_path, provider), provider, "--json")
    assert status == 0, err
    document = json.loads(out)
    assert set(document) == {"profile", "signed_in", "subject", "scopes", "access_expires_at", "storage"}
    assert document["signed_in"] is True and document["subject"] == "alice"
    assert document["storage"] == "memory" and "read:users" in document["scopes"]


def test_a_refused_login_exits_3_and_says_why_in_words(
    tmp_path: Path, make_provider: Callable[..., MiniProvider]
) -> None:
    provider = make_provider(callback="deny")
    status, _out, err, _url = _login(_config(tmp_path, provider), provider)
    assert status == 3
    assert "The sign-in was declined" in err and "(access_denied): The user said no" in err


def test_status_when_signed_out_and_without_a_keyring(tmp_path: Path, provider: MiniProvider) -> None:
    result = _run(_config(tmp_path, provider, storage="keyring"), "--json", "auth", "status")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {
        "profile": "test",
        "signed_in": False,
        "subject": None,
        "scopes": [],
        "access_expires_at": None,
        "storage": "memory",
    }
    text = _run(_config(tmp_path, provider, storage="keyring"), "auth", "status")
    assert "not signed in" in text.stdout
    assert "No usable keyring on this system" in text.stderr  # fail closed, and say so


def test_refresh_without_a_session_exits_3_with_the_login_hint(
    tmp_path: Path, provider: MiniProvider
) -> None:
    result = _run(_config(tmp_path, provider), "auth", "refresh")
    assert result.returncode == 3
    assert 'Not signed in to profile "test"' in result.stderr
    assert "hint: Run `opsconsole login`" in result.stderr


def test_logout_when_not_signed_in_is_fine(tmp_path: Path, provider: MiniProvider) -> None:
    result = _run(_config(tmp_path, provider), "logout")
    assert result.returncode == 0 and "was not signed in" in result.stdout


def test_a_broken_discovery_is_exit_3_with_the_issuer_hint(
    tmp_path: Path, make_provider: Callable[..., MiniProvider]
) -> None:
    provider = make_provider(discovery="html")
    result = _run(_config(tmp_path, provider), "login", "--no-browser")
    assert result.returncode == 3
    assert "an HTML page, not a JSON metadata document" in result.stderr
    assert "hint: Check the profile's issuer" in result.stderr
