"""Token storage: which keyring backends are trusted, the compact keyring entry, the memory fallback."""

from __future__ import annotations

from typing import Any

import keyring.errors
import pytest
from keyring.backends import chainer, fail, null

from opsconsole.auth.errors import TokenStorageError
from opsconsole.auth.store import (
    SERVICE,
    KeyringStore,
    MemoryStore,
    describe_backend,
    inspect_backend,
    open_store,
)
from opsconsole.auth.tokens import TokenSet
from opsconsole.config import Profile
from tests.unit.auth.keyrings import DictKeyring, PlaintextKeyring


def _tokens(access: str = "A" * 40) -> TokenSet:
    return TokenSet(
        access_token=access,
        refresh_token="R" * 43,
        issuer="https://idp.example",
        client_id="opsconsole",
        expires_at=2_000_000_000.0,
        issued_at=1_999_999_100.0,
        scopes=("openid", "read:users"),
        subject="alice",
    )


def _profile(**changes: Any) -> Profile:
    return Profile(
        name="prod",
        api_url="https://api.example",
        issuer="https://idp.example",
        client_id="opsconsole",
        **changes,
    )


@pytest.mark.parametrize(
    ("backend", "words"),
    [
        (fail.Keyring(), "no keyring backend is available"),
        (null.Keyring(), "the null backend"),
        (PlaintextKeyring(), "keeps secrets in a file on disk"),
    ],
)
def test_backends_that_cannot_protect_a_secret_are_refused(backend: Any, words: str) -> None:
    info = inspect_backend(backend)
    assert not info.usable and words in info.reason


def test_a_chainer_with_nothing_viable_is_refused() -> None:
    empty = chainer.ChainerBackend()
    assert list(empty.backends) == []  # conftest selects no real keyring for tests
    assert not inspect_backend(empty).usable


def test_a_real_backend_is_trusted() -> None:
    info = inspect_backend(DictKeyring())
    assert info.usable and info.max_secret_chars is None


def test_without_a_usable_keyring_tokens_stay_in_memory_with_a_warning() -> None:
    choice = open_store(_profile())  # conftest: keyring's fail backend
    assert isinstance(choice.store, MemoryStore)
    assert "Tokens are kept in memory for this run only" in choice.warning
    usable, text = describe_backend(_profile())
    assert not usable and "No usable keyring" in text


def test_memory_storage_on_purpose_has_no_warning() -> None:
    choice = open_store(_profile(token_storage="memory"))
    assert isinstance(choice.store, MemoryStore) and choice.warning == ""
    assert describe_backend(_profile(token_storage="memory"))[0]


def test_one_compact_entry_per_profile_under_the_service_name() -> None:
    backend = DictKeyring()
    store = KeyringStore(backend)
    store.save("prod", _tokens())
    assert list(backend.secrets) == [(SERVICE, "prod")]
    assert store.load("prod") == _tokens()
    assert store.load("staging") is None
    store.delete("prod")
    store.delete("prod")  # deleting twice is fine: signed out is signed out
    assert backend.secrets == {}


def test_a_set_too_large_for_the_backend_keeps_its_access_token_in_memory() -> None:
    backend = DictKeyring()
    store = KeyringStore(backend, max_secret_chars=400)
    big = _tokens(access="A" * 1000)
    store.save("prod", big)
    kept = backend.secrets[(SERVICE, "prod")]
    assert len(kept) <= 400 and "A" * 1000 not in kept and "R" * 43 in kept
    assert store.load("prod") == big  # this process still has the access token
    KeyringStore._volatile.clear()  # what a new process sees
    reloaded = store.load("prod")
    assert reloaded is not None and reloaded.access_token == "" and reloaded.refresh_token == "R" * 43


def test_a_locked_keyring_is_explained() -> None:
    backend = DictKeyring()
    backend.locked = True
    with pytest.raises(TokenStorageError, match="keyring is locked") as caught:
        KeyringStore(backend).load("prod")
    assert "unlock" in caught.value.hint.lower()
    assert caught.value.exit_code == 3


def test_an_unusable_entry_is_ignored_not_fatal() -> None:
    backend = DictKeyring()
    backend.secrets[(SERVICE, "prod")] = "not json at all"
    assert KeyringStore(backend).load("prod") is None


def test_a_failing_backend_is_reported_without_a_traceback() -> None:
    class Broken(DictKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise keyring.errors.PasswordSetError("D-Bus: the service went away")

    with pytest.raises(
        TokenStorageError, match="Could not write the tokens in the keyring: PasswordSetError"
    ):
        KeyringStore(Broken()).save("prod", _tokens())


def test_an_entry_that_can_be_neither_replaced_removed_nor_read_is_ignored_until_a_write_succeeds() -> None:
    backend = DictKeyring()
    store = KeyringStore(backend)
    store.save("prod", _tokens(access="old"))
    backend.locked, backend.failing = True, {"delete"}
    with pytest.raises(TokenStorageError, match="marked it outdated"):
        store.save("prod", _tokens(access="new"))
    backend.locked, backend.failing = False, set()
    assert store.load("prod") is None  # the old entry is there, and nobody may use it
    store.save("prod", _tokens(access="newer"))
    assert store.load("prod") == _tokens(access="newer")
