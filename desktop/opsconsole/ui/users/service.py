"""The users feature's way to the API from the GUI thread: one client per session, run on the bridge.

Views hand :meth:`UsersService.call` a function of a :class:`~opsconsole.users.UsersClient`; it runs
on the bridge's asyncio loop and its outcome comes back on the GUI thread (bridge.py). One
``httpx.AsyncClient`` is kept per sign-in session and reused by every call (a new client per request
would build a new TLS context and connection pool each time); it is made on the loop thread, replaced
when the session changes, and closed by :meth:`close`. The client is shared by every page of the
room in one window (one per ``PageContext``).

It also holds what the views need to judge who may change whom: the signed-in account (``me``) and
the roles catalogue, as a :class:`~opsconsole.users.policy.Policy` (``policyChanged``).

The core is imported lazily: this module is imported when a page is built, which may be before the
window's first paint, and the core brings httpx with it.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    import httpx

    from ...auth import Session
    from ...users import Role, UsersClient
    from ...users.policy import Policy
    from ..shell.bridge import Job
    from ..shell.context import PageContext

T = TypeVar("T")

NOT_SIGNED_IN = "Not signed in: sign in to see users"


class _Connection:
    """The httpx client of one session, touched on the loop thread only."""

    def __init__(self) -> None:
        self.session: Session | None = None
        self.http: httpx.AsyncClient | None = None
        self.client: UsersClient | None = None

    async def for_session(self, session: Session) -> UsersClient:
        if self.client is None or self.session is not session:
            from ...users import UsersClient

            old = self.http
            # Swapped before any await, so two calls at once still share one client.
            self.session, self.http = session, session.client()
            self.client = UsersClient(self.http)
            if old is not None:
                await old.aclose()
        return self.client

    async def close(self) -> None:
        http, self.http, self.client, self.session = self.http, None, None, None
        if http is not None:
            await http.aclose()


# One connection per window (its page context), shared by the users room's pages and their dialogs:
# building a client builds a TLS context and a pool (tens of ms, holding the GIL), so a page opened
# again must not pay for it again.
_CONNECTIONS: weakref.WeakKeyDictionary[PageContext, _Connection] = weakref.WeakKeyDictionary()


def _connection_of(context: PageContext) -> _Connection:
    connection = _CONNECTIONS.get(context)
    if connection is None:
        connection = _CONNECTIONS[context] = _Connection()
    return connection


class UsersService(QObject):
    policyChanged = Signal(object)
    """The signed-in account or the roles catalogue was (re)read: the new Policy, or None."""

    def __init__(self, context: PageContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.policy: Policy | None = None
        self.roles: list[Role] = []
        self.policy_error = ""
        self._connection = _connection_of(context)
        self._policy_job: Job[Any] | None = None
        context.sessionChanged.connect(self._on_session_changed)
        context.signedInChanged.connect(self._on_signed_in_changed)

    @property
    def available(self) -> bool:
        bridge = self.context.bridge
        # Signed in, not only a session open: the session opens before the sign-in is checked, and asking
        # then (a locked keyring, say) put an error where the sign-in's own words belong.
        context = self.context
        return context.session is not None and context.signed_in and bridge is not None and not bridge.closed

    @property
    def production(self) -> bool:
        profile = self.context.profile
        return profile is not None and profile.is_production

    @property
    def environment(self) -> str:
        profile = self.context.profile
        return profile.display_name if profile is not None else ""

    def call(
        self,
        work: Callable[[UsersClient], Awaitable[T]],
        *,
        on_success: Callable[[T], Any] | None = None,
        on_failure: Callable[[BaseException], Any] | None = None,
        owner: QObject | None = None,
        name: str = "users",
    ) -> Job[T] | None:
        """Run ``work(client)`` on the bridge; None (and ``on_failure`` told why) without a session."""
        session, bridge = self.context.session, self.context.bridge
        if session is None or bridge is None or bridge.closed:
            if on_failure is not None:
                from ...auth.errors import SignInRequired

                on_failure(SignInRequired(NOT_SIGNED_IN))
            return None
        connection = self._connection

        async def run() -> T:
            return await work(await connection.for_session(session))

        return bridge.run(run(), on_success=on_success, on_failure=on_failure, owner=owner or self, name=name)

    # -- who may change whom -----------------------------------------------------------------------

    def load_policy(self) -> None:
        """Read ``me`` and the roles catalogue again (after sign-in, or when roles changed)."""
        if self._policy_job is not None:
            self._policy_job.cancel()

        async def read(client: UsersClient) -> tuple[Any, list[Role]]:
            import asyncio

            return await asyncio.gather(client.me(), client.list_roles())

        self._policy_job = self.call(read, on_success=self._policy_read, on_failure=self._policy_failed,
                                     name="read me and roles")  # fmt: skip

    def _policy_read(self, result: tuple[Any, list[Role]]) -> None:
        from ...users.policy import Policy, role_permissions

        self._policy_job = None
        me, roles = result
        self.roles = sorted(roles, key=lambda r: r.name)
        self.policy = Policy(me, role_permissions(roles))
        self.policy_error = ""
        self.policyChanged.emit(self.policy)

    def _policy_failed(self, error: BaseException) -> None:
        self._policy_job = None
        self.policy = None
        self.policy_error = describe(error)
        self.policyChanged.emit(None)

    def _on_signed_in_changed(self, signed_in: bool) -> None:
        # Signed out within the session: who may do what is no longer known (and asked again on sign-in),
        # so no control stays enabled on the strength of the account that left.
        if not signed_in and self.policy is not None:
            self.policy = None
            self.policyChanged.emit(None)

    def _on_session_changed(self, _session: object) -> None:
        self.policy = None
        self.policyChanged.emit(None)
        self.close()

    def close(self) -> None:
        """Close the session's HTTP client (on the loop, where it lives); the next call makes another."""
        bridge, connection = self.context.bridge, self._connection
        if bridge is None or bridge.closed or not bridge.started or connection.http is None:
            return
        bridge.run(connection.close(), name="close users client")


def describe(error: BaseException) -> str:
    """An error in words for the page: the message and its hint, never a traceback."""
    from ...errors import OpsError

    if isinstance(error, OpsError):
        why = getattr(error, "why", None)
        text = str(why) if isinstance(why, str) and why else str(error)
        hint = getattr(error, "hint", "")
        if getattr(error, "status", None) == 403:
            text = f"Refused by the server: {text}"
        return f"{text} ({hint})" if hint and hint not in text else text
    return f"Unexpected error: {error.__class__.__name__}: {error}"
