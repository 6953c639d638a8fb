"""Sign-in in the main window: one session per profile, the sign-in page, the status bar, scope gating.

:class:`SignInCoordinator` works through the window's page context (``context.profile``,
``context.bridge``, ``context.demo``) and the shell's own hooks (``profileChanged``, ``set_gate``,
``set_sign_in_state``, ``actions.sign_out``, ``clear_views``):

- a profile that is not signed in gets the sign-in page across the window (the demo's lists its
  accounts); once signed in the workspace comes back;
- the status bar shows the user, the time left and, in its tooltip, the scopes;
- the session it opens is published as ``context.session`` (``context.sessionChanged``), and the
  sign-in's scopes drive ``context.scopes``, the gate every page registers its scope-bound actions with;
- when the session ends (a refresh refused), a non-modal :class:`ReauthDialog` asks to sign in again and
  the workspace stays as it is: open views and half-filled forms are not touched;
- signing out revokes, forgets the tokens, clears the views and shows the sign-in page;
- without a usable keyring the sign-in page and the status bar's tooltip say that tokens are kept in
  memory for this run only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject

from ...config import Profile
from ..shell.idle import call_when_idle
from .opening import DEFAULT_STEPS, Step, open_in_steps
from .status import SignInStatus

if TYPE_CHECKING:
    from ...auth import AuthStatus, Session
    from ..shell.bridge import Job
    from ..shell.main_window import MainWindow
    from .controller import ReauthDialog, SignInController
    from .page import SignInView

log = logging.getLogger("opsconsole.ui")

SessionFactory = Callable[[Profile], "Session"]


def interactive_session(profile: Profile) -> Session:
    # Imported here, on the bridge's worker thread: the network and token stack (httpx, pyjwt,
    # cryptography, keyring) is not needed to paint the window.
    from ...auth import open_session

    return open_session(profile, interactive=True)


class SignInCoordinator(QObject):
    def __init__(
        self,
        window: MainWindow,
        *,
        session_factory: SessionFactory = interactive_session,
        steps: Sequence[Step] = DEFAULT_STEPS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent if parent is not None else window)
        self.window = window
        self.context = window.context
        self.bridge = self.context.bridge
        self._factory = session_factory
        self._steps = steps
        self.scopes = self.context.scopes
        self.status_field = SignInStatus(window.set_sign_in_state, parent=self)
        self.session: Session | None = None
        self.controller: SignInController | None = None
        self.reauth: ReauthDialog | None = None
        self.gate: SignInView | None = None
        self._opening: Job[Session] | None = None
        self._ended = False
        self.sign_out_action = window.menu_actions.sign_out
        self.sign_out_action.triggered.connect(self.sign_out)
        self.context.signInRequested.connect(self._sign_in_requested)
        window.profileChanged.connect(self._on_profile_changed)
        # Once the window is painted and the loop idle: nothing about signing in needs to delay it.
        call_when_idle(self, self._on_profile_changed)

    # -- profiles ------------------------------------------------------------------------------------

    def _on_profile_changed(self, _name: str = "") -> None:
        self._drop_session()
        profile = self.context.profile
        if profile is None or self.bridge is None:
            self.status_field.update(None)
            self.scopes.set_scopes(None)
            self.sign_out_action.setEnabled(False)
            return
        self.window.set_sign_in_state("checking…", "Reading this profile's saved sign-in")
        self._opening = self.bridge.run(
            # Off the GUI thread: it imports the network stack and reads the OS keyring (a D-Bus round
            # trip that can wait on an unlock prompt). In steps, so that quitting need not wait for it.
            open_in_steps(self._factory, profile, self._steps),
            on_success=lambda session: self._adopt(profile, session),
            on_failure=lambda error: self._open_failed(profile, error),
            owner=self,
            name="open sign-in session",
        )

    def _open_failed(self, profile: Profile, error: BaseException) -> None:
        self._opening = None
        log.error("cannot open the sign-in session of %s: %s", profile.name, error)
        self.window.set_sign_in_state("unavailable", f"Signing in cannot start: {error}")

    def _adopt(self, profile: Profile, session: Session) -> None:
        self._opening = None
        if profile is not self.context.profile or self.bridge is None or self.bridge.closed:
            return  # the user switched profiles meanwhile; this session never opened a connection
        # The sign-in machinery's widgets are needed only now, after the first paint.
        from .controller import SignInController

        controller = SignInController(session, self.bridge, self)
        controller.statusChanged.connect(self._on_status)
        controller.signedIn.connect(self._on_signed_in)
        controller.sessionEnded.connect(self._on_session_ended)
        controller.signedOut.connect(self._on_signed_out)
        controller.storageWarning.connect(self._on_storage_warning)
        self.session, self.controller = session, controller
        self._ended = False
        self.context.set_session(session)
        controller.load()

    def _drop_session(self) -> None:
        if self._opening is not None:
            self._opening.cancel()
            self._opening = None
        if self.reauth is not None and shiboken6.isValid(self.reauth):
            self.reauth.close()
        self.reauth = None
        controller, session = self.controller, self.session
        self.controller = self.session = None
        self.context.set_session(None)
        if controller is not None:
            controller.cancel()
            controller.deleteLater()
        if session is not None and self.bridge is not None and not self.bridge.closed:
            self.bridge.run(session.aclose(), name="close sign-in session")

    # -- state -------------------------------------------------------------------------------------

    def _on_status(self, status: AuthStatus) -> None:
        self.context.set_signed_in(status.signed_in)
        self.status_field.update(status)
        self.scopes.set_scopes(status.scopes if status.signed_in else None)
        self.sign_out_action.setEnabled(status.signed_in)
        if status.signed_in:
            self._ended = False
            self._hide_gate()
        elif not self._ended:
            # Not signed in at the start, or after signing out. After a refused refresh the workspace
            # stays (the re-sign-in dialog is up), so nothing the user was doing is lost.
            self._show_gate()

    def _on_signed_in(self, _status: AuthStatus) -> None:
        self.context.set_signed_in(True)
        self._ended = False
        self._hide_gate()

    def _on_session_ended(self, reason: str) -> None:
        if self.controller is None:
            return
        self.context.set_signed_in(False)  # the workspace stays; what streams stops until sign-in
        self._ended = True
        if self.gate is not None:
            return  # the sign-in page is already up: it is where to sign in again
        if self.reauth is None or not shiboken6.isValid(self.reauth) or not self.reauth.isVisible():
            from .controller import ReauthDialog

            self.reauth = ReauthDialog(self.controller, reason, parent=self.window)
            self.reauth.show()

    def _sign_in_requested(self) -> None:
        # A page's *Sign in…*: after a session ended the workspace stays, so the sign-in-again dialog
        # (closed, perhaps, by the user); otherwise the sign-in page.
        if self._ended:
            self._on_session_ended("")
        else:
            self._show_gate()

    def _on_signed_out(self) -> None:
        self.context.set_signed_in(False)
        self._ended = False
        self.window.clear_views()
        self._show_gate()

    def _on_storage_warning(self, text: str) -> None:
        if self.gate is not None and shiboken6.isValid(self.gate):
            self.gate.set_storage_warning(text)
        self.context.show_message(text, 15_000)

    # -- the sign-in page ----------------------------------------------------------------------------

    def _show_gate(self) -> None:
        if self.controller is None or self.session is None:
            return
        if self.gate is not None and shiboken6.isValid(self.gate):
            return
        from .page import SignInView

        demo = self.context.demo
        view = SignInView(
            self.session.profile,
            demo_accounts=demo.accounts if demo is not None else None,
            demo_password=demo.password if demo is not None else None,
            storage_warning=self.session.storage_warning,
        )
        self.controller.attach_view(view)
        self.gate = view
        self.window.set_gate(view)
        view.first_focus().setFocus()

    def _hide_gate(self) -> None:
        if self.gate is None:
            return
        self.gate = None
        self.window.set_gate(None)

    # -- actions -------------------------------------------------------------------------------------

    def sign_in(self) -> None:
        if self.controller is not None:
            self.controller.sign_in()

    def sign_out(self) -> None:
        if self.controller is not None:
            self.controller.sign_out()

    def shutdown(self) -> None:
        """Stop the timer and close the session (before the bridge shuts down)."""
        self.status_field.stop()
        self._drop_session()
