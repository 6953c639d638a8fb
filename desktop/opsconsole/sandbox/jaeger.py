"""The Jaeger query HTTP API under `/jaeger/api/`, serving the sandbox's `TraceStore`.

Routes, parameters and JSON follow Jaeger's own query service (cmd/query/app/http_handler.go and
query_parser.go), so Jaeger's UI and any Jaeger client read them unchanged:

- `GET /jaeger/api/services`
- `GET /jaeger/api/services/{service}/operations` (names) and `GET /jaeger/api/operations?service=&spanKind=`
- `GET /jaeger/api/traces?service=&operation=&tags={json}&tag=k:v&minDuration=5ms&maxDuration=1.2s
  &start=<epoch µs>&end=<epoch µs>&lookback=1h&limit=20` and `traceID=` (repeatable)
- `GET /jaeger/api/traces/{traceID}` (404 when unknown)
- `GET /jaeger/api/dependencies?endTs=<epoch ms>&lookback=<ms>`

Every answer is the envelope `{"data", "total", "limit", "offset", "errors"}`; errors carry
`[{"code", "msg"}]` with the HTTP status. Durations are Go duration strings (`300us`, `5ms`,
`1m30s`); `lookback` also takes days and weeks (`2d`, `1w`) as the UI offers them.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .tracing import SpanRecord, TagValue, Trace, TraceQuery, TraceStore, normalize_trace_id, tag_text

__all__ = ["parse_duration_us", "router", "trace_to_jaeger"]

PREFIX: Final = "/jaeger/api"
DEFAULT_LIMIT: Final = 100
# Jaeger's default search window when neither start nor lookback is given.
DEFAULT_LOOKBACK_US: Final = 2 * 24 * 3600 * 1_000_000
DEFAULT_DEPENDENCY_LOOKBACK_MS: Final = 24 * 3600 * 1000
_MAX_LIMIT: Final = 100_000
_MAX_DURATION_TEXT: Final = 64

_UNIT_US: Final[dict[str, float]] = {
    "ns": 1e-3,
    "us": 1.0,
    "µs": 1.0,  # U+00B5 MICRO SIGN
    "μs": 1.0,  # U+03BC GREEK SMALL LETTER MU
    "ms": 1e3,
    "s": 1e6,
    "m": 60e6,
    "h": 3600e6,
}
_LONG_UNIT_US: Final[dict[str, float]] = {**_UNIT_US, "d": 86_400e6, "w": 7 * 86_400e6}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w)")

router = APIRouter(prefix=PREFIX, include_in_schema=False)


class QueryError(ValueError):
    """A request parameter Jaeger's query service would refuse with 400."""


def parse_duration_us(text: str, *, allow_days: bool = False) -> int:
    """Microseconds in a Go duration string (`1.5s`, `2h45m`, `300us`); `allow_days` adds `d` and `w`."""
    units = _LONG_UNIT_US if allow_days else _UNIT_US
    s = text.strip()
    if s.startswith("+"):
        s = s[1:]
    if s == "0":
        return 0
    if not s or len(s) > _MAX_DURATION_TEXT or s.startswith("-"):
        raise QueryError(f"invalid duration {text!r}: expected a positive duration like 5ms, 1.2s, 1h30m")
    total = 0.0
    pos = 0
    while pos < len(s):
        match = _DURATION_PART.match(s, pos)
        if match is None or match.group(2) not in units:
            raise QueryError(f"invalid duration {text!r}: expected a positive duration like 5ms, 1.2s, 1h30m")
        total += float(match.group(1)) * units[match.group(2)]
        pos = match.end()
    return round(total)


def _one(query: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = query.get(name) or []
    value = values[0].strip() if values else ""
    return value or None


def _integer(query: Mapping[str, Sequence[str]], name: str, meaning: str) -> int | None:
    raw = _one(query, name)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise QueryError(f"unable to parse param '{name}': expected {meaning}, got {raw!r}")
    return int(raw)


def _tags(query: Mapping[str, Sequence[str]]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for simple in query.get("tag", []):
        key, sep, value = simple.partition(":")
        if not sep or not key:
            raise QueryError(f"malformed 'tag' parameter, expecting key:value, received: {simple}")
        tags[key] = value
    for raw in query.get("tags", []):
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise QueryError(f"malformed 'tags' parameter, cannot unmarshal JSON: {exc.msg}") from exc
        if not isinstance(parsed, dict):
            raise QueryError("malformed 'tags' parameter: expected a JSON object of tag values")
        for key, value in parsed.items():
            if not isinstance(value, str | int | float | bool):
                raise QueryError(f"malformed 'tags' parameter: the value of {key!r} is not a scalar")
            tags[key] = value if isinstance(value, str) else tag_text(value)
    return tags


def parse_search(query: Mapping[str, Sequence[str]], now_us: int) -> TraceQuery:
    """A `TraceQuery` from the parameters of `/traces` (Jaeger's rules); raises QueryError."""
    service = _one(query, "service")
    if service is None:
        raise QueryError("parameter 'service' is required")
    end = _integer(query, "end", "epoch microseconds") or now_us
    start = _integer(query, "start", "epoch microseconds")
    if start is None:
        lookback = _one(query, "lookback")
        span_us = (
            parse_duration_us(lookback, allow_days=True)
            if lookback and lookback != "custom"
            else DEFAULT_LOOKBACK_US
        )
        start = end - span_us
    limit_text = _one(query, "limit")
    if limit_text is None:
        limit = DEFAULT_LIMIT
    elif limit_text.isascii() and limit_text.isdigit() and 1 <= int(limit_text) <= _MAX_LIMIT:
        limit = int(limit_text)
    else:
        raise QueryError(f"unable to parse param 'limit': expected 1 to {_MAX_LIMIT}, got {limit_text!r}")
    min_d = _one(query, "minDuration")
    max_d = _one(query, "maxDuration")
    min_us = parse_duration_us(min_d) if min_d else None
    max_us = parse_duration_us(max_d) if max_d else None
    if min_us and max_us and max_us < min_us:
        raise QueryError("'maxDuration' should be greater than 'minDuration'")
    return TraceQuery(
        service=service,
        operation=_one(query, "operation"),
        tags=_tags(query),
        min_duration_us=min_us or None,
        max_duration_us=max_us or None,
        start_us=start,
        end_us=end,
        limit=limit,
    )


# --- JSON in Jaeger's UI model (model/json) ------------------------------------------------------


def _kv(key: str, value: TagValue) -> dict[str, Any]:
    if isinstance(value, bool):
        kind = "bool"
    elif isinstance(value, int):
        kind = "int64"
    elif isinstance(value, float):
        kind = "float64"
    else:
        kind = "string"
    return {"key": key, "type": kind, "value": value}


def _span_json(trace_id: str, s: SpanRecord, process_id: str) -> dict[str, Any]:
    return {
        "traceID": trace_id,
        "spanID": s.span_id,
        "flags": 1,
        "operationName": s.operation,
        "references": (
            [{"refType": "CHILD_OF", "traceID": trace_id, "spanID": s.parent_id}] if s.parent_id else []
        ),
        "startTime": s.start_us,
        "duration": s.duration_us,
        "tags": [_kv(k, v) for k, v in s.tags.items()],
        "logs": [
            {"timestamp": ts, "fields": [_kv(k, v) for k, v in fields.items()]} for ts, fields in s.logs
        ],
        "processID": process_id,
        "warnings": None,
    }


def trace_to_jaeger(trace: Trace) -> dict[str, Any]:
    """One trace as Jaeger's query API returns it: spans, a process per service, warnings."""
    process_ids = {service: f"p{i}" for i, service in enumerate(trace.services, start=1)}
    process_tags = [_kv(k, v) for k, v in trace.process_tags.items()]
    return {
        "traceID": trace.trace_id,
        "spans": [_span_json(trace.trace_id, s, process_ids[s.service]) for s in trace.spans],
        "processes": {
            pid: {"serviceName": service, "tags": process_tags} for service, pid in process_ids.items()
        },
        "warnings": list(trace.warnings) or None,
    }


def _envelope(data: Any, total: int = 0, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"data": data, "total": total, "limit": 0, "offset": 0, "errors": errors}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(_envelope(None, errors=[{"code": status, "msg": message}]), status_code=status)


def _store(request: Request) -> TraceStore:
    store: TraceStore = request.app.state.traces
    return store


def _multi(request: Request) -> dict[str, list[str]]:
    query: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        query.setdefault(key, []).append(value)
    return query


# The handlers are plain functions: FastAPI runs them in worker threads, so a search over thousands of
# traces does not hold up the event loop.


@router.get("/services")
def services(request: Request) -> JSONResponse:
    names = _store(request).services()
    return JSONResponse(_envelope(names, len(names)))


@router.get("/services/{service}/operations")
def service_operations(request: Request, service: str) -> JSONResponse:
    names = sorted({name for name, _ in _store(request).operations(service)})
    return JSONResponse(_envelope(names, len(names)))


@router.get("/operations")
def operations(request: Request) -> JSONResponse:
    query = _multi(request)
    service = _one(query, "service")
    if service is None:
        return _error(400, "parameter 'service' is required")
    ops = _store(request).operations(service, _one(query, "spanKind"))
    return JSONResponse(_envelope([{"name": name, "spanKind": kind} for name, kind in ops], len(ops)))


@router.get("/traces")
def search_traces(request: Request) -> JSONResponse:
    query = _multi(request)
    store = _store(request)
    raw_ids = query.get("traceID", [])
    if raw_ids:
        found: list[dict[str, Any]] = []
        missing: list[dict[str, Any]] = []
        for raw in raw_ids:
            if normalize_trace_id(raw) is None:
                return _error(400, f"cannot parse traceID param: {raw!r} is not a hex trace id")
            trace = store.get(raw)
            if trace is None:
                missing.append({"msg": "trace not found", "traceID": raw})
            else:
                found.append(trace_to_jaeger(trace))
        return JSONResponse(_envelope(found, len(found), missing or None))
    try:
        search = parse_search(query, time.time_ns() // 1000)
    except QueryError as exc:
        return _error(400, str(exc))
    traces = [trace_to_jaeger(t) for t in store.search(search)]
    return JSONResponse(_envelope(traces, len(traces)))


@router.get("/traces/{trace_id}")
def get_trace(request: Request, trace_id: str) -> JSONResponse:
    if normalize_trace_id(trace_id) is None:
        return _error(400, f"cannot parse traceID: {trace_id!r} is not a hex trace id")
    trace = _store(request).get(trace_id)
    if trace is None:
        return _error(404, "trace not found")
    return JSONResponse(_envelope([trace_to_jaeger(trace)]))


@router.get("/dependencies")
def dependencies(request: Request) -> JSONResponse:
    query = _multi(request)
    try:
        end_ms = _integer(query, "endTs", "epoch milliseconds") or time.time_ns() // 1_000_000
        lookback_ms = _integer(query, "lookback", "milliseconds") or DEFAULT_DEPENDENCY_LOOKBACK_MS
    except QueryError as exc:
        return _error(400, str(exc))
    start_us, end_us = (end_ms - lookback_ms) * 1000, end_ms * 1000
    calls: Counter[tuple[str, str]] = Counter()
    for trace in _store(request).traces():
        if not start_us <= trace.start_us <= end_us:
            continue
        by_id = {s.span_id: s for s in trace.spans}
        for s in trace.spans:
            parent = by_id.get(s.parent_id or "")
            if parent is not None and parent.service != s.service:
                calls[(parent.service, s.service)] += 1
    links = [{"parent": p, "child": c, "callCount": n} for (p, c), n in sorted(calls.items())]
    return JSONResponse(_envelope(links, len(links)))
