"""A real HTTP server on 127.0.0.1 that answers from a test's own function: for clients that must meet
real sockets (timeouts, proxies' HTML pages, servers that never answer) without a real backend.

    with stub_server(by_prefix({"/ok": (200, "application/json", b"{}"), "/hang": HOLD})) as server:
        ... server.url ...

``respond(request)`` gives each answer: a ``Reply`` (or a ``(status, content type, body)`` tuple), or
``HOLD`` (None) to keep the request open without an answer until the server stops (``held`` is set
once a request is held, so a test can wait for it to be in flight), or ``DROP`` to hang up without an
answer, as a crashing server does. ``held`` is never cleared by the server: it says that some request
has been held, not which. A test that holds a second request on the same server (a module-scoped one)
clears it first, or it would not wait at all; clearing it on each request instead would let any other
request wipe the signal of one that is held. ``requests`` records every request.
``by_prefix(routes)`` answers from a table: the first route whose key starts the path (so ``/html502``
serves ``/html502/api/v1/query_range`` too), else 404. ``server_header`` names the server in the
``Server`` header, to answer as a proxy does (``NGINX``); a reply's own ``Server`` header replaces it
for that answer.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple

__all__ = ["DROP", "HOLD", "NGINX", "Answer", "Reply", "Request", "StubServer", "by_prefix", "stub_server"]


class Reply(NamedTuple):
    status: int
    content_type: str
    body: bytes
    headers: Mapping[str, str] = {}


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # with the query string
    body: bytes
    headers: Message  # as received: ``headers.get("Accept")`` ignores case


class _Drop:
    """The answer that is none: the connection is shut down."""


Answer = Reply | tuple[int, str, bytes] | _Drop | None
Responder = Callable[[Request], Answer]
HOLD: None = None
DROP = _Drop()
NOT_FOUND = Reply(404, "text/plain", b"404 page not found")
NGINX = "nginx/1.25.3"  # the Server header of a reverse proxy, for answers a proxy gives


@dataclass
class StubServer:
    url: str
    requests: list[Request] = field(default_factory=list)
    held: threading.Event = field(default_factory=threading.Event)  # set, never cleared: see above
    release: threading.Event = field(default_factory=threading.Event)


def by_prefix(routes: Mapping[str, Answer]) -> Responder:
    """Answers from ``routes``: the first whose key starts the request's path, else 404."""

    def respond(request: Request) -> Answer:
        return next(
            (answer for prefix, answer in routes.items() if request.path.startswith(prefix)), NOT_FOUND
        )

    return respond


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # a dashboard's worth of connections at once, on a loaded machine


@contextmanager
def stub_server(respond: Responder, *, server_header: str | None = None) -> Iterator[StubServer]:
    """A server answering with ``respond`` on a free loopback port, for the ``with`` block."""
    running: StubServer

    class Handler(BaseHTTPRequestHandler):
        reply_server: str | None = None

        def log_message(self, format: str, *args: object) -> None:
            return

        def version_string(self) -> str:
            return self.reply_server or server_header or super().version_string()

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                self.command, self.path, self.rfile.read(length) if length else b"", self.headers
            )
            running.requests.append(request)
            answer = respond(request)
            if answer is None:
                running.held.set()
                running.release.wait(timeout=30)
                return
            if isinstance(answer, _Drop):
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            reply = Reply(*answer)
            self.reply_server = reply.headers.get("Server")  # sent by send_response, through version_string
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                if name != "Server":
                    self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = _answer

    httpd = _Server(("127.0.0.1", 0), Handler)
    host, port = httpd.server_address[:2]
    running = StubServer(f"http://{host!s}:{port}")
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
