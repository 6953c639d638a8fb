"""The metrics core against a real Prometheus (Debian's package) scraping a real sandbox every second:
range queries of request rates after real traffic, label values, metadata, series, alerts, the
error envelope (bad_data, 422), NaN/Inf, the step rule with the server's scrape interval, the
default dashboard in both forms, histogram_quantile compared with Prometheus' own, and incremental
refreshes compared with full queries."""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import AsyncIterator

import httpx
import numpy as np
import pytest

from opsconsole import net
from opsconsole.metrics import dashboard
from opsconsole.metrics.api import PrometheusAPI, QueryResult
from opsconsole.metrics.errors import MetricsError
from opsconsole.metrics.incremental import RangeCache
from opsconsole.metrics.panels import align, fetch_dashboard
from opsconsole.metrics.quantile import bucket_quantile
from opsconsole.metrics.scraper import DirectScraper
from opsconsole.metrics.step import choose_step, expand_variables
from tests.support.prometheus import RunningPrometheus, wait_until


def generate_traffic(prom: RunningPrometheus, rounds: int = 5) -> None:
    """Real requests to the sandbox: 200s, 401s and 404s on known routes."""
    with httpx.Client(base_url=prom.sandbox.url, timeout=10) as http:
        for _ in range(rounds):
            assert http.get("/jwks.json").status_code == 200
            assert http.get("/api/users").status_code == 401
            assert http.get("/no/such/page").status_code == 404


@pytest.fixture(scope="module")
def with_traffic(prometheus: RunningPrometheus) -> RunningPrometheus:
    generate_traffic(prometheus)
    # Prometheus has scraped the new counts (a 1 s scrape interval: a couple of seconds at most).
    wait_until(
        prometheus,
        'http_requests_total{path="/jwks.json", status="200"} >= 5',
        lambda r: len(r) >= 1,
    )
    generate_traffic(prometheus)
    wait_until(prometheus, 'http_requests_total{path="/jwks.json", status="200"} >= 10', bool)
    return prometheus


@pytest.fixture
async def api(prometheus: RunningPrometheus) -> AsyncIterator[PrometheusAPI]:
    async with net.build_client(None) as client:
        yield PrometheusAPI(client, prometheus.url)


async def test_range_query_of_request_rates(with_traffic: RunningPrometheus, api: PrometheusAPI) -> None:
    interval = await api.scrape_interval()
    assert interval == 1.0  # learned from the server's targets
    end = time.time()
    choice = choose_step(120, 600, interval)
    assert choice.step == 1.0 and choice.limited_by == "scrape interval"
    expr = expand_variables(
        "sum by (path, status) (rate(http_requests_total[$__rate_interval]))", choice.step, interval
    )
    assert expr == "sum by (path, status) (rate(http_requests_total[4s]))"
    result = await api.query_range(expr, end - 120, end, choice.step)
    assert result.result_type == "matrix" and result.warnings == []
    by_labels = {(s.labels.get("path"), s.labels.get("status")): s for s in result.series}
    assert {("/jwks.json", "200"), ("/api/users", "401"), ("<unmatched>", "404")} <= set(by_labels)
    openapi = by_labels[("/jwks.json", "200")]
    assert len(openapi) <= choice.points
    assert all(math.isfinite(v) and v >= 0 for v in openapi.values.tolist())
    assert max(openapi.values.tolist()) > 0  # the traffic shows as a rate
    assert all(b - a == pytest.approx(1.0) for a, b in itertools.pairwise(openapi.timestamps))


async def test_label_names_values_metadata_and_series(
    with_traffic: RunningPrometheus, api: PrometheusAPI
) -> None:
    assert {"path", "status", "method", "job", "instance"} <= set(await api.label_names())
    paths = await api.label_values("path")
    assert {"/jwks.json", "/api/users", "<unmatched>"} <= set(paths)
    names = await api.label_values("__name__", limit=5)
    assert len(names) == 5
    scoped = await api.label_values("job", match=['http_requests_total{path="/jwks.json"}'])
    assert scoped == ["sandbox"]
    meta = await api.metadata("http_requests_total")
    (entry,) = next(iter(meta.values()))
    assert entry.type == "counter" and entry.help
    histogram = await api.metadata("http_request_duration_seconds_bucket")
    assert next(iter(histogram.values()))[0].type == "histogram"
    series = await api.series(['http_requests_total{path="/jwks.json"}'])
    assert {s["status"] for s in series} == {"200"}
    assert all(s["job"] == "sandbox" for s in series)


async def test_bad_promql_is_a_bad_data_message(prometheus: RunningPrometheus, api: PrometheusAPI) -> None:
    with pytest.raises(MetricsError) as info:
        await api.query("sum(rate(http_requests_total[5m])")
    error = info.value
    assert (error.kind, error.status, error.exit_code) == ("bad_data", 400, 2)
    assert str(error).startswith("Bad query: 1:")
    assert "parse error" in str(error)


async def test_execution_error_is_a_422_message(prometheus: RunningPrometheus, api: PrometheusAPI) -> None:
    # `up` has two series (sandbox and prometheus) with the same empty match group: many-to-many.
    with pytest.raises(MetricsError) as info:
        await api.query("sum by (job) (up) / on() up")
    error = info.value
    assert (error.kind, error.status) == ("execution", 422)
    assert str(error).startswith("Query failed: found duplicate series for the match group {}")


async def test_too_many_points_is_refused_with_the_servers_words(
    prometheus: RunningPrometheus, api: PrometheusAPI
) -> None:
    end = time.time()
    with pytest.raises(MetricsError) as info:
        await api.query_range("up", end - 7 * 86400, end, 1)
    assert info.value.kind == "bad_data"
    assert "exceeded maximum resolution of 11,000 points per timeseries" in str(info.value)
    # The step rule keeps a panel out of that trouble.
    choice = choose_step(7 * 86400, 1_000_000, 1.0)
    result = await api.query_range("up", end - 7 * 86400, end, choice.step)
    assert choice.points <= 11_000 and result.result_type == "matrix"


async def test_nan_and_infinities_from_the_server(prometheus: RunningPrometheus, api: PrometheusAPI) -> None:
    end = time.time()
    result = await api.query_range(
        'label_replace(vector(0) / 0, "v", "nan", "", "") or label_replace(vector(1) / 0, "v", "inf", "", "")'
        ' or label_replace(vector(-1) / 0, "v", "-inf", "", "")',
        end - 10,
        end,
        5,
    )
    values = {s.labels["v"]: s.values.tolist() for s in result.series}
    assert all(math.isnan(v) for v in values["nan"])
    assert values["inf"] == [math.inf] * len(values["inf"]) and values["-inf"][0] == -math.inf


async def test_empty_result_is_not_an_error(prometheus: RunningPrometheus, api: PrometheusAPI) -> None:
    end = time.time()
    result = await api.query_range('http_requests_total{path="/never"}', end - 60, end, 15)
    assert result.empty and result.warnings == []


async def test_alerts_firing_and_pending(prometheus: RunningPrometheus, api: PrometheusAPI) -> None:
    wait_until(prometheus, 'ALERTS{alertname="TestAlwaysFiring", alertstate="firing"}', bool)
    alerts = {a.name: a for a in await api.alerts()}
    assert alerts["TestAlwaysFiring"].state == "firing"
    assert alerts["TestAlwaysPending"].state == "pending"
    assert alerts["TestAlwaysPending"].labels["severity"] == "critical"
    assert alerts["TestAlwaysFiring"].annotations == {"summary": "fires at once (tests)"}
    assert alerts["TestAlwaysFiring"].value == 1.0


async def test_histogram_quantile_matches_prometheus(
    with_traffic: RunningPrometheus, api: PrometheusAPI
) -> None:
    at = time.time()
    buckets = await api.query("sum by (le) (http_request_duration_seconds_bucket)", at=at)
    pairs = [(float(s.labels["le"]), float(s.values[0])) for s in buckets.series]
    assert len(pairs) > 2
    for q in (0.5, 0.9, 0.99):
        theirs = await api.query(
            f"histogram_quantile({q}, sum by (le) (http_request_duration_seconds_bucket))", at=at
        )
        assert bucket_quantile(q, pairs) == pytest.approx(float(theirs.series[0].values[0]), rel=1e-9)


async def test_the_default_dashboard_in_the_prometheus_form(
    with_traffic: RunningPrometheus, api: PrometheusAPI
) -> None:
    board = dashboard.default()
    end = time.time()
    choice = choose_step(300, 800, 1.0)
    for panel in board.panels:
        for query in panel.queries:
            result = await api.query_range(
                expand_variables(query.expr, choice.step, 1.0), end - 300, end, choice.step
            )
            assert not result.empty, (panel.id, query.expr)
            assert result.warnings == [], (panel.id, query.expr)


async def test_the_default_dashboard_in_the_direct_scrape_form(with_traffic: RunningPrometheus) -> None:
    board = dashboard.default()
    specs = {p.id: p.scrape for p in board.panels if p.scrape is not None}
    async with net.build_client(None) as client:
        scraper = DirectScraper(client, with_traffic.sandbox.url + "/metrics", specs)
        first = await scraper.scrape_once()
        generate_traffic(with_traffic, rounds=3)
        second = await scraper.scrape_once()
    assert first.errors == dict.fromkeys(specs) and second.errors == dict.fromkeys(specs)
    rates = {
        tuple(sorted(s.labels.items())): s.ring.arrays()[1]
        for s in scraper.panels["request_rate"].series.values()
    }
    assert rates[(("path", "/jwks.json"), ("status", "200"))][-1] > 0
    latency = {s.labels["percentile"] for s in scraper.panels["latency"].series.values()}
    assert latency == {"p50", "p95", "p99"}
    for panel_id in ("cpu", "memory", "active_sessions"):
        (series,) = scraper.panels[panel_id].series.values()
        assert len(series.ring) == 2 and math.isfinite(series.ring.arrays()[1][-1])
    assert scraper.panels["memory"].series[()].ring.arrays()[1][-1] > 0


async def test_a_broken_panel_leaves_the_others_updating(
    with_traffic: RunningPrometheus, api: PrometheusAPI
) -> None:
    board = dashboard.default()
    broken = dataclasses.replace(board.panels[0], id="broken", queries=(dashboard.Query("sum(rate(", ""),))
    board = dataclasses.replace(board, panels=(*board.panels, broken))
    end = time.time()
    data = await fetch_dashboard(api, board, end - 300, end, {}, await api.scrape_interval())
    assert data["broken"].error.startswith("Bad query: 1:") and data["broken"].series == []
    for panel in dashboard.default().panels:
        assert data[panel.id].error == "" and data[panel.id].series, panel.id
    names = {s.name for s in data["request_rate"].series}
    assert "/jwks.json 200" in names
    assert {s.name for s in data["latency"].series} == {"p50", "p95", "p99"}


async def test_incremental_refreshes_equal_full_queries_on_real_data(
    with_traffic: RunningPrometheus, api: PrometheusAPI
) -> None:
    # A 15 s window at a 1 s step moving forward through the last half minute, 3 s at a time,
    # ending well before now, so no scrape lands between a refresh and the full query it is checked
    # against. Per-scrape values, a rate that is NaN wherever a handler had no requests, and series
    # that appear as handlers are first hit (this test's own query_range among them).
    wait_until(with_traffic, 'count_over_time(up{job="prometheus"}[1h]) >= 30', bool)  # 30 s of data
    exprs = [
        "scrape_duration_seconds",
        "rate(prometheus_http_requests_total[3s]) / rate(prometheus_http_requests_total[3s])",
        "sum by (path, status) (http_requests_total)",
    ]
    cache = RangeCache(overlap=5.0)
    first_end = math.floor(time.time()) - 18
    last: dict[str, QueryResult] = {}
    for move in range(0, 15, 3):
        start, end = align(first_end + move - 15, first_end + move, 1.0)
        for expr in exprs:
            last[expr] = got = await cache.query_range(api, expr, expr, start, end, 1.0, span=15.0)
            want = await api.query_range(expr, start, end, 1.0)
            assert [s.labels for s in got.series] == [s.labels for s in want.series], expr
            for mine, full in zip(got.series, want.series, strict=True):
                np.testing.assert_array_equal(mine.timestamps, full.timestamps)
                np.testing.assert_array_equal(mine.values, full.values)
    assert cache.full_queries == len(exprs) and cache.partial_queries == 4 * len(exprs)
    # Real data in every case (points that slid out on the left too): points kept from earlier
    # answers, NaN among them, several series.
    # (The last window's new part is at most 8 points: the 5 s overlap and the 3 s moved.)
    assert all(max(len(s) for s in result.series) > 10 for result in last.values())
    assert any(np.isnan(s.values).any() for s in last[exprs[1]].series)
    assert len(last[exprs[2]].series) >= 3
