"""The one trace model every reader produces: a Trace of Spans, built for size.

A 100,000-span trace must open in well under two seconds, so a span is one slots dataclass holding
only references: strings a reader shares between spans (service, operation, tag keys) are interned
per trace, empty collections are the shared empty tuple, and the process (Jaeger) or resource (OTLP,
Zipkin's localEndpoint) is one object shared by all the spans that came from it. Times are integer
microseconds since the Unix epoch, as Jaeger keeps them; OTLP's nanoseconds are divided down.

What a span's row does not need (tags, events, kind, error and status message) is its ``details``. A
reader may keep them still encoded, as bytes and the function that decodes them (the Jaeger reader
does): tags and logs are most of a trace's size and of the time to read it, and the rows on screen are
the only ones that need even the error flag. ``Span.details`` decodes them each time it is read
(nothing is cached, so memory stays small and a span is safe to read from any thread). It never
raises: details that turn out malformed come back empty, with ``problem`` saying what was wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol, TypeAlias

from ..errors import OpsError

__all__ = [
    "DetailsDecoder",
    "Link",
    "Process",
    "Span",
    "SpanDetails",
    "SpanEvent",
    "TagValue",
    "Tags",
    "Trace",
    "TraceFormatError",
    "TraceNotFound",
    "TraceSummary",
    "tag_pairs",
    "tag_value",
]

# Scalars stay as they came; arrays, maps and bytes become their JSON or base64 text.
TagValue: TypeAlias = str | int | float | bool | None
# Tags are one flat tuple, key, value, key, value...: a tuple per pair would cost a span about 70
# bytes per tag, more than the tag itself. Read them with tag_pairs().
Tags: TypeAlias = tuple[TagValue, ...]
SpanKind: TypeAlias = Literal["", "client", "server", "producer", "consumer", "internal"]
Format: TypeAlias = Literal["jaeger", "otlp", "zipkin"]

NO_TAGS: Final[Tags] = ()


def tag_pairs(tags: Tags) -> Iterator[tuple[str, TagValue]]:
    """(key, value) pairs of a flat tags tuple."""
    it = iter(tags)
    return zip(it, it, strict=True)  # type: ignore[arg-type]  # every other item is a str key


def tag_value(tags: Tags, key: str) -> TagValue:
    """The value of ``key`` in a flat tags tuple, or None."""
    for i in range(0, len(tags), 2):
        if tags[i] == key:
            return tags[i + 1]
    return None


class TraceFormatError(OpsError):
    """A document that is not a trace of a known format, or a trace with a field of the wrong kind.

    The message names the format tried, where in the document (``spans[3].startTime``) and what
    was found instead, so a person can fix or report the file.
    """

    exit_code = 1


class TraceNotFound(OpsError):
    """The backend has no trace with this id (or it has expired): exit status 4."""

    exit_code = 4


@dataclass(slots=True, frozen=True)
class Process:
    """Where spans came from: Jaeger's process, OTLP's resource, Zipkin's localEndpoint."""

    service: str
    tags: Tags = NO_TAGS


@dataclass(slots=True, frozen=True)
class SpanEvent:
    """A timestamped log on a span (Jaeger logs, OTLP events, Zipkin annotations)."""

    time_us: int
    name: str
    attributes: Tags = NO_TAGS


@dataclass(slots=True, frozen=True)
class Link:
    """A reference to another span that is not the span's parent (FOLLOWS_FROM, extra refs, OTLP links)."""

    trace_id: str
    span_id: str
    kind: str = "follows_from"


@dataclass(slots=True, frozen=True)
class SpanDetails:
    """What a span's row does not show: tags (or attributes), events (or logs), kind, error and status."""

    tags: Tags = NO_TAGS
    events: tuple[SpanEvent, ...] = ()
    kind: str = ""  # "client", "server"... or "" when the source did not say
    error: bool = False
    status_message: str = ""
    problem: str = ""  # why the source's encoded details could not be read (then the rest is empty)


NO_DETAILS: Final = SpanDetails()


class DetailsDecoder(Protocol):
    """A reader's function from the bytes it kept for a span to the span's details. It does not raise:
    malformed bytes give details whose ``problem`` names ``span_id`` and what was wrong."""

    def __call__(self, data: bytes, span_id: str, /) -> SpanDetails: ...


@dataclass(slots=True, eq=False)
class Span:
    """One span. ``parent_id`` is the span's one parent (Jaeger's first CHILD_OF reference, or its only
    FOLLOWS_FROM one, then ``follows_from`` is set); ids are lower-case hex. What the rows do not need
    is in ``details``."""

    span_id: str
    parent_id: str | None
    service: str
    operation: str
    start_us: int
    duration_us: int
    process: Process | None = None
    follows_from: bool = False
    links: tuple[Link, ...] = ()
    # The details, or their bytes as the reader kept them and ``decoder`` to decode them when asked.
    details_data: SpanDetails | bytes = NO_DETAILS
    decoder: DetailsDecoder | None = None

    @property
    def end_us(self) -> int:
        return self.start_us + self.duration_us

    @property
    def details(self) -> SpanDetails:
        """Tags, events, kind, error and status message (decoded now if the reader kept them encoded)."""
        data = self.details_data
        if isinstance(data, SpanDetails):
            return data
        assert self.decoder is not None, "encoded details come with their decoder"
        return self.decoder(data, self.span_id)

    @property
    def tags(self) -> Tags:
        return self.details.tags

    @property
    def events(self) -> tuple[SpanEvent, ...]:
        return self.details.events

    @property
    def kind(self) -> str:
        return self.details.kind

    @property
    def error(self) -> bool:
        return self.details.error

    @property
    def status_message(self) -> str:
        return self.details.status_message

    def tag(self, key: str) -> TagValue:
        """The value of tag ``key`` (the span's own, then its process's), or None."""
        found = tag_value(self.details.tags, key)
        if found is None and self.process is not None:
            found = tag_value(self.process.tags, key)
        return found


@dataclass(slots=True, eq=False)
class Trace:
    """All the spans of one trace in the order the source listed them, plus what the source warned of."""

    trace_id: str
    spans: list[Span]
    format: Format
    warnings: list[str] = field(default_factory=list)

    @property
    def start_us(self) -> int:
        return min((s.start_us for s in self.spans), default=0)

    @property
    def end_us(self) -> int:
        return max((s.end_us for s in self.spans), default=0)

    @property
    def duration_us(self) -> int:
        return self.end_us - self.start_us if self.spans else 0

    def summary(self) -> TraceSummary:
        """The line a search result shows for this trace."""
        return TraceSummary.of(self)


@dataclass(slots=True, frozen=True)
class TraceSummary:
    """A search result: the trace's id, its root's service and operation, when, how long, how big."""

    trace_id: str
    root_service: str
    root_operation: str
    start_us: int
    duration_us: int
    span_count: int
    error_count: int
    services: tuple[str, ...]

    @classmethod
    def of(cls, trace: Trace) -> TraceSummary:
        ids = {s.span_id for s in trace.spans}
        # The root is the earliest span without a parent in the trace (Jaeger UI's rule); failing
        # that, the earliest span.
        roots = [s for s in trace.spans if s.parent_id is None or s.parent_id not in ids]
        root = min(roots or trace.spans, key=lambda s: s.start_us, default=None)
        return cls(
            trace_id=trace.trace_id,
            root_service=root.service if root else "",
            root_operation=root.operation if root else "",
            start_us=trace.start_us,
            duration_us=trace.duration_us,
            span_count=len(trace.spans),
            error_count=sum(1 for s in trace.spans if s.error),
            services=tuple(sorted({s.service for s in trace.spans})),
        )

    def to_json(self) -> dict[str, object]:
        return {
            "trace_id": self.trace_id,
            "root_service": self.root_service,
            "root_operation": self.root_operation,
            "start_us": self.start_us,
            "duration_us": self.duration_us,
            "span_count": self.span_count,
            "error_count": self.error_count,
            "services": list(self.services),
        }
