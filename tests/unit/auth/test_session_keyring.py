"""The session over a keyring store: the file lock path, and failing closed when the keyring fails."""

from __future__ import annotations

import pytest

from opsconsole import paths
from opsconsole.auth.discovery import DiscoveryCache
from opsconsole.auth.errors import SignInRequired
from opsconsole.auth.session import Session
from opsconsole.auth.store import SERVICE, KeyringStore, MemoryStore
from opsconsole.auth.tokens import TokenSet
from tests.unit.auth.conftest import profile_for
from tests.unit.auth.keyrings import DictKeyring
from tests.unit.auth.mini_provider import MiniProvider


def _session(provider: MiniProvider, backend: DictKeyring) -> Session:
    return Session(
        profile_for(provider, token_storage="keyring"),
        store=KeyringStore(backend),
        interactive=True,
        discovery=DiscoveryCache(),
        open_browser=provider.browse,
    )


async def test_tokens_go_to_the_keyring_and_refresh_under_the_file_lock(provider: MiniProvider) -> None:
    backend = DictKeyring()
    async with _session(provider, backend) as session:
        first = await session.login()
        assert TokenSet.from_json(backend.secrets[(SERVICE, "test")]) == first
        second = await session.refresh(force=True)
    assert TokenSet.from_json(backend.secrets[(SERVICE, "test")]) == second
    assert (paths.lock_dir() / "auth-test.lock").exists()
    assert session.store.kind == "keyring" and session.storage_warning == ""


async def test_another_process_refresh_is_adopted_not_repeated(provider: MiniProvider) -> None:
    backend = DictKeyring()
    async with _session(provider, backend) as mine, _session(provider, backend) as theirs:
        await mine.login()
        await theirs.current()
        refreshed = await mine.refresh(force=True)
        # `theirs` still holds the old tokens; the API refused its access token (a 401).
        old = await theirs.current()
        assert old is not None and old.access_token != refreshed.access_token
        adopted = await theirs.refresh(rejected=old.access_token)
    assert adopted == refreshed
    assert provider.token_calls["refresh_token"] == 1  # the rotated refresh token was never sent twice


async def test_a_keyring_that_fails_on_save_falls_back_to_memory_and_says_so(provider: MiniProvider) -> None:
    backend = DictKeyring()
    events: list[str] = []
    async with _session(provider, backend) as session:
        session.add_listener(lambda e: events.append(e.kind))
        backend.locked = True  # the keyring locked itself and the unlock prompt was dismissed
        tokens = await session.login()
        assert session.store.kind == "memory"
        assert (
            "keyring is locked" in session.storage_warning
            and "memory for this run only" in session.storage_warning
        )
        assert (await session.status()).signed_in
    assert backend.secrets == {}
    assert MemoryStore().load("test") == tokens
    assert events == ["storage", "signed_in"]


async def test_signing_in_again_revokes_the_refresh_token_it_replaces(provider: MiniProvider) -> None:
    backend = DictKeyring()
    async with _session(provider, backend) as session:
        first = await session.login()
        second = await session.login()
    assert provider.revoked == [first.refresh_token]
    assert TokenSet.from_json(backend.secrets[(SERVICE, "test")]) == second


async def test_a_failed_keyring_write_after_a_refresh_leaves_no_used_refresh_token_behind(
    provider: MiniProvider,
) -> None:
    """Issue 15 item 8: the keyring must not keep a refresh token that the provider has already rotated."""
    backend = DictKeyring()
    async with _session(provider, backend) as first:
        await first.login()
        backend.failing = {"set"}  # the keyring stops taking writes (D-Bus trouble, a full collection)
        refreshed = await first.refresh(force=True)
        assert first.store.kind == "memory" and "memory for this run only" in first.storage_warning
        assert "removed the outdated sign-in from the keyring" in first.storage_warning
        assert backend.secrets == {}
        # The next process starts: it finds nothing to present, so it cannot trip reuse detection.
        async with _session(provider, backend) as second:
            assert not (await second.status()).signed_in
            with pytest.raises(SignInRequired):
                await second.refresh(force=True)
        again = await first.refresh(force=True)  # the first process keeps its session
    assert provider.revoked_families == set()
    assert again.access_token != refreshed.access_token


async def test_a_keyring_that_fails_to_write_and_to_delete_marks_its_entry_outdated(
    provider: MiniProvider,
) -> None:
    backend = DictKeyring()
    async with _session(provider, backend) as first:
        signed_in = await first.login()
        backend.failing = {"set", "delete"}
        await first.refresh(force=True)
        assert "marked it outdated" in first.storage_warning
        assert TokenSet.from_json(backend.secrets[(SERVICE, "test")]) == signed_in  # still there...
        async with _session(provider, backend) as second:
            assert not (await second.status()).signed_in  # ...but no process uses it
            with pytest.raises(SignInRequired):
                await second.refresh(force=True)
            await first.refresh(force=True)
            assert provider.revoked_families == set()
            # The keyring works again: a new sign-in replaces the outdated entry and is used from then on.
            backend.failing = set()
            fresh = await second.login()
        async with _session(provider, backend) as third:
            assert await third.current() == fresh
    assert TokenSet.from_json(backend.secrets[(SERVICE, "test")]) == fresh


async def test_a_new_sign_in_that_cannot_be_saved_leaves_no_earlier_one_in_the_keyring(
    provider: MiniProvider,
) -> None:
    backend = DictKeyring()
    async with _session(provider, backend) as session:
        earlier = await session.login()
        backend.failing = {"set"}
        await session.login()
        assert session.store.kind == "memory" and (await session.status()).signed_in
    assert backend.secrets == {}  # the earlier sign-in is gone from the keyring...
    assert provider.revoked == [earlier.refresh_token]  # ...and revoked, as a replaced sign-in is
    async with _session(provider, backend) as later:
        assert not (await later.status()).signed_in
