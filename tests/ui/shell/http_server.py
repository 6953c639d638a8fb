"""A real HTTP server on 127.0.0.1 for the Qt tests: a few fixed routes, one that never answers.

Routes: ``/ok`` (JSON), ``/problem`` (an RFC 9457 404), ``/proxy-error`` (a proxy's HTML 502) and
``/hang`` (accepts the request, then holds the connection until the server stops). ``hang_started``
is set when a ``/hang`` request has arrived, so a test can wait for the request to be in flight.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class RunningServer:
    url: str
    hang_started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@contextmanager
def http_server() -> Iterator[RunningServer]:
    state: dict[str, RunningServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _send(self, status: int, content_type: str, body: bytes, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            server = state["server"]
            if self.path == "/ok":
                self._send(200, "application/json", json.dumps({"users": 3}).encode())
            elif self.path == "/problem":
                problem = {
                    "type": "https://example.com/problems/not-found",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "No user with id 42",
                }
                self._send(
                    404, "application/problem+json", json.dumps(problem).encode(), X_Request_ID="req-42"
                )
            elif self.path == "/proxy-error":
                page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
                self._send(502, "text/html", page)
            elif self.path == "/hang":
                server.hang_started.set()
                server.release.wait(timeout=30)
            else:
                self._send(404, "text/plain", b"no such route")

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    host, port = httpd.server_address[:2]
    running = RunningServer(url=f"http://{host!s}:{port}")
    state["server"] = running
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="test-http-server", daemon=True
    )
    thread.start()
    try:
        yield running
    finally:
        running.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)
