"""Jaeger's query API, v1 JSON as Jaeger UI reads it: the document parser and the HTTP reader.

Documents: the API's envelope ``{"data": [trace, ...]}`` (also what Jaeger UI's "Download JSON"
saves), one trace ``{"traceID", "spans", "processes"}``, or a list of traces. Spans carry
``references`` (CHILD_OF, FOLLOWS_FROM), ``tags`` and ``logs`` as ``[{"key","type","value"}]``, and a
``processID`` into the trace's ``processes``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import httpx
import msgspec

from .. import net
from .fetch import get_trace
from .model import (
    NO_DETAILS,
    Link,
    Process,
    Span,
    SpanDetails,
    SpanEvent,
    Tags,
    TagValue,
    Trace,
    TraceFormatError,
    TraceSummary,
    tag_pairs,
)
from .parsing import IdReader, Interner, all_canonical, fail, hex_id, id_cache, interner, scalar, shared_ids
from .query import SearchQuery, go_duration

__all__ = ["JaegerReader", "jaeger_from_bytes", "looks_like_jaeger", "traces_from_jaeger"]

FMT: Final = "Jaeger"
_ERROR_STATUS: Final = frozenset({"ERROR", "error"})


# The document's schema, for msgspec: it decodes the bytes straight into these (about four times as
# fast as json.loads builds dicts) and names the path of whatever does not fit. Unknown fields
# (flags, type, warnings of a span) are skipped. gc=False: they hold no cycles and live briefly.
class _KV(msgspec.Struct, gc=False):
    key: str
    value: Any = None


class _Ref(msgspec.Struct, gc=False, kw_only=True):
    refType: str = "CHILD_OF"
    spanID: str
    traceID: str = ""


class _Log(msgspec.Struct, gc=False):
    timestamp: int | float
    fields: list[_KV] | None = None


class _SpanRow(msgspec.Struct, gc=False, kw_only=True):
    """What a span's row needs; _Span and _LazySpan add its tags and logs."""

    spanID: str
    operationName: str
    startTime: int | float
    duration: int | float
    references: list[_Ref] | None = None
    parentSpanID: str | None = None  # pre-1.0 Jaeger JSON and some converters
    processID: str = ""


class _Span(_SpanRow, kw_only=True):
    tags: list[_KV] | None = None
    logs: list[_Log] | None = None


class _Process(msgspec.Struct, gc=False):
    serviceName: str
    tags: list[_KV] | None = None


class _TraceHead(msgspec.Struct, gc=False, kw_only=True):
    """A trace but its spans; _Trace and _LazyTrace add them."""

    traceID: str = ""
    processes: dict[str, _Process] | None = None
    warnings: list[str] | None = None


class _Trace(_TraceHead, kw_only=True):
    spans: list[_Span]


class _Envelope(msgspec.Struct, gc=False):
    data: list[_Trace] | None = None


# The fast path's schema (files and trace-by-id answers, decoded from bytes): the same, except that a
# span's tags and logs stay the bytes they are (msgspec.Raw, not even parsed). They are most of a big
# trace and the rows need none of them; each span keeps them as its encoded details (details_data).
_NULL: Final = msgspec.Raw(b"null")


class _LazySpan(_SpanRow, kw_only=True):
    tags: msgspec.Raw = _NULL
    logs: msgspec.Raw = _NULL


class _LazyTrace(_TraceHead, kw_only=True):
    spans: list[_LazySpan]


class _LazyEnvelope(msgspec.Struct, gc=False):
    data: list[_LazyTrace] | None = None


class _Details(msgspec.Struct, gc=False):
    """A span's encoded details: ``{"tags": [...], "logs": [...]}`` as the fast path keeps them."""

    tags: list[_KV] | None = None
    logs: list[_Log] | None = None


_decoder: Final = msgspec.json.Decoder(_LazyEnvelope)
_details_decoder: Final = msgspec.json.Decoder(_Details)


def looks_like_jaeger(doc: Any) -> bool:
    """Jaeger's envelope (``data``), one trace (``spans`` with ``traceID`` or ``processes``), or a list of
    traces. Shape only: a malformed Jaeger document still goes to the Jaeger parser, which says what
    is wrong with it."""
    if isinstance(doc, dict) and "data" in doc:
        return True
    first = doc[0] if isinstance(doc, list) and doc else doc
    return isinstance(first, dict) and "spans" in first and ("traceID" in first or "processes" in first)


_AT = re.compile(r"^(?P<problem>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


_WORDS: Final = {
    "array": "a list",
    "object": "an object",
    "str": "a string",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "null": "null",
}
_MISSING = re.compile(r"^Object missing required field `([^`]+)`$")
_EXPECTED = re.compile(r"^Expected `([^`]+)`, got `([^`]+)`$")


def _words(types: str) -> str:
    names = [t.strip() for t in types.split("|") if t.strip() != "null"]
    if names == ["int", "float"]:
        return "a number"
    return " or ".join(_WORDS.get(n, n) for n in names) or "null"


def _format_error(exc: msgspec.ValidationError, within: str = "") -> TraceFormatError:
    """msgspec's "Expected `int`, got `str` - at `$.data[0].spans[3].startTime`" in the console's words:
    "data[0].spans[3].startTime: expected a number, found a string" (after ``within``: "span 1f: ...")."""
    match = _AT.match(str(exc))
    problem = match.group("problem") if match else str(exc)
    path = ((match.group("path") if match else "") or "").lstrip(".")
    if within:
        path = f"{within}: {path}" if path else within
    missing = _MISSING.match(problem)
    expected = _EXPECTED.match(problem)
    if missing:
        problem = f"the field {missing.group(1)!r} is missing"
    elif expected:
        problem = f"expected {_words(expected.group(1))}, found {_words(expected.group(2))}"
    return TraceFormatError(f"Not a valid {FMT} trace: {path or 'the document'}: {problem}")


def traces_from_jaeger(doc: Any) -> list[Trace]:
    """Every trace in a decoded Jaeger JSON document (envelope, one trace or a list of traces)."""
    try:
        if isinstance(doc, dict) and "data" in doc:
            items = msgspec.convert(doc, _Envelope).data or []
            prefix = "data"
        elif isinstance(doc, list):
            items, prefix = msgspec.convert(doc, list[_Trace]), ""
        else:
            items, prefix = [msgspec.convert(doc, _Trace)], ""
    except msgspec.ValidationError as exc:
        raise _format_error(exc) from None
    return [_trace(t, f"{prefix}[{i}]") for i, t in enumerate(items)]


def jaeger_from_bytes(data: bytes) -> list[Trace] | None:
    """The traces in a Jaeger API answer or file, decoded straight from bytes, each span's tags and
    logs kept encoded until its details are read; None when ``data`` is not a Jaeger envelope at all,
    or not a valid one (the caller then decodes it generically, and the Jaeger parser names what is
    wrong)."""
    try:
        envelope = _decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    if envelope.data is None:
        return None
    return [_trace(t, f"data[{i}]") for i, t in enumerate(envelope.data)]


def _trace(raw: _Trace | _LazyTrace, where: str) -> Trace:
    intern = interner()
    ids = shared_ids(intern) if all_canonical(_span_ids(raw.spans), 8) else id_cache(8)
    processes = {
        pid: Process(intern(p.serviceName, p.serviceName), _kv(p.tags, intern) if p.tags else ())
        for pid, p in (raw.processes or {}).items()
    }
    spans: list[Span] = []
    append = spans.append
    raw_spans: Sequence[_Span | _LazySpan] = raw.spans
    for i, s in enumerate(raw_spans):
        span = _span(s, processes, intern, ids)
        if span is None:
            fail(FMT, f"{where}.spans[{i}].spanID", f"{s.spanID!r} is not a hex span id")
        append(span)
    raw_id = raw.traceID or (raw.spans[0].spanID and _first_trace_id(raw))
    trace_id = hex_id(raw_id, 16)
    if trace_id is None:
        fail(
            FMT, f"{where}.traceID", f"{raw_id!r} is not a hex trace id" if raw_id else "the field is missing"
        )
    warnings = [w for w in raw.warnings or () if w]
    return Trace(trace_id=trace_id, spans=spans, format="jaeger", warnings=warnings)


def _span_ids(spans: Sequence[_Span | _LazySpan]) -> list[str]:
    """Every span id the spans name: their own, and their parents' and references'."""
    out = [s.spanID for s in spans]
    out += [r.spanID for s in spans if s.references for r in s.references]
    out += [s.parentSpanID for s in spans if s.parentSpanID]
    return out


def _first_trace_id(raw: _Trace | _LazyTrace) -> str:
    refs = raw.spans[0].references if raw.spans else None
    return refs[0].traceID if refs else ""


def _kv(items: list[_KV], intern: Interner) -> Tags:
    out: list[TagValue] = []
    for kv in items:
        key = kv.key
        out += (intern(key, key), _value(kv.value))
    return tuple(out)


def _value(value: Any) -> TagValue:
    # Jaeger's values are scalars (binary ones base64 text); anything else is kept as JSON text.
    return value if value is None or type(value) in _SCALARS else scalar(value)


_SCALARS: Final = frozenset({str, int, float, bool})
_SHORT: Final = 16
_NO_PROCESS: Final = Process("")
# Tags that say something the model keeps in a field of its own (they stay in the tags too).
_SPECIAL: Final = frozenset({"span.kind", "error", "otel.status_code", "otel.status_description"})


def _parent(
    refs: list[_Ref] | None, parent_span_id: str | None, ids: IdReader
) -> tuple[str | None, bool, tuple[Link, ...]]:
    """The span's parent id, whether it is a FOLLOWS_FROM one, and its other references as links."""
    if not refs:
        return (ids(parent_span_id) if parent_span_id else None), False, ()
    # Jaeger UI's parent: the first CHILD_OF reference, else the first reference of any kind.
    chosen = refs[0]
    follows = False
    if chosen.refType != "CHILD_OF":
        chosen = next((r for r in refs if r.refType == "CHILD_OF"), chosen)
        follows = chosen.refType == "FOLLOWS_FROM"
    links: tuple[Link, ...] = ()
    if len(refs) > 1:
        links = tuple(Link(r.traceID, r.spanID, r.refType.lower()) for r in refs if r is not chosen)
    return ids(chosen.spanID), follows, links


def _details(tags: list[_KV] | None, logs: list[_Log] | None, intern: Interner) -> SpanDetails:
    """A span's details from its tags and logs: one pass over the tags, nothing allocated that the
    details do not keep."""
    kind = ""
    error = False
    status = ""
    flat: Tags = ()
    if tags:
        out: list[TagValue] = []
        add = out.append
        for kv in tags:
            key = kv.key
            value = kv.value
            if key in _SPECIAL:
                if key == "span.kind":
                    kind = str(value).lower()
                elif key == "error":
                    error = value is True or value == "true"
                elif key == "otel.status_code":
                    error = error or value in _ERROR_STATUS
                else:
                    status = str(value)
            if type(value) is str:
                if len(value) <= _SHORT:
                    value = intern(value, value)  # "server", "GET", "net/http": the same on every span
            elif value is not None and type(value) not in _SCALARS:
                value = scalar(value)
            add(intern(key, key))
            add(value)
        flat = tuple(out)
    events = tuple([_event(log, intern) for log in logs]) if logs else ()
    if not (flat or events or kind or error or status):
        return NO_DETAILS
    return SpanDetails(flat, events, kind, error, status)


def _event(log: _Log, intern: Interner) -> SpanEvent:
    fields = _kv(log.fields, intern) if log.fields else ()
    name = ""
    for key, value in tag_pairs(fields):
        if key in ("event", "message"):
            name = str(value)
            break
    return SpanEvent(int(log.timestamp), name, fields)


def _span(
    s: _Span | _LazySpan, processes: Mapping[str, Process], intern: Interner, ids: IdReader
) -> Span | None:
    """A span of either path; None for a span id that is not hex. The hot loop of opening a big trace."""
    span_id = ids(s.spanID)
    if span_id is None:
        return None
    parent, follows, links = _parent(s.references, s.parentSpanID, ids)
    details: SpanDetails | bytes
    if isinstance(s, _LazySpan):
        # Nothing is read of the tags and logs: they are copied out of the document (so that it can be
        # freed) as one small JSON object, for _details_from_bytes when the span's details are asked for.
        tags, logs = s.tags, s.logs
        empty = _empty(tags) and _empty(logs)
        details = NO_DETAILS if empty else b"".join((b'{"tags":', tags, b',"logs":', logs, b"}"))
    else:
        details = _details(s.tags, s.logs, intern)
    process = processes.get(s.processID, _NO_PROCESS)
    op = s.operationName
    return Span(
        span_id,
        parent,
        process.service,
        intern(op, op),
        int(s.startTime),
        int(s.duration),
        process,
        follows,
        links,
        details,
        _details_from_bytes if type(details) is bytes else None,
    )


def _empty(raw: msgspec.Raw) -> bool:
    """``[]`` or ``null`` (or missing): nothing to keep."""
    return len(raw) <= 6 and bytes(raw).strip(b"[] \t\r\n") in (b"", b"null")


def _details_from_bytes(data: bytes, span_id: str, /) -> SpanDetails:
    """The DetailsDecoder of the spans the fast path read."""
    try:
        raw = _details_decoder.decode(data)
    except msgspec.ValidationError as exc:
        return SpanDetails(problem=str(_format_error(exc, f"span {span_id}")))
    return _details(raw.tags, raw.logs, _as_is)


def _as_is(text: str, _default: str, /) -> str:
    """An Interner that shares nothing: details decoded when asked for are not kept, so sharing their
    strings saves no memory, and filling a new interner for each span costs time."""
    return text


# --- the HTTP reader ------------------------------------------------------------------------------


class JaegerReader:
    """Jaeger's query API (``/api/services``, ``/api/traces`` ...) under the client's base URL."""

    api: Final = "jaeger"

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def _get(self, path: str, params: Any = None) -> Any:
        body = await net.request_json(self.client, "GET", path, params=params)
        if not isinstance(body, dict):
            fail(FMT, path, "the server's answer is not Jaeger's {'data': ...} envelope")
        return body

    async def services(self) -> list[str]:
        body = await self._get("api/services")
        return sorted(str(s) for s in body.get("data") or [])

    async def operations(self, service: str) -> list[str]:
        body = await self._get(f"api/services/{_segment(service)}/operations")
        return sorted(str(s) for s in body.get("data") or [])

    async def search(self, query: SearchQuery) -> list[TraceSummary]:
        # Jaeger's search requires a service; without one, every service is searched and merged.
        services = [query.service] if query.service else await self.services()
        found: dict[str, TraceSummary] = {}
        for service in services:
            params: list[tuple[str, str | int]] = [("service", service), ("limit", query.limit)]
            if query.operation:
                params.append(("operation", query.operation))
            if query.tags:
                params.extend(("tag", f"{k}:{v}") for k, v in query.tags.items())
            if query.min_duration_us:
                params.append(("minDuration", go_duration(query.min_duration_us)))
            if query.max_duration_us:
                params.append(("maxDuration", go_duration(query.max_duration_us)))
            start_us, end_us = query.window_us()
            params += [("start", start_us), ("end", end_us)]
            for trace in traces_from_jaeger(await self._get("api/traces", params)):
                found.setdefault(trace.trace_id, trace.summary())
        return query.newest(found.values())

    async def trace(self, trace_id: str) -> Trace:
        path = f"api/traces/{_segment(trace_id)}"
        return await get_trace(self.client, path, trace_id, traces_from_jaeger, jaeger_from_bytes)


def _segment(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
