"""Live notifications: the WebSocket event stream (reconnect, resume, topics), Qt-free.

``EventStream`` (stream.py) is the one client of ``/ws/notifications``; ``topics`` holds the
topic-exchange pattern rules shared by the stream and the views' filters; ``model`` the parsed
frames and the connection's status; ``backoff`` the reconnect delays; ``commands`` the CLI's
``events tail``. The GUI's views live in ``opsconsole.ui.events``.

``EventStream`` is imported from ``opsconsole.events.stream``: this package's own import stays light
(no websockets, no asyncio), because the GUI's models import the records from here at start-up.
"""

from .backoff import Backoff
from .model import Event, Gap, Phase, StreamStats, StreamStatus
from .topics import TopicFilter, topic_matches, validate_pattern

__all__ = [
    "Backoff",
    "Event",
    "Gap",
    "Phase",
    "StreamStats",
    "StreamStatus",
    "TopicFilter",
    "topic_matches",
    "validate_pattern",
]
