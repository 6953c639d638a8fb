"""The list of recent events behind the Notifications page and dock: bounded, newest first.

:class:`EventTableModel` holds at most ``capacity`` events (the oldest go when new ones come) and takes
them in batches (one ``beginInsertRows`` per batch, whatever its size). While *paused* it shows nothing
new and counts what waits; resuming inserts what waited (the newest ``capacity`` of it). Events newer
than the read mark are *unread* and drawn in bold; ``mark_all_read`` moves the mark.

:class:`EventFilter` is the page's filter (topic patterns as the stream routes them, event type, text),
applied by :class:`EventFilterProxy` so that the dock, which shares the model, shows everything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont

from ...events.model import Event
from ...events.summary import actor_words, printable, summarize, target_of
from ...events.topics import TopicFilter
from ..shell import plain

__all__ = ["COLUMNS", "EVENT_ROLE", "EventFilter", "EventFilterProxy", "EventTableModel"]

COLUMNS = ("Time", "Topic", "What")
EVENT_ROLE = Qt.ItemDataRole.UserRole + 1
_Index = QModelIndex | QPersistentModelIndex


class _Row:
    """An event and its words, worked out when first shown (a flood's rows are mostly never drawn)."""

    __slots__ = ("_summary", "_time", "event")

    def __init__(self, event: Event) -> None:
        self.event = event
        self._summary: str | None = None
        self._time: str | None = None

    @property
    def summary(self) -> str:
        if self._summary is None:
            self._summary = summarize(self.event.topic, self.event.data)
        return self._summary

    @property
    def topic(self) -> str:
        return printable(self.event.topic)

    @property
    def tooltip(self) -> str:
        lines = [f"#{self.event.id} {printable(self.event.type)} at {self.time}", self.summary]
        # The row shortens an account id (and a long line may lose it): the tooltip says it whole.
        actor = actor_words(self.event.data, full=True)
        if actor and actor not in self.summary:
            lines.append(actor[0].upper() + actor[1:])
        return "\n".join(lines)

    @property
    def time(self) -> str:
        if self._time is None:
            self._time = _local_time(self.event.time)
        return self._time


def _local_time(text: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment.astimezone().strftime("%H:%M:%S")
    except (ValueError, OverflowError, OSError):  # not a time, or one the local zone cannot hold
        return printable(text)


class EventTableModel(QAbstractTableModel):
    countsChanged = Signal()
    """unread, waiting or the row count changed."""

    def __init__(self, capacity: int = 10_000, parent: Any = None) -> None:
        super().__init__(parent)
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._rows: list[_Row] = []  # newest first
        self._waiting: list[Event] = []  # oldest first, while paused
        self._paused = False
        self._read_mark = 0  # events with a higher id are unread
        self.unread = 0
        self._bold = QFont()
        self._bold.setBold(True)

    # -- Qt's side -------------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (row.time, row.topic, row.summary)[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain.tooltip(row.tooltip)  # the event's words, never markup
        if role == Qt.ItemDataRole.FontRole and row.event.id > self._read_mark:
            return self._bold
        if role == Qt.ItemDataRole.AccessibleTextRole:
            state = "unread, " if row.event.id > self._read_mark else ""
            return f"{state}{row.topic} at {row.time}: {row.summary}"
        if role == EVENT_ROLE:
            return row.event
        return None

    # -- the feed's side -------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def newest_id(self) -> int:
        return self._rows[0].event.id if self._rows else 0

    def event_at(self, row: int) -> Event:
        return self._rows[row].event

    def target_at(self, row: int) -> tuple[str, str] | None:
        return target_of(self._rows[row].event.data)

    def add(self, events: list[Event]) -> None:
        """A batch, oldest first (as the feed delivers it)."""
        if not events:
            return
        self.unread += len(events)
        if self._paused:
            self._waiting.extend(events)
            if len(self._waiting) > self.capacity:
                del self._waiting[: len(self._waiting) - self.capacity]
        else:
            self._insert(events)
        self.countsChanged.emit()

    def set_paused(self, paused: bool) -> None:
        if paused == self._paused:
            return
        self._paused = paused
        if not paused and self._waiting:
            waiting, self._waiting = self._waiting, []
            self._insert(waiting)
        self.countsChanged.emit()

    def mark_all_read(self) -> None:
        self._read_mark = max(self._read_mark, self.newest_id(), *(e.id for e in self._waiting[-1:]))
        self.unread = 0
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1))
        self.countsChanged.emit()

    def clear(self) -> None:
        self.beginResetModel()
        self._rows.clear()
        self._waiting.clear()
        self.unread = 0
        self._read_mark = 0  # the next stream's ids may be lower (another server, another database)
        self.endResetModel()
        self.countsChanged.emit()

    def set_capacity(self, capacity: int) -> None:
        """Keep at most ``capacity`` events from now on (the oldest beyond it go now)."""
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        if len(self._rows) > capacity:
            self.beginRemoveRows(QModelIndex(), capacity, len(self._rows) - 1)
            del self._rows[capacity:]
            self.endRemoveRows()
            self.countsChanged.emit()

    def _insert(self, events: list[Event]) -> None:
        new = [_Row(e) for e in reversed(events[-self.capacity :])]
        overflow = len(self._rows) + len(new) - self.capacity
        if overflow > 0:
            keep = len(self._rows) - overflow
            self.beginRemoveRows(QModelIndex(), keep, len(self._rows) - 1)
            del self._rows[keep:]
            self.endRemoveRows()
        self.beginInsertRows(QModelIndex(), 0, len(new) - 1)
        self._rows[:0] = new
        self.endInsertRows()


class EventFilter:
    """What the page shows: topic patterns (as the stream routes them), a type, words in the line."""

    __slots__ = ("text", "topics", "type")

    def __init__(self, topics: str = "", type: str = "", text: str = "") -> None:
        patterns = [p for p in topics.replace(",", " ").split() if p]
        self.topics = TopicFilter(patterns)  # raises ValueError naming a bad pattern
        self.type = type.strip()
        self.text = text.strip().casefold()

    def __bool__(self) -> bool:
        return bool(self.topics or self.type or self.text)

    def accepts(self, event: Event, summary: Callable[[], str]) -> bool:
        """``summary`` is asked for only when the text filter needs it (wording a row costs)."""
        if self.topics and not self.topics(event.topic):
            return False
        if self.type and event.type != self.type:
            return False
        return not self.text or self.text in event.topic.casefold() or self.text in summary().casefold()


class EventFilterProxy(QSortFilterProxyModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._filter = EventFilter()

    def set_filter(self, event_filter: EventFilter) -> None:
        self.beginFilterChange()
        self._filter = event_filter
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        if not self._filter:
            return True
        model = self.sourceModel()
        assert isinstance(model, EventTableModel)
        row = model._rows[source_row]
        return self._filter.accepts(row.event, lambda: row.summary)
