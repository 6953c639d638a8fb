"""Where tokens live between runs: the OS keyring, or this process's memory, and never a file.

One keyring entry per profile: service ``opsconsole``, username = the profile name, secret = the token
set's compact JSON (tokens.py). The keyring backend is the one ``keyring`` picks for this system
(Secret Service on Linux desktops, Keychain on macOS, Credential Manager on Windows); a backend that
cannot protect a secret is refused and the console fails closed: it says so and keeps the tokens in
memory for this run only. Refused: ``keyring.backends.fail`` and ``null`` (nothing there), a chainer
with nothing viable behind it, and every ``keyrings.alt`` backend (files on disk, plaintext or
protected by a password the console would have to ask for; never a silent fallback).

Calls into the keyring block (D-Bus, a possible unlock prompt): async code runs them in a thread.

An entry older than the tokens a process holds is never left for another process to use. When a write
fails (after a refresh the provider has already rotated the refresh token; presenting the old one
again makes it revoke the whole family, signing out the process that holds the new one too), the entry
is deleted. When the delete fails as well, the entry is marked outdated: a small file next to the
profile's sign-in lock holds the SHA-256 of the entry's text (a digest, never the tokens), and every
process ignores an entry whose digest it names. The next successful write or delete removes the mark.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Protocol

import keyring
import keyring.backend
import keyring.errors

from .. import paths
from ..config import Profile
from .errors import TokenStorageError, printable
from .tokens import TokenSet

log = logging.getLogger("opsconsole.auth")

SERVICE = "opsconsole"
# Windows Credential Manager caps a credential blob at 2,560 bytes, and keyring stores the secret as
# UTF-16, so at most 1,280 characters fit. A token set larger than that (long JWT access tokens) is
# stored without its access token, which then lives in this process's memory only: the refresh token
# and the metadata survive, and the next run starts with one refresh.
WINDOWS_MAX_CHARS = 1280

_REFUSED_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")
MEMORY_WARNING = (
    "No usable keyring on this system: {reason}. Tokens are kept in memory for this run only; "
    "you will have to sign in again next time."
)
# An outdated mark that names no digest: the entry could not even be read, so whatever is there is old.
_ANY_ENTRY = "*"


@dataclass(frozen=True, slots=True)
class BackendInfo:
    """What the keyring backend is and whether the console trusts it with tokens."""

    usable: bool
    name: str
    reason: str = ""
    max_secret_chars: int | None = None


def _backend_name(backend: Any) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def refusal_reason(backend: Any) -> str:
    """Why ``backend`` cannot hold tokens, or "" when it can."""
    module = type(backend).__module__
    if module.startswith("keyrings.alt"):
        return f"{_backend_name(backend)} keeps secrets in a file on disk, which the console refuses"
    if module.startswith("keyring.backends.fail"):
        return (
            "no keyring backend is available (is a Secret Service such as GNOME Keyring or KWallet running?)"
        )
    if module.startswith("keyring.backends.null"):
        return "the keyring is disabled (the null backend is configured)"
    if module.startswith("keyring.backends.chainer"):
        chained = list(getattr(backend, "backends", []))
        if not chained:
            return "no keyring backend is available"
        reasons = [r for r in (refusal_reason(b) for b in chained) if r]
        if reasons:
            return reasons[0]
    return ""


def inspect_backend(backend: Any | None = None) -> BackendInfo:
    """Classify ``backend`` (default: the one ``keyring`` selected for this system)."""
    if backend is None:
        try:
            backend = keyring.get_keyring()
        except Exception as exc:  # a broken keyring configuration (keyringrc naming a missing class)
            return BackendInfo(False, "unknown", f"the keyring could not be loaded: {printable(exc)}")
    name = _backend_name(backend)
    reason = refusal_reason(backend)
    if reason:
        return BackendInfo(False, name, reason)
    limit = WINDOWS_MAX_CHARS if type(backend).__module__.startswith("keyring.backends.Windows") else None
    return BackendInfo(True, name, max_secret_chars=limit)


def reset_backend() -> None:
    """Detect the keyring backend again (after the environment changed: a new D-Bus session bus).

    keyring computes the list of viable backends once per process; that list is recomputed too.
    """
    # jaraco.functools.once keeps the result in the function's __dict__ (its reset() fails when unset)
    vars(keyring.backend.get_all_keyring).pop("saved_result", None)
    keyring.core.init_backend()


def describe_backend(profile: Profile | None) -> tuple[bool, str]:
    """For ``opsconsole self-test``: (sound, one line saying where this profile's tokens would go)."""
    if profile is not None and profile.token_storage == "memory":
        return True, f'profile "{profile.name}": token_storage = "memory" (tokens kept for one run only)'
    info = inspect_backend()
    if info.usable:
        return True, f"keyring backend {info.name} (service {SERVICE!r})"
    return False, MEMORY_WARNING.format(reason=info.reason)


class TokenStore(Protocol):
    kind: str  # "keyring" or "memory", as `auth status` reports it

    def load(self, profile: str) -> TokenSet | None: ...

    def save(self, profile: str, tokens: TokenSet) -> None: ...

    def delete(self, profile: str) -> None: ...


class MemoryStore:
    """Tokens for this process only, shared by every session of the process (the GUI and its views)."""

    kind = "memory"
    _entries: ClassVar[dict[str, TokenSet]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def load(self, profile: str) -> TokenSet | None:
        with self._lock:
            return self._entries.get(profile)

    def save(self, profile: str, tokens: TokenSet) -> None:
        with self._lock:
            self._entries[profile] = tokens

    def delete(self, profile: str) -> None:
        with self._lock:
            self._entries.pop(profile, None)

    @classmethod
    def clear_all(cls) -> None:
        with cls._lock:
            cls._entries.clear()


class KeyringStore:
    """Tokens in the OS keyring; an access token too large for the backend stays in process memory."""

    kind = "keyring"
    # profile -> (refresh token it belongs with, access token); see WINDOWS_MAX_CHARS.
    _volatile: ClassVar[dict[str, tuple[str, str]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, backend: Any | None = None, *, max_secret_chars: int | None = None) -> None:
        self._backend = backend if backend is not None else keyring.get_keyring()
        if max_secret_chars is None:
            max_secret_chars = inspect_backend(self._backend).max_secret_chars
        self.max_secret_chars = max_secret_chars
        self.backend_name = _backend_name(self._backend)

    def load(self, profile: str) -> TokenSet | None:
        text = self._call("read", self._backend.get_password, SERVICE, profile)
        if text is None:
            return None
        if _outdated_mark(profile) in (_ANY_ENTRY, _digest(text)):
            log.info('the keyring entry of profile "%s" is marked outdated; ignoring it', profile)
            return None
        try:
            tokens = TokenSet.from_json(text)
        except (ValueError, TypeError) as exc:
            # Not ours, or from a future version: unusable, but not worth failing every command over.
            log.warning('the keyring entry for profile "%s" is not usable (%s); ignoring it', profile, exc)
            return None
        if not tokens.access_token:
            with self._lock:
                held = self._volatile.get(profile)
            if held and held[0] == tokens.refresh_token:
                tokens = _with_access(tokens, held[1])
        return tokens

    def save(self, profile: str, tokens: TokenSet) -> None:
        """Store ``tokens``; when that fails, make sure no older entry stays usable, then raise."""
        try:
            self._write(profile, tokens)
        except TokenStorageError as exc:
            note = self._retire(profile)
            raise TokenStorageError(f"{exc} {note}".rstrip(), hint=exc.hint or None) from None
        _remove_mark(profile)

    def _write(self, profile: str, tokens: TokenSet) -> None:
        text = tokens.to_json()
        with self._lock:
            self._volatile.pop(profile, None)
        if self.max_secret_chars is not None and len(text) > self.max_secret_chars:
            text = tokens.to_json(include_access_token=False)
            if len(text) > self.max_secret_chars:
                raise TokenStorageError(
                    f"The sign-in is too large for this keyring ({len(text)} characters without the "
                    f"access token; the limit is {self.max_secret_chars})."
                )
            with self._lock:
                self._volatile[profile] = (tokens.refresh_token, tokens.access_token)
        self._call("write", self._backend.set_password, SERVICE, profile, text)

    def delete(self, profile: str) -> None:
        self._delete_entry(profile)

    def _delete_entry(self, profile: str) -> bool:
        """Delete the profile's entry; True when there was one."""
        with self._lock:
            self._volatile.pop(profile, None)
        try:
            self._backend.delete_password(SERVICE, profile)
            deleted = True
        except keyring.errors.PasswordDeleteError:
            deleted = False  # nothing stored: already signed out
        except Exception as exc:
            raise _storage_error("delete", exc) from None
        _remove_mark(profile)
        return deleted

    def _retire(self, profile: str) -> str:
        """After a failed write: delete the entry, or mark it outdated; says which, for the user."""
        try:
            if not self._delete_entry(profile):
                return ""  # nothing was stored: nothing can be outdated
            return (
                "The console removed the outdated sign-in from the keyring, so no other Ops Console uses it."
            )
        except TokenStorageError:
            pass
        try:
            text = self._backend.get_password(SERVICE, profile)
        except Exception:
            digest = _ANY_ENTRY  # unreadable: whatever is there is older than this process's tokens
        else:
            if text is None:
                return ""
            digest = _digest(text)
        try:
            _write_mark(profile, digest)
        except OSError as exc:
            log.error('could not mark the keyring entry of profile "%s" outdated: %s', profile, exc)
            return (
                "The outdated sign-in could not be removed from the keyring nor marked outdated: another "
                "Ops Console started now would use it and end this session. Sign in again once the "
                "keyring works."
            )
        return (
            "The outdated sign-in could not be removed from the keyring either; the console marked it "
            "outdated, so no other Ops Console uses it."
        )

    def _call(self, action: str, fn: Any, *args: str) -> Any:
        try:
            return fn(*args)
        except Exception as exc:
            raise _storage_error(action, exc) from None


def _mark_path(profile: str) -> Path:
    return paths.lock_dir() / f"auth-{file_stem(profile)}.outdated"


def file_stem(profile: str) -> str:
    """The profile's name made safe for a file name (its sign-in lock and outdated mark)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", profile)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _outdated_mark(profile: str) -> str:
    try:
        with open(_mark_path(profile), encoding="ascii") as file:
            return file.read().strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _write_mark(profile: str, digest: str) -> None:
    path = _mark_path(profile)
    temporary = f"{path}.{os.getpid()}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(digest + "\n")
    os.replace(temporary, path)  # readers see the old mark or the new one, never half of one


def _remove_mark(profile: str) -> None:
    try:
        os.remove(_mark_path(profile))
    except FileNotFoundError:
        pass
    except OSError as exc:  # a mark names one old entry's digest: a stale one harms nothing new
        log.warning('could not remove the outdated mark of profile "%s": %s', profile, exc)


def _with_access(tokens: TokenSet, access_token: str) -> TokenSet:
    return replace(tokens, access_token=access_token)


def _storage_error(action: str, exc: BaseException) -> TokenStorageError:
    if isinstance(exc, keyring.errors.KeyringLocked):
        return TokenStorageError(
            "The keyring is locked and could not be unlocked (the unlock prompt was dismissed or "
            "could not be shown).",
            hint="Unlock your keyring (for GNOME: open Passwords and Keys and unlock the Login keyring, "
            "or sign in to the desktop session), then try again.",
        )
    # Exception text from keyring backends describes the failure (D-Bus, permissions), never the secret.
    return TokenStorageError(
        f"Could not {action} the tokens in the keyring: {type(exc).__name__}: {printable(exc)}"
    )


@dataclass(frozen=True, slots=True)
class StoreChoice:
    """The store to use for a profile, and a warning to show when it is not the keyring."""

    store: TokenStore
    warning: str = ""


def open_store(profile: Profile) -> StoreChoice:
    """The keyring when it is usable and wanted; process memory otherwise, with the reason why."""
    if profile.token_storage == "memory":
        return StoreChoice(MemoryStore())
    info = inspect_backend()
    if not info.usable:
        warning = MEMORY_WARNING.format(reason=info.reason)
        log.warning("%s", warning)
        return StoreChoice(MemoryStore(), warning)
    return StoreChoice(KeyringStore(max_secret_chars=info.max_secret_chars))
