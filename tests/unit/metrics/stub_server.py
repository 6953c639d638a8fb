"""A real HTTP server on 127.0.0.1 that answers the way misbehaving Prometheus setups do.

Each route is ``path -> (status, content type, body)``; a request for a path that starts with a
route's key gets that answer (so ``/html502`` serves ``/html502/api/v1/query_range`` too). ``/hang``
holds the request until the server stops. ``requests`` records (method, path, body) of each request, ``accept`` its Accept header.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Answer = tuple[int, str, bytes]


@dataclass
class StubServer:
    url: str
    routes: dict[str, Answer]
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)
    accept: list[str] = field(default_factory=list)  # the Accept header of each request
    release: threading.Event = field(default_factory=threading.Event)


@contextmanager
def stub_server(routes: dict[str, Answer]) -> Iterator[StubServer]:
    state: dict[str, StubServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def version_string(self) -> str:
            return "nginx/1.25.3"  # the Server header: as if a proxy answered

        def _answer(self) -> None:
            server = state["server"]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            server.requests.append((self.command, self.path, body))
            server.accept.append(self.headers.get("Accept", ""))
            if self.path.startswith("/hang"):
                server.release.wait(timeout=30)
                return
            answers = [answer for prefix, answer in server.routes.items() if self.path.startswith(prefix)]
            status, content_type, payload = (
                answers[0] if answers else (404, "text/plain", b"404 page not found")
            )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    host, port = httpd.server_address[:2]
    running = StubServer(f"http://{host!s}:{port}", routes)
    state["server"] = running
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield running
    finally:
        running.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)
