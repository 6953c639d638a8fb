"""A fake Prometheus for bench/metrics_gui.py, run as its own process, as a real Prometheus is.

``python -m bench._prometheus_server`` prepares every panel's range-query answer (8 panels x 10 series
x 1,000 points, compact JSON as Prometheus writes it), listens on a free loopback port, prints
``READY <port>`` on stdout, and serves until its stdin closes (the benchmark ends or dies).
``query_range?query=bench{panel="N"}`` gets panel N's matrix; anything else a 400 or a 404.

Why a process of its own: served from a thread of the benchmark, writing these 3 MB of bodies took
the GIL from the page's bridge thread and GUI thread, a cost a real, separate Prometheus never puts
on the console. The data is also what the benchmark's bare baseline draws (:func:`series_values`).
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PANELS, SERIES, POINTS = 8, 10, 1_000
END = 1_800_000_000.0
STEP = 3.0
START = END - STEP * (POINTS - 1)


def timestamps() -> list[float]:
    return [START + i * STEP for i in range(POINTS)]


def series_values(panel: int, series: int) -> list[float]:
    import numpy as np

    rng = np.random.default_rng(panel * 100 + series)
    values: list[float] = (np.cumsum(rng.normal(0, 1, POINTS)) + 50 + 10 * series).tolist()
    return values


def matrix_body(panel: int) -> bytes:
    """Panel ``panel``'s answer, shaped and spaced as Prometheus sends it (values as strings)."""
    result = [
        {
            "metric": {"__name__": "bench", "panel": str(panel), "series": f"s{series:02d}"},
            "values": [[t, repr(v)] for t, v in zip(timestamps(), series_values(panel, series), strict=True)],
        }
        for series in range(SERIES)
    ]
    body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    return json.dumps(body, separators=(",", ":")).encode()


def _handler(bodies: dict[str, bytes]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real server

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query).get("query", [""])[0]
            if parts.path.endswith("/query_range"):
                body = bodies.get(query.split('"')[1] if '"' in query else "", b"")
                status = 200 if body else 400
            else:
                body, status = b'{"status":"error","errorType":"not_found","error":"no"}', 404
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def main() -> None:
    bodies = {str(p): matrix_body(p) for p in range(PANELS)}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(bodies))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    print(f"READY {httpd.server_address[1]}", flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin (or exits)
    httpd.shutdown()
    httpd.server_close()


if __name__ == "__main__":
    main()
