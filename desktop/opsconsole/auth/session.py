"""A profile's sign-in session: sign in, hand out a valid access token, refresh it, sign out.

One :class:`Session` per profile and event loop. It is the only thing that reads or writes the
profile's tokens, and it keeps two promises:

- **Single flight.** Refreshes are serialised in this process by an ``asyncio.Lock`` and across
  processes (the CLI next to the GUI) by a file lock in ``paths.lock_dir()``. After taking the file lock
  the stored tokens are read again, so when another process has just refreshed (and the provider
  rotated the refresh token), its result is adopted and the old refresh token is never sent twice.
- **Nothing half-done is kept.** A sign-in stores its tokens only after the callback, the code exchange
  and every token check passed; a refresh the provider refuses (``invalid_grant``) forgets the tokens,
  while a refresh that fails for a transient reason keeps them and, when the access token is still
  valid, keeps using it.

Listeners (the GUI) are told about sign-in, refresh, sign-out and a session that ended; they are called
on the session's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import webbrowser
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Literal

import filelock
import httpx

from .. import paths
from ..config import Profile
from ..errors import OpsError
from ..net import NetError, build_client
from .discovery import PROCESS_CACHE, DiscoveryCache, ProviderMetadata, issuers_match
from .errors import (
    AuthError,
    ProviderError,
    SessionEnded,
    SignInRefused,
    SignInRequired,
    TokenError,
    TokenStorageError,
)
from .flow import (
    DeviceAuthorization,
    OAuthClient,
    Revocation,
    check_callback,
    exchange_code,
    new_authorization_request,
    new_state,
    oauth_client,
    poll_device_token,
    refresh_grant,
    revoke,
    start_device_authorization,
)
from .loopback import DEFAULT_TIMEOUT, LoopbackReceiver
from .store import MemoryStore, StoreChoice, TokenStore, file_stem, open_store
from .tokens import TokenResponse, TokenSet, TokenVerifier, build_token_set

log = logging.getLogger("opsconsole.auth")

LOCK_TIMEOUT = 60.0
EventKind = Literal["signed_in", "refreshed", "signed_out", "session_ended", "storage"]


@dataclass(frozen=True, slots=True)
class SessionEvent:
    kind: EventKind
    profile: str
    tokens: TokenSet | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class AuthStatus:
    """What ``opsconsole auth status`` reports, and what the GUI's status bar shows."""

    profile: str
    signed_in: bool
    subject: str
    username: str
    scopes: tuple[str, ...]
    access_expires_at: float | None
    storage: str
    storage_warning: str = ""

    def to_json(self) -> dict[str, object]:
        expires = None
        if self.access_expires_at is not None:
            expires = datetime.fromtimestamp(self.access_expires_at, UTC).isoformat(timespec="seconds")
        return {
            "profile": self.profile,
            "signed_in": self.signed_in,
            "subject": self.subject or None,
            "scopes": list(self.scopes),
            "access_expires_at": expires,
            "storage": self.storage,
        }


@dataclass(frozen=True, slots=True)
class LogoutResult:
    was_signed_in: bool
    revocation: Revocation | None

    @property
    def message(self) -> str:
        if not self.was_signed_in:
            return "was not signed in"
        if self.revocation is None:
            return "signed out"
        return f"signed out; {self.revocation.message}"


class Session:
    """The sign-in state of one profile. Use as ``async with open_session(profile) as session``."""

    def __init__(
        self,
        profile: Profile,
        *,
        store: TokenStore | None = None,
        storage_warning: str = "",
        interactive: bool = False,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
        discovery: DiscoveryCache = PROCESS_CACHE,
        open_browser: Callable[[str], bool] | None = None,
        lock_timeout: float = LOCK_TIMEOUT,
    ) -> None:
        self.profile = profile
        if store is None:
            choice = open_store(profile)
            store, storage_warning = choice.store, choice.warning
        self.store: TokenStore = store
        self.storage_warning = storage_warning
        self.interactive = interactive
        self.clock = clock
        self._transport = transport
        self._discovery = discovery
        self._open_browser = open_browser or webbrowser.open
        self._lock_timeout = lock_timeout
        self._tokens: TokenSet | None = None
        self._loaded = False
        self._verifier: TokenVerifier | None = None
        self._http: OAuthClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._listeners: list[Callable[[SessionEvent], None]] = []

    # -- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def add_listener(self, listener: Callable[[SessionEvent], None]) -> Callable[[], None]:
        """Call ``listener`` on every session event; returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, kind: EventKind, tokens: TokenSet | None = None, message: str = "") -> None:
        event = SessionEvent(kind, self.profile.name, tokens, message)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("a session listener failed on %s", kind)

    def _bind_loop(self) -> None:
        # httpx pools and asyncio locks belong to one event loop; a session reused from another loop
        # (a test, or a CLI call after the GUI's loop stopped) starts them afresh.
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._lock = asyncio.Lock()
            self._http = None

    def _client(self) -> OAuthClient:
        """authlib's OAuth client for this profile: the protocol steps, discovery and the key set."""
        self._bind_loop()
        if self._http is None:
            self._http = oauth_client(self.profile, self._transport)
        return self._http

    # -- provider ----------------------------------------------------------------------------------

    async def metadata(self) -> ProviderMetadata:
        return await self._discovery.get(self._client(), self.profile.issuer)

    async def _token_verifier(self) -> TokenVerifier:
        metadata = await self.metadata()
        if self._verifier is None or self._verifier.metadata != metadata:
            self._verifier = TokenVerifier(
                metadata, self.profile.client_id, audience=self.profile.audience, clock=self.clock
            )
        return self._verifier

    # -- reading state -----------------------------------------------------------------------------

    async def _load_stored(self) -> TokenSet | None:
        tokens = await asyncio.to_thread(self.store.load, self.profile.name)
        if tokens is None:
            return None
        if (
            not issuers_match(self.profile.issuer, tokens.issuer)
            or tokens.client_id != self.profile.client_id
        ):
            # The profile now points at another provider or client: these tokens are not for it.
            log.info(
                'stored tokens of profile "%s" belong to another issuer or client; ignored', self.profile.name
            )
            return None
        return tokens

    async def current(self) -> TokenSet | None:
        """The tokens this session holds (read from the store on first use); no network."""
        if not self._loaded:
            self._tokens = await self._load_stored()
            self._loaded = True
        return self._tokens

    async def status(self) -> AuthStatus:
        tokens = await self.current()
        now = self.clock()
        signed_in = tokens is not None and (tokens.access_valid(now) or tokens.can_refresh(now))
        return AuthStatus(
            profile=self.profile.name,
            signed_in=signed_in,
            subject=tokens.subject if tokens and signed_in else "",
            username=tokens.username if tokens and signed_in else "",
            scopes=tokens.scopes if tokens and signed_in else (),
            access_expires_at=tokens.expires_at if tokens and signed_in else None,
            storage=self.store.kind,
            storage_warning=self.storage_warning,
        )

    def has_scope(self, scope: str) -> bool:
        return self._tokens is not None and scope in self._tokens.scopes

    # -- tokens for requests -----------------------------------------------------------------------

    async def access_token(self) -> str:
        """A valid access token, refreshed first when it is about to expire. Raises SignInRequired."""
        tokens = await self.current()
        if tokens is None:
            raise SignInRequired(f'Not signed in to profile "{self.profile.name}".')
        if tokens.access_valid(self.clock(), tokens.refresh_margin()):
            return tokens.access_token
        return (await self.refresh()).access_token

    async def refresh(self, *, force: bool = False, rejected: str | None = None) -> TokenSet:
        """Refresh the access token (single flight). ``rejected``: the token an API just refused (401)."""
        await self.current()
        self._bind_loop()
        assert self._lock is not None
        async with self._lock:
            held = self._tokens
            if not force and held is not None and self._fresh(held, rejected):
                return held  # refreshed by another request while this one waited
            async with self._process_lock():
                stored = await self._load_stored()
                if stored is None:
                    self._tokens = None
                    if held is not None:
                        self._emit("signed_out", message="signed out elsewhere")
                        raise SignInRequired(
                            f'The session of profile "{self.profile.name}" was signed out in another window.'
                        )
                    raise SignInRequired(f'Not signed in to profile "{self.profile.name}".')
                if not force and self._fresh(stored, rejected):
                    self._tokens = stored  # another process refreshed: adopt its result
                    self._emit("refreshed", stored)
                    return stored
                return await self._refresh_locked(stored, rejected=rejected, force=force)

    def _fresh(self, tokens: TokenSet, rejected: str | None) -> bool:
        return tokens.access_token != rejected and tokens.access_valid(self.clock(), tokens.refresh_margin())

    async def _refresh_locked(self, stored: TokenSet, *, rejected: str | None, force: bool) -> TokenSet:
        now = self.clock()
        still_usable = not force and stored.access_token != rejected and stored.access_valid(now)
        if not stored.can_refresh(now):
            if still_usable:
                return stored
            self._tokens = stored
            self._emit("session_ended", message="the session expired")
            raise SessionEnded(
                f'The session of profile "{self.profile.name}" has expired'
                + (" (the provider gave no refresh token)." if not stored.refresh_token else ".")
            )
        metadata = await self.metadata()
        try:
            response = await refresh_grant(self._client(), metadata, stored.refresh_token)
            tokens = await self._verified(response, previous=stored, nonce=None)
        except SignInRefused as exc:
            if exc.error != "invalid_grant":
                raise
            # The refresh token is dead (expired, revoked, or reused): forget it, ask for a sign-in.
            await self._delete_stored()
            self._tokens = None
            self._emit("session_ended", message=str(exc))
            raise SessionEnded(
                f'The session of profile "{self.profile.name}" has ended: the provider refused to refresh it '
                f"({exc.error}{': ' + exc.description if exc.description else ''})."
            ) from None
        except (ProviderError, NetError, TokenError) as exc:
            if still_usable:
                log.warning("refresh failed (%s); the current access token is still valid", exc)
                return stored
            raise
        await self._save(tokens)
        self._tokens = tokens
        log.info('refreshed the access token of profile "%s"', self.profile.name)
        self._emit("refreshed", tokens)
        return tokens

    async def _verified(
        self, response: TokenResponse, *, previous: TokenSet | None, nonce: str | None
    ) -> TokenSet:
        """The token set for a token response, after every check; raises TokenError."""
        verifier = await self._token_verifier()
        metadata = verifier.metadata
        client = self._client()
        id_claims = None
        if response.id_token:
            id_claims = await verifier.verify_id_token(client, response.id_token, nonce=nonce)
        elif previous is None and nonce is not None and metadata.openid:
            raise TokenError("The provider returned no ID token, although the sign-in asked for openid.")
        access_claims = await verifier.verify_access_token(client, response.access_token)
        # A refresh never changes who is signed in. The subject is taken from the same claims
        # build_token_set takes it from (the ID token's, else a JWT access token's), so a refresh
        # without an ID token cannot switch the user either.
        new_sub = (id_claims or access_claims or {}).get("sub")
        if previous is not None and previous.subject and new_sub and new_sub != previous.subject:
            raise TokenError("The refreshed tokens are for another user than the one signed in.")
        now = self.clock()
        tokens = build_token_set(
            response,
            issuer=metadata.issuer,
            client_id=self.profile.client_id,
            requested_scopes=self.profile.scopes,
            now=now,
            access_claims=access_claims,
            id_claims=id_claims,
            previous=previous,
        )
        if tokens.expires_at is not None and tokens.expires_at <= now:
            raise TokenError("The provider issued an access token that has already expired.")
        return tokens

    # -- storage -----------------------------------------------------------------------------------

    async def _save(self, tokens: TokenSet) -> None:
        try:
            await asyncio.to_thread(self.store.save, self.profile.name, tokens)
        except TokenStorageError as exc:
            # Fail closed: never a file. The tokens live in this process's memory until it exits.
            self.store = MemoryStore()
            self.storage_warning = f"{exc} Tokens are kept in memory for this run only."
            log.warning("%s", self.storage_warning)
            self.store.save(self.profile.name, tokens)
            self._emit("storage", tokens, self.storage_warning)

    async def _delete_stored(self) -> None:
        await asyncio.to_thread(self.store.delete, self.profile.name)

    @contextlib.asynccontextmanager
    async def _process_lock(self) -> AsyncIterator[None]:
        if self.store.kind != "keyring":
            yield  # memory is private to this process: the asyncio lock is all it needs
            return
        name = file_stem(self.profile.name)
        path = await asyncio.to_thread(paths.lock_dir)
        lock = filelock.AsyncFileLock(str(path / f"auth-{name}.lock"), timeout=self._lock_timeout)
        try:
            await lock.acquire()
        except filelock.Timeout:
            raise AuthError(
                f'Another Ops Console process has held the sign-in lock of profile "{self.profile.name}" '
                f"for over {self._lock_timeout:g} s.",
                hint=f"If no other Ops Console is running, delete {path / f'auth-{name}.lock'}.",
            ) from None
        try:
            yield
        finally:
            await lock.release()

    # -- sign-in and sign-out ----------------------------------------------------------------------

    async def login(
        self,
        *,
        open_browser: bool = True,
        on_url: Callable[[str], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
        give_up_after: float = DEFAULT_TIMEOUT,
    ) -> TokenSet:
        """The authorization-code flow with PKCE through the system browser; stores the tokens.

        ``on_url`` gets the authorization URL (to print or show); ``on_notice`` gets remarks such as "no
        browser could be started". Cancel by cancelling the task; the browser then gets a page saying so.
        """
        if not self.interactive:
            raise SignInRequired(f'Not signed in to profile "{self.profile.name}".')
        metadata = await self.metadata()
        state = new_state()
        async with LoopbackReceiver(state, self.profile.redirect_port) as receiver:
            request = new_authorization_request(
                self._client(), metadata, self.profile.scopes, receiver.redirect_uri, state=state
            )
            if on_url is not None:
                on_url(request.url)
            if open_browser:
                self._launch_browser(request.url, on_notice)
            callback = await receiver.wait(give_up_after)
            try:
                code = check_callback(callback, metadata)
                response = await exchange_code(self._client(), metadata, request, code)
                tokens = await self._verified(response, previous=None, nonce=request.nonce)
                await self._replace(tokens)
            except OpsError as exc:
                await receiver.respond(False, str(exc))
                raise
            except Exception:
                await receiver.respond(False, "The sign-in failed; the console says why.")
                raise
            await receiver.respond(
                True, f"Signed in to {self.profile.display_name} as {tokens.who()}. You can close this tab."
            )
        log.info('signed in to profile "%s"', self.profile.name)
        return tokens

    async def login_device(
        self,
        *,
        on_code: Callable[[DeviceAuthorization], None],
        wait: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> TokenSet:
        """Sign in on another device (RFC 8628), for a console without a browser; stores the tokens.

        ``on_code`` gets the address to open and the code to enter there; ``wait`` is how the polling
        interval passes and ``monotonic`` the clock the code's expiry is measured on (tests pass ones
        that do not sleep).
        """
        if not self.interactive:
            raise SignInRequired(f'Not signed in to profile "{self.profile.name}".')
        metadata = await self.metadata()
        device = await start_device_authorization(self._client(), metadata, self.profile.scopes)
        on_code(device)
        response = await poll_device_token(self._client(), metadata, device, wait=wait, monotonic=monotonic)
        tokens = await self._verified(response, previous=None, nonce=None)
        await self._replace(tokens)
        log.info('signed in to profile "%s" from another device', self.profile.name)
        return tokens

    async def _replace(self, tokens: TokenSet) -> None:
        """Store a new sign-in's tokens; the refresh token they replace is revoked, best effort."""
        self._bind_loop()
        assert self._lock is not None
        async with self._lock, self._process_lock():
            try:
                old = await self._load_stored()
            except TokenStorageError:
                old = None
            await self._save(tokens)
            self._tokens = tokens
            self._loaded = True
        self._emit("signed_in", tokens)
        if old is not None and old.refresh_token and old.refresh_token != tokens.refresh_token:
            with contextlib.suppress(OpsError, httpx.HTTPError):
                await revoke(self._client(), await self.metadata(), old.refresh_token, "refresh_token")

    def _launch_browser(self, url: str, on_notice: Callable[[str], None] | None) -> None:
        # webbrowser.open can block until the browser command exits (a $BROWSER script does), and that
        # command may be the one delivering the callback: so it runs beside the loop, never awaited.
        loop = asyncio.get_running_loop()

        def run() -> None:
            try:
                opened = self._open_browser(url)
            except Exception as exc:
                log.warning("could not start a browser: %s", type(exc).__name__)
                opened = False
            if not opened and on_notice is not None:
                with contextlib.suppress(RuntimeError):  # the loop may be gone by then
                    loop.call_soon_threadsafe(
                        on_notice, "No browser could be started: open the sign-in link yourself."
                    )

        threading.Thread(target=run, name="opsconsole-browser", daemon=True).start()

    async def logout(self) -> LogoutResult:
        """Revoke the refresh token (RFC 7009) when the provider can, and forget the tokens."""
        self._bind_loop()
        assert self._lock is not None
        async with self._lock, self._process_lock():
            try:
                tokens = await self._load_stored() or self._tokens
            except TokenStorageError:
                tokens = self._tokens
            revocation: Revocation | None = None
            if tokens is not None:
                revocation = await self._revoke(tokens)
            await self._delete_stored()
            self._tokens = None
            self._loaded = True
        self._emit("signed_out")
        return LogoutResult(tokens is not None, revocation)

    async def _revoke(self, tokens: TokenSet) -> Revocation:
        try:
            metadata = await self.metadata()
        except (AuthError, NetError) as exc:
            return Revocation(False, f"could not reach the provider to revoke the session ({exc})")
        token, hint = (
            (tokens.refresh_token, "refresh_token")
            if tokens.refresh_token
            else (tokens.access_token, "access_token")
        )
        return await revoke(self._client(), metadata, token, hint)

    # -- HTTP clients for features -----------------------------------------------------------------

    def client(self, base_url: str | None = None) -> httpx.AsyncClient:
        """An AsyncClient (net.build_client) whose every request carries this session's token."""
        from .hook import BearerAuth

        return build_client(
            self.profile, base_url=base_url or "", auth=BearerAuth(self), transport=self._transport
        )


def open_session(
    profile: Profile,
    *,
    interactive: bool = False,
    store: StoreChoice | None = None,
    clock: Callable[[], float] = time.time,
    transport: httpx.AsyncBaseTransport | None = None,
    open_browser: Callable[[str], bool] | None = None,
) -> Session:
    """The session for ``profile``. ``interactive``: it may start a browser sign-in (CLI login, the GUI).

    ``store`` defaults to the keyring (or memory, with a warning, when there is no usable keyring);
    ``clock``, ``transport`` and ``open_browser`` are for tests and embedding.
    """
    choice = store or open_store(profile)
    return Session(
        profile,
        store=choice.store,
        storage_warning=choice.warning,
        interactive=interactive,
        clock=clock,
        transport=transport,
        open_browser=open_browser,
    )
