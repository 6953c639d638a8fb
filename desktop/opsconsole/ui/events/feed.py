"""The window's one live notification stream, brought to the GUI thread in batches, one per frame.

:class:`LiveFeed` follows the window's sign-in session (``PageContext.sessionChanged``): when a session
opens on a profile with an ``events_url`` it runs an :class:`~opsconsole.events.stream.EventStream`
on the bridge's loop; when the session goes away (sign-out, another profile) it stops it. Every view
that shows events (the Notifications page, the dock, the Users page's live rows, desktop
notifications) listens to this one feed: one connection per window, whatever is open.

Batching: the loop thread appends what the stream yields to a buffer and, when the buffer was empty,
wakes the GUI thread with one queued signal. The GUI thread takes the whole buffer at once, at most
once per frame (~16 ms), and emits :attr:`eventsArrived` with the batch. In a flood (batches of
hundreds) it takes it ten times a second instead: nobody reads faster than that, and each update of
a list view costs a repaint, so a flood of 10,000 events a second costs the GUI thread ten model
updates a second, not 10,000 (or 60).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from ...events.model import Event, Gap, Phase, StreamStatus
from ..shell.context import PageContext

if TYPE_CHECKING:
    from ...auth import Session
    from ..shell.bridge import Job

log = logging.getLogger("opsconsole.ui.events")

__all__ = ["FLOOD_MS", "FRAME_MS", "LiveFeed", "feed_for"]

FRAME_MS = 16
FLOOD_MS = 100
FLOOD_BATCH = 200  # a batch this big means a flood: update the views ten times a second
HISTORY = 10_000


class LiveFeed(QObject):
    eventsArrived = Signal(list)
    """A batch of new events (``list[Event]``, oldest first), on the GUI thread."""

    gapReported = Signal(object)
    """The server could not send some events (a :class:`Gap`): views say so."""

    statusChanged = Signal(object)
    """The connection's state changed (a :class:`StreamStatus`)."""

    _wake = Signal()  # emitted on the loop thread, delivered queued on the GUI thread

    def __init__(
        self, context: PageContext, *, history: int = HISTORY, parent: QObject | None = None
    ) -> None:
        super().__init__(parent if parent is not None else context)
        self.context = context
        self.history = history
        self.status = StreamStatus(Phase.OFFLINE, "not signed in")
        self.received = 0
        self.stream: Any = None  # the EventStream while one runs (its stats are shown in tooltips)
        self._job: Job[None] | None = None
        self._session: Session | None = None
        self.last_id: int | None = None  # the newest event delivered: a restart resumes after it
        self._lock = threading.Lock()
        self._buffer: list[Event | Gap | StreamStatus] = []
        self._woken = False
        self._last_flush = 0.0
        self._last_batch = 0
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.timeout.connect(self._flush)
        self._wake.connect(self._on_wake)
        context.sessionChanged.connect(self._on_session)
        if context.session is not None:
            self._on_session(context.session)

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._job is not None and not self._job.done

    def restart(self) -> None:
        """Stop the stream and start it again on the current session, resuming after the last event."""
        self._on_session(self.context.session)

    def stop(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self._job = None
        self.stream = None
        with self._lock:  # what the old stream left behind must not show up in the new one
            self._buffer.clear()

    def _on_session(self, session: Session | None) -> None:
        self.stop()
        if session is not self._session:  # another sign-in (or none): its history is not ours
            self._session = session
            self.last_id = None
        profile = self.context.profile
        bridge = self.context.bridge
        if session is None or profile is None or bridge is None:
            self._set_status(StreamStatus(Phase.OFFLINE, "not signed in"))
            return
        if not profile.events_url:
            self._set_status(StreamStatus(Phase.OFFLINE, f'profile "{profile.name}" has no events_url'))
            return
        self._set_status(StreamStatus(Phase.CONNECTING))
        self._job = bridge.run(
            self._pump(session, profile.events_url, profile.ca_bundle, self.last_id),
            on_failure=self._on_failure,
            owner=self,
            name="live-feed",
        )

    async def _pump(self, session: Session, url: str, ca_bundle: str, since: int | None) -> None:
        """On the loop thread: run the stream, hand everything it yields to the GUI thread."""
        import contextlib

        from ...events.stream import EventStream
        from ...net import ssl_context

        stream = EventStream(
            url,
            session,
            since=since,
            history=1,  # the GUI's model is the history
            ssl_context=ssl_context(ca_bundle) if url.startswith("wss:") else None,
        )
        self.stream = stream
        try:
            async with contextlib.aclosing(stream.items()) as items:
                async for item in items:
                    self._push(item)
        finally:
            await stream.close()

    def _push(self, item: Event | Gap | StreamStatus) -> None:
        with self._lock:
            self._buffer.append(item)
            if self._woken:
                return
            self._woken = True
        self._wake.emit()

    def _on_failure(self, error: BaseException) -> None:
        log.error("live feed: the stream failed: %s", error, exc_info=error)
        self._set_status(StreamStatus(Phase.OFFLINE, f"the stream failed: {error}"))

    # -- the GUI thread --------------------------------------------------------------------------

    def _on_wake(self) -> None:
        interval = FLOOD_MS if self._last_batch >= FLOOD_BATCH else FRAME_MS
        wait = interval - (time.monotonic() - self._last_flush) * 1000
        if wait > 0:
            if not self._flush_timer.isActive():
                self._flush_timer.start(int(wait) + 1)
        else:
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            items, self._buffer = self._buffer, []
            self._woken = False
        self._last_flush = time.monotonic()
        self._last_batch = len(items)
        events: list[Event] = []
        for item in items:
            if isinstance(item, Event):
                events.append(item)
                continue
            if events:  # keep the order: events before a status or gap go out first
                self._emit_events(events)
                events = []
            if isinstance(item, Gap):
                self.gapReported.emit(item)
            else:
                self._set_status(item)
        if events:
            self._emit_events(events)

    def _emit_events(self, events: list[Event]) -> None:
        self.received += len(events)
        self.last_id = events[-1].id
        self.eventsArrived.emit(events)

    def _set_status(self, status: StreamStatus) -> None:
        self.status = status
        self.statusChanged.emit(status)


def feed_for(context: PageContext) -> LiveFeed:
    """The window's feed, made on first use (every view of events asks here)."""
    feed = context.findChild(LiveFeed, "liveFeed")
    if feed is None:
        feed = LiveFeed(context)
        feed.setObjectName("liveFeed")
    return feed
