"""Metrics: route-template labels, bounded cardinality, real durations and system figures, one registry per app."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import psutil
import pytest
from fastapi import FastAPI, WebSocket
from fastapi.responses import StreamingResponse
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from opsconsole.sandbox import telemetry
from opsconsole.sandbox.server import RunningSandbox
from opsconsole.sandbox.telemetry import OTHER_METHOD, UNMATCHED, Metrics
from tests.sandbox.live_support import serve
from tests.support.sandbox import ADMIN, bearer, obtain_tokens


def make_app(metrics: Metrics) -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    def get_item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.post("/items")
    def create_item() -> dict[str, str]:
        metrics.user_registrations.inc()
        return {"ok": "yes"}

    @app.get("/slow")
    def slow() -> dict[str, str]:
        time.sleep(0.05)
        return {}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("kaboom")

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(3):
                await asyncio.sleep(0.03)
                yield b"chunk\n"

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.websocket("/ws")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())
        await websocket.close()

    sub = FastAPI()

    @sub.get("/things/{name}")
    def thing(name: str) -> dict[str, str]:
        return {"name": name}

    app.mount("/sub", sub)
    app.state.metrics = metrics
    app.include_router(telemetry.router)
    app.add_middleware(telemetry.MetricsMiddleware)
    return app


@pytest.fixture
async def client() -> AsyncIterator[tuple[httpx.AsyncClient, Metrics]]:
    metrics = Metrics()
    async with serve(make_app(metrics)) as base, httpx.AsyncClient(base_url=base, timeout=10) as http:
        yield http, metrics


def samples(text: str) -> Iterator[tuple[str, dict[str, str], float]]:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            yield s.name, s.labels, s.value


def value(text: str, name: str, **labels: str) -> float | None:
    for sample_name, sample_labels, sample_value in samples(text):
        if sample_name == name and sample_labels == labels:
            return sample_value
    return None


async def scrape(http: httpx.AsyncClient) -> str:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_requests_are_counted_by_route_template(client: tuple[httpx.AsyncClient, Metrics]) -> None:
    http, _ = client
    for item in (1, 2, 3):
        assert (await http.get(f"/items/{item}")).status_code == 200
    assert (await http.get("/items/not-a-number")).status_code == 422
    assert (await http.get("/sub/things/alpha")).status_code == 200
    text = await scrape(http)
    assert value(text, "http_requests_total", method="GET", path="/items/{item_id}", status="200") == 3
    assert value(text, "http_requests_total", method="GET", path="/items/{item_id}", status="422") == 1
    assert value(text, "http_requests_total", method="GET", path="/sub/things/{name}", status="200") == 1
    assert value(text, "http_request_duration_seconds_count", method="GET", path="/items/{item_id}") == 4
    assert not any("/items/1" in labels.get("path", "") for _, labels, _ in samples(text))


async def test_a_scanner_cannot_create_series(client: tuple[httpx.AsyncClient, Metrics]) -> None:
    http, _ = client
    for _ in range(50):
        await http.get(f"/{uuid.uuid4().hex}/admin.php")
    await http.request("PROPFIND", "/items/1")
    await http.request("PURGE", f"/{uuid.uuid4().hex}")
    text = await scrape(http)
    assert value(text, "http_requests_total", method="GET", path=UNMATCHED, status="404") == 50
    assert value(text, "http_requests_total", method=OTHER_METHOD, path="/items/{item_id}", status="405") == 1
    assert value(text, "http_requests_total", method=OTHER_METHOD, path=UNMATCHED, status="404") == 1
    paths = {labels["path"] for name, labels, _ in samples(text) if name == "http_requests_total"}
    assert paths == {"/items/{item_id}", UNMATCHED}


async def test_durations_are_real_and_cover_streamed_bodies(
    client: tuple[httpx.AsyncClient, Metrics],
) -> None:
    http, _ = client
    await http.get("/slow")
    streamed = await http.get("/stream")
    assert streamed.text == "chunk\n" * 3
    text = await scrape(http)
    slow = value(text, "http_request_duration_seconds_sum", method="GET", path="/slow")
    stream = value(text, "http_request_duration_seconds_sum", method="GET", path="/stream")
    assert slow is not None and slow >= 0.05
    # The three chunks are 30 ms apart: the clock stops at the last one, not at the headers.
    assert stream is not None and stream >= 0.09
    assert value(text, "http_request_duration_seconds_bucket", method="GET", path="/slow", le="0.01") == 0
    assert value(text, "http_request_duration_seconds_bucket", method="GET", path="/slow", le="+Inf") == 1


async def test_an_exception_is_counted_as_500(client: tuple[httpx.AsyncClient, Metrics]) -> None:
    http, _ = client
    assert (await http.get("/boom")).status_code == 500
    text = await scrape(http)
    assert value(text, "http_requests_total", method="GET", path="/boom", status="500") == 1


async def test_websockets_pass_through_uncounted(client: tuple[httpx.AsyncClient, Metrics]) -> None:
    http, _ = client
    async with connect(str(http.base_url).replace("http://", "ws://") + "/ws") as ws:
        await ws.send("hello")
        assert await ws.recv() == "hello"
    text = await scrape(http)
    assert not any(labels.get("path") == "/ws" for _, labels, _ in samples(text))


async def test_system_figures_are_real(client: tuple[httpx.AsyncClient, Metrics]) -> None:
    http, _ = client
    await scrape(http)
    # Keep a core busy between two scrapes so the CPU figure has something to measure.
    deadline = time.perf_counter() + 0.2
    while time.perf_counter() < deadline:
        pass
    text = await scrape(http)
    cpu = value(text, "system_cpu_percent")
    memory = value(text, "system_memory_bytes")
    total = value(text, "system_memory_total_bytes")
    assert cpu is not None and 0.0 < cpu <= 100.0
    assert total == psutil.virtual_memory().total
    assert memory is not None and 0 < memory < total
    resident = value(text, "process_resident_memory_bytes")
    assert resident is not None and resident > 10_000_000


async def test_user_registrations_and_active_sessions(client: tuple[httpx.AsyncClient, Metrics]) -> None:
    http, metrics = client
    text = await scrape(http)
    assert value(text, "user_registrations_total") == 0
    assert value(text, "active_sessions") is None  # no source registered: the series is left out
    await http.post("/items")
    await http.post("/items")
    metrics.set_active_sessions_source(lambda: 7)
    text = await scrape(http)
    assert value(text, "user_registrations_total") == 2
    assert value(text, "active_sessions") == 7


async def test_a_failing_session_source_does_not_fail_the_scrape(
    client: tuple[httpx.AsyncClient, Metrics], caplog: pytest.LogCaptureFixture
) -> None:
    http, metrics = client

    def broken() -> float:
        raise OSError("database is gone")

    metrics.set_active_sessions_source(broken)
    text = await scrape(http)
    assert value(text, "active_sessions") is None
    assert value(text, "system_memory_bytes") is not None
    assert "active_sessions could not be read" in caplog.text


async def test_openmetrics_on_request(client: tuple[httpx.AsyncClient, Metrics]) -> None:
    http, _ = client
    response = await http.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


async def test_two_apps_in_one_process_keep_separate_registries() -> None:
    first, second = Metrics(), Metrics()
    async with (
        serve(make_app(first)) as base_a,
        serve(make_app(second)) as base_b,
        httpx.AsyncClient(timeout=10) as http,
    ):
        await http.get(f"{base_a}/items/1")
        await http.get(f"{base_a}/items/2")
        await http.get(f"{base_b}/items/1")
        text_a = (await http.get(f"{base_a}/metrics")).text
        text_b = (await http.get(f"{base_b}/metrics")).text
    labels = {"method": "GET", "path": "/items/{item_id}", "status": "200"}
    assert value(text_a, "http_requests_total", **labels) == 2
    assert value(text_b, "http_requests_total", **labels) == 1


def test_the_session_source_can_be_given_at_construction() -> None:
    body, content_type = Metrics(active_sessions=lambda: 3).render()
    assert content_type.startswith("text/plain")
    assert value(body.decode(), "active_sessions") == 3


async def test_the_sandbox_metrics_follow_real_api_traffic(sandbox: RunningSandbox) -> None:
    tokens = await asyncio.to_thread(obtain_tokens, sandbox.url, ADMIN)
    async with httpx.AsyncClient(base_url=sandbox.url, headers=bearer(tokens), timeout=15) as http:
        page = (await http.get("/api/users", params={"limit": 5})).json()
        for user in page["items"][:2]:
            assert (await http.get(f"/api/users/{user['id']}")).status_code == 200
        created = await http.post("/api/users", json={"email": "metrics@example.test", "name": "Metrics"})
        assert created.status_code == 201
        await http.get(f"/api/{uuid.uuid4().hex}")
        text = await scrape(http)
    assert value(text, "http_requests_total", method="GET", path="/api/users", status="200") == 1
    assert value(text, "http_requests_total", method="GET", path="/api/users/{user_id}", status="200") == 2
    assert value(text, "http_requests_total", method="POST", path="/api/users", status="201") == 1
    assert value(text, "http_requests_total", method="GET", path=UNMATCHED, status="404") == 1
    assert value(text, "user_registrations_total") == 1
    sessions = value(text, "active_sessions")
    assert sessions is not None and sessions >= 1
    assert value(text, "system_memory_bytes") is not None
    assert value(text, "system_cpu_percent") is not None
