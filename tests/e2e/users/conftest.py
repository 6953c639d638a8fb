"""Fixtures for the users feature against a real sandbox: signed-in profiles and the CLI in-process.

Each demo account gets a profile of its own name (``admin``, ``support``, ``viewer``) in one profiles
file, with ``token_storage = "memory"``: the tokens come from a real sign-in through the sandbox's
pages (tests/support/sandbox.obtain_tokens) and sit in the process's memory store, where the CLI's
session finds them. ``cli(...)`` runs ``opsconsole`` in this process and returns (status, stdout,
stderr).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from opsconsole import cli
from opsconsole.auth.session import Session
from opsconsole.auth.store import MemoryStore
from opsconsole.auth.tokens import TokenSet
from opsconsole.config import Profile
from opsconsole.sandbox.server import RunningSandbox
from opsconsole.users import UsersClient
from tests.support.sandbox import ADMIN, CLIENT_ID, SUPPORT, VIEWER, obtain_tokens

ACCOUNTS = {"admin": ADMIN, "support": SUPPORT, "viewer": VIEWER}


@dataclass
class SignedIn:
    """Profiles for the demo accounts of one sandbox, signed in."""

    sandbox: RunningSandbox
    profiles: Path

    @property
    def url(self) -> str:
        return self.sandbox.url.rstrip("/")

    def profile(self, name: str) -> Profile:
        return Profile(name=name, api_url=f"{self.url}/api", issuer=self.url, client_id=CLIENT_ID,
                       audience="opsconsole-api", token_storage="memory")  # fmt: skip

    @asynccontextmanager
    async def client(self, name: str = "admin") -> AsyncIterator[UsersClient]:
        """A users client over a real session of profile ``name`` (the way the GUI gets one)."""
        async with Session(self.profile(name), store=MemoryStore()) as session, session.client() as http:
            yield UsersClient(http)


def sign_in(sandbox: RunningSandbox, profile: str, email: str) -> None:
    url = sandbox.url.rstrip("/")
    body = obtain_tokens(url, email)
    now = time.time()
    MemoryStore().save(
        profile,
        TokenSet(
            access_token=body["access_token"],
            issuer=url,
            client_id=CLIENT_ID,
            refresh_token=body.get("refresh_token", ""),
            expires_at=now + float(body["expires_in"]),
            issued_at=now,
            scopes=tuple(str(body["scope"]).split()),
            username=email,
        ),
    )


def write_profiles(path: Path, url: str, **extra: str) -> Path:
    lines = ['default_profile = "admin"']
    for name in ACCOUNTS:
        lines += [f"[profiles.{name}]", f'api_url = "{url}/api"', f'issuer = "{url}"', f'client_id = "{CLIENT_ID}"',
                  'audience = "opsconsole-api"', 'token_storage = "memory"']  # fmt: skip
        lines += [f'{k} = "{v}"' for k, v in extra.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def make_signed_in(
    make_sandbox: Callable[..., RunningSandbox], tmp_path: Path
) -> Iterator[Callable[..., SignedIn]]:
    MemoryStore.clear_all()

    def make(**sandbox_settings: object) -> SignedIn:
        sandbox = make_sandbox(**sandbox_settings)
        for profile, email in ACCOUNTS.items():
            sign_in(sandbox, profile, email)
        return SignedIn(sandbox, write_profiles(tmp_path / "profiles.toml", sandbox.url.rstrip("/")))

    yield make
    MemoryStore.clear_all()


@pytest.fixture
def signed_in(make_signed_in: Callable[..., SignedIn]) -> SignedIn:
    return make_signed_in()


CliRun = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli_run(signed_in: SignedIn, capsys: pytest.CaptureFixture[str]) -> CliRun:
    """``cli_run("--profile", "support", "users", "list")`` -> (status, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(["--config", str(signed_in.profiles), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run
