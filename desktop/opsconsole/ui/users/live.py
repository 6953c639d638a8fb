"""Live ``user.*`` events for the Users page, from the window's one notification stream.

The window's :class:`~opsconsole.ui.events.feed.LiveFeed` (``feed_for(context)``) carries every topic
the signed-in account may read; this picks out the ones about accounts (``user.*`` and the role grants
and revocations, which carry the user) and hands each to the page as ``LiveUsers.userEvent``, on the GUI
thread. No connection of its own: opening the Users page never opens another stream. ``status`` is the
stream's state ("live", "reconnecting", ...), for the page to say whether its rows follow changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from ...events.model import Event, StreamStatus
from ...events.topics import TopicFilter
from ..events.feed import feed_for

if TYPE_CHECKING:
    from ..shell.context import PageContext

TOPICS = ("user.*", "role.granted", "role.revoked")


class LiveUsers(QObject):
    userEvent = Signal(object)
    """An ``events.Event`` on a user topic (delivered on the GUI thread)."""
    statusChanged = Signal(str)

    def __init__(self, context: PageContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.feed = feed_for(context)
        self._wanted = TopicFilter(TOPICS)
        self._following = False
        self.status = "off"
        self.feed.eventsArrived.connect(self._events)
        self.feed.statusChanged.connect(self._status)

    def start(self) -> None:
        """Follow the stream (the page has a session and its list)."""
        self._following = True
        self._status(self.feed.status)

    def stop(self) -> None:
        self._following = False
        self._set_status("off")

    def _events(self, events: list[Event]) -> None:
        if not self._following:
            return
        for event in events:
            if self._wanted(event.topic):
                self.userEvent.emit(event)

    def _status(self, status: StreamStatus) -> None:
        if self._following:
            self._set_status(status.phase.value)

    def _set_status(self, text: str) -> None:
        if text != self.status:
            self.status = text
            self.statusChanged.emit(text)
