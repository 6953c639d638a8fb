"""The token store against a real Secret Service: found with secret-tool, locked keyrings explained."""

from __future__ import annotations

import pytest

from opsconsole.auth.errors import TokenStorageError
from opsconsole.auth.store import SERVICE, KeyringStore, inspect_backend, open_store
from opsconsole.auth.tokens import TokenSet
from opsconsole.config import Profile
from tests.support.keyring_service import SecretService, use

pytestmark = pytest.mark.keyring


def _tokens() -> TokenSet:
    return TokenSet(
        access_token="access-" + "a" * 30,
        refresh_token="refresh-" + "r" * 30,
        issuer="https://idp.example",
        client_id="opsconsole",
        expires_at=2_000_000_000.0,
        issued_at=1_999_999_100.0,
        scopes=("openid",),
        subject="alice",
    )


def _profile() -> Profile:
    return Profile(
        name="prod", api_url="https://api.example", issuer="https://idp.example", client_id="opsconsole"
    )


def test_keyring_detects_the_secret_service_and_the_console_trusts_it(secret_service: SecretService) -> None:
    info = inspect_backend()
    assert info.usable and info.name == "keyring.backends.SecretService.Keyring"
    choice = open_store(_profile())
    assert isinstance(choice.store, KeyringStore) and choice.warning == ""


def test_the_entry_is_found_with_secret_tool(secret_service: SecretService) -> None:
    KeyringStore().save("prod", _tokens())
    stored = secret_service.lookup(SERVICE, "prod")
    assert stored is not None and TokenSet.from_json(stored) == _tokens()
    KeyringStore().delete("prod")
    assert secret_service.lookup(SERVICE, "prod") is None


def test_a_locked_keyring_is_explained(
    secret_service: SecretService, monkeypatch: pytest.MonkeyPatch
) -> None:
    KeyringStore().save("prod", _tokens())  # creates and fills the login keyring
    secret_service.restart(unlock=False)  # next session: the keyring is there but locked
    use(secret_service, monkeypatch)
    with pytest.raises(TokenStorageError, match="keyring is locked") as caught:
        KeyringStore().load("prod")
    assert "unlock" in caught.value.hint.lower()
