"""The traces commands' own rules: where the sign-in token may go, and a profile without traces."""

from __future__ import annotations

import argparse
import io

import pytest

from opsconsole.cli import CliContext  # the real context the CLI hands its handlers
from opsconsole.config import Profile
from opsconsole.errors import OpsError
from opsconsole.traces.commands import is_own_traces_server, search


def _profile(traces_url: str) -> Profile:
    return Profile(
        name="p",
        api_url="https://ops.example.com/api",
        issuer="https://login.example.com",
        client_id="opsconsole",
        traces_url=traces_url,
    )


@pytest.mark.parametrize(
    ("traces_url", "own"),
    [
        ("https://ops.example.com/jaeger", True),  # the API's origin
        ("https://ops.example.com:443/jaeger", True),  # the same origin, port spelled out
        ("https://login.example.com/traces", True),  # the issuer's origin
        ("http://ops.example.com/jaeger", False),  # another scheme
        ("https://ops.example.com:16686", False),  # another port
        ("https://jaeger.example.com", False),  # another host: a separate Jaeger never sees the token
        ("", False),
    ],
)
def test_the_token_goes_only_to_the_profiles_own_origin(traces_url: str, own: bool) -> None:
    assert is_own_traces_server(_profile(traces_url)) is own


def test_a_profile_without_traces_says_what_to_add() -> None:
    class Ctx(CliContext):
        def profile(self) -> Profile:
            return _profile("")

    args = argparse.Namespace(service=None, operation=None, min_duration=None, lookback="1h", limit=20)
    with pytest.raises(OpsError) as info:
        search(Ctx(out=io.StringIO()), args)
    assert "has no traces_url" in str(info.value) and "traces_api" in info.value.hint
