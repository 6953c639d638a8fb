"""The Notifications room of one window: the feed, the shared list, and what they show elsewhere.

:func:`room_for` makes (once per window) the :class:`NotificationsRoom`, which holds:

- the :class:`~.feed.LiveFeed` (the window's one stream) and the :class:`~.model.EventTableModel`
  that the page and the dock share;
- the connection's state in the status bar ("live", "reconnecting in 7 s", "offline", "signed out"),
  counted down each second while a reconnect waits;
- the unread badge on the rail's Notifications entry while that page is not in view;
- the desktop notifier (:mod:`.notify`): chosen topics raise a desktop notification while the window
  is hidden or not active, unless *Do not disturb* is on;
- click-through: :meth:`open_event` opens what an event is about on its page.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from ...events.model import Event, Gap, Phase, StreamStatus
from ...events.summary import target_of
from ..shell.context import PageContext
from .feed import LiveFeed, feed_for
from .model import EventTableModel

if TYPE_CHECKING:
    from .notify import DesktopNotifier

__all__ = ["NotificationsRoom", "room_for"]

PAGE_KEY = "notifications"


class NotificationsRoom(QObject):
    stateTick = Signal()
    """The state text changed without a new status (the reconnect countdown)."""

    unreadChanged = Signal(int)
    reloadRequested = Signal()
    """The person asked the pages that show server state to fetch it again (after a gap)."""

    def __init__(self, context: PageContext, *, capacity: int = 10_000) -> None:
        super().__init__(context)
        self.setObjectName("notificationsRoom")
        self.context = context
        self.feed: LiveFeed = feed_for(context)
        self.model = EventTableModel(capacity, self)
        self.last_gap: Gap | None = None
        self.page_in_view = False
        self.notifier: DesktopNotifier | None = None
        self._retry_at: float | None = None
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._on_tick)
        self.feed.eventsArrived.connect(self._on_events)
        self.feed.gapReported.connect(self._on_gap)
        self.feed.statusChanged.connect(self._on_status)
        self.model.countsChanged.connect(lambda: self.unreadChanged.emit(self.unread()))
        context.sessionChanged.connect(lambda _session: self.model.clear())

    # -- what views read -------------------------------------------------------------------------

    def unread(self) -> int:
        return self.model.unread

    def status_text(self) -> str:
        status = self.feed.status
        if status.phase is Phase.RECONNECTING and self._retry_at is not None:
            left = max(0, round(self._retry_at - time.monotonic()))
            return f"reconnecting in {left} s" if left else "reconnecting"
        return status.phase.value

    def status_tooltip(self) -> str:
        status = self.feed.status
        lines = [f"Notifications: {status.message()}"]
        stream = self.feed.stream
        if stream is not None:
            stats = stream.stats
            lines.append(f"{self.feed.received} events received this session")
            skipped = stats.malformed + stats.oversized + stats.unknown_control
            if skipped:
                lines.append(f"{skipped} malformed or oversized messages skipped")
            if stats.refused_topics:
                lines.append("Not allowed: " + ", ".join(sorted(stats.refused_topics)))
        return "\n".join(lines)

    # -- what views do ---------------------------------------------------------------------------

    def mark_all_read(self) -> None:
        self.model.mark_all_read()

    def set_page_in_view(self, in_view: bool) -> None:
        self.page_in_view = in_view
        self.unreadChanged.emit(self.unread())

    def open_event(self, event: Event) -> bool:
        """Open what ``event`` is about on its page; False when it is about nothing that opens."""
        target = target_of(event.data)
        if target is None:
            self.context.show_message(f"Event #{event.id} ({event.topic}) has nothing to open")
            return False
        self.context.open_target(*target)
        return True

    # -- the feed --------------------------------------------------------------------------------

    def _on_events(self, events: list[Event]) -> None:
        self.model.add(events)
        if self.notifier is not None:
            self.notifier.offer(events)

    def _on_gap(self, gap: Gap) -> None:
        self.last_gap = gap

    def _on_status(self, status: StreamStatus) -> None:
        if status.phase is Phase.RECONNECTING and status.retry_in is not None:
            self._retry_at = time.monotonic() + status.retry_in
            self._tick.start()
        else:
            self._retry_at = None
            self._tick.stop()
        self.stateTick.emit()

    def _on_tick(self) -> None:
        if self._retry_at is None or time.monotonic() > self._retry_at + 1:
            self._tick.stop()
        self.stateTick.emit()


def room_for(context: PageContext) -> NotificationsRoom:
    """The window's Notifications room, made on first use."""
    room = context.findChild(NotificationsRoom, "notificationsRoom")
    return room if room is not None else NotificationsRoom(context)
