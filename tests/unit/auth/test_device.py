"""Sign-in from another device (RFC 8628) against the mini provider, in-process and through the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from opsconsole.auth.errors import ProviderError, SignInRefused
from opsconsole.auth.flow import DeviceAuthorization
from opsconsole.auth.store import MemoryStore
from tests.unit.auth.conftest import session_for
from tests.unit.auth.mini_provider import AUDIENCE, CLIENT_ID, MiniProvider


async def test_the_user_approves_on_another_device(provider: MiniProvider) -> None:
    codes: list[DeviceAuthorization] = []
    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:  # the user types the code while the console polls
            provider.approve_device(codes[0].user_code)

    async with session_for(provider) as session:
        tokens = await session.login_device(on_code=codes.append, wait=wait)
    assert codes[0].user_code == "WDJB-MJHT" and codes[0].verification_uri.endswith("/activate")
    assert "device_code" not in repr(codes[0])
    assert waits == [1.0, 1.0]  # one authorization_pending, then the tokens
    assert tokens.username == "alice@example.test"
    assert MemoryStore().load("test") == tokens


async def test_slow_down_makes_the_console_poll_less_often(
    make_provider: Callable[..., MiniProvider],
) -> None:
    provider = make_provider(device_slow_down=True)
    codes: list[DeviceAuthorization] = []
    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            provider.approve_device(codes[0].user_code)

    async with session_for(provider) as session:
        await session.login_device(on_code=codes.append, wait=wait)
    assert waits == [1.0, 6.0]


async def test_a_denial_on_the_device_is_shown_in_words(provider: MiniProvider) -> None:
    codes: list[DeviceAuthorization] = []

    async def wait(seconds: float) -> None:
        if codes:
            provider.approve_device(codes[0].user_code, approve=False)

    async with session_for(provider) as session:
        with pytest.raises(SignInRefused, match=r"declined .*\(access_denied\)"):
            await session.login_device(on_code=codes.append, wait=wait)
    assert MemoryStore().load("test") is None


async def test_a_provider_without_the_grant_is_explained(make_provider: Callable[..., MiniProvider]) -> None:
    provider = make_provider(metadata_overrides={"device_authorization_endpoint": None})
    async with session_for(provider) as session:
        with pytest.raises(ProviderError, match="does not offer sign-in from another device") as caught:
            await session.login_device(on_code=lambda device: None)
    assert "--no-browser" in caught.value.hint


def test_login_device_through_the_cli(tmp_path: Path, provider: MiniProvider) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(
        f'[profiles.test]\napi_url = "{provider.issuer}/api"\nissuer = "{provider.issuer}"\n'
        f'client_id = "{CLIENT_ID}"\naudience = "{AUDIENCE}"\ntoken_storage = "memory"\n',
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "opsconsole", "--config", str(profiles), "login", "--device"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("and enter the code"):
            provider.approve_device(line.split()[-1])
            break
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    text = "".join(lines) + out
    assert f"{provider.issuer}/activate\n" in text and "WDJB-MJHT" in text
    assert "Signed in to profile test as alice@example.test" in text
