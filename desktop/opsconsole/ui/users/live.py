"""Live ``user.*`` events for the Users page, through the bridge: a small adapter, meant to be replaced.

Until the window has one shared notification stream (the Notifications feature), the Users page
opens its own subscription to the user topics with the core's ``events.EventStream`` and hands each
event to the GUI thread as ``LiveUsers.userEvent``. When the shared stream lands, this class is the one
place to change: subscribe to the shared stream's ``user.*`` events instead and keep the signal.
Without an ``events_url`` in the profile it does nothing (and says so in ``status``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal

if TYPE_CHECKING:
    from ..shell.bridge import Job
    from ..shell.context import PageContext

TOPICS = ("user.*", "role.granted", "role.revoked")


class LiveUsers(QObject):
    userEvent = Signal(object)
    """An ``events.Event`` on a user topic (delivered on the GUI thread)."""
    statusChanged = Signal(str)

    _arrived = Signal(object)  # emitted on the loop thread

    def __init__(self, context: PageContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.status = "off"
        self._job: Job[Any] | None = None
        self._arrived.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def start(self) -> None:
        """Subscribe with the current session (again, if it changed)."""
        self.stop()
        session, profile, bridge = self.context.session, self.context.profile, self.context.bridge
        if session is None or profile is None or bridge is None or bridge.closed:
            return
        if not profile.events_url:
            self._set_status("off: the profile has no events_url")
            return
        arrived = self._arrived

        async def follow() -> None:
            from ...events.model import Event, StreamStatus
            from ...events.stream import EventStream
            from ...net import ssl_context

            url = profile.events_url
            tls = ssl_context(profile.ca_bundle) if url.startswith("wss:") else None
            stream = EventStream(url, session, topics=TOPICS, ssl_context=tls)
            try:
                async for item in stream.items():
                    if isinstance(item, Event | StreamStatus):
                        try:
                            arrived.emit(item)
                        except RuntimeError:  # the page is gone
                            return
            finally:
                await stream.close()

        self._set_status("connecting")
        self._job = bridge.run(follow(), owner=self, on_failure=lambda e: self._set_status(f"off: {e}"),
                               name="users live events")  # fmt: skip

    def stop(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self._job = None

    def _deliver(self, item: object) -> None:
        from ...events.model import Event

        if isinstance(item, Event):
            self.userEvent.emit(item)
        else:
            self._set_status(getattr(getattr(item, "phase", None), "value", "live"))

    def _set_status(self, text: str) -> None:
        self.status = text
        self.statusChanged.emit(text)
