"""Zipkin v2 JSON: the document parser and the HTTP reader (``/api/v2/...``).

Documents: one trace as a list of spans (``/api/v2/trace/{id}``, what Zipkin's UI downloads), or a
list of such lists (``/api/v2/traces``). A span has ``traceId``, ``id``, ``parentId``, ``name``,
``kind``, ``timestamp`` and ``duration`` in microseconds, ``localEndpoint`` (its service),
``remoteEndpoint``, string ``tags`` and ``annotations``. A client and a server may share one span id
(``shared``): the layout keeps them apart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import httpx

from .. import net
from .fetch import get_trace
from .model import Process, Span, SpanDetails, SpanEvent, TagValue, Trace, TraceSummary
from .parsing import Interner, fail, field, hex_id, interner, scalar
from .query import SearchQuery

__all__ = ["ZipkinReader", "looks_like_zipkin", "traces_from_zipkin"]

FMT: Final = "Zipkin"
_ENDPOINT_KEYS: Final = ("serviceName", "ipv4", "ipv6", "port")


def _is_span(item: Any) -> bool:
    return isinstance(item, dict) and "traceId" in item and "id" in item


def looks_like_zipkin(doc: Any) -> bool:
    if not isinstance(doc, list) or not doc:
        return False
    first = doc[0]
    if isinstance(first, list):
        return bool(first) and _is_span(first[0])
    return _is_span(first)


def traces_from_zipkin(doc: Any) -> list[Trace]:
    """Every trace in a Zipkin v2 document, grouped by trace id in the order first seen."""
    if not isinstance(doc, list):
        fail(FMT, "the document", "expected a list of spans (or a list of traces, each a list of spans)")
    nested = bool(doc) and all(isinstance(item, list) for item in doc)
    spans_with_where = (
        [(s, f"[{t}][{i}]") for t, trace in enumerate(doc) for i, s in enumerate(trace)]
        if nested
        else [(s, f"[{i}]") for i, s in enumerate(doc)]
    )
    intern = interner()
    processes: dict[tuple[Any, ...], Process] = {}
    by_trace: dict[str, list[Span]] = {}
    for s, where in spans_with_where:
        try:
            trace_id, span = _span(s, processes, intern)
        except (KeyError, TypeError, ValueError, AttributeError):
            _diagnose(s, where)
            raise
        by_trace.setdefault(trace_id, []).append(span)
    return [Trace(trace_id=tid, spans=spans, format="zipkin") for tid, spans in by_trace.items()]


def _process(
    endpoint: Mapping[str, Any] | None, processes: dict[tuple[Any, ...], Process], intern: Interner
) -> Process:
    endpoint = endpoint or {}
    key = tuple(endpoint.get(k) for k in _ENDPOINT_KEYS)
    process = processes.get(key)
    if process is None:
        tags = tuple(
            x for k in _ENDPOINT_KEYS[1:] if endpoint.get(k) is not None for x in (k, scalar(endpoint[k]))
        )
        process = processes[key] = Process(
            intern(name := str(endpoint.get("serviceName") or "unknown"), name), tags
        )
    return process


def _span(
    s: Mapping[str, Any], processes: dict[tuple[Any, ...], Process], intern: Interner
) -> tuple[str, Span]:
    trace_id = hex_id(s["traceId"], 16)
    span_id = hex_id(s["id"], 8)
    if trace_id is None or span_id is None:
        raise ValueError("id")
    process = _process(s.get("localEndpoint"), processes, intern)
    tags_raw = s.get("tags") or {}
    tags: list[TagValue] = []
    for k, v in tags_raw.items():
        tags += (intern(k, k), scalar(v))
    remote = s.get("remoteEndpoint")
    if remote:
        for k in _ENDPOINT_KEYS:
            if remote.get(k) is not None:
                tags += ("peer.service" if k == "serviceName" else f"peer.{k}", scalar(remote[k]))
    kind = str(s.get("kind") or "").lower()
    annotations = s.get("annotations")
    return trace_id, Span(
        span_id=span_id,
        parent_id=hex_id(s.get("parentId"), 8),
        service=process.service,
        operation=intern(op := str(s.get("name") or ""), op),
        start_us=int(s.get("timestamp") or 0),
        duration_us=int(s.get("duration") or 0),
        process=process,
        details_data=SpanDetails(
            tags=tuple(tags),
            events=tuple(_annotation(a, intern) for a in annotations) if annotations else (),
            kind=kind,
            error="error" in tags_raw,
            status_message=str(tags_raw.get("error") or ""),
        ),
    )


def _annotation(a: Mapping[str, Any], intern: Interner) -> SpanEvent:
    value = str(a["value"])
    # OpenTelemetry's Zipkin exporter writes an event with attributes as {"name": {attributes}}.
    if value.startswith("{") and value.endswith("}"):
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError:
            decoded = None
        if isinstance(decoded, dict) and len(decoded) == 1:
            ((name, attributes),) = decoded.items()
            if isinstance(attributes, dict):
                flat: list[TagValue] = []
                for k, v in attributes.items():
                    flat += (intern(k, k), scalar(v))
                return SpanEvent(int(a["timestamp"]), str(name), tuple(flat))
    return SpanEvent(int(a["timestamp"]), value)


def _diagnose(s: Any, where: str) -> None:
    for name, size in (("traceId", 16), ("id", 8)):
        value = field(FMT, s, where, name, str)
        if hex_id(value, size) is None:
            fail(FMT, f"{where}.{name}", f"{value!r} is not a hex id")
    field(FMT, s, where, "name", str, required=False)
    field(FMT, s, where, "timestamp", int, required=False)
    field(FMT, s, where, "duration", int, required=False)
    field(FMT, s, where, "tags", dict, required=False)
    field(FMT, s, where, "localEndpoint", dict, required=False)
    field(FMT, s, where, "remoteEndpoint", dict, required=False)
    for i, a in enumerate(field(FMT, s, where, "annotations", list, required=False) or ()):
        field(FMT, a, f"{where}.annotations[{i}]", "timestamp", int)
        field(FMT, a, f"{where}.annotations[{i}]", "value", str)
    fail(FMT, where, "a field has a value of the wrong kind")


class ZipkinReader:
    """Zipkin's v2 API (``/api/v2/services``, ``/spans``, ``/traces``, ``/trace/{id}``)."""

    api: Final = "zipkin"

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def services(self) -> list[str]:
        return sorted(str(s) for s in await net.request_json(self.client, "GET", "api/v2/services") or [])

    async def operations(self, service: str) -> list[str]:
        body = await net.request_json(self.client, "GET", "api/v2/spans", params={"serviceName": service})
        return sorted(str(s) for s in body or [])

    async def search(self, query: SearchQuery) -> list[TraceSummary]:
        start_us, end_us = query.window_us()
        params: dict[str, str | int] = {
            "endTs": end_us // 1000,
            "lookback": (end_us - start_us) // 1000,
            "limit": query.limit,
        }
        if query.service:
            params["serviceName"] = query.service
        if query.operation:
            params["spanName"] = query.operation
        if query.tags:
            params["annotationQuery"] = " and ".join(f"{k}={v}" if v else k for k, v in query.tags.items())
        if query.min_duration_us:
            params["minDuration"] = query.min_duration_us
        if query.max_duration_us:
            params["maxDuration"] = query.max_duration_us
        body = await net.request_json(self.client, "GET", "api/v2/traces", params=params)
        if body and not all(isinstance(t, list) for t in body):
            fail(FMT, "api/v2/traces", "expected a list of traces, each a list of spans")
        return query.newest(t.summary() for t in traces_from_zipkin(body or []))

    async def trace(self, trace_id: str) -> Trace:
        return await get_trace(self.client, f"api/v2/trace/{trace_id}", trace_id, traces_from_zipkin)
