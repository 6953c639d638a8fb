"""Runs a profile's sign-in session for the GUI, on the bridge's loop, and reports back as Qt signals.

:class:`SignInController` owns nothing Qt-visible: it drives a :class:`~opsconsole.auth.Session` through
the :class:`~opsconsole.ui.shell.bridge.AsyncBridge` (the browser sign-in, sign-out, status reads) and turns
the session's events, which arrive on the loop thread, into signals on the GUI thread:

- ``statusChanged(AuthStatus)`` after every change (sign-in, refresh, sign-out), for the status bar
  and :class:`~opsconsole.ui.signin.scopes.ScopeGate`;
- ``signedIn(AuthStatus)``, ``signedOut()``;
- ``sessionEnded(str)`` when a refresh is refused: the window asks the user to sign in again with
  :class:`ReauthDialog` and keeps every open view as it is;
- ``storageWarning(str)`` when tokens could not go to the keyring.

A :class:`~opsconsole.ui.signin.page.SignInView` attached with :meth:`attach_view` gets its buttons
wired and its waiting, error and idle states set.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDialog, QVBoxLayout, QWidget

from ...errors import OpsError
from ..shell.bridge import AsyncBridge, Job
from .banner import Banner
from .page import SignInView

if TYPE_CHECKING:
    from ...auth import AuthStatus, LogoutResult, Session, SessionEvent

log = logging.getLogger("opsconsole.ui")


def error_text(error: BaseException) -> str:
    """What to show for a failed sign-in: the error's words and its hint; never a traceback."""
    if isinstance(error, OpsError):
        text = str(error)
        return f"{text}\n{error.hint}" if error.hint else text
    log.error("sign-in failed unexpectedly", exc_info=error)
    return f"The sign-in failed unexpectedly ({type(error).__name__}); the log has the details."


class SignInController(QObject):
    statusChanged = Signal(object)
    signedIn = Signal(object)
    signedOut = Signal()
    sessionEnded = Signal(str)
    storageWarning = Signal(str)
    signInFailed = Signal(str)

    # Emitted on the loop thread; Qt queues them to this object's (the GUI) thread.
    _eventArrived = Signal(object)
    _urlArrived = Signal(str)
    _noticeArrived = Signal(str)

    def __init__(self, session: Session, bridge: AsyncBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.bridge = bridge
        self.status: AuthStatus | None = None
        self.view: SignInView | None = None
        self._login_job: Job[Any] | None = None
        self._eventArrived.connect(self._on_event, Qt.ConnectionType.QueuedConnection)
        self._urlArrived.connect(self._on_url, Qt.ConnectionType.QueuedConnection)
        self._noticeArrived.connect(self._on_notice, Qt.ConnectionType.QueuedConnection)
        self._remove_listener = session.add_listener(self._from_loop)
        self.destroyed.connect(lambda *_: self._remove_listener())

    # -- plumbing from the loop thread -------------------------------------------------------------

    def _from_loop(self, event: SessionEvent) -> None:
        if shiboken6.isValid(self):
            self._eventArrived.emit(event)

    def _emit_url(self, url: str) -> None:
        if shiboken6.isValid(self):
            self._urlArrived.emit(url)

    def _emit_notice(self, text: str) -> None:
        if shiboken6.isValid(self):
            self._noticeArrived.emit(text)

    # -- views ------------------------------------------------------------------------------------

    def attach_view(self, view: SignInView) -> None:
        """Wire ``view``'s buttons to this controller; it becomes the one that shows progress."""
        self.view = view
        view.signInRequested.connect(self.sign_in)
        view.cancelRequested.connect(self.cancel)
        if self.session.storage_warning:
            view.set_storage_warning(self.session.storage_warning)
        if self.signing_in:
            view.set_waiting("")

    # -- operations -------------------------------------------------------------------------------

    @property
    def signing_in(self) -> bool:
        return self._login_job is not None and not self._login_job.done

    def load(self) -> Job[AuthStatus]:
        """Read the stored sign-in (no network) and emit ``statusChanged``."""
        return self.bridge.run(
            self.session.status(), on_success=self._set_status, on_failure=self._load_failed, owner=self
        )

    def sign_in(self) -> None:
        if self.signing_in:
            return
        if self.view is not None:
            self.view.set_waiting("")
        self._login_job = self.bridge.run(
            self._login(), on_success=self._signed_in, on_failure=self._sign_in_failed, owner=self
        )

    async def _login(self) -> AuthStatus:
        await self.session.login(on_url=self._emit_url, on_notice=self._emit_notice)
        return await self.session.status()

    def cancel(self) -> None:
        job, self._login_job = self._login_job, None
        if job is not None:
            job.cancel()
        if self.view is not None and shiboken6.isValid(self.view):
            self.view.set_idle()
            self.view.show_notice("Sign-in cancelled.")

    def sign_out(self) -> Job[LogoutResult]:
        self.cancel()
        return self.bridge.run(self.session.logout(), on_success=self._signed_out, owner=self)

    # -- results on the GUI thread -------------------------------------------------------------------

    def _set_status(self, status: AuthStatus) -> None:
        self.status = status
        self.statusChanged.emit(status)

    def _load_failed(self, error: BaseException) -> None:
        # A locked or broken keyring: show it where the user looks, as not signed in.
        text = error_text(error)
        self.storageWarning.emit(text)
        if self.view is not None and shiboken6.isValid(self.view):
            self.view.show_error(text)

    def _signed_in(self, status: AuthStatus) -> None:
        self._login_job = None
        if self.view is not None and shiboken6.isValid(self.view):
            self.view.set_idle()
        self._set_status(status)
        self.signedIn.emit(status)

    def _sign_in_failed(self, error: BaseException) -> None:
        self._login_job = None
        import asyncio  # the loop's thread imported it long ago; the GUI thread need not at start-up

        if isinstance(error, asyncio.CancelledError):
            return
        text = error_text(error)
        if self.view is not None and shiboken6.isValid(self.view):
            self.view.show_error(text)
        self.signInFailed.emit(text)

    def _signed_out(self, result: LogoutResult) -> None:
        log.info("signed out of %s: %s", self.session.profile.name, result.message)

    def _on_url(self, url: str) -> None:
        if self.view is not None and shiboken6.isValid(self.view) and self.signing_in:
            self.view.set_waiting(url)

    def _on_notice(self, text: str) -> None:
        if self.view is not None and shiboken6.isValid(self.view):
            self.view.show_notice(text)

    def _on_event(self, event: SessionEvent) -> None:
        if event.kind == "storage":
            self.storageWarning.emit(event.message)
        if event.kind == "session_ended":
            self.sessionEnded.emit(event.message)
        if event.kind == "signed_out":
            self.signedOut.emit()
        if event.kind in ("refreshed", "session_ended", "signed_out", "storage"):
            self.load()


class ReauthDialog(QDialog):
    """Asks to sign in again after the session ended, over the window: nothing behind it is touched.

    It is not modal to the application's work: views keep their data and forms keep what was typed;
    the requests that failed can simply be retried once signed in again.
    """

    def __init__(self, controller: SignInController, reason: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        profile = controller.session.profile
        self.setObjectName("reauthDialog")
        self.setWindowTitle(f"Sign in again \u2013 {profile.display_name}")
        self.setModal(False)
        text = "Your session has ended, so the console cannot reach the API for now."
        if reason:
            text += f" ({reason})"
        text += " Sign in again to continue: your open views and unsaved forms are kept."
        self.notice = Banner(text, kind="info", closable=False)
        self.view = SignInView(profile, storage_warning=controller.session.storage_warning)
        layout = QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addWidget(self.view)
        controller.attach_view(self.view)
        controller.signedIn.connect(self._done)

    def _done(self, _status: object) -> None:
        self.accept()

    def done(self, result: int) -> None:
        if self.controller.signing_in and result != QDialog.DialogCode.Accepted:
            self.controller.cancel()
        with contextlib.suppress(RuntimeError, TypeError):  # already disconnected
            self.controller.signedIn.disconnect(self._done)
        super().done(result)
