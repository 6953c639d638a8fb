"""The status bar: profile, environment, sign-in state and live-connection state, each its own field.

Each field is a label with a caption ("Profile", "Signed in"...), an accessible name that reads as
"caption: value" and a tooltip with the detail. Later features update their field through
:meth:`ShellStatusBar.set_sign_in_state` and :meth:`ShellStatusBar.set_live_state` (also exposed on the
main window); transient messages use QStatusBar's own message area on the left.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QSizeGrip, QStatusBar, QWidget

from ...config import Profile
from . import plain
from .palette import shell_colors
from .qtprops import set_enum_property

if TYPE_CHECKING:
    from PySide6.QtGui import QHideEvent, QMoveEvent, QResizeEvent

LIVE_STATES = ("offline", "connecting", "live", "reconnecting", "error")


class StatusField(QLabel):
    """One labelled field: a muted caption, the value, optionally a coloured dot before the value."""

    def __init__(self, key: str, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.caption = caption
        self.value = ""
        self.dot_role: str | None = None
        self.setObjectName(f"status-{key}")
        set_enum_property(self, "textFormat", "RichText")  # a QLabel takes no focus by default
        self.setContentsMargins(8, 0, 8, 0)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._refit_message()

    def moveEvent(self, event: QMoveEvent) -> None:
        super().moveEvent(event)
        self._refit_message()

    def _refit_message(self) -> None:
        # A field that grows ("administrator@example.com, 54 min left") leaves the message less room.
        bar = self.parentWidget()
        if isinstance(bar, ShellStatusBar):
            bar.fit_message()

    def set_value(self, value: str, tooltip: str = "", *, dot: str | None = None) -> None:
        self.value = value
        self.dot_role = dot
        self.setToolTip(plain.tooltip(tooltip or f"{self.caption}: {value}"))
        self.setAccessibleName(f"{self.caption}: {value}")
        self.setAccessibleDescription(tooltip)
        self.refresh()

    def refresh(self) -> None:
        """Re-render with the current palette's colours (called again when the scheme changes)."""
        colors = shell_colors()
        parts = [f"<span style='color:{colors.muted_text}'>{escape(self.caption)}</span>"]
        if self.dot_role is not None:
            dot_color = getattr(colors, f"status_{self.dot_role}", colors.status_idle)
            parts.append(f"<span style='color:{dot_color}'>\u25cf</span>")
        parts.append(escape(self.value))
        self.setText("&nbsp;".join(parts))


class ShellStatusBar(QStatusBar):
    """The fields, and QStatusBar's transient message on the side, fitted to the room the fields leave:
    ended with an ellipsis when it is too long (Qt cuts it off mid-word, with no sign that more was
    said), fitted again whenever the bar or a field changes size, and then whole in the bar's tooltip.
    ``currentMessage()`` is what is shown, :meth:`message` the whole of it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._message = ""  # the whole of the message shown with showMessage
        self._shown = ""  # what of it QStatusBar shows (elided)
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self.clearMessage)
        self.messageChanged.connect(self._message_changed)
        self.setObjectName("shellStatusBar")
        self.setAccessibleName("Status bar")
        self.setSizeGripEnabled(True)
        self.demo = StatusField("demo", "Mode", self)
        self.profile = StatusField("profile", "Profile", self)
        self.environment = StatusField("environment", "Environment", self)
        self.sign_in = StatusField("sign-in", "Sign-in", self)
        self.live = StatusField("live", "Live", self)
        for field in (self.demo, self.profile, self.environment, self.sign_in, self.live):
            self.addPermanentWidget(field)
        self.demo.set_value("Demo", "A local sandbox started for this session; nothing here is real")
        self.demo.hide()
        self.set_profile(None, "No profile selected")
        self.set_sign_in_state("not signed in", "Not signed in to this profile")
        self.set_live_state("offline", "Not connected to the notification stream")

    def fields(self) -> list[StatusField]:
        return [self.demo, self.profile, self.environment, self.sign_in, self.live]

    def showMessage(self, text: str, timeout: int | None = 0) -> None:
        """Show ``text`` for ``timeout`` ms (0: until replaced), fitted (class doc)."""
        self._message_timer.stop()
        if not text:  # as QStatusBar's: an empty message clears the one shown
            self.clearMessage()
            return
        self._message = text
        self.fit_message()
        if timeout:
            self._message_timer.start(timeout)  # QStatusBar's own would restart on every refit

    def message(self) -> str:
        """The whole of the message shown, however little of it fits."""
        return self._message

    def fit_message(self) -> None:
        """Show as much of the message as the room left by the fields takes."""
        if not self._message:
            return
        from PySide6.QtCore import Qt  # not before a message: the window's start-up never touches Qt

        room = self._message_room()
        text = self._message
        shown = self.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, room) if room > 0 else text
        if shown != self._shown:  # (a message Qt replaced or cleared has reset _shown: _message_changed)
            self._shown = shown
            super().showMessage(shown, 0)
        self.setToolTip(plain.tooltip(text) if shown != text else "")

    def _message_changed(self, message: str) -> None:
        if message != self._shown:  # cleared, timed out, or a status tip Qt showed by itself
            self._message = self._shown = ""
            self._message_timer.stop()
            self.setToolTip("")

    def _message_room(self) -> int:
        """The width of QStatusBar's message area (QStatusBarPrivate::messageRect): from its margin, or
        the size grip, to the first field shown (on the other side in a right-to-left layout); 0 before
        the bar is shown and laid out (the message is then fitted when it is)."""
        if not self.isVisible():
            return 0
        rtl = self.isRightToLeft()
        left, right = 6, self.width() - 12
        grip = self.findChild(QSizeGrip)
        if grip is not None and grip.isVisible():
            if rtl:
                left = grip.x() + grip.width()
            else:
                right = grip.x()
        first = next((field for field in self.fields() if field.isVisible()), None)
        if first is not None:
            if rtl:
                left = max(left, first.x() + first.width() + 2)
            else:
                right = min(right, first.x() - 2)
        return right - left

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit_message()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        if not event.spontaneous():  # the window closed (not minimized): its passing message goes too
            self.clearMessage()

    def set_demo(self, demo: bool) -> None:
        self.demo.setVisible(demo)

    def set_profile(self, profile: Profile | None, reason: str = "") -> None:
        if profile is None:
            self.profile.set_value("none", reason or "No profile selected")
            self.environment.set_value("\u2013", "No profile selected")
            return
        self.profile.set_value(profile.display_name, f"Profile \u201c{profile.name}\u201d: {profile.api_url}")
        dot = {"production": "error", "staging": "busy"}.get(profile.environment)
        self.environment.set_value(
            profile.environment,
            {
                "production": "Production: changes affect real users",
                "staging": "Staging: a shared test system",
            }.get(profile.environment, "Development"),
            dot=dot,
        )

    def set_sign_in_state(self, text: str, tooltip: str = "") -> None:
        """Show who is signed in (e.g. "admin@example.com, 54 min left") or "not signed in"."""
        self.sign_in.set_value(text, tooltip)

    def set_live_state(self, state: str, tooltip: str = "", text: str | None = None) -> None:
        """Show the notification stream's state: offline, connecting, live, reconnecting, signed out or
        error, with its coloured dot; ``text`` (e.g. "reconnecting in 7 s") replaces the word shown.

        Other states are shown as given, without a dot.
        """
        dot = {
            "live": "ok",
            "connecting": "busy",
            "reconnecting": "busy",
            "error": "error",
            "offline": "idle",
            "signed out": "idle",
        }.get(state)
        self.live.set_value(text or state, tooltip, dot=dot)

    def refresh_colors(self) -> None:
        for field in self.fields():
            field.refresh()
