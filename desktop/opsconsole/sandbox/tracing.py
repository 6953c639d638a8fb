"""Request tracing for the sandbox: spans with real durations, kept in a bounded in-memory store.

Every `/api` request becomes one trace. `TracingMiddleware` opens the root span (service
`api-gateway`, operation `GET /api/users/{user_id}`) and adds two children itself: "API Gateway"
(from the request's arrival to the first piece of work the API does) and "Response" (from the end
of that work to the last byte sent). The API's code opens the spans in between with `span()`:

    with span("User Service", service="user-service"):
        with span("DB Query", service="user-service"):
            ...

The current span lives in a context variable, so spans opened in FastAPI's worker threads (which
run with a copy of the request's context) attach to the request's trace; outside a trace `span()`
is a cheap no-op. Durations come from `time.perf_counter_ns()`; start and end times are epoch
microseconds derived from one wall-clock reading per trace, so a trace's spans line up with each other
exactly and a child never ends after its parent.

`TraceStore` keeps the last `capacity` traces and answers the searches of the Jaeger query API
(jaeger.py).
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .telemetry import normalized_method, route_template

__all__ = [
    "GATEWAY_SERVICE",
    "TRACE_HEADER",
    "SpanHandle",
    "SpanRecord",
    "TagValue",
    "Trace",
    "TraceQuery",
    "TraceStore",
    "TracingMiddleware",
    "span",
]

TagValue = str | bool | int | float
GATEWAY_SERVICE: Final = "api-gateway"
TRACE_HEADER: Final = "X-Trace-Id"
MAX_SPANS_PER_TRACE: Final = 1_000
_HOSTNAME: Final = socket.gethostname()


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """A finished span. Times are epoch microseconds; `parent_id` None marks a root."""

    span_id: str
    parent_id: str | None
    operation: str
    service: str
    kind: str
    start_us: int
    duration_us: int
    tags: Mapping[str, TagValue]
    logs: Sequence[tuple[int, Mapping[str, TagValue]]] = ()

    @property
    def end_us(self) -> int:
        return self.start_us + self.duration_us


@dataclass(frozen=True, slots=True)
class Trace:
    """A finished trace: its spans in start order, the root first."""

    trace_id: str
    spans: tuple[SpanRecord, ...]
    warnings: tuple[str, ...] = ()
    process_tags: Mapping[str, TagValue] = field(default_factory=dict)

    @property
    def root(self) -> SpanRecord:
        return self.spans[0]

    @property
    def start_us(self) -> int:
        return self.root.start_us

    @property
    def duration_us(self) -> int:
        return self.root.duration_us

    @property
    def services(self) -> list[str]:
        return list(dict.fromkeys(s.service for s in self.spans))


class SpanHandle(Protocol):
    """What `span()` yields: add tags and log entries to the open span."""

    def set_tag(self, key: str, value: TagValue) -> None: ...

    def log(self, event: str, **fields: TagValue) -> None: ...


class _NoopSpan:
    def set_tag(self, key: str, value: TagValue) -> None:
        return None

    def log(self, event: str, **fields: TagValue) -> None:
        return None


_NOOP: Final = _NoopSpan()


def _new_span_id() -> str:
    return os.urandom(8).hex()


class _Recorder:
    """The trace of one request while it is in flight; spans may finish on several threads."""

    def __init__(self, trace_id: str | None = None) -> None:
        self.trace_id = trace_id or os.urandom(16).hex()
        self.wall0_us = time.time_ns() // 1000
        self.perf0_ns = time.perf_counter_ns()
        self.lock = threading.Lock()
        self.spans: list[SpanRecord] = []
        self.dropped = 0
        self.root: _OpenSpan | None = None
        self.first_child_ns: int | None = None
        # The end of the last direct child that finished before the response started: where the
        # "Response" span begins (work finishing later, e.g. dependency teardown, does not move it).
        self.work_end_ns: int | None = None
        self.response_start_ns: int | None = None
        # Fixed up front: the trace may be stored twice (see TracingMiddleware) with the same spans.
        self.gateway_id = _new_span_id()
        self.response_id = _new_span_id()

    def epoch_us(self, perf_ns: int) -> int:
        return self.wall0_us + (perf_ns - self.perf0_ns) // 1000

    def add(self, record: SpanRecord) -> None:
        with self.lock:
            if len(self.spans) >= MAX_SPANS_PER_TRACE:
                self.dropped += 1
            else:
                self.spans.append(record)

    def child_started(self, parent: _OpenSpan, start_ns: int) -> None:
        if parent is self.root:
            with self.lock:
                if self.first_child_ns is None:
                    self.first_child_ns = start_ns

    def child_ended(self, parent: _OpenSpan | None, end_ns: int) -> None:
        if parent is self.root:
            with self.lock:
                if self.response_start_ns is None and (self.work_end_ns is None or end_ns > self.work_end_ns):
                    self.work_end_ns = end_ns

    def response_started(self, at_ns: int) -> None:
        with self.lock:
            self.response_start_ns = at_ns


class _OpenSpan:
    """A span being recorded."""

    __slots__ = (
        "kind",
        "logs",
        "operation",
        "parent",
        "parent_id",
        "recorder",
        "service",
        "span_id",
        "start_ns",
        "tags",
    )

    def __init__(
        self,
        recorder: _Recorder,
        parent: _OpenSpan | None,
        operation: str,
        service: str,
        kind: str,
        tags: Mapping[str, TagValue] | None,
        parent_id: str | None = None,
        span_id: str | None = None,
    ) -> None:
        self.recorder = recorder
        self.parent = parent
        self.span_id: str = span_id or _new_span_id()
        self.parent_id: str | None = parent.span_id if parent is not None else parent_id
        self.operation = operation
        self.service = service
        self.kind = kind
        self.tags: dict[str, TagValue] = {"span.kind": kind}
        if tags:
            self.tags.update(tags)
        self.logs: list[tuple[int, Mapping[str, TagValue]]] = []
        self.start_ns = time.perf_counter_ns()
        if parent is not None:
            recorder.child_started(parent, self.start_ns)

    def set_tag(self, key: str, value: TagValue) -> None:
        self.tags[key] = value

    def log(self, event: str, **fields: TagValue) -> None:
        self.logs.append((self.recorder.epoch_us(time.perf_counter_ns()), {"event": event, **fields}))

    def failed(self, exc: BaseException) -> None:
        # Only the exception's type: messages can carry data (emails, SQL parameters) that a trace
        # viewer should not show. A client error raised through a span is not the span's failure.
        status = getattr(exc, "status_code", None) or getattr(exc, "status", None)
        if not (isinstance(status, int) and status < 500):
            self.tags["error"] = True
        self.log("error" if self.tags.get("error") else "exception", **{"error.kind": type(exc).__name__})

    def finish(self) -> SpanRecord:
        end_ns = time.perf_counter_ns()
        record = self.record(self.start_ns, end_ns)
        self.recorder.add(record)
        self.recorder.child_ended(self.parent, end_ns)
        return record

    def record(self, start_ns: int, end_ns: int) -> SpanRecord:
        # Both ends are rounded on the trace's one clock and the duration is their difference: rounding
        # the duration separately could put a child's end a microsecond past its parent's.
        start_us = self.recorder.epoch_us(start_ns)
        return SpanRecord(
            span_id=self.span_id,
            parent_id=self.parent_id,
            operation=self.operation,
            service=self.service,
            kind=self.kind,
            start_us=start_us,
            duration_us=max(0, self.recorder.epoch_us(end_ns) - start_us),
            tags=dict(self.tags),
            logs=tuple(self.logs),
        )


_current: contextvars.ContextVar[_OpenSpan | None] = contextvars.ContextVar(
    "opsconsole_sandbox_span", default=None
)


@contextlib.contextmanager
def span(
    operation: str,
    service: str | None = None,
    *,
    kind: str = "internal",
    tags: Mapping[str, TagValue] | None = None,
) -> Iterator[SpanHandle]:
    """Record the enclosed work as a child of the current span (a no-op outside a traced request).

    `service` defaults to the parent's. An exception leaving the block marks the span with
    `error=true` (unless it carries a 4xx status) and is re-raised.
    """
    parent = _current.get()
    if parent is None:
        yield _NOOP
        return
    opened = _OpenSpan(parent.recorder, parent, operation, service or parent.service, kind, tags)
    token = _current.set(opened)
    try:
        yield opened
    except BaseException as exc:
        opened.failed(exc)
        raise
    finally:
        try:
            _current.reset(token)
        except ValueError:
            # Entered and left in different contexts (a generator dependency run across two worker
            # threads): restore the parent explicitly.
            _current.set(parent)
        opened.finish()


# --- the store -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TraceQuery:
    """A trace search as Jaeger's query service defines it: one span must satisfy every criterion."""

    service: str
    operation: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    min_duration_us: int | None = None
    max_duration_us: int | None = None
    start_us: int | None = None
    end_us: int | None = None
    limit: int = 20


def tag_text(value: TagValue) -> str:
    """A tag value as Jaeger compares it with a searched value: its string form (`true`, `500`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _span_matches(s: SpanRecord, q: TraceQuery, process_tags: Mapping[str, TagValue]) -> bool:
    if s.service != q.service or (q.operation and s.operation != q.operation):
        return False
    if q.min_duration_us is not None and s.duration_us < q.min_duration_us:
        return False
    if q.max_duration_us is not None and s.duration_us > q.max_duration_us:
        return False
    if q.start_us is not None and s.start_us < q.start_us:
        return False
    if q.end_us is not None and s.start_us > q.end_us:
        return False
    for key, wanted in q.tags.items():
        values = [s.tags.get(key), process_tags.get(key), *(fields.get(key) for _, fields in s.logs)]
        if not any(v is not None and tag_text(v) == wanted for v in values):
            return False
    return True


class TraceStore:
    """The last `capacity` traces, with the service and operation index the Jaeger API lists."""

    def __init__(self, capacity: int = 5_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._lock = threading.Lock()
        self._traces: collections.OrderedDict[str, Trace] = collections.OrderedDict()
        # Operations are remembered after their traces are evicted, as Jaeger does; route templates and
        # span names keep this small.
        self._operations: dict[str, dict[str, str]] = {}

    def __len__(self) -> int:
        return len(self._traces)

    def add(self, trace: Trace) -> None:
        with self._lock:
            self._traces[trace.trace_id] = trace
            self._traces.move_to_end(trace.trace_id)
            while len(self._traces) > self.capacity:
                self._traces.popitem(last=False)
            for s in trace.spans:
                self._operations.setdefault(s.service, {}).setdefault(s.operation, s.kind)

    def get(self, trace_id: str) -> Trace | None:
        """The trace with this id (any case, leading zeros optional), or None."""
        key = normalize_trace_id(trace_id)
        if key is None:
            return None
        with self._lock:
            return self._traces.get(key)

    def services(self) -> list[str]:
        with self._lock:
            return sorted(self._operations)

    def operations(self, service: str, kind: str | None = None) -> list[tuple[str, str]]:
        """(operation, span kind) pairs of `service`, sorted; `kind` filters."""
        with self._lock:
            ops = dict(self._operations.get(service, {}))
        return sorted((name, k) for name, k in ops.items() if not kind or k == kind)

    def traces(self) -> list[Trace]:
        """Every trace kept, newest first (a snapshot: traces are immutable)."""
        with self._lock:
            return list(reversed(self._traces.values()))

    def search(self, query: TraceQuery) -> list[Trace]:
        """Matching traces, newest first, at most `query.limit`."""
        found: list[Trace] = []
        for trace in self.traces():
            if any(_span_matches(s, query, trace.process_tags) for s in trace.spans):
                found.append(trace)
                if len(found) >= query.limit:
                    break
        return found


def normalize_trace_id(raw: str) -> str | None:
    """A trace id as stored (32 lowercase hex digits), or None when `raw` is not 1-32 hex digits."""
    text = raw.strip().lower()
    if not 1 <= len(text) <= 32 or any(c not in "0123456789abcdef" for c in text):
        return None
    return text.rjust(32, "0")


# --- the middleware ------------------------------------------------------------------------------


def _traceparent(scope: Scope) -> tuple[str, str] | None:
    """(trace id, parent span id) of a valid W3C `traceparent` request header."""
    for name, value in scope.get("headers", ()):
        if name == b"traceparent":
            parts = value.decode("latin-1").strip().lower().split("-")
            if len(parts) != 4 or parts[0] == "ff" or len(parts[0]) != 2:
                return None
            trace_id, parent_id = parts[1], parts[2]
            hexdigits = set("0123456789abcdef")
            if (
                len(trace_id) == 32
                and len(parent_id) == 16
                and set(trace_id + parent_id + parts[0] + parts[3]) <= hexdigits
                and trace_id.strip("0")
                and parent_id.strip("0")
            ):
                return trace_id, parent_id
            return None
    return None


class TracingMiddleware:
    """Records each request under `prefix` as a trace in `store` (default: `app.state.traces`)."""

    def __init__(self, app: ASGIApp, store: TraceStore | None = None, prefix: str = "/api") -> None:
        self.app = app
        self.store = store
        self.prefix = prefix.rstrip("/")

    def _traced(self, scope: Scope) -> bool:
        if scope["type"] != "http":
            return False
        path: str = scope.get("path", "")
        root_path: str = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        return path == self.prefix or path.startswith(self.prefix + "/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._traced(scope):
            await self.app(scope, receive, send)
            return
        store: TraceStore = self.store or scope["app"].state.traces
        entry_root = scope.get("root_path", "")
        remote = _traceparent(scope)
        recorder = _Recorder(remote[0] if remote else None)
        root = _OpenSpan(
            recorder,
            None,
            "HTTP request",
            GATEWAY_SERVICE,
            "server",
            None,
            parent_id=remote[1] if remote else None,
        )
        recorder.root = root
        status = 500
        response_end_ns: int | None = None
        stored_spans = -1

        def store_trace(end_ns: int) -> None:
            nonlocal stored_spans
            with recorder.lock:
                count = len(recorder.spans) + recorder.dropped
            if count != stored_spans:
                stored_spans = count
                store.add(self._finish(recorder, root, scope, entry_root, status, response_end_ns, end_ns))

        async def send_traced(message: Message) -> None:
            nonlocal status, response_end_ns
            if message["type"] == "http.response.start":
                status = int(message["status"])
                recorder.response_started(time.perf_counter_ns())
                MutableHeaders(scope=message)[TRACE_HEADER] = recorder.trace_id
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                # Stored before the last chunk goes out, so that a client looking its trace up as soon
                # as it has the response finds it.
                response_end_ns = time.perf_counter_ns()
                store_trace(response_end_ns)
            await send(message)

        token = _current.set(root)
        try:
            await self.app(scope, receive, send_traced)
        except BaseException as exc:
            root.failed(exc)
            raise
        finally:
            _current.reset(token)
            # Work can go on after the response (FastAPI closes generator dependencies then): if spans
            # finished since, the trace is stored again, complete, under the same id.
            store_trace(time.perf_counter_ns())

    @staticmethod
    def _finish(
        recorder: _Recorder,
        root: _OpenSpan,
        scope: Scope,
        entry_root: str,
        status: int,
        response_end_ns: int | None,
        end_ns: int,
    ) -> Trace:
        method = normalized_method(scope)
        route = route_template(scope, entry_root)
        root.operation = f"{method} {route}"
        root.tags.update({"http.method": method, "http.route": route, "http.status_code": status})
        request_id = (scope.get("state") or {}).get("request_id")
        if isinstance(request_id, str):
            root.tags["http.request_id"] = request_id
        if status >= 500:
            root.tags["error"] = True
        with recorder.lock:
            first_child, work_end, response_start_ns = (
                recorder.first_child_ns,
                recorder.work_end_ns,
                recorder.response_start_ns,
            )
            children = list(recorder.spans)
            dropped = recorder.dropped
        # "API Gateway": arrival to the first piece of work (or to the response, if the API opened no
        # span). "Response": the end of the last work done before the response started to the last
        # chunk handed to the server.
        gateway_end = first_child or response_start_ns or end_ns
        extra = [
            _OpenSpan(
                recorder,
                None,
                "API Gateway",
                GATEWAY_SERVICE,
                "internal",
                None,
                root.span_id,
                recorder.gateway_id,
            ).record(root.start_ns, gateway_end)
        ]
        if response_start_ns is not None and response_end_ns is not None:
            response = _OpenSpan(
                recorder,
                None,
                "Response",
                GATEWAY_SERVICE,
                "internal",
                {"http.status_code": status},
                root.span_id,
                recorder.response_id,
            )
            extra.append(response.record(max(work_end or gateway_end, gateway_end), response_end_ns))
        spans = sorted([*extra, *children], key=lambda s: s.start_us)
        warnings = (f"{dropped} spans dropped: over {MAX_SPANS_PER_TRACE} in one trace",) if dropped else ()
        return Trace(
            trace_id=recorder.trace_id,
            spans=(root.record(root.start_ns, end_ns), *spans),
            warnings=warnings,
            process_tags={"hostname": _HOSTNAME},
        )
