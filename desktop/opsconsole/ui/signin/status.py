"""The signed-in user in the status bar: who, for how long, with which scopes (in the tooltip).

:class:`SignInStatus` turns an :class:`~opsconsole.auth.AuthStatus` into the status bar's sign-in field
(through a ``set_state(text, tooltip)`` callable such as ``MainWindow.set_sign_in_state``) and keeps the
time left current with a timer: every 30 s, every second in the last two minutes. The access token is
refreshed by the session before it runs out, so "time left" counts down to the next refresh, and the
tooltip says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

if TYPE_CHECKING:
    from ...auth import AuthStatus


SetState = Callable[[str, str], None]


def time_left(seconds: float) -> str:
    """A short, human count-down: "45 s", "14 min", "2 h 05 min"."""
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def describe(status: AuthStatus | None, now: float) -> tuple[str, str]:
    """(field text, tooltip) for the status bar."""
    if status is None or not status.signed_in:
        tip = "Not signed in to this profile"
        if status is not None and status.storage_warning:
            tip += f"\n{status.storage_warning}"
        return "not signed in", tip
    who = status.username or status.subject or "signed in"
    lines = [f"Signed in to profile \u201c{status.profile}\u201d as {who}"]
    if status.subject and status.subject != who:
        lines.append(f"Subject: {status.subject}")
    lines.append("Scopes: " + (", ".join(status.scopes) if status.scopes else "none"))
    text = who
    if status.access_expires_at is not None:
        left = status.access_expires_at - now
        when = datetime.fromtimestamp(status.access_expires_at).strftime("%H:%M:%S")
        if left > 0:
            text = f"{who} \u00b7 {time_left(left)} left"
            lines.append(f"Access token valid until {when}; it is renewed automatically before then")
        else:
            text = f"{who} \u00b7 renewing"
            lines.append(f"Access token expired at {when}; it is renewed on the next request")
    if status.storage_warning:
        text += " \u00b7 \u26a0 not saved"  # no usable keyring: visible without hovering
    storage = (
        "Tokens are stored in the OS keyring"
        if status.storage == "keyring"
        else "Tokens are kept in memory for this run only"
    )
    lines.append(storage)
    if status.storage_warning:
        lines.append(status.storage_warning)
    return text, "\n".join(lines)


class SignInStatus(QObject):
    """Keeps the status bar's sign-in field current. Call :meth:`stop` (or delete it) when done."""

    def __init__(
        self,
        set_state: SetState,
        *,
        clock: Callable[[], float] = time.time,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._set_state = set_state
        self._clock = clock
        self.status: AuthStatus | None = None
        self.text = ""
        self.tooltip = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.refresh)

    def update(self, status: AuthStatus | None) -> None:
        self.status = status
        self.refresh()

    def refresh(self) -> None:
        now = self._clock()
        self.text, self.tooltip = describe(self.status, now)
        self._set_state(self.text, self.tooltip)
        self._timer.stop()
        status = self.status
        if status is not None and status.signed_in and status.access_expires_at is not None:
            left = status.access_expires_at - now
            if left > 0:
                self._timer.start(1000 if left <= 120 else 30_000)

    def stop(self) -> None:
        self._timer.stop()

    @property
    def ticking(self) -> bool:
        return self._timer.isActive()
