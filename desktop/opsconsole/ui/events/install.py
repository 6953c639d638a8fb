"""Put the Notifications room into a main window: status bar, rail badge, dock, desktop notifications.

What the window shows of the stream while the Notifications page is not open: the connection's state
in the status bar (with the reconnect countdown and, in its tooltip, what was received and skipped),
the unread count on the rail, the dock (View > Notifications Dock), and desktop notifications for the
chosen topics (View > Do Not Disturb holds them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from .dock import NotificationsDock
from .notify import DesktopNotifier
from .room import PAGE_KEY, NotificationsRoom, room_for

if TYPE_CHECKING:
    from ..shell.main_window import MainWindow

__all__ = ["install"]


def install(window: MainWindow) -> NotificationsRoom:
    room = room_for(window.context)
    if window.findChild(NotificationsDock, "notificationsDock") is not None:
        return room  # already installed

    def show_state() -> None:
        phase = room.feed.status.phase.value
        window.set_live_state(phase, room.status_tooltip(), room.status_text())

    room.feed.statusChanged.connect(lambda _status: show_state())
    room.stateTick.connect(show_state)
    show_state()

    def show_badge(unread: int) -> None:
        window.rail.set_badge(PAGE_KEY, 0 if room.page_in_view else unread)

    def on_page(key: str) -> None:
        if room.page_in_view and key != PAGE_KEY:
            room.mark_all_read()  # what was on screen has been seen
        room.set_page_in_view(key == PAGE_KEY)

    room.unreadChanged.connect(show_badge)
    window.pageChanged.connect(on_page)
    room.set_page_in_view(window.current_page_key == PAGE_KEY)

    def reload_pages() -> None:
        for key in window.page_keys:
            reload = getattr(window.page(key), "reload", None)
            if callable(reload):
                reload()

    room.reloadRequested.connect(reload_pages)

    dock = NotificationsDock(room, window)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    dock.hide()
    toggle = dock.toggleViewAction()
    toggle.setText("Notifications &Dock")
    toggle.setShortcut("Ctrl+Shift+N")

    room.notifier = DesktopNotifier(window)
    dnd = QAction("Do &Not Disturb", window)
    dnd.setCheckable(True)
    dnd.setObjectName("doNotDisturb")
    if room.notifier.available:
        dnd.setToolTip("Hold desktop notifications")
        dnd.toggled.connect(room.notifier.set_do_not_disturb)
    else:
        dnd.setEnabled(False)
        dnd.setToolTip("This desktop has no system tray: desktop notifications are not available")
    view_menu = _view_menu(window)
    if view_menu is not None:
        view_menu.addSeparator()
        view_menu.addAction(toggle)
        view_menu.addAction(dnd)
    return room


def _view_menu(window: MainWindow) -> QMenu | None:
    for action in window.menuBar().actions():
        menu = action.menu()
        if isinstance(menu, QMenu) and action.text().replace("&", "") == "View":
            return menu
    return None
