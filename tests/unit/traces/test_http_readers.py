"""The OTLP (Tempo, Jaeger v2) and Zipkin HTTP readers over real HTTP on 127.0.0.1.

No Tempo, Jaeger v2 or Zipkin server can run on this machine, so a small loopback server answers
their routes, as documented by each project, with a trace the OpenTelemetry SDK wrote in this test
(Tempo gets protobuf JSON with base64 ids, Jaeger v2 hex ids, Zipkin the SDK's Zipkin encoder). It
records every request, so the tests check the parameters each reader sends as well as what it reads.
(The Jaeger v1 reader is tested against the sandbox's real API in tests/e2e/traces.)
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from opsconsole import net
from opsconsole.traces import SearchQuery, TraceNotFound
from opsconsole.traces.backend import TraceReader, reader_for
from tests.unit.traces.otel_writer import otlp_hex_json, otlp_json, record_checkout, zipkin_json

Route = Callable[[dict[str, list[str]]], tuple[int, Any]]


@contextmanager
def serve(routes: dict[str, Route]) -> Iterator[tuple[str, list[tuple[str, dict[str, list[str]]]]]]:
    """A loopback server answering ``routes`` (path -> handler of the query); 404 elsewhere."""
    seen: list[tuple[str, dict[str, list[str]]]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            seen.append((parts.path, query))
            route = routes.get(parts.path)
            status, body = route(query) if route else (404, {"error": "not found"})
            if isinstance(body, _RawLines):
                data = b"\n".join(json.dumps(chunk).encode() for chunk in body)
            else:
                data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def sdk() -> dict[str, Any]:
    spans = record_checkout()
    root = next(s for s in spans if s.parent is None)
    return {
        "trace_id": format(root.context.trace_id, "032x"),
        "start_ns": root.start_time,
        "duration_ns": root.end_time - root.start_time,
        "otlp_b64": json.loads(otlp_json(spans)),
        "otlp_hex": json.loads(otlp_hex_json(spans)),
        "zipkin": json.loads(zipkin_json(spans)),
    }


async def _open(api: str, url: str) -> AsyncIterator[TraceReader]:
    async with net.build_client(base_url=url) as client:
        yield reader_for(api, client)


def tempo_routes(sdk: dict[str, Any]) -> dict[str, Route]:
    tid = sdk["trace_id"]
    found = {
        "traceID": tid,
        "rootServiceName": "frontend",
        "rootTraceName": "User Request",
        "startTimeUnixNano": str(sdk["start_ns"]),
        "durationMs": sdk["duration_ns"] / 1e6,
        "spanSet": {"spans": [{"spanID": "x", "attributes": [{"key": "status", "value": {"stringValue": "error"}}]}],
                    "matched": 7},
    }  # fmt: skip
    return {
        "/api/search/tag/service.name/values": lambda q: (200, {"tagValues": ["users", "frontend"]}),
        "/api/search/tag/name/values": lambda q: (200, {"tagValues": ["User Request", "DB Query"]}),
        "/api/search": lambda q: (200, {"traces": [found], "metrics": {}}),
        f"/api/traces/{tid}": lambda q: (200, {"batches": sdk["otlp_b64"]["resourceSpans"]}),
    }


class _RawLines(list):  # type: ignore[type-arg]
    """A body sent as gRPC gateway streams: one {"result": ...} per line, here one per resource."""

    def __init__(self, otlp: dict[str, Any]) -> None:
        super().__init__({"result": {"resourceSpans": [rs]}} for rs in otlp["resourceSpans"])


def jaeger_v3_routes(sdk: dict[str, Any]) -> dict[str, Route]:
    tid = sdk["trace_id"]
    return {
        "/api/v3/services": lambda q: (200, {"services": ["users", "frontend"]}),
        "/api/v3/operations": lambda q: (200, {"operations": [{"name": "DB Query", "spanKind": "internal"}]}),
        "/api/v3/traces": lambda q: (200, _RawLines(sdk["otlp_hex"])),
        f"/api/v3/traces/{tid}": lambda q: (200, _RawLines(sdk["otlp_hex"])),
    }


def zipkin_routes(sdk: dict[str, Any]) -> dict[str, Route]:
    tid = sdk["trace_id"]
    return {
        "/api/v2/services": lambda q: (200, ["users", "frontend"]),
        "/api/v2/spans": lambda q: (200, ["db query", "cache check"]),
        "/api/v2/traces": lambda q: (200, [sdk["zipkin"]]),
        f"/api/v2/trace/{tid}": lambda q: (200, sdk["zipkin"]),
    }


QUERY = SearchQuery(
    service="frontend",
    operation="User Request",
    tags={"http.method": "GET"},
    min_duration_us=5000,
    max_duration_us=2_000_000,
    lookback_us=3600 * 10**6,
    end_us=1_800_000_000 * 10**6,
    limit=7,
)


def _tempo(q: dict[str, list[str]]) -> None:
    assert q["tags"] == ['http.method=GET service.name=frontend name="User Request"']
    assert (q["minDuration"], q["maxDuration"], q["limit"]) == (["5000us"], ["2000000us"], ["7"])
    assert (q["start"], q["end"]) == (["1799996400"], ["1800000000"])


def _jaeger_v3(q: dict[str, list[str]]) -> None:
    assert (q["query.service_name"], q["query.operation_name"]) == (["frontend"], ["User Request"])
    assert (q["query.duration_min"], q["query.duration_max"]) == (["0.005s"], ["2s"])
    assert q["query.start_time_min"] == ["2027-01-15T07:00:00Z"] and q["query.search_depth"] == ["7"]
    assert q["query.attributes[http.method]"] == ["GET"]


def _zipkin(q: dict[str, list[str]]) -> None:
    assert (q["serviceName"], q["spanName"], q["annotationQuery"]) == (
        ["frontend"],
        ["User Request"],
        ["http.method=GET"],
    )
    assert (q["minDuration"], q["maxDuration"], q["limit"]) == (["5000"], ["2000000"], ["7"])
    assert (q["endTs"], q["lookback"]) == (["1800000000000"], ["3600000"])


@pytest.mark.parametrize(
    ("api", "routes", "check_search"),
    [
        ("otlp", tempo_routes, _tempo),
        ("otlp", jaeger_v3_routes, _jaeger_v3),
        ("zipkin", zipkin_routes, _zipkin),
    ],
    ids=["tempo", "jaeger-v2", "zipkin"],
)
async def test_each_reader_lists_searches_and_fetches(
    api: str,
    routes: Callable[[dict[str, Any]], dict[str, Route]],
    check_search: Callable[[dict[str, list[str]]], None],
    sdk: dict[str, Any],
) -> None:
    with serve(routes(sdk)) as (url, seen):
        async for reader in _open(api, url):
            assert await reader.services() == ["frontend", "users"]
            assert await reader.operations("users")
            found = await reader.search(QUERY)
            trace = await reader.trace(sdk["trace_id"])
            with pytest.raises(TraceNotFound):
                await reader.trace("0123456789abcdef0123456789abcdef")
    assert [t.trace_id for t in found] == [sdk["trace_id"]]
    assert (found[0].root_service, found[0].root_operation) == ("frontend", "User Request")
    assert abs(found[0].start_us - sdk["start_ns"] // 1000) <= 1  # Zipkin's encoder rounds
    assert abs(found[0].duration_us - sdk["duration_ns"] // 1000) <= 1
    assert trace.trace_id == sdk["trace_id"] and len(trace.spans) == 7
    assert {s.service for s in trace.spans} == {"frontend", "users"}
    search = next(q for path, q in seen if path in ("/api/search", "/api/v3/traces", "/api/v2/traces"))
    check_search(search)


async def test_tempo_is_told_from_jaeger_v2_once(sdk: dict[str, Any]) -> None:
    with serve(tempo_routes(sdk)) as (url, seen):
        async for reader in _open("otlp", url):
            await reader.services()
            await reader.trace(sdk["trace_id"])
    assert [path for path, _ in seen].count("/api/v3/services") == 1
