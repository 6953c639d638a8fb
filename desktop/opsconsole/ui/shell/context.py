"""What a page is handed when it is built: everything it needs, so it never reaches through the window.

One :class:`PageContext` per main window, shared by its pages (as Anki hands an operation its
collection). A page gets from it:

- ``config`` and ``profile`` (the profile in use, None without one), ``profileChanged``;
- ``session`` (the current profile's sign-in session, None until it is open) and ``sessionChanged``;
  ``signed_in`` and ``signedInChanged`` (signing in and out happen within one session);
  ``viewsCleared`` (sign-out dropped the pages' content);
  ``client()``, an HTTP client whose every request carries the session's token;
- ``scopes``, the scope gate to register scope-bound actions with (``scopes.require(action,
  "write:users")``: disabled, with a tooltip that says why, while the sign-in lacks the scope);
- ``bridge``, the one place that runs background work and brings results home
  (``context.bridge.run(coro, owner=self).success(self.show).failure(self.show_error)``);
- ``demo``, the demo's facts (its accounts and password), None outside the demo;
- ``show_message(text)`` for the status bar, ``show_detail(widget, title)`` for the detail panel;
- ``open_target(page_key, target)`` to open something on another page (the window shows the page
  and calls its ``open_target(target)``);
- ``request_sign_in()`` for a page's *Sign in…* while no one is signed in.

The session opens after the window is painted (on the first idle), and signing in, out or switching
profiles replaces it, so a page built at start-up sees ``session is None``: it listens to
``sessionChanged`` rather than asking once. The shell and the sign-in coordinator call the
``set_*`` methods; pages only read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from ..signin.scopes import ScopeGate

if TYPE_CHECKING:
    import httpx
    from PySide6.QtWidgets import QWidget

    from ...auth import Session
    from ...config import ConfigSet, Profile
    from .bridge import AsyncBridge


@dataclass(slots=True, frozen=True)
class Demo:
    """The demo's facts: the sandbox's accounts as (email, role), and the password they share."""

    accounts: tuple[tuple[str, str], ...] = ()
    password: str | None = None


class PageContext(QObject):
    profileChanged = Signal(object)
    """Another profile is in use (the Profile, or None); ``sessionChanged`` follows with its session."""

    signedInChanged = Signal(bool)
    """Someone signed in to the current session (True) or out of it, or it ended (False). The session
    object stays the same across these: this is what a page that streams or polls follows."""

    viewsCleared = Signal()
    """The window dropped its pages' content (sign-out): what a room keeps outside its pages goes too."""

    openRequested = Signal(str, str)
    """A page asked to open something on another page: (page key, target such as a user's id)."""

    signInRequested = Signal()
    """A page asked to sign in (its *Sign in…* while signed out): the sign-in coordinator shows the way."""

    sessionChanged = Signal(object)
    """The current profile's session opened or went away (the Session, or None): drop clients of the
    old one. Signing in and out within one session is not a change of session."""

    def __init__(
        self,
        config: ConfigSet,
        *,
        bridge: AsyncBridge | None = None,
        demo: Demo | None = None,
        show_message: Callable[[str, int], None] | None = None,
        show_detail: Callable[[QWidget | None, str], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.config = config
        self.bridge = bridge
        self.demo = demo
        self.scopes = ScopeGate(self)
        self._profile: Profile | None = None
        self._session: Session | None = None
        self._signed_in = False
        self._show_message = show_message
        self._show_detail = show_detail

    @property
    def profile(self) -> Profile | None:
        return self._profile

    @property
    def session(self) -> Session | None:
        return self._session

    @property
    def signed_in(self) -> bool:
        return self._signed_in

    def client(self, base_url: str | None = None) -> httpx.AsyncClient | None:
        """A new HTTP client for the profile's API (``base_url``: the profile's ``api_url`` unless
        given), its every request authorized by the session's token, refreshed as needed; None while
        no session is open. The caller closes it (``async with``)."""
        return self._session.client(base_url) if self._session is not None else None

    def show_message(self, text: str, timeout_ms: int = 5000) -> None:
        """A passing message in the status bar."""
        if self._show_message is not None:
            self._show_message(text, timeout_ms)

    def show_detail(self, widget: QWidget | None, title: str = "Details") -> None:
        """Show ``widget`` in the detail panel (None: empty it and close the panel)."""
        if self._show_detail is not None:
            self._show_detail(widget, title)

    def request_sign_in(self) -> None:
        """Show the way to sign in (the sign-in page, or the sign-in-again dialog after a session ended)."""
        self.signInRequested.emit()

    def open_target(self, page_key: str, target: str) -> None:
        """Show page ``page_key`` and open ``target`` there (a notification's user, a trace id)."""
        self.openRequested.emit(page_key, target)

    # -- for the shell and the sign-in coordinator -----------------------------------------------

    def set_profile(self, profile: Profile | None) -> None:
        if profile is not self._profile:
            self._profile = profile
            self.profileChanged.emit(profile)

    def set_session(self, session: Session | None) -> None:
        if session is not self._session:
            if session is None:
                self.set_signed_in(False)
            self._session = session
            self.sessionChanged.emit(session)

    def set_signed_in(self, signed_in: bool) -> None:
        if signed_in != self._signed_in:
            self._signed_in = signed_in
            self.signedInChanged.emit(signed_in)
