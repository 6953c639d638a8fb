"""What the notification stream hands its readers: events, gaps, and the connection's state.

Frames are parsed strictly here, so the rest of the console never sees a half-formed event: a
frame that is not an event or a known control message becomes a :class:`Malformed` with the reason,
which the stream counts, logs and skips.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Control",
    "Event",
    "Gap",
    "Malformed",
    "Phase",
    "StreamStats",
    "StreamStatus",
    "parse_frame",
]


@dataclass(frozen=True, slots=True)
class Event:
    """One notification: ``{"id","type","topic","time","data"}``; ``id`` strictly increases on a stream."""

    id: int
    type: str
    topic: str
    time: str
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "topic": self.topic, "time": self.time, "data": self.data}


@dataclass(frozen=True, slots=True)
class Gap:
    """Events the server could no longer send: the reader should say so rather than pretend.

    ``missed_at_least`` is a lower bound (0 when the server could not count, e.g. after a reset).
    """

    requested_after: int
    oldest_available: int
    missed_at_least: int
    reason: str

    def message(self) -> str:
        if self.reason == "reset":
            return "The server's event history was reset: events may be missing. Reload to be sure."
        if self.missed_at_least > 0:
            return f"{self.missed_at_least} events may be missing: reload to see the current state."
        return "Some events may be missing: reload to see the current state."


@dataclass(frozen=True, slots=True)
class Control:
    """A ``stream.*`` control message other than a gap (subscribed, heartbeat, error)."""

    type: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Malformed:
    """A frame that is neither an event nor a control message."""

    reason: str
    size: int


def _require(message: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = message.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"{key!r} is missing or not a {getattr(kind, '__name__', 'value')}")
    return value


def parse_frame(text: str | bytes) -> Event | Gap | Control | Malformed:
    """One frame of the stream, parsed; never raises."""
    size = len(text)
    if isinstance(text, bytes):
        return Malformed("a binary frame (the stream speaks JSON text)", size)
    try:
        message = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        return Malformed(f"not JSON ({exc.__class__.__name__})", size)
    if not isinstance(message, dict):
        return Malformed(f"a JSON {type(message).__name__}, not an object", size)
    try:
        if "id" in message:
            event_id = _require(message, "id", int)
            if event_id < 1:
                raise ValueError("'id' is not positive")
            data = message.get("data", {})
            if not isinstance(data, dict):
                raise ValueError("'data' is not an object")
            return Event(
                id=event_id,
                type=_require(message, "type", str),
                topic=_require(message, "topic", str),
                time=_require(message, "time", str),
                data=data,
            )
        kind = _require(message, "type", str)
        if kind == "stream.gap":
            return Gap(
                requested_after=_require(message, "requested_after", int),
                oldest_available=_require(message, "oldest_available", int),
                missed_at_least=int(message.get("missed_at_least") or 0),
                reason=str(message.get("reason") or "pruned"),
            )
        if not kind.startswith("stream."):
            raise ValueError(f"a message without an id has type {kind!r}, not a stream.* control type")
        return Control(kind, message)
    except (ValueError, TypeError) as exc:
        return Malformed(str(exc), size)


class Phase(enum.Enum):
    """Where the connection stands, as the status bar says it."""

    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"  # stopped for good: a refusal that retrying will not fix, or closed by us
    SIGNED_OUT = "signed out"


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """A change of the connection's state; ``retry_in`` is set while waiting to reconnect."""

    phase: Phase
    detail: str = ""
    retry_in: float | None = None
    attempt: int = 0

    def message(self) -> str:
        if self.phase is Phase.RECONNECTING and self.retry_in is not None:
            text = f"reconnecting in {self.retry_in:.0f} s"
        else:
            text = self.phase.value
        return f"{text}: {self.detail}" if self.detail else text


@dataclass(slots=True)
class StreamStats:
    """Counters a reader may show (and tests check): what arrived, what was dropped and why."""

    events: int = 0
    duplicates: int = 0
    malformed: int = 0
    oversized: int = 0
    unknown_control: int = 0
    gaps: int = 0
    connects: int = 0
    reconnects: int = 0
    last_close: str = ""
    refused_topics: dict[str, str] = field(default_factory=dict)  # pattern -> why the server refused it
    filtered_topics: dict[str, str] = field(default_factory=dict)  # pattern -> what it withholds, why
