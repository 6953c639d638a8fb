"""The Notifications page: the live feed, filtered, pausable, with what was missed said out loud.

Above the list: filters (topic patterns such as ``user.* alert.#``, an event type, words), *Pause* (new
events wait, counted, until *Resume*), *Mark all read*, and the connection's state. A gap the server
reported stands in a banner ("N events may be missing: reload") whose *Reload pages* asks the pages
that show server state (users, roles) to fetch it again. Activating an event
(double-click or Enter) opens what it is about: the user on the Users page, the trace on the Traces
page. The list is the window's shared :class:`~.model.EventTableModel`; the dock shows the same.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...events.model import Gap, Phase, StreamStatus
from ..shell import plain
from ..shell.context import PageContext
from ..signin.banner import Banner
from .model import EVENT_ROLE, EventFilter, EventFilterProxy
from .room import room_for

__all__ = ["NotificationsPage"]

_FILTER_DELAY_MS = 200


class NotificationsPage(QWidget):
    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.room = room_for(context)
        self.model = self.room.model
        self.setAccessibleName("Notifications page")

        self.topics = QLineEdit(placeholderText="Topics, e.g. user.* alert.#")
        self.topics.setAccessibleName("Topic filter")
        self.topics.setToolTip("Topic patterns separated by spaces: '*' is one word, '#' any number of words")
        self.type = QLineEdit(placeholderText="Type")
        self.type.setAccessibleName("Event type filter")
        self.type.setMaximumWidth(160)
        self.text = QLineEdit(placeholderText="Find in the list")
        self.text.setAccessibleName("Text filter")
        self.text.setClearButtonEnabled(True)
        for box in (self.topics, self.type, self.text):
            box.textChanged.connect(self._schedule_filter)
        self.filter_error = plain.label()  # quotes the typed filter
        self.filter_error.setObjectName("filterError")
        self.filter_error.setVisible(False)

        self.pause = QPushButton("Pause")
        self.pause.setCheckable(True)
        self.pause.setAccessibleName("Pause the list")
        self.pause.setToolTip("Hold new events (they are counted) so the list stops moving")
        self.pause.toggled.connect(self.model.set_paused)
        self.keep = QSpinBox()
        self.keep.setRange(1_000, 100_000)
        self.keep.setSingleStep(1_000)
        self.keep.setValue(self.model.capacity)
        self.keep.setPrefix("Keep ")
        self.keep.setSuffix(" events")
        self.keep.setAccessibleName("Events kept in the list")
        self.keep.setToolTip("How many recent events the list keeps; older ones go first")
        self.keep.valueChanged.connect(self.model.set_capacity)
        self.mark_read = QPushButton("Mark all read")
        self.mark_read.setAccessibleName("Mark all events read")
        self.mark_read.clicked.connect(self.room.mark_all_read)
        self.state = QLabel()
        self.state.setObjectName("feedState")
        self.state.setAccessibleName("Connection state")
        self.counts = QLabel()
        self.counts.setObjectName("feedCounts")

        self.gap_banner = Banner(kind="warning", action="Reload pages", parent=self)
        self.gap_banner.setObjectName("gapBanner")
        self.gap_banner.setVisible(False)
        self.gap_banner.actionTriggered.connect(self._reload)
        self.gap_banner.dismissed.connect(lambda: self._show_gap(None))

        self.proxy = EventFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setObjectName("eventTable")
        self.table.setAccessibleName("Events, newest first")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)  # fixed heights: never ResizeToContents
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(0, self.fontMetrics().horizontalAdvance("00:00:00") + 24)
        header.resizeSection(1, 170)
        header.setStretchLastSection(True)
        self.table.activated.connect(self._open)
        self.table.doubleClicked.connect(self._open)

        filters = QHBoxLayout()
        filters.addWidget(self.topics, 2)
        filters.addWidget(self.type, 1)
        filters.addWidget(self.text, 2)
        controls = QHBoxLayout()
        controls.addWidget(self.state, 1)
        controls.addWidget(self.counts)
        controls.addWidget(self.keep)
        controls.addWidget(self.mark_read)
        controls.addWidget(self.pause)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(controls)
        layout.addLayout(filters)
        layout.addWidget(self.filter_error)
        layout.addWidget(self.gap_banner)
        layout.addWidget(self.table, 1)
        QWidget.setTabOrder(self.topics, self.type)
        QWidget.setTabOrder(self.type, self.text)
        QWidget.setTabOrder(self.text, self.table)

        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(_FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.apply_filter)
        self.model.countsChanged.connect(self._show_counts)
        self.room.feed.statusChanged.connect(self._show_status)
        self.room.feed.gapReported.connect(self._show_gap)
        self.room.stateTick.connect(self._show_status)
        self._show_status(self.room.feed.status)
        self._show_counts()
        if self.room.last_gap is not None:
            self._show_gap(self.room.last_gap)

    def refresh_colors(self) -> None:
        """The colour scheme changed (the window calls this)."""
        self.gap_banner.refresh_colors()

    # -- filters ---------------------------------------------------------------------------------

    def focus_find(self) -> None:
        self.text.setFocus()
        self.text.selectAll()

    def _schedule_filter(self) -> None:
        self._filter_timer.start()

    def apply_filter(self) -> None:
        self._filter_timer.stop()
        try:
            event_filter = EventFilter(self.topics.text(), self.type.text(), self.text.text())
        except ValueError as exc:
            self.filter_error.setText(str(exc))
            self.filter_error.setVisible(True)
            return
        self.filter_error.setVisible(False)
        self.proxy.set_filter(event_filter)
        self._show_counts()

    # -- state -----------------------------------------------------------------------------------

    def _show_counts(self) -> None:
        model = self.model
        parts = [f"{self.proxy.rowCount()} shown"]
        if self.proxy.rowCount() != model.rowCount():
            parts[0] += f" of {model.rowCount()}"
        if model.unread:
            parts.append(f"{model.unread} unread")
        if model.paused:
            parts.append(f"{model.waiting} waiting")
        self.counts.setText(" · ".join(parts))
        self.pause.setText(f"Resume ({model.waiting})" if model.paused else "Pause")
        self.mark_read.setEnabled(model.unread > 0)

    def _show_status(self, status: StreamStatus | None = None) -> None:
        status = status if isinstance(status, StreamStatus) else self.room.feed.status
        text = self.room.status_text()
        self.state.setText(text)
        self.state.setToolTip(plain.tooltip(self.room.status_tooltip()))
        self.state.setProperty("phase", status.phase.value)

    def _show_gap(self, gap: Gap | None) -> None:
        if gap is None:
            self.room.last_gap = None
            self.gap_banner.setVisible(False)
            return
        self.gap_banner.set_text(gap.message())
        self.gap_banner.setVisible(True)

    def _reload(self) -> None:
        self.room.reloadRequested.emit()
        self._show_gap(None)

    # -- click-through ---------------------------------------------------------------------------

    def _open(self, index: QModelIndex) -> None:
        event = index.data(EVENT_ROLE)
        if event is None:
            return
        self.room.open_event(event)

    def is_live(self) -> bool:
        return self.room.feed.status.phase is Phase.LIVE
