"""Sign-in from another device (RFC 8628) against the mini provider, in-process and through the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from opsconsole.auth.errors import InsecureTransportError, ProviderError, SignInRefused
from opsconsole.auth.flow import DEFAULT_INTERVAL, DEVICE_GRANT, DeviceAuthorization
from opsconsole.auth.store import MemoryStore
from tests.unit.auth.conftest import FakeClock, session_for
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


@pytest.mark.parametrize("interval", [0, -3])
async def test_an_interval_of_zero_neither_hot_loops_nor_outlives_the_code(
    make_provider: Callable[..., MiniProvider], interval: int
) -> None:
    # A provider answering interval 0 (or less) once made the console poll as fast as it could and,
    # since expiry was measured by adding up the sleeps, for ever.
    provider = make_provider(device_interval=interval, device_expires_in=12)
    clock = FakeClock(1000.0)
    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)
        assert len(waits) < 50, "the console polls in a hot loop"
        clock.advance(seconds)

    async with session_for(provider) as session:
        with pytest.raises(SignInRefused, match="expired_token"):
            await session.login_device(on_code=lambda device: None, wait=wait, monotonic=clock)
    assert waits == [DEFAULT_INTERVAL] * 3  # polled at 5, 10 and 15 s; the code expired at 12 s
    assert provider.token_calls[DEVICE_GRANT] == 3


async def test_the_code_expires_by_the_clock_however_long_each_poll_takes(provider: MiniProvider) -> None:
    # Slow answers from the provider count against the code's lifetime too, not just the sleeps.
    clock = FakeClock(1000.0)

    async def wait(seconds: float) -> None:
        clock.advance(seconds + 299)  # each sleep and poll takes five minutes

    async with session_for(provider) as session:
        with pytest.raises(SignInRefused, match="expired_token"):
            await session.login_device(on_code=lambda device: None, wait=wait, monotonic=clock)
    assert provider.token_calls[DEVICE_GRANT] == 2  # 300 s, 600 s: the code's 600 s are over


async def _never(seconds: float) -> None:
    raise AssertionError("the console went on to poll")


NOT_HTTPS = (InsecureTransportError, "must be an https URL")
NOT_TEXT = (ProviderError, "device authorization answer has an unreadable")


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        # The person is sent there to type their password: plain http is only acceptable on this machine.
        ({"verification_uri": "http://phish.example/activate"}, NOT_HTTPS),
        ({"verification_uri_complete": "http://phish.example/activate?user_code=WDJB-MJHT"}, NOT_HTTPS),
        ({"verification_uri": "javascript:alert(1)"}, NOT_HTTPS),
        # Printed to the terminal as they are, control characters would be commands to it.
        ({"user_code": "WDJB\x1b]0;pwned\x07-MJHT"}, NOT_TEXT),  # an escape sequence retitling it
        ({"user_code": "WDJB-MJHT\x1b[2J"}, NOT_TEXT),  # ... or clearing it
        ({"verification_uri": "https://example.test/activate\x1b[8m"}, NOT_TEXT),
        ({"verification_uri_complete": "https://example.test/activate?\u202ecode"}, NOT_TEXT),  # bidi
        ({"user_code": "W" * 500}, NOT_TEXT),
    ],
)
async def test_a_device_code_or_address_unfit_to_show_is_refused(
    make_provider: Callable[..., MiniProvider],
    overrides: dict[str, str],
    refusal: tuple[type[Exception], str],
) -> None:
    provider = make_provider(device_overrides=overrides)
    shown: list[DeviceAuthorization] = []
    async with session_for(provider) as session:
        with pytest.raises(refusal[0], match=refusal[1]):
            await session.login_device(on_code=shown.append, wait=_never)
    assert shown == [] and provider.token_calls.get(DEVICE_GRANT, 0) == 0
