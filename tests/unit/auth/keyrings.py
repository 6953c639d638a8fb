"""Keyring backends for tests: the keyring API with a dict behind it, and a stand-in for a refused one.

The real OS keyring is exercised by the Secret Service tests (tests/support/keyring_service.py); these
let the unit tests drive the store's error paths (a locked keyring, a failing one) deterministically.
"""

from __future__ import annotations

import keyring.backend
import keyring.errors
from keyring.compat import properties


class DictKeyring(keyring.backend.KeyringBackend):
    """A keyring backend holding secrets in a dict: the keyring API without an OS service behind it."""

    # keyring registers every backend class it sees; this one must never be picked for other tests.
    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("a test backend is never selected automatically")

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}
        self.locked = False
        self.failing: set[str] = set()  # "set", "delete": operations that fail as a broken D-Bus would

    def get_password(self, service: str, username: str) -> str | None:
        if self.locked:
            raise keyring.errors.KeyringLocked("Failed to unlock the collection!")
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.locked:
            raise keyring.errors.KeyringLocked("Failed to unlock the collection!")
        if "set" in self.failing:
            raise keyring.errors.PasswordSetError("the Secret Service did not answer")
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if "delete" in self.failing:
            raise keyring.errors.KeyringError("the Secret Service did not answer")
        if (service, username) not in self.secrets:
            raise keyring.errors.PasswordDeleteError("not found")
        del self.secrets[(service, username)]


class PlaintextKeyring(DictKeyring):
    """Stands in for keyrings.alt.file.PlaintextKeyring (not installed here): judged by its module."""


PlaintextKeyring.__module__ = "keyrings.alt.file"
