"""A fake Prometheus for bench/metrics_gui.py, run as its own process, as a real Prometheus is.

``python -m bench._prometheus_server`` listens on a free loopback port, prints ``READY <port>`` on
stdout, and serves until its stdin closes (the benchmark ends or dies). It answers like Prometheus:

- ``query_range?query=bench{panel="N"}&start=..&end=..&step=..``: panel N's matrix over the range asked
  (10 series, a point every ``step`` from ``start`` to ``end``, compact JSON with values as strings),
  so a page that asks for a window's new part gets just that part; the values are a fixed random walk
  per series indexed by the point's time (:func:`series_values`), the same whatever range asks for
  them. The step must be :data:`STEP` and ``start`` on its grid (else 400: a benchmark asking for
  something else is measuring something else);
- ``targets``: one target scraped every :data:`STEP`, so the page's step rule picks :data:`STEP`.

Why a process of its own: served from a thread of the benchmark, writing the 3 MB of a full refresh's
bodies took the GIL from the page's bridge thread and GUI thread, a cost a real, separate Prometheus
never puts on the console. The data is also what the benchmark's bare baseline draws.
"""

from __future__ import annotations

import json
import math
import sys
import threading
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PANELS, SERIES, POINTS = 8, 10, 1_000
END = 1_800_000_000.0
STEP = 5.0
START = END - STEP * (POINTS - 1)
WALK = 4_000  # points of each series' random walk; times beyond it wrap around


def timestamps(start: float = START, end: float = END) -> list[float]:
    return [START + k * STEP for k in _indexes(start, end)]


def _indexes(start: float, end: float) -> range:
    """The grid points (counted from START) of [start, end]."""
    return range(math.ceil((start - START) / STEP - 1e-9), math.floor((end - START) / STEP + 1e-9) + 1)


@lru_cache(maxsize=PANELS * SERIES)
def _walk(panel: int, series: int) -> tuple[list[float], list[str]]:
    """The series' values at grid points 0 to WALK - 1, and each point as JSON: ``[t,"v"]``."""
    import numpy as np

    rng = np.random.default_rng(panel * 100 + series)
    values: list[float] = (np.cumsum(rng.normal(0, 1, WALK)) + 50 + 10 * series).tolist()
    return values, [f'[{START + k * STEP!r},"{v!r}"]' for k, v in enumerate(values)]


def series_values(panel: int, series: int, start: float = START, end: float = END) -> list[float]:
    values = _walk(panel, series)[0]
    return [values[k % WALK] for k in _indexes(start, end)]


def matrix_body(panel: int, start: float = START, end: float = END) -> bytes:
    """Panel ``panel``'s answer for [start, end], shaped and spaced as Prometheus sends it. Its points
    are written once, at startup: a fast server, so the figures are the console's time, not the
    fake's (Prometheus answers such queries from its head block in a millisecond or two)."""
    items = []
    indexes = _indexes(start, end)
    for series in range(SERIES):
        values, pairs = _walk(panel, series)
        if indexes.start >= 0 and indexes.stop <= WALK:
            points = ",".join(pairs[indexes.start : indexes.stop])
        else:
            points = ",".join(f'[{START + k * STEP!r},"{values[k % WALK]!r}"]' for k in indexes)
        metric = json.dumps({"__name__": "bench", "panel": str(panel), "series": f"s{series:02d}"})
        items.append(f'{{"metric":{metric.replace(" ", "")},"values":[{points}]}}')
    return ('{"status":"success","data":{"resultType":"matrix","result":[' + ",".join(items) + "]}}").encode()


def _error(status: int, kind: str, text: str) -> tuple[int, bytes]:
    return status, json.dumps({"status": "error", "errorType": kind, "error": text}).encode()


def answer(path: str, params: dict[str, str]) -> tuple[int, bytes]:
    if path.endswith("/targets"):
        target = {"scrapeInterval": f"{STEP:g}s", "labels": {"job": "bench"}, "health": "up"}
        return 200, json.dumps({"status": "success", "data": {"activeTargets": [target]}}).encode()
    if not path.endswith("/query_range"):
        return _error(404, "not_found", "no")
    query = params.get("query", "")
    try:
        panel = int(query.split('"')[1])
        start, end, step = (float(params[k]) for k in ("start", "end", "step"))
    except (IndexError, KeyError, ValueError):
        return _error(400, "bad_data", f"not a bench query: {params}")
    off_grid = abs((start - START) / STEP - round((start - START) / STEP)) > 1e-6
    if not 0 <= panel < PANELS or step != STEP or off_grid or end < start:
        return _error(400, "bad_data", f"the bench serves step {STEP:g} on its grid, not {params}")
    return 200, matrix_body(panel, start, end)


def _handler() -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real server
        # TCP_NODELAY, as Go's servers (Prometheus) set it: with Nagle's algorithm on, a small body
        # written after its headers waits for the client's delayed ACK (about 40 ms a request).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            status, body = answer(parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()})
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def main() -> None:
    for panel in range(PANELS):
        for series in range(SERIES):
            _walk(panel, series)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler())
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    print(f"READY {httpd.server_address[1]}", flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin (or exits)
    httpd.shutdown()
    httpd.server_close()


if __name__ == "__main__":
    main()
