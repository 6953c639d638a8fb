"""Desktop notifications for chosen topics while the console is not in front.

Through the system tray (QSystemTrayIcon): where the desktop has no tray (some Wayland sessions, a bare
X server) there are no desktop notifications, and everything else works as before; the View menu says
so. A flood does not become a flood of notifications: after one is shown, others within ``quiet_s``
seconds are gathered into one ("12 more alerts"). *Do not disturb* holds them all.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon, QWidget

from ...events.model import Event
from ...events.summary import summarize
from ...events.topics import TopicFilter
from ..shell.assets import ResourceError, app_icon

__all__ = ["DEFAULT_TOPICS", "DesktopNotifier"]

DEFAULT_TOPICS = ("alert.fired",)
ShowFunction = Callable[[str, str], None]
# The desktop's notification server reads a notification's body as markup (GNOME Shell and Plasma
# advertise "body-markup": <b>, <a href>, <img src>), and the words come from the server's events: a
# user named '<a href="...">' would make a link, an <img> a picture fetched. Qt passes the text on as
# it is, and escaping it (&lt;) would show as such where the tray shows Qt's own balloon instead, so
# "<", which every tag starts with, becomes the look-alike single angle quotation mark. (">" alone
# starts nothing: "latency > 500ms" stays as it is.)
_NO_MARKUP = str.maketrans({"<": "\u2039"})


def without_markup(text: str) -> str:
    """``text`` with nothing a desktop notification server would read as a tag."""
    return text.translate(_NO_MARKUP)


class DesktopNotifier(QObject):
    doNotDisturbChanged = Signal(bool)
    """Every Do Not Disturb switch (the View menu's, the tray menu's) follows this."""

    def __init__(
        self,
        window: QWidget,
        *,
        topics: tuple[str, ...] = DEFAULT_TOPICS,
        quiet_s: float = 10.0,
        show: ShowFunction | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.topics = TopicFilter(topics)
        self.quiet_s = quiet_s
        self.do_not_disturb = False
        self.shown: list[tuple[str, str]] = []  # what was shown, for the status tooltip and tests
        self._clock = clock
        self._last_shown = -1e9
        self._held: list[Event] = []
        self._later = QTimer(self)
        self._later.setSingleShot(True)
        self._later.timeout.connect(self._show_held)
        self.tray: QSystemTrayIcon | None = None
        if show is None and QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = self._make_tray()
            show = self._show_in_tray
        self._show = show

    @property
    def available(self) -> bool:
        return self._show is not None

    def set_topics(self, patterns: str) -> None:
        """Raises ValueError naming a bad pattern."""
        self.topics = TopicFilter(p for p in patterns.replace(",", " ").split() if p)

    def set_do_not_disturb(self, on: bool) -> None:
        if on == self.do_not_disturb:
            return
        self.do_not_disturb = on
        if on:
            self._held.clear()
            self._later.stop()
        self.doNotDisturbChanged.emit(on)

    def offer(self, events: list[Event]) -> None:
        """Events just arrived: notify about the chosen ones if the window is not in front."""
        if self._show is None or self.do_not_disturb or not self.topics:
            return
        if self.window.isVisible() and self.window.isActiveWindow() and not self.window.isMinimized():
            return
        chosen = [e for e in events if self.topics(e.topic)]
        if not chosen:
            return
        self._held.extend(chosen)
        wait = self._last_shown + self.quiet_s - self._clock()
        if wait <= 0:
            self._show_held()
        elif not self._later.isActive():
            self._later.start(int(wait * 1000) + 1)

    def _show_held(self) -> None:
        held, self._held = self._held, []
        if not held or self._show is None or self.do_not_disturb:
            return
        first = held[-1]
        title = f"{first.topic}" if len(held) == 1 else f"{first.topic} and {len(held) - 1} more"
        title, body = without_markup(title), without_markup(summarize(first.topic, first.data))
        self._last_shown = self._clock()
        self.shown.append((title, body))
        self._show(title, body)

    def _make_tray(self) -> QSystemTrayIcon:
        icon = QApplication.windowIcon()
        if icon.isNull():
            try:
                icon = app_icon()
            except ResourceError:  # a broken installation: a tray entry without a picture still works
                icon = QIcon()
        tray = QSystemTrayIcon(icon, self)
        tray.setToolTip("Ops Console")
        menu = QMenu(self.window)
        menu.addAction("Show Ops Console", self._raise_window)
        dnd = menu.addAction("Do Not Disturb")
        dnd.setCheckable(True)
        dnd.toggled.connect(self.set_do_not_disturb)
        self.doNotDisturbChanged.connect(dnd.setChecked)
        tray.setContextMenu(menu)
        tray.activated.connect(lambda _reason: self._raise_window())
        tray.messageClicked.connect(self._raise_window)
        tray.show()
        return tray

    def _show_in_tray(self, title: str, body: str) -> None:
        assert self.tray is not None
        self.tray.showMessage(title, body, QSystemTrayIcon.MessageIcon.Information, 8000)

    def _raise_window(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()
