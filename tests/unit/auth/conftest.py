"""Fixtures for the sign-in unit tests: a real mini provider on 127.0.0.1 and sessions pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from opsconsole.auth.discovery import DiscoveryCache
from opsconsole.auth.session import Session
from opsconsole.auth.store import MemoryStore
from opsconsole.config import Profile
from tests.unit.auth.mini_provider import AUDIENCE, CLIENT_ID, Behaviour, MiniProvider


class FakeClock:
    """A clock the test moves by hand; shared by the client and the mini provider."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def _forget_memory_tokens() -> Iterator[None]:
    MemoryStore.clear_all()
    yield
    MemoryStore.clear_all()


@pytest.fixture
def make_provider() -> Iterator[Callable[..., MiniProvider]]:
    started: list[MiniProvider] = []

    def make(**behaviour: object) -> MiniProvider:
        provider = MiniProvider(Behaviour(**behaviour))  # type: ignore[arg-type]
        provider.__enter__()
        started.append(provider)
        return provider

    yield make
    for provider in started:
        provider.__exit__(None, None, None)


@pytest.fixture
def provider(make_provider: Callable[..., MiniProvider]) -> MiniProvider:
    return make_provider()


def profile_for(provider: MiniProvider, **overrides: object) -> Profile:
    values: dict[str, object] = {
        "name": "test",
        "api_url": f"{provider.issuer}/api",
        "issuer": provider.issuer,
        "client_id": CLIENT_ID,
        "audience": AUDIENCE,
        "token_storage": "memory",
    }
    values.update(overrides)
    return Profile(**values)  # type: ignore[arg-type]


def session_for(
    provider: MiniProvider, *, clock: Callable[[], float] | None = None, **overrides: object
) -> Session:
    kwargs: dict[str, object] = {}
    if clock is not None:
        kwargs["clock"] = clock
    return Session(
        profile_for(provider, **overrides),
        store=MemoryStore(),
        interactive=True,
        discovery=DiscoveryCache(),
        open_browser=provider.browse,
        **kwargs,  # type: ignore[arg-type]
    )
