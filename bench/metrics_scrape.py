"""Direct-scrape mode: a ~10 MB exposition scraped into chart data, against the bare parse.

Setup: a Prometheus text exposition (format 0.0.4) of about 10 MB shaped like a busy instance of the
sandbox: ``http_requests_total`` and ``http_request_duration_seconds`` over 300 route templates, three
methods and five statuses (histograms with the sandbox's 13 buckets), plus 110 unrelated families of
1,000 series each (what a large exporter adds): 9.5 MB, 128,904 samples. Each scrape has higher counter values than the last.

Result (milliseconds, lower is better; each the median of REPEATS alternated runs):
- ``metrics_scrape.text_10mb``: ``DirectScraper.ingest`` for the default dashboard's seven panels in
  their direct-scrape form: decode, parse with prometheus_client, then rates by path and status, the
  5xx ratio, p50/p95/p99 from the buckets, gauges, into the ring buffers (after a first scrape, so
  every rate and quantile is computed). Baseline: ``prometheus_client.parser.
  text_string_to_metric_families`` over the same bytes, decoded and consumed, nothing else.
  Target: ratio at most 1.5.
  Only the panels' families go to the parser (``exposition.select_families``, a line scan), which is
  why this is faster than the bare parse of everything.
- ``metrics_scrape.text_10mb_all_families``: the same with that selection off (every family parsed,
  then transformed): what the transform itself adds to a full parse.
- ``metrics_scrape.openmetrics_10mb``: as the first, in OpenMetrics (content negotiation picks it
  when the endpoint offers it); baseline prometheus_client's OpenMetrics parser.

Run: `.venv/bin/python -m bench metrics_scrape`.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from opsconsole.metrics import dashboard
from opsconsole.metrics.scraper import DirectScraper

REPEATS = 3
PATHS = 300
METHODS = ("GET", "POST", "DELETE")
STATUSES = ("200", "201", "404", "429", "503")
BUCKETS = (
    "0.001",
    "0.0025",
    "0.005",
    "0.01",
    "0.025",
    "0.05",
    "0.1",
    "0.25",
    "0.5",
    "1.0",
    "2.5",
    "5.0",
    "10.0",
    "+Inf",
)
NOISE_FAMILIES = 110
NOISE_SERIES = 1000


def exposition(scrape: int, openmetrics: bool = False) -> bytes:
    """The exposition at the ``scrape``-th scrape (counters grow with it)."""
    k = scrape + 1
    out: list[str] = []
    add = out.append
    requests = "http_requests" if openmetrics else "http_requests_total"  # OpenMetrics names the family
    add(f"# HELP {requests} Requests answered, by method, route template and status.")
    add(f"# TYPE {requests} counter")
    for p in range(PATHS):
        for method in METHODS:
            for s, status in enumerate(STATUSES):
                add(
                    f'http_requests_total{{method="{method}",path="/api/v1/resource_{p}/{{id}}",status="{status}"}} {k * (p + s + 1) * 7.0}'
                )
    add("# HELP http_request_duration_seconds Time to answer, by method and route template.")
    add("# TYPE http_request_duration_seconds histogram")
    for p in range(PATHS):
        for method in METHODS:
            labels = f'method="{method}",path="/api/v1/resource_{p}/{{id}}"'
            for b, le in enumerate(BUCKETS):
                add(f'http_request_duration_seconds_bucket{{{labels},le="{le}"}} {k * (b + 1) * 3.0}')
            add(f"http_request_duration_seconds_count{{{labels}}} {k * len(BUCKETS) * 3.0}")
            add(f"http_request_duration_seconds_sum{{{labels}}} {k * 1.25}")
    for name, value in (
        ("active_sessions", 42),
        ("system_cpu_percent", 37.5),
        ("system_memory_bytes", 2.5e9),
    ):
        add(f"# TYPE {name} gauge")
        add(f"{name} {value}")
    add("# TYPE user_registrations_total counter" if not openmetrics else "# TYPE user_registrations counter")
    add(f"user_registrations_total {k * 11.0}")
    for f in range(NOISE_FAMILIES):
        add(f"# HELP exporter_metric_{f} An unrelated gauge of a large exporter.")
        add(f"# TYPE exporter_metric_{f} gauge")
        for i in range(NOISE_SERIES):
            add(f'exporter_metric_{f}{{device="sd{i}",mountpoint="/srv/volume_{i}"}} {i * 1.5 + k}')
    if openmetrics:
        add("# EOF")
    return ("\n".join(out) + "\n").encode()


def _timed(action: Callable[[], Any]) -> float:
    gc.collect()
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def _result(name: str, value: float, baseline: float, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "value": round(value, 1),
        "unit": "ms",
        "baseline": round(baseline, 1),
        "ratio": round(value / baseline, 3),
        **extra,
    }


def _measure(openmetrics: bool, select: bool = True) -> dict[str, Any]:
    content_type = (
        "application/openmetrics-text; version=1.0.0" if openmetrics else "text/plain; version=0.0.4"
    )
    parse = parse_openmetrics if openmetrics else parse_text
    bodies = [exposition(i, openmetrics) for i in range(REPEATS + 1)]
    board = dashboard.default()
    specs = {p.id: p.scrape for p in board.panels if p.scrape is not None}
    scraper = DirectScraper(None, "http://bench", specs, select_families=select)  # type: ignore[arg-type]
    first = scraper.ingest(bodies[0], content_type, 0.0)
    assert all(error is None for error in first.errors.values()), first.errors
    ours: list[float] = []
    bare: list[float] = []
    for i, body in enumerate(bodies[1:], start=1):
        # Alternated, so both see the same machine load.
        bare.append(_timed(lambda body=body: list(parse(body.decode("utf-8")))))
        ours.append(_timed(lambda body=body, i=i: scraper.ingest(body, content_type, 5.0 * i)))
    series = sum(len(panel.series) for panel in scraper.panels.values())
    assert series > PATHS, "every path and status should be charted"
    fmt = "openmetrics" if openmetrics else "text"
    return _result(
        f"metrics_scrape.{fmt}_10mb" + ("" if select else "_all_families"),
        statistics.median(ours),
        statistics.median(bare),
        {"bytes": len(bodies[0]), "samples_parsed": first.samples, "charted_series": series},
    )


def run() -> list[dict[str, Any]]:
    return [
        _measure(openmetrics=False),
        _measure(openmetrics=False, select=False),
        _measure(openmetrics=True),
    ]


if __name__ == "__main__":
    import json

    for row in run():
        print(json.dumps(row))
