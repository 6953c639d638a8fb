"""Jaeger's query API, v1 JSON as Jaeger UI reads it: the document parser and the HTTP reader.

Documents: the API's envelope ``{"data": [trace, ...]}`` (also what Jaeger UI's "Download JSON"
saves), one trace ``{"traceID", "spans", "processes"}``, or a list of traces. Spans carry
``references`` (CHILD_OF, FOLLOWS_FROM), ``tags`` and ``logs`` as ``[{"key","type","value"}]``, and a
``processID`` into the trace's ``processes``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import httpx

from .. import net
from .fetch import get_trace
from .model import (
    Link,
    Process,
    Span,
    SpanEvent,
    Tags,
    TagValue,
    Trace,
    TraceSummary,
    tag_pairs,
)
from .parsing import IdCache, Interner, fail, field, hex_id, interner, scalar
from .query import SearchQuery, go_duration

__all__ = ["JaegerReader", "looks_like_jaeger", "traces_from_jaeger"]

FMT: Final = "Jaeger"
_ERROR_STATUS: Final = frozenset({"ERROR", "error"})


def looks_like_jaeger(doc: Any) -> bool:
    """Jaeger's envelope (``data``), one trace (``spans`` with ``traceID`` or ``processes``), or a list of
    traces. Shape only: a malformed Jaeger document still goes to the Jaeger parser, which says what
    is wrong with it."""
    if isinstance(doc, dict) and "data" in doc:
        return True
    first = doc[0] if isinstance(doc, list) and doc else doc
    return isinstance(first, dict) and "spans" in first and ("traceID" in first or "processes" in first)


def traces_from_jaeger(doc: Any) -> list[Trace]:
    """Every trace in a Jaeger JSON document (envelope, one trace or a list of traces)."""
    if isinstance(doc, dict) and "data" in doc:
        data = doc["data"]
        if data is None:
            return []
        if not isinstance(data, list):
            fail(FMT, "data", "expected a list of traces")
        items: list[Any] = data
        prefix = "data"
    elif isinstance(doc, list):
        items, prefix = doc, ""
    elif isinstance(doc, dict):
        items, prefix = [doc], ""
    else:
        fail(FMT, "the document", "expected an object with 'data' or 'spans', or a list of traces")
    return [
        _trace(item, f"{prefix}[{i}]" if prefix or len(items) > 1 else "the trace")
        for i, item in enumerate(items)
    ]


def _trace(raw: Any, where: str) -> Trace:
    spans_raw = field(FMT, raw, where, "spans", list)
    intern = interner()
    ids = IdCache(8)
    processes = _processes(field(FMT, raw, where, "processes", dict, required=False) or {}, where, intern)
    spans: list[Span] = []
    append = spans.append
    for i, s in enumerate(spans_raw):
        try:
            append(_span(s, processes, intern, ids))
        except (KeyError, TypeError, ValueError, AttributeError):
            _diagnose(s, f"{where}.spans[{i}]")
            raise
    raw_id = raw.get("traceID") or (spans_raw[0].get("traceID") if spans_raw else None)
    trace_id = hex_id(raw_id, 16)
    if trace_id is None:
        fail(
            FMT, f"{where}.traceID", f"{raw_id!r} is not a hex trace id" if raw_id else "the field is missing"
        )
    warnings = [str(w) for w in (raw.get("warnings") or []) if w]
    return Trace(trace_id=trace_id, spans=spans, format="jaeger", warnings=warnings)


def _processes(raw: Mapping[str, Any], where: str, intern: Interner) -> dict[str, Process]:
    out: dict[str, Process] = {}
    for pid, p in raw.items():
        service = field(FMT, p, f"{where}.processes.{pid}", "serviceName", str)
        tags = _kv(field(FMT, p, f"{where}.processes.{pid}", "tags", list, required=False) or (), intern)
        out[pid] = Process(intern(service, service), tags)
    return out


def _kv(items: Any, intern: Interner) -> Tags:
    out: list[TagValue] = []
    for kv in items:
        key = kv["key"]
        out += (intern(key, key), _value(kv["value"]))
    return tuple(out)


def _value(value: Any) -> TagValue:
    # Jaeger's values are scalars (binary ones base64 text); anything else is kept as JSON text.
    return value if value is None or type(value) in _SCALARS else scalar(value)


_SCALARS: Final = frozenset({str, int, float, bool})
_SHORT: Final = 16
_NO_PROCESS: Final = Process("")
# Tags that say something the model keeps in a field of its own (they stay in the tags too).
_SPECIAL: Final = frozenset({"span.kind", "error", "otel.status_code", "otel.status_description"})


def _span(s: Mapping[str, Any], processes: Mapping[str, Process], intern: Interner, ids: IdCache) -> Span:
    # The hot loop of opening a big trace: plain indexing, one pass over the tags, nothing allocated
    # that the span does not keep. Anything malformed raises and _diagnose says what.
    parent: str | None = None
    follows = False
    links: tuple[Link, ...] = ()
    refs = s.get("references")
    if refs:
        # Jaeger UI's parent: the first CHILD_OF reference, else the first reference of any kind.
        chosen = refs[0]
        if chosen["refType"] != "CHILD_OF":
            chosen = next((r for r in refs if r["refType"] == "CHILD_OF"), chosen)
            follows = chosen["refType"] == "FOLLOWS_FROM"
        parent = ids(chosen["spanID"])
        if len(refs) > 1:
            links = tuple(
                Link(r.get("traceID", ""), r["spanID"], r["refType"].lower()) for r in refs if r is not chosen
            )
    elif "parentSpanID" in s:  # pre-1.0 Jaeger JSON and some converters
        parent = ids(s["parentSpanID"])
    kind = ""
    error = False
    status = ""
    tags: Tags = ()
    tags_raw = s.get("tags")
    if tags_raw:
        out: list[TagValue] = []
        add = out.append
        for kv in tags_raw:
            key = kv["key"]
            value = kv["value"]
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
        tags = tuple(out)
    logs = s.get("logs")
    events = tuple([_event(log, intern) for log in logs]) if logs else ()
    process = processes.get(s.get("processID", ""), _NO_PROCESS)
    start = s["startTime"]
    duration = s["duration"]
    if type(start) is not int or type(duration) is not int:
        start, duration = int(start), int(duration)  # a float or numeric string: ValueError if neither
    span_id = ids(s["spanID"])
    if span_id is None:
        raise ValueError("spanID")
    op = s["operationName"]
    if type(op) is not str:
        raise TypeError("operationName")
    return Span(
        span_id,
        parent,
        process.service,
        intern(op, op),
        start,
        duration,
        tags,
        events,
        process,
        kind,
        error,
        status,
        follows,
        links,
    )


def _event(log: Mapping[str, Any], intern: Interner) -> SpanEvent:
    fields = _kv(log.get("fields") or (), intern)
    name = ""
    for key, value in tag_pairs(fields):
        if key in ("event", "message"):
            name = str(value)
            break
    return SpanEvent(int(log["timestamp"]), name, fields)


def _diagnose(s: Any, where: str) -> None:
    """Name what is wrong with a span the fast path could not read (raises TraceFormatError)."""
    field(FMT, s, where, "spanID", str)
    if hex_id(s["spanID"], 8) is None:
        fail(FMT, f"{where}.spanID", f"{s['spanID']!r} is not a hex span id")
    field(FMT, s, where, "operationName", str)
    for name in ("startTime", "duration"):
        value = field(FMT, s, where, name, (int, float, str))
        try:
            int(value)
        except ValueError:
            fail(FMT, f"{where}.{name}", f"{value!r} is not a number of microseconds")
    for i, ref in enumerate(field(FMT, s, where, "references", list, required=False) or []):
        field(FMT, ref, f"{where}.references[{i}]", "refType", str)
        field(FMT, ref, f"{where}.references[{i}]", "spanID", str)
    for name in ("tags", "logs"):
        for i, item in enumerate(field(FMT, s, where, name, list, required=False) or []):
            if name == "tags":
                field(FMT, item, f"{where}.tags[{i}]", "key", str)
                if "value" not in item:
                    fail(FMT, f"{where}.tags[{i}]", "the field 'value' is missing")
            else:
                field(FMT, item, f"{where}.logs[{i}]", "timestamp", (int, float))
                for j, kv in enumerate(
                    field(FMT, item, f"{where}.logs[{i}]", "fields", list, required=False) or []
                ):
                    field(FMT, kv, f"{where}.logs[{i}].fields[{j}]", "key", str)
    fail(FMT, where, "a field has a value of the wrong kind")


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
        return await get_trace(self.client, f"api/traces/{_segment(trace_id)}", trace_id, traces_from_jaeger)


def _segment(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
