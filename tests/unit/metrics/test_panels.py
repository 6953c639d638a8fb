"""Panel data: per-panel messages while the other panels keep their data, legends, step warnings."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from opsconsole.metrics import dashboard
from opsconsole.metrics.api import PrometheusAPI
from opsconsole.metrics.dashboard import Layout, Panel, Query
from opsconsole.metrics.panels import (
    NamedSeries,
    fetch_dashboard,
    fetch_panel,
    finite_range,
    from_scraper,
    scraper_for,
    step_warning,
)
from opsconsole.metrics.step import choose_step
from tests.support.stub_http import StubServer, by_prefix, stub_server

MATRIX = {
    "status": "success",
    "data": {
        "resultType": "matrix",
        "result": [
            {"metric": {"path": "/a", "status": "200"}, "values": [[0, "1"], [15, "NaN"], [30, "+Inf"]]}
        ],
    },
    "warnings": ["careful"],
}
ROUTES = {
    "/api/v1/query_range?query=good": (200, "application/json", json.dumps(MATRIX).encode()),
    "/api/v1/query_range?query=bad": (
        400,
        "application/json",
        b'{"status":"error","errorType":"bad_data","error":"1:4: parse error: unexpected end of input"}',
    ),
    "/api/v1/query_range?query=proxy": (502, "text/html", b"<title>502 Bad Gateway</title>"),
}


@pytest.fixture(scope="module")
def server() -> Iterator[StubServer]:
    with stub_server(by_prefix(ROUTES)) as running:
        yield running


def panel(panel_id: str, *exprs: str, legend: str = "{{path}} {{status}}") -> Panel:
    return Panel(panel_id, panel_id, Layout(0, 0, 1, 1), queries=tuple(Query(e, legend) for e in exprs))


async def test_each_panel_gets_its_data_or_its_message(server: StubServer, client: httpx.AsyncClient) -> None:
    board = dashboard.Dashboard(
        "t",
        (
            panel("ok", "good"),
            panel("syntax", "bad"),
            panel("gateway", "proxy"),
            panel("half", "good", "bad"),
        ),
    )
    api = PrometheusAPI(client, server.url)
    data = await fetch_dashboard(api, board, 0, 30, {"ok": 2}, scrape_interval=15)
    ok = data["ok"]
    assert ok.error == "" and ok.warnings == ["careful"] and ok.points == 3
    (series,) = ok.series
    assert series.name == "/a 200"
    assert math.isnan(series.values[1]) and series.values[2] == math.inf
    assert ok.step is not None and ok.step.step == 15.0
    assert (
        data["syntax"].series == []
        and data["syntax"].error == "Bad query: 1:4: parse error: unexpected end of input"
    )
    assert data["gateway"].error.startswith("Bad Gateway (HTTP 502), not an answer from Prometheus")
    assert len(data["half"].series) == 1 and data["half"].error.startswith("Bad query")


async def test_one_message_when_every_query_fails_alike(client: httpx.AsyncClient) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        api = PrometheusAPI(client, f"http://127.0.0.1:{sock.getsockname()[1]}")
        data = await fetch_panel(api, panel("p", "a", "b", "c"), 0, 60, 100, None)
    assert data.error.count("Could not connect") == 1


def test_step_warning_when_the_step_hides_spikes() -> None:
    assert step_warning(choose_step(3600, 800, 1)) == ""  # 5 s steps on 1 s scrapes
    warning = step_warning(choose_step(7 * 86400, 800, 15))
    assert warning.startswith("step 15m is 60x the scrape interval (15s): spikes shorter than the step")


def test_direct_scrape_panels_with_legends() -> None:
    board = dashboard.default()
    scraper = scraper_for(None, "http://unused", board, capacity=4)  # type: ignore[arg-type]
    assert scraper.interval == 5.0 and set(scraper.panels) == {p.id for p in board.panels}
    body = b"system_cpu_percent 12.5\nsystem_memory_bytes 2048\n"
    update = scraper.ingest(body, "text/plain", 0.0)
    data = from_scraper(scraper, board, update.errors)
    assert [s.name for s in data["cpu"].series] == ["cpu"] and data["cpu"].series[0].values.tolist() == [12.5]
    assert data["memory"].series[0].name == "used"
    assert data["latency"].error == "http_request_duration_seconds is not in this scrape"
    assert data["latency"].series == []


def test_finite_range_ignores_nan_and_infinities() -> None:
    def s(*values: float) -> NamedSeries:
        return NamedSeries("x", {}, np.arange(len(values), dtype=float), np.array(values, dtype=float))

    assert finite_range([s(1.0, math.nan, 5.0), s(math.inf, -2.0)]) == (-2.0, 5.0)
    assert finite_range([s(math.nan)]) is None
