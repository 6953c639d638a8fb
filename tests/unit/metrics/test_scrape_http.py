"""Scraping over real HTTP: content negotiation, both formats, and endpoint failures as panel messages
while the loop goes on."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from opsconsole.metrics import exposition
from opsconsole.metrics.errors import MetricsError
from opsconsole.metrics.scraper import DirectScraper, ScrapeUpdate
from opsconsole.metrics.transform import ScrapeSpec
from tests.support.stub_http import HOLD, NGINX, StubServer, by_prefix, stub_server

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
ROUTES = {
    "/om": (200, OPENMETRICS, b"# TYPE up gauge\nup 1\n# TYPE reqs counter\nreqs_total 5\n# EOF\n"),
    "/text": (200, "text/plain; version=0.0.4", b"# TYPE up gauge\nup 0\n"),
    "/broken": (200, OPENMETRICS, b"# TYPE up gauge\nup 1\n"),  # no # EOF
    "/html502": (502, "text/html", b"<html><title>502 Bad Gateway</title></html>"),
    "/hang": HOLD,
}


@pytest.fixture(scope="module")
def server() -> Iterator[StubServer]:
    with stub_server(by_prefix(ROUTES), server_header=NGINX) as running:
        yield running


async def test_asks_for_openmetrics_first_and_reads_what_comes(
    server: StubServer, client: httpx.AsyncClient
) -> None:
    server.requests.clear()
    om = {f.name: f for f in await exposition.scrape(client, server.url + "/om")}
    assert [r.headers.get("Accept") for r in server.requests] == [exposition.ACCEPT]
    assert om["reqs"].type == "counter" and om["reqs"].samples[0].name == "reqs_total"
    text = await exposition.scrape(client, server.url + "/text")
    assert [(f.name, f.samples[0].value) for f in text] == [("up", 0.0)]


async def test_endpoint_failures(server: StubServer, client: httpx.AsyncClient) -> None:
    with pytest.raises(MetricsError) as info:
        await exposition.scrape(client, server.url + "/html502")
    assert str(info.value) == (
        "Bad Gateway (HTTP 502), not an answer from the metrics endpoint: "
        "an HTML page (from nginx/1.25.3): 502 Bad Gateway"
    )
    with pytest.raises(MetricsError, match="Not valid OpenMetrics exposition"):
        await exposition.scrape(client, server.url + "/broken")
    with pytest.raises(MetricsError) as info:
        await exposition.scrape(client, server.url + "/hang", limit_s=0.3)
    assert info.value.kind == "timeout"


async def test_the_loop_reports_failures_and_keeps_scraping(
    server: StubServer, client: httpx.AsyncClient
) -> None:
    specs = {"up": ScrapeSpec("up"), "rate": ScrapeSpec("reqs_total", "rate")}
    urls = iter([server.url + "/om", server.url + "/html502", server.url + "/om"])
    scraper = DirectScraper(client, server.url + "/om", specs, interval=0.01)
    updates: list[ScrapeUpdate] = []
    stop = asyncio.Event()

    def on_update(update: ScrapeUpdate) -> None:
        updates.append(update)
        if len(updates) == 3:
            stop.set()
        else:
            scraper.url = next(urls)

    scraper.url = next(urls)
    await scraper.run(on_update, stop)
    assert updates[0].errors == {"up": None, "rate": None} and updates[0].samples == 2
    assert all(e is not None and "HTTP 502" in e for e in updates[1].errors.values())
    assert updates[2].errors == {"up": None, "rate": None}
    _, values = scraper.panels["up"].series[()].ring.arrays()
    assert values.tolist() == [1.0, 1.0]  # the failed scrape left a gap in time, not a bogus point
