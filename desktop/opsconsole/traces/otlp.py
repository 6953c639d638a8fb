"""OTLP JSON: the document parser, and the HTTP readers of Grafana Tempo and Jaeger v2 (``/api/v3``).

Documents: an OTLP export request ``{"resourceSpans": [...]}`` as the OpenTelemetry SDK's exporter
encodes it, Tempo's ``{"batches": [...]}`` (``/api/traces/{id}``) and ``{"trace": {...}}``
(``/api/v2/traces/{id}``), and Jaeger v2's ``{"result": {...}}``. Older writers say
``instrumentationLibrarySpans`` for ``scopeSpans``. Ids are hex (the OTLP/JSON rule) or base64 (what
protobuf's JSON mapping gives bytes, as Tempo writes them); int64 values and times may be strings.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import httpx

from .. import net
from .fetch import get_trace
from .model import (
    Link,
    Process,
    Span,
    SpanDetails,
    SpanEvent,
    Tags,
    TagValue,
    Trace,
    TraceSummary,
    tag_value,
)
from .parsing import Interner, decode_json, fail, field, gc_paused, hex_id, interner, json_text
from .query import SearchQuery

__all__ = ["OtlpReader", "looks_like_otlp", "traces_from_otlp"]

FMT: Final = "OTLP"
_KINDS: Final = ("", "internal", "server", "client", "producer", "consumer")
_KIND_NAMES: Final = {f"SPAN_KIND_{k.upper()}": k for k in _KINDS if k}
_WRAPPERS: Final = ("trace", "result")


def _resource_spans(doc: Any) -> Any:
    for key in _WRAPPERS:
        if isinstance(doc, dict) and isinstance(doc.get(key), dict):
            doc = doc[key]
    if isinstance(doc, dict):
        if "resourceSpans" in doc:
            return doc["resourceSpans"]
        if "batches" in doc:
            return doc["batches"]
    return None


def looks_like_otlp(doc: Any) -> bool:
    return _resource_spans(doc) is not None


def traces_from_otlp(doc: Any) -> list[Trace]:
    """Every trace in an OTLP JSON document, in the order their first spans appear."""
    groups = _resource_spans(doc)
    if groups is None:
        fail(FMT, "the document", "expected an object with 'resourceSpans' (or Tempo's 'batches')")
    if not isinstance(groups, list):
        fail(FMT, "resourceSpans", "expected a list")
    intern = interner()
    by_trace: dict[str, list[Span]] = {}
    for g, group in enumerate(groups):
        where = f"resourceSpans[{g}]"
        resource = field(FMT, group, where, "resource", dict, required=False) or {}
        try:
            resource_tags = _attributes(resource.get("attributes") or (), intern)
        except (KeyError, TypeError, ValueError, AttributeError, StopIteration):
            _check_attributes(resource.get("attributes"), f"{where}.resource")
            raise
        service = str(tag_value(resource_tags, "service.name") or "unknown_service")
        scopes = group.get("scopeSpans")
        if scopes is None:
            scopes = group.get("instrumentationLibrarySpans") or []
        if not isinstance(scopes, list):
            fail(FMT, f"{where}.scopeSpans", "expected a list")
        for c, scope_spans in enumerate(scopes):
            swhere = f"{where}.scopeSpans[{c}]"
            scope = field(FMT, scope_spans, swhere, "scope", dict, required=False)
            if scope is None:
                scope = scope_spans.get("instrumentationLibrary") or {}
            tags = resource_tags
            if scope.get("name"):
                tags += ("otel.scope.name", str(scope["name"]))
                if scope.get("version"):
                    tags += ("otel.scope.version", str(scope["version"]))
            process = Process(intern(service, service), tags)
            for i, s in enumerate(field(FMT, scope_spans, swhere, "spans", list, required=False) or ()):
                try:
                    trace_id, span = _span(s, process, intern)
                except (KeyError, TypeError, ValueError, AttributeError, StopIteration):
                    _diagnose(s, f"{swhere}.spans[{i}]")
                    raise
                by_trace.setdefault(trace_id, []).append(span)
    return [Trace(trace_id=tid, spans=spans, format="otlp") for tid, spans in by_trace.items()]


def _any(value: Mapping[str, Any]) -> TagValue:
    """An OTLP AnyValue as a model tag value."""
    if not value:
        return None
    kind, inner = next(iter(value.items()))
    if kind == "stringValue":
        return str(inner)
    if kind == "intValue":
        return int(inner)
    if kind == "doubleValue":
        return float(inner)
    if kind == "boolValue":
        return bool(inner)
    if kind == "bytesValue":
        return str(inner)
    return json_text(_plain(value))


def _plain(value: Mapping[str, Any]) -> Any:
    """Arrays and key-value lists as plain JSON values (for their text form)."""
    if "arrayValue" in value:
        return [_plain(v) for v in (value["arrayValue"] or {}).get("values") or ()]
    if "kvlistValue" in value:
        return {
            kv["key"]: _plain(kv.get("value") or {})
            for kv in (value["kvlistValue"] or {}).get("values") or ()
        }
    return _any(value)


def _attributes(items: Any, intern: Interner) -> Tags:
    out: list[TagValue] = []
    for kv in items:
        key = kv["key"]
        if type(key) is not str:
            raise TypeError("key")
        out += (intern(key, key), _any(kv.get("value") or {}))
    return tuple(out)


def _check_attributes(items: Any, where: str) -> None:
    """Say which attribute of ``items`` is malformed (raises TraceFormatError), if any is."""
    if not isinstance(items, list):
        fail(FMT, f"{where}.attributes", f"expected a list, found {type(items).__name__}")
    for i, kv in enumerate(items):
        field(FMT, kv, f"{where}.attributes[{i}]", "key", str)
        value = field(FMT, kv, f"{where}.attributes[{i}]", "value", dict, required=False)
        try:
            _any(value or {})
        except (KeyError, TypeError, ValueError, AttributeError, StopIteration):
            fail(FMT, f"{where}.attributes[{i}].value", "not an OTLP AnyValue")


def _span(s: Mapping[str, Any], process: Process, intern: Interner) -> tuple[str, Span]:
    trace_id = hex_id(s["traceId"], 16)
    span_id = hex_id(s["spanId"], 8)
    if trace_id is None or span_id is None:
        raise ValueError("id")
    name = s["name"]
    if type(name) is not str:
        raise TypeError("name")
    start_ns = int(s["startTimeUnixNano"])
    end_ns = int(s["endTimeUnixNano"])
    kind: Any = s.get("kind") or 0
    # An unknown kind (a newer OTLP) is shown as no kind rather than refused.
    if type(kind) is int:
        kind_name = _KINDS[kind] if 0 <= kind < len(_KINDS) else ""
    else:
        kind_name = _KIND_NAMES.get(str(kind), "")
    status = s.get("status") or {}
    code = status.get("code") or 0
    error = code == 2 or code == "STATUS_CODE_ERROR"
    attrs = s.get("attributes")
    events_raw = s.get("events")
    links_raw = s.get("links")
    return trace_id, Span(
        span_id=span_id,
        parent_id=hex_id(s.get("parentSpanId"), 8),
        service=process.service,
        operation=intern(name, name),
        start_us=start_ns // 1000,
        duration_us=(end_ns - start_ns) // 1000,
        process=process,
        details_data=SpanDetails(
            tags=_attributes(attrs, intern) if attrs else (),
            events=tuple(
                SpanEvent(
                    int(e["timeUnixNano"]) // 1000,
                    str(e.get("name", "")),
                    _attributes(e.get("attributes") or (), intern),
                )
                for e in events_raw
            )
            if events_raw
            else (),
            kind=kind_name,
            error=error,
            status_message=str(status.get("message") or ""),
        ),
        links=tuple(
            Link(hex_id(k["traceId"], 16) or "", hex_id(k["spanId"], 8) or "", "link") for k in links_raw
        )
        if links_raw
        else (),
    )


def _diagnose(s: Any, where: str) -> None:
    for name, size in (("traceId", 16), ("spanId", 8)):
        value = field(FMT, s, where, name, str)
        if hex_id(value, size) is None:
            fail(FMT, f"{where}.{name}", f"{value!r} is neither hex nor base64 of a {size}-byte id")
    field(FMT, s, where, "name", str)
    for name in ("startTimeUnixNano", "endTimeUnixNano"):
        value = field(FMT, s, where, name, (str, int))
        try:
            int(value)
        except ValueError:
            fail(FMT, f"{where}.{name}", f"{value!r} is not a whole number of nanoseconds")
    _check_attributes(field(FMT, s, where, "attributes", list, required=False) or [], where)
    for i, e in enumerate(field(FMT, s, where, "events", list, required=False) or ()):
        value = field(FMT, e, f"{where}.events[{i}]", "timeUnixNano", (str, int))
        _check_attributes(e.get("attributes") or [], f"{where}.events[{i}]")
    for i, link in enumerate(field(FMT, s, where, "links", list, required=False) or ()):
        field(FMT, link, f"{where}.links[{i}]", "spanId", str)
    field(FMT, s, where, "status", dict, required=False)
    fail(FMT, where, "a field has a value of the wrong kind")


# --- the HTTP readers -----------------------------------------------------------------------------


class OtlpReader:
    """Traces as OTLP JSON over HTTP: Jaeger v2's ``/api/v3`` when the server has it, else Tempo's API.

    Which one is decided once, by asking ``api/v3/services`` (Tempo answers 404)."""

    api: Final = "otlp"

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self._jaeger_v3: bool | None = None

    async def _is_jaeger_v3(self) -> bool:
        if self._jaeger_v3 is None:
            try:
                body = await net.request_json(self.client, "GET", "api/v3/services")
                self._jaeger_v3 = isinstance(body, dict) and "services" in body
            except net.ApiError as exc:
                if not (exc.is_not_found or exc.status in (400, 405, 501)):
                    raise
                self._jaeger_v3 = False
        return self._jaeger_v3

    async def services(self) -> list[str]:
        if await self._is_jaeger_v3():
            body = await net.request_json(self.client, "GET", "api/v3/services")
            return sorted(str(s) for s in body.get("services") or [])
        body = await net.request_json(self.client, "GET", "api/search/tag/service.name/values")
        return sorted(_tag_values(body))

    async def operations(self, service: str) -> list[str]:
        if await self._is_jaeger_v3():
            body = await net.request_json(
                self.client, "GET", "api/v3/operations", params={"service": service}
            )
            return sorted({str(op.get("name", "")) for op in body.get("operations") or []})
        body = await net.request_json(
            self.client,
            "GET",
            "api/search/tag/name/values",
            params={"q": f'{{resource.service.name="{service}"}}'},
        )
        return sorted(_tag_values(body))

    async def search(self, query: SearchQuery) -> list[TraceSummary]:
        start_us, end_us = query.window_us()
        if await self._is_jaeger_v3():
            params: dict[str, str | int] = {
                "query.start_time_min": _rfc3339(start_us),
                "query.start_time_max": _rfc3339(end_us),
                "query.search_depth": query.limit,
            }
            if query.service:
                params["query.service_name"] = query.service
            if query.operation:
                params["query.operation_name"] = query.operation
            if query.min_duration_us:
                params["query.duration_min"] = f"{query.min_duration_us / 1e6:g}s"
            if query.max_duration_us:
                params["query.duration_max"] = f"{query.max_duration_us / 1e6:g}s"
            for key, value in query.tags.items():
                params[f"query.attributes[{key}]"] = value
            try:
                response = await net.request(self.client, "GET", "api/v3/traces", params=params)
            except net.ApiError as exc:
                if exc.is_not_found:  # Jaeger v2 answers 404 when nothing matched
                    return []
                raise
            found = await asyncio.to_thread(_stream_traces, response.content)
            return query.newest(t.summary() for t in found)
        pairs = [*query.tags.items()]
        if query.service:
            pairs.append(("service.name", query.service))
        if query.operation:
            pairs.append(("name", query.operation))
        tags = [f"{k}={_logfmt(v)}" for k, v in pairs]
        tempo: dict[str, str | int] = {
            "limit": query.limit,
            "start": start_us // 1_000_000,
            "end": -(-end_us // 1_000_000),
        }
        if tags:
            tempo["tags"] = " ".join(tags)
        if query.min_duration_us:
            tempo["minDuration"] = f"{query.min_duration_us}us"
        if query.max_duration_us:
            tempo["maxDuration"] = f"{query.max_duration_us}us"
        body = await net.request_json(self.client, "GET", "api/search", params=tempo)
        return query.newest(_tempo_summaries(body))

    async def trace(self, trace_id: str) -> Trace:
        path = "api/v3/traces/" if await self._is_jaeger_v3() else "api/traces/"
        return await get_trace(self.client, path + trace_id, trace_id, traces_from_otlp, _stream_traces)


def _logfmt(value: str) -> str:
    """A value in Tempo's logfmt ``tags`` parameter: quoted when it holds spaces, quotes or ``=``."""
    if value and not any(c in value for c in ' "=\\'):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _stream_traces(content: bytes) -> list[Trace]:
    """The traces of a Jaeger v2 answer (search or one trace): one ``{"result": ...}`` document, or one
    per line as a gRPC gateway streams them; a trace split over several chunks is put back together.
    Tempo's single document reads the same way."""
    with gc_paused():
        try:
            chunks = [decode_json(content)] if content.strip() else []
        except (json.JSONDecodeError, UnicodeDecodeError):
            chunks = [decode_json(line) for line in content.splitlines() if line.strip()]
        by_id: dict[str, Trace] = {}
        for chunk in chunks:
            for trace in traces_from_otlp(chunk):
                if trace.trace_id in by_id:
                    by_id[trace.trace_id].spans.extend(trace.spans)
                else:
                    by_id[trace.trace_id] = trace
        return list(by_id.values())


def _tag_values(body: Any) -> list[str]:
    values = body.get("tagValues") if isinstance(body, dict) else None
    # Tempo's v1 API lists strings, v2 lists {"type", "value"}.
    return [str(v.get("value") if isinstance(v, dict) else v) for v in values or []]


def _rfc3339(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, tz=UTC).isoformat().replace("+00:00", "Z")


def _tempo_summaries(body: Any) -> list[TraceSummary]:
    """Tempo's search results: ``{"traces": [{"traceID", "rootServiceName", "rootTraceName",
    "startTimeUnixNano", "durationMs", "spanSet(s)"}]}``. Span and error counts are what the spansets
    matched, the most Tempo tells without fetching each trace."""
    if not isinstance(body, dict) or not isinstance(body.get("traces", []), list):
        fail("Tempo search", "the answer", "expected an object with a 'traces' list")
    out = []
    for i, t in enumerate(body.get("traces") or []):
        where = f"traces[{i}]"
        trace_id = hex_id(field("Tempo search", t, where, "traceID", str), 16)
        if trace_id is None:
            fail("Tempo search", f"{where}.traceID", "not a hex trace id")
        sets = t.get("spanSets") or ([t["spanSet"]] if t.get("spanSet") else [])
        spans = [s for ss in sets for s in (ss.get("spans") or [])]
        errors = sum(
            1
            for s in spans
            for a in s.get("attributes") or ()
            if a.get("key") == "status" and _any(a.get("value") or {}) == "error"
        )
        out.append(
            TraceSummary(
                trace_id=trace_id,
                root_service=str(t.get("rootServiceName") or ""),
                root_operation=str(t.get("rootTraceName") or ""),
                start_us=int(t.get("startTimeUnixNano") or 0) // 1000,
                duration_us=int(float(t.get("durationMs") or 0) * 1000),
                span_count=max((int(ss.get("matched") or 0) for ss in sets), default=len(spans)),
                error_count=errors,
                services=tuple(sorted({str(t.get("rootServiceName") or "")} - {""})),
            )
        )
    return out
