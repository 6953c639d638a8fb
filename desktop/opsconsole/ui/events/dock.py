"""The Notifications dock: the live list beside any page (View > Notifications Dock, Ctrl+Shift+N).

It shows the same list as the Notifications page (the room's shared model), unfiltered, time and
words only, newest first. Activating a row opens what the event is about.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QDockWidget, QHeaderView, QTableView, QWidget

from .model import EVENT_ROLE
from .room import NotificationsRoom

__all__ = ["NotificationsDock"]


class NotificationsDock(QDockWidget):
    def __init__(self, room: NotificationsRoom, parent: QWidget | None = None) -> None:
        super().__init__("Notifications", parent)
        self.room = room
        self.setObjectName("notificationsDock")
        self.setAccessibleName("Notifications dock")
        self.setAllowedAreas(Qt.DockWidgetArea.BottomDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea)
        self.table = QTableView()
        self.table.setObjectName("dockEventTable")
        self.table.setAccessibleName("Events, newest first")
        self.table.setModel(room.model)
        self.table.setColumnHidden(1, True)  # the topic: the words say it
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.horizontalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.activated.connect(self._open)
        self.table.doubleClicked.connect(self._open)
        self.setWidget(self.table)
        room.unreadChanged.connect(self._show_unread)
        self._show_unread(room.unread())

    def _show_unread(self, unread: int) -> None:
        self.setWindowTitle(f"Notifications ({unread} unread)" if unread else "Notifications")

    def _open(self, index: QModelIndex) -> None:
        event = index.data(EVENT_ROLE)
        if event is not None:
            self.room.open_event(event)
