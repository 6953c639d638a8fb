"""Sign-in: OAuth 2.0 authorization code with PKCE for a native app, tokens in the OS keyring.

Other features get an authorized HTTP client through this package and nothing else::

    async with open_session(profile) as session:
        async with session.client() as client:      # net.build_client with the auth hook
            await net.request_json(client, "GET", "/users")

A command that cannot get a valid token raises :class:`SignInRequired` (exit status 3, with a hint to
run ``opsconsole login``). A WebSocket (or anything not built on httpx) asks for
``await session.access_token()`` before connecting, and ``await session.refresh(rejected=token)`` when
the server refuses it. The GUI side is ``opsconsole.ui.auth_window.SignInCoordinator``. Modules: discovery (provider metadata), flow (the OAuth exchanges, on authlib),
loopback (the one-shot callback receiver), tokens (token sets and JWT checks), store (keyring or
memory), session (refresh, single flight, sign-in and sign-out), hook (the httpx.Auth), commands (CLI).
"""

from .errors import (
    AuthError,
    CallbackError,
    DiscoveryError,
    ProviderError,
    SessionEnded,
    SignInCancelled,
    SignInRefused,
    SignInRequired,
    SignInTimeout,
    TokenError,
    TokenStorageError,
)
from .hook import BearerAuth
from .session import AuthStatus, LogoutResult, Session, SessionEvent, open_session
from .store import describe_backend
from .tokens import TokenSet

__all__ = [
    "AuthError",
    "AuthStatus",
    "BearerAuth",
    "CallbackError",
    "DiscoveryError",
    "LogoutResult",
    "ProviderError",
    "Session",
    "SessionEnded",
    "SessionEvent",
    "SignInCancelled",
    "SignInRefused",
    "SignInRequired",
    "SignInTimeout",
    "TokenError",
    "TokenSet",
    "TokenStorageError",
    "describe_backend",
    "open_session",
]
