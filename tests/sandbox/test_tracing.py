"""Tracing: the trace shape of an API request, real durations, worker threads, errors, the bounded store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import Depends, FastAPI, HTTPException

from opsconsole.sandbox.tracing import (
    MAX_SPANS_PER_TRACE,
    SpanRecord,
    Trace,
    TraceQuery,
    TraceStore,
    TracingMiddleware,
    normalize_trace_id,
    span,
)
from tests.sandbox.live_support import serve


def traced_app(store: TraceStore) -> FastAPI:
    app = FastAPI()
    app.state.traces = store

    def authenticated() -> Iterator[str]:
        # A generator dependency: FastAPI enters and leaves it in two different worker threads.
        with span("Session", service="auth-service"):
            yield "caller"

    @app.get("/api/session")
    def with_session(caller: str = Depends(authenticated)) -> dict[str, str]:
        with span("User Service", service="user-service"):
            return {"caller": caller}

    @app.get("/api/users/{user_id}")
    def get_user(user_id: str) -> dict[str, str]:
        with span("Authentication Service", service="auth-service"):
            with span("DB Query", tags={"db.system": "sqlite"}):
                time.sleep(0.01)
            with span("Cache Check"):
                pass
        with span("User Service", service="user-service"):
            with span("DB Query") as query:
                time.sleep(0.02)
                query.set_tag("db.rows", 1)
            with span("Cache Write") as cache:
                cache.log("stored", key="user")
        return {"id": user_id}

    @app.get("/api/async")
    async def async_route() -> dict[str, str]:
        with span("User Service", service="user-service"):
            await asyncio.sleep(0.01)
        return {}

    @app.get("/api/plain")
    def plain() -> dict[str, str]:
        return {}

    @app.get("/api/nested")
    async def nested() -> dict[str, str]:
        # Quick nested work on the event loop: many traces in little time, for the invariants test.
        with span("User Service", service="user-service"):
            with span("DB Query"):
                pass
            with span("Cache Write"):
                pass
        return {}

    @app.get("/api/fail")
    def fail() -> None:
        with span("User Service", service="user-service"):
            raise RuntimeError("secret detail that must not reach the trace")

    @app.get("/api/missing")
    def missing() -> None:
        with span("User Service", service="user-service"):
            raise HTTPException(404, "no such user")

    @app.get("/api/many")
    def many() -> dict[str, str]:
        for _ in range(MAX_SPANS_PER_TRACE + 5):
            with span("Loop"):
                pass
        return {}

    @app.get("/health")
    def health() -> dict[str, str]:
        with span("Not traced"):
            return {}

    app.add_middleware(TracingMiddleware)
    return app


class SignallingStore(TraceStore):
    """A store that says when a trace is stored (the middleware may store one twice)."""

    def __init__(self) -> None:
        super().__init__()
        self.added = asyncio.Event()
        self.versions: list[Trace] = []

    def add(self, trace: Trace) -> None:
        super().add(trace)
        self.versions.append(trace)
        self.added.set()


@pytest.fixture
async def traced() -> AsyncIterator[tuple[httpx.AsyncClient, TraceStore]]:
    store = SignallingStore()
    async with serve(traced_app(store)) as base, httpx.AsyncClient(base_url=base, timeout=10) as http:
        yield http, store


def children(trace: Trace, parent: SpanRecord) -> list[SpanRecord]:
    return [s for s in trace.spans if s.parent_id == parent.span_id]


def names(spans: list[SpanRecord]) -> list[str]:
    return [s.operation for s in spans]


async def test_an_api_request_is_traced_in_the_system_shape(
    traced: tuple[httpx.AsyncClient, TraceStore],
) -> None:
    http, store = traced
    before_us = time.time_ns() // 1000
    response = await http.get("/api/users/u-1")
    assert response.status_code == 200
    trace = store.get(response.headers["X-Trace-Id"])
    assert trace is not None and len(store) == 1

    root = trace.root
    assert root.parent_id is None
    assert (root.service, root.operation, root.kind) == ("api-gateway", "GET /api/users/{user_id}", "server")
    assert {k: root.tags[k] for k in ("http.method", "http.route", "http.status_code", "span.kind")} == {
        "http.method": "GET",
        "http.route": "/api/users/{user_id}",
        "http.status_code": 200,
        "span.kind": "server",
    }
    assert "error" not in root.tags
    top = children(trace, root)
    assert names(top) == ["API Gateway", "Authentication Service", "User Service", "Response"]
    auth = top[1]
    user = top[2]
    assert names(children(trace, auth)) == ["DB Query", "Cache Check"]
    assert names(children(trace, user)) == ["DB Query", "Cache Write"]
    assert {s.service for s in children(trace, auth)} == {"auth-service"}
    assert {s.service for s in children(trace, user)} == {"user-service"}
    assert children(trace, auth)[0].tags["db.system"] == "sqlite"
    assert children(trace, user)[0].tags["db.rows"] == 1
    assert children(trace, user)[1].logs[0][1] == {"event": "stored", "key": "user"}

    # Real durations: the sleeps are lower bounds, and every child lies inside its parent.
    assert children(trace, auth)[0].duration_us >= 10_000
    assert children(trace, user)[0].duration_us >= 20_000
    assert before_us <= root.start_us <= time.time_ns() // 1000
    for s in trace.spans:
        parent = next((p for p in trace.spans if p.span_id == s.parent_id), None)
        if parent is not None:
            assert parent.start_us <= s.start_us and s.end_us <= parent.end_us, s.operation
    gateway, response_span = top[0], top[-1]
    assert gateway.start_us == root.start_us
    assert gateway.end_us <= top[1].start_us
    assert response_span.start_us >= user.end_us
    assert response_span.tags["http.status_code"] == 200
    assert root.duration_us >= sum(s.duration_us for s in top[1:3])


async def test_work_after_the_response_completes_the_stored_trace(
    traced: tuple[httpx.AsyncClient, TraceStore],
) -> None:
    http, store = traced
    assert isinstance(store, SignallingStore)
    response = await http.get("/api/session")
    trace_id = response.headers["X-Trace-Id"]
    # Findable as soon as the client has the response ...
    assert store.get(trace_id) is not None
    # ... and stored again, complete, once the generator dependency has been closed after it.
    async with asyncio.timeout(10):
        while len(store.versions) < 2:
            store.added.clear()
            await store.added.wait()
    first, complete = store.versions
    trace = store.get(trace_id)
    assert trace is complete and len(store) == 1
    top = children(complete, complete.root)
    assert names(top) == ["API Gateway", "Session", "User Service", "Response"]
    assert "Session" not in names(children(first, first.root))
    _, session, user, response_span = top
    assert response_span.start_us >= user.end_us  # the teardown does not move the response
    assert session.end_us <= complete.root.end_us
    assert {s.span_id for s in first.spans} < {s.span_id for s in complete.spans}


async def test_async_routes_and_routes_without_spans(traced: tuple[httpx.AsyncClient, TraceStore]) -> None:
    http, store = traced
    trace = store.get((await http.get("/api/async")).headers["X-Trace-Id"])
    assert trace is not None
    assert names(children(trace, trace.root)) == ["API Gateway", "User Service", "Response"]
    assert children(trace, trace.root)[1].duration_us >= 10_000
    plain = store.get((await http.get("/api/plain")).headers["X-Trace-Id"])
    assert plain is not None
    assert names(children(plain, plain.root)) == ["API Gateway", "Response"]


async def test_concurrent_requests_keep_their_spans_apart(
    traced: tuple[httpx.AsyncClient, TraceStore],
) -> None:
    http, store = traced
    responses = await asyncio.gather(*(http.get(f"/api/users/u-{i}") for i in range(8)))
    ids = {r.headers["X-Trace-Id"] for r in responses}
    assert len(ids) == 8
    for trace_id in ids:
        trace = store.get(trace_id)
        assert trace is not None
        assert len(trace.spans) == 1 + 4 + 4  # root, its four children, two under each service
        assert {s.parent_id for s in trace.spans if s.parent_id} <= {s.span_id for s in trace.spans}


async def test_server_errors_mark_the_trace_and_hide_the_message(
    traced: tuple[httpx.AsyncClient, TraceStore],
) -> None:
    http, store = traced
    # The bare test app has no error handler: Starlette answers 500 outside the tracing middleware,
    # which sees the exception go by.
    assert (await http.get("/api/fail")).status_code == 500
    [trace] = store.traces()
    root = trace.root
    assert root.tags["error"] is True and root.tags["http.status_code"] == 500
    service = children(trace, root)[1]
    assert service.operation == "User Service" and service.tags["error"] is True
    assert service.logs[0][1] == {"event": "error", "error.kind": "RuntimeError"}
    assert "secret detail" not in repr(trace)


async def test_client_errors_raised_in_a_span_are_not_span_failures(
    traced: tuple[httpx.AsyncClient, TraceStore],
) -> None:
    http, store = traced
    response = await http.get("/api/missing")
    assert response.status_code == 404
    trace = store.get(response.headers["X-Trace-Id"])
    assert trace is not None
    assert "error" not in trace.root.tags and trace.root.tags["http.status_code"] == 404
    service = children(trace, trace.root)[1]
    assert "error" not in service.tags
    assert service.logs[0][1] == {"event": "exception", "error.kind": "HTTPException"}


async def test_only_api_requests_are_traced_and_unmatched_ones_share_a_name(
    traced: tuple[httpx.AsyncClient, TraceStore],
) -> None:
    http, store = traced
    health = await http.get("/health")
    assert health.status_code == 200 and "X-Trace-Id" not in health.headers
    assert len(store) == 0
    await http.get("/api/nope/1")
    await http.get("/api/nope/2")
    assert {t.root.operation for t in store.traces()} == {"GET <unmatched>"}


async def test_a_w3c_traceparent_continues_the_callers_trace(
    traced: tuple[httpx.AsyncClient, TraceStore],
) -> None:
    http, store = traced
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    response = await http.get("/api/plain", headers={"traceparent": f"00-{trace_id}-{parent}-01"})
    assert response.headers["X-Trace-Id"] == trace_id
    trace = store.get(trace_id)
    assert trace is not None and trace.root.parent_id == parent
    for bad in ("00-" + "0" * 32 + "-00f067aa0ba902b7-01", "garbage", "00-xyz-abc-01"):
        other = await http.get("/api/plain", headers={"traceparent": bad})
        assert other.headers["X-Trace-Id"] != trace_id and len(other.headers["X-Trace-Id"]) == 32


async def test_a_runaway_loop_cannot_grow_a_trace_without_bound(
    traced: tuple[httpx.AsyncClient, TraceStore],
) -> None:
    http, store = traced
    trace = store.get((await http.get("/api/many")).headers["X-Trace-Id"])
    assert trace is not None
    assert len(trace.spans) == MAX_SPANS_PER_TRACE + 1 + 2  # kept children, root, gateway, response
    assert trace.warnings == (f"5 spans dropped: over {MAX_SPANS_PER_TRACE} in one trace",)


def nesting_faults(trace: Trace) -> list[str]:
    """Each span that starts before its parent or ends after it, exactly (no rounding slack)."""
    by_id = {s.span_id: s for s in trace.spans}
    faults = []
    for s in trace.spans:
        parent = by_id.get(s.parent_id or "")
        if parent is not None and not (parent.start_us <= s.start_us <= s.end_us <= parent.end_us):
            faults.append(
                f"{s.operation} [{s.start_us}, {s.end_us}] outside {parent.operation} "
                f"[{parent.start_us}, {parent.end_us}]"
            )
    return faults


async def test_no_child_span_ever_lies_outside_its_parent(
    traced: tuple[httpx.AsyncClient, TraceStore],
) -> None:
    # Rounding each span's start and duration to microseconds separately once let "Response" end one
    # microsecond after the root in about one trace in five; 200 traces make a recurrence near certain.
    http, store = traced
    assert isinstance(store, SignallingStore)
    for i in range(200):
        response = await http.get(("/api/plain", "/api/nested", "/api/session")[i % 3])
        assert response.status_code == 200
    assert len(store.versions) >= 200
    faults = [f"{t.trace_id}: {fault}" for t in store.versions for fault in nesting_faults(t)]
    assert faults == []


def test_span_outside_a_trace_is_a_no_op() -> None:
    with span("Nothing", service="x") as handle:
        handle.set_tag("a", 1)
        handle.log("event")


# --- the store -----------------------------------------------------------------------------------


def make_trace(
    trace_id: int, start_us: int, duration_us: int, *, status: int = 200, child_service: str = "user-service"
) -> Trace:
    root = SpanRecord(
        f"{trace_id:016x}",
        None,
        "GET /api/users",
        "api-gateway",
        "server",
        start_us,
        duration_us,
        {"http.status_code": status, "error": status >= 500},
    )
    child = SpanRecord(
        f"{trace_id + 1000:016x}",
        root.span_id,
        "DB Query",
        child_service,
        "internal",
        start_us + 10,
        duration_us // 2,
        {},
        ((start_us + 20, {"event": "cache miss"}),),
    )
    return Trace(f"{trace_id:032x}", (root, child), process_tags={"hostname": "box"})


def test_the_store_keeps_only_the_newest_traces() -> None:
    store = TraceStore(capacity=3)
    for i in range(1, 6):
        store.add(make_trace(i, i * 1_000_000, 1000))
    assert len(store) == 3
    assert store.get(f"{1:032x}") is None
    assert [t.trace_id for t in store.traces()] == [f"{i:032x}" for i in (5, 4, 3)]
    assert store.get("3") is not None and store.get("0" * 31 + "3") is not None
    assert store.get("not-hex") is None and store.get("") is None and store.get("1" * 33) is None


def test_services_and_operations_are_indexed() -> None:
    store = TraceStore()
    store.add(make_trace(1, 1_000_000, 1000))
    store.add(make_trace(2, 2_000_000, 1000, child_service="auth-service"))
    assert store.services() == ["api-gateway", "auth-service", "user-service"]
    assert store.operations("api-gateway") == [("GET /api/users", "server")]
    assert store.operations("user-service", "internal") == [("DB Query", "internal")]
    assert store.operations("user-service", "server") == []
    assert store.operations("nobody") == []


def test_search_follows_jaegers_rules() -> None:
    store = TraceStore()
    store.add(make_trace(1, 1_000_000, 5_000))
    store.add(make_trace(2, 2_000_000, 50_000, status=500))
    store.add(make_trace(3, 3_000_000, 500_000))

    def ids(**kwargs: object) -> list[int]:
        query = TraceQuery(**{"service": "api-gateway", **kwargs})  # type: ignore[arg-type]
        return [int(t.trace_id, 16) for t in store.search(query)]

    assert ids() == [3, 2, 1]
    assert ids(limit=2) == [3, 2]
    assert ids(operation="GET /api/users") == [3, 2, 1]
    assert ids(operation="DB Query") == []  # that operation belongs to another service
    assert ids(service="user-service", operation="DB Query") == [3, 2, 1]
    assert ids(tags={"http.status_code": "500"}) == [2]
    assert ids(tags={"error": "true"}) == [2]
    assert ids(tags={"hostname": "box"}) == [3, 2, 1]  # process tags count
    assert ids(service="user-service", tags={"event": "cache miss"}) == [3, 2, 1]  # log fields count
    assert ids(tags={"http.status_code": "500", "error": "false"}) == []
    assert ids(min_duration_us=10_000) == [3, 2]
    assert ids(max_duration_us=50_000) == [2, 1]
    assert ids(min_duration_us=10_000, max_duration_us=100_000) == [2]
    assert ids(start_us=1_500_000) == [3, 2]
    assert ids(end_us=2_500_000) == [2, 1]
    assert ids(service="nobody") == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ABC", "0" * 29 + "abc"),
        ("4bf92f3577b34da6a3ce929d0e0e4736",) * 2,
        ("x1", None),
        ("1" * 33, None),
        ("", None),
    ],
)
def test_trace_ids_are_normalized(raw: str, expected: str | None) -> None:
    assert normalize_trace_id(raw) == expected
