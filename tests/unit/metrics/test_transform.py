"""Direct-scrape mode: counters as rates (resets included), gauges, quantiles, ratios, ring buffers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from opsconsole.metrics.quantile import bucket_quantile
from opsconsole.metrics.ring import Ring
from opsconsole.metrics.scraper import DirectScraper
from opsconsole.metrics.transform import ScrapeSpec

INF = math.inf


def exposition(
    requests: dict[tuple[str, str], float], buckets: dict[float, float] | None = None, cpu: float = 0
) -> bytes:
    lines = ["# HELP http_requests_total Requests.", "# TYPE http_requests_total counter"]
    for (path, status), value in requests.items():
        for method in ("GET", "POST"):
            lines.append(f'http_requests_total{{method="{method}",path="{path}",status="{status}"}} {value}')
    lines += ["# TYPE system_cpu_percent gauge", f"system_cpu_percent {cpu}"]
    if buckets is not None:
        lines.append("# TYPE http_request_duration_seconds histogram")
        for bound, count in buckets.items():
            le = "+Inf" if bound == INF else repr(bound)
            lines.append(f'http_request_duration_seconds_bucket{{path="/a",le="{le}"}} {count}')
        lines.append(f'http_request_duration_seconds_count{{path="/a"}} {buckets[INF]}')
        lines.append('http_request_duration_seconds_sum{path="/a"} 1.0')
    return ("\n".join(lines) + "\n").encode()


def scraper(**specs: ScrapeSpec) -> DirectScraper:
    return DirectScraper(None, "http://unused", specs, capacity=8)  # type: ignore[arg-type]


def series(s: DirectScraper, panel: str) -> dict[tuple[tuple[str, str], ...], list[float]]:
    return {key: buf.ring.arrays()[1].tolist() for key, buf in s.panels[panel].series.items()}


def test_counter_rates_summed_by_labels() -> None:
    s = scraper(rate=ScrapeSpec("http_requests_total", "rate", by=("path", "status")))
    assert s.ingest(exposition({("/a", "200"): 10, ("/a", "500"): 1}), "text/plain", 100.0).errors == {
        "rate": None
    }
    assert series(s, "rate") == {}  # one scrape is no rate yet
    s.ingest(exposition({("/a", "200"): 30, ("/a", "500"): 1}), "text/plain", 110.0)
    # Two methods each went 10 -> 30 in 10 s: 2/s each, 4/s for the path and status.
    assert series(s, "rate") == {
        (("path", "/a"), ("status", "200")): [4.0],
        (("path", "/a"), ("status", "500")): [0.0],
    }


def test_counter_reset_counts_the_new_value_as_the_increase() -> None:
    s = scraper(rate=ScrapeSpec("http_requests_total", "rate", by=()))
    s.ingest(exposition({("/a", "200"): 100}), "text/plain", 0.0)
    s.ingest(exposition({("/a", "200"): 5}), "text/plain", 10.0)  # the process restarted
    s.ingest(exposition({("/a", "200"): 25}), "text/plain", 20.0)
    # After the reset: +5 per method in 10 s (not -95), then +20 per method.
    assert series(s, "rate") == {(): [1.0, 4.0]}


def test_a_nan_counter_value_is_a_gap_not_a_poisoned_series() -> None:
    s = scraper(rate=ScrapeSpec("http_requests_total", "rate", by=()))
    for t, v in ((0, 10), (10, math.nan), (20, 30)):
        s.ingest(exposition({("/a", "200"): v}), "text/plain", float(t))
    # NaN skipped; 10 -> 30 over 20 s per method, two methods.
    assert series(s, "rate") == {(): [2.0]}


def test_rate_over_a_window() -> None:
    s = scraper(rate=ScrapeSpec("http_requests_total", "rate", by=(), window=20.0))
    for t, v in ((0, 0), (10, 10), (20, 40), (30, 50)):
        s.ingest(exposition({("/a", "200"): v}), "text/plain", float(t))
    # Per method: 10 -> 1/s over 10 s; 40 over 20 s -> 2/s; (50 - 10) over 20 s -> 2/s. Two methods.
    assert series(s, "rate") == {(): [2.0, 4.0, 4.0]}


def test_error_ratio_and_scale() -> None:
    spec = ScrapeSpec(
        "http_requests_total", "rate", match={"status": "5.."}, by=(), denominator={}, scale=100
    )
    s = scraper(ratio=spec)
    s.ingest(exposition({("/a", "200"): 0, ("/a", "503"): 0}), "text/plain", 0.0)
    s.ingest(exposition({("/a", "200"): 90, ("/a", "503"): 10}), "text/plain", 10.0)
    s.ingest(exposition({("/a", "200"): 90, ("/a", "503"): 10}), "text/plain", 20.0)  # no traffic: 0/0
    values = series(s, "ratio")[()]
    assert values[0] == pytest.approx(10.0)
    assert math.isnan(values[1])  # no requests at all is a gap, not 0 %


def test_ratio_is_zero_without_any_matching_errors() -> None:
    spec = ScrapeSpec(
        "http_requests_total", "rate", match={"status": "5.."}, by=(), denominator={}, scale=100
    )
    s = scraper(ratio=spec)
    s.ingest(exposition({("/a", "200"): 0}), "text/plain", 0.0)
    s.ingest(exposition({("/a", "200"): 50}), "text/plain", 10.0)
    assert series(s, "ratio") == {(): [0.0]}


def test_gauges_and_a_missing_metric_is_a_panel_message() -> None:
    s = scraper(cpu=ScrapeSpec("system_cpu_percent"), gone=ScrapeSpec("no_such_metric"))
    update = s.ingest(exposition({}, cpu=42.5), "text/plain", 1.0)
    assert update.errors == {"cpu": None, "gone": "no_such_metric is not in this scrape"}
    assert series(s, "cpu") == {(): [42.5]}


def test_histogram_quantiles_from_bucket_increases() -> None:
    spec = ScrapeSpec("http_request_duration_seconds", "quantile", by=(), quantiles=(0.5, 0.9))
    s = scraper(lat=spec)
    first = {0.1: 100.0, 0.2: 200.0, 0.5: 300.0, 1.0: 400.0, INF: 400.0}
    # Between scrapes: 10 in (0, 0.1], 10 in (0.1, 0.2], 0, 10 in (0.5, 1], 10 above 1 s.
    second = {0.1: 110.0, 0.2: 220.0, 0.5: 320.0, 1.0: 330.0 + 100, INF: 440.0}
    s.ingest(exposition({}, first), "text/plain", 0.0)
    s.ingest(exposition({}, second), "text/plain", 10.0)
    increases = [(b, (second[b] - first[b]) / 10) for b in first]
    got = series(s, "lat")
    assert got[(("quantile", "0.5"), ("percentile", "p50"))] == [
        pytest.approx(bucket_quantile(0.5, increases))
    ]
    assert got[(("quantile", "0.9"), ("percentile", "p90"))] == [
        pytest.approx(bucket_quantile(0.9, increases))
    ]


def test_a_failed_parse_is_every_panels_message() -> None:
    s = scraper(cpu=ScrapeSpec("system_cpu_percent"), up=ScrapeSpec("up"))
    update = s.ingest(b'up 1\nsystem_cpu_percent{a="unterminated} 1\n', "text/plain", 0.0)
    assert update.errors["cpu"] is not None and "Prometheus text" in update.errors["cpu"]
    assert update.errors["up"] == update.errors["cpu"]


def test_only_the_panels_families_are_parsed() -> None:
    # A broken family no panel shows does not cost the panels their data (nor its parse time).
    s = scraper(cpu=ScrapeSpec("system_cpu_percent"))
    update = s.ingest(b'x{a="unterminated} 1\nsystem_cpu_percent 12\n', "text/plain", 0.0)
    assert update.errors == {"cpu": None} and update.samples == 1
    assert series(s, "cpu") == {(): [12.0]}


def test_series_that_disappear_forget_their_counter_state() -> None:
    s = scraper(rate=ScrapeSpec("http_requests_total", "rate", by=("path",)))
    s.ingest(exposition({("/a", "200"): 10, ("/b", "200"): 10}), "text/plain", 0.0)
    s.ingest(exposition({("/a", "200"): 20}), "text/plain", 10.0)
    assert len(s.panels["rate"]._counters) == 2  # /a's two methods only
    s.ingest(exposition({("/a", "200"): 30, ("/b", "200"): 50}), "text/plain", 20.0)
    # /b came back: a new series again, no rate against its value of 20 s ago.
    assert (("path", "/b"),) not in series(s, "rate")


def test_series_gone_for_a_whole_buffer_are_dropped() -> None:
    s = scraper(cpu=ScrapeSpec("system_cpu_percent", by=("host",)))
    s.ingest(b'system_cpu_percent{host="old"} 1\n', "text/plain", 0.0)
    for t in range(1, 8):
        s.ingest(b'system_cpu_percent{host="new"} 1\n', "text/plain", float(t))
    assert (("host", "old"),) in series(s, "cpu")  # 7 scrapes without it: still on the chart (8 points)
    s.ingest(b'system_cpu_percent{host="new"} 1\n', "text/plain", 8.0)
    assert set(series(s, "cpu")) == {(("host", "new"),)}


def test_ring_keeps_the_last_points_in_order() -> None:
    ring = Ring(3)
    assert ring.last() is None
    for i in range(5):
        ring.append(float(i), float(i * 10))
    t, v = ring.arrays()
    assert t.tolist() == [2.0, 3.0, 4.0] and v.tolist() == [20.0, 30.0, 40.0]
    assert t.flags["C_CONTIGUOUS"] and t.dtype == np.float64
    assert ring.last() == (4.0, 40.0) and len(ring) == 3
    with pytest.raises(ValueError):
        Ring(0)
