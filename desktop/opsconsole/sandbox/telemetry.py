"""Prometheus metrics of the sandbox: a registry per app, a pure ASGI middleware, and `/metrics`.

Series (the names the system documents):
- `http_requests_total{method,path,status}` and `http_request_duration_seconds{method,path}`, where
  `path` is the route template (`/api/users/{user_id}`), never the raw URL: a request that matches
  no route is counted under `path="<unmatched>"`, and an unknown method as `method="OTHER"`, so a
  scanner cannot create series at will;
- `user_registrations_total` (the API increments `metrics.user_registrations` on each create);
- `active_sessions`, read at scrape time from a callback the app registers;
- `system_cpu_percent` and `system_memory_bytes` (plus `system_memory_total_bytes`), measured by
  psutil at scrape time, and the standard `process_*` series of this process.

The middleware is plain ASGI (not BaseHTTPMiddleware): it does not buffer or re-wrap responses,
it times streaming bodies to their last chunk, and it leaves WebSocket traffic alone.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Final

import psutil
from fastapi import APIRouter
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("opsconsole.sandbox.telemetry")

__all__ = ["OTHER_METHOD", "UNMATCHED", "Metrics", "MetricsMiddleware", "route_template", "router"]

UNMATCHED: Final = "<unmatched>"
OTHER_METHOD: Final = "OTHER"
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Finer at the low end than prometheus_client's default: the API answers in milliseconds.
_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def route_template(scope: Scope, entry_root_path: str = "") -> str:
    """The route template a request was routed to, or `UNMATCHED`.

    Call it after the app handled the request: the router records the route in the scope. Routes of
    mounted apps get the mount's prefix (taken from `root_path`, so a mount prefix is expected to
    be a literal path, as it is in this app).
    """
    route = scope.get("route")
    if isinstance(route, Mount):
        # The mounted app matched nothing itself (or is not a router, e.g. static files).
        return route.path + "/{path}"
    template = getattr(route, "path_format", None)
    if not isinstance(template, str):
        return UNMATCHED
    root_path = scope.get("root_path", "")
    prefix = root_path[len(entry_root_path) :] if root_path.startswith(entry_root_path) else ""
    return prefix + template


def normalized_method(scope: Scope) -> str:
    method = str(scope.get("method", "")).upper()
    return method if method in _METHODS else OTHER_METHOD


class _SystemCollector:
    """Machine and session figures measured at scrape time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_busy, self._last_total = _cpu_busy_total()
        self._last_wall = time.monotonic()
        self._cpu_percent = 0.0
        self.active_sessions: Callable[[], float] | None = None

    def describe(self) -> Iterable[Metric]:
        # Lets the registry check names without measuring anything (auto_describe would collect).
        yield GaugeMetricFamily("system_cpu_percent", "")
        yield GaugeMetricFamily("system_memory_bytes", "")
        yield GaugeMetricFamily("system_memory_total_bytes", "")
        yield GaugeMetricFamily("active_sessions", "")

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "system_cpu_percent",
            "CPU utilisation of the whole machine since the previous scrape, in percent (0-100, all cores)",
            value=self._sample_cpu(),
        )
        memory = psutil.virtual_memory()
        yield GaugeMetricFamily(
            "system_memory_bytes",
            "Memory in use on the machine (total minus available), in bytes",
            value=float(memory.total - memory.available),
        )
        yield GaugeMetricFamily(
            "system_memory_total_bytes", "Physical memory of the machine, in bytes", value=float(memory.total)
        )
        source = self.active_sessions
        if source is not None:
            try:
                sessions = float(source())
            except Exception:
                # A scrape must not fail because the session count could not be read (database busy or
                # gone): the series is left out of this scrape and the failure is logged.
                log.warning("active_sessions could not be read for this scrape", exc_info=True)
            else:
                yield GaugeMetricFamily(
                    "active_sessions", "Signed-in sessions (live refresh-token families)", value=sessions
                )

    def _sample_cpu(self) -> float:
        with self._lock:
            now = time.monotonic()
            # Two scrapes a few milliseconds apart would measure noise: keep the previous figure.
            if now - self._last_wall >= 0.05:
                busy, total = _cpu_busy_total()
                if total > self._last_total:
                    share = (busy - self._last_busy) / (total - self._last_total)
                    self._cpu_percent = round(min(100.0, max(0.0, share * 100.0)), 1)
                self._last_busy, self._last_total, self._last_wall = busy, total, now
            return self._cpu_percent


def _cpu_busy_total() -> tuple[float, float]:
    # A private sample per collector: psutil.cpu_percent(interval=None) keeps one module-wide previous
    # sample, so two apps (or any other caller) in one process would steal each other's interval.
    times = psutil.cpu_times()
    total = float(sum(times))
    if sys.platform.startswith("linux"):
        # Guest time is already counted in user and nice on Linux.
        total -= getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return total - idle, total


class Metrics:
    """The sandbox's metrics; one instance per app (at `app.state.metrics`), each with its own registry.

    `active_sessions` is a callable returning the number of live sessions, read at each scrape.
    """

    def __init__(self, active_sessions: Callable[[], float] | None = None) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "http_requests",
            "HTTP requests answered, by method, route template and status code",
            ["method", "path", "status"],
            registry=self.registry,
        )
        self.http_request_duration = Histogram(
            "http_request_duration_seconds",
            "Time from receiving a request to sending the last byte of its response, by route template",
            ["method", "path"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.user_registrations = Counter(
            "user_registrations", "Users created through the API", registry=self.registry
        )
        self._system = _SystemCollector()
        self._system.active_sessions = active_sessions
        self.registry.register(self._system)
        ProcessCollector(registry=self.registry)

    def set_active_sessions_source(self, source: Callable[[], float] | None) -> None:
        """Read `active_sessions` from `source()` at each scrape (None: leave the series out)."""
        self._system.active_sessions = source

    def observe(self, method: str, path: str, status: int, seconds: float) -> None:
        self.http_requests.labels(method, path, str(status)).inc()
        self.http_request_duration.labels(method, path).observe(seconds)

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition for an Accept header: Prometheus text by default, OpenMetrics on request."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


router = APIRouter()


# A plain def: FastAPI runs it in a worker thread, where the session callback may query the database
# without holding up the event loop.
@router.get("/metrics", include_in_schema=False, name="metrics")
def scrape(request: Request) -> Response:
    """One scrape of `app.state.metrics` in the format the Accept header asks for."""
    metrics: Metrics = request.app.state.metrics
    body, content_type = metrics.render(request.headers.get("accept"))
    return Response(body, media_type=content_type)


class MetricsMiddleware:
    """Counts and times every HTTP request by route template (pure ASGI).

    Without `metrics` it records into the `app.state.metrics` of the app serving the request.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        metrics: Metrics = self.metrics or scope["app"].state.metrics
        entry_root = scope.get("root_path", "")
        start = time.perf_counter()
        status = 500  # what the server answers if the app raises before starting a response

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            metrics.observe(
                normalized_method(scope),
                route_template(scope, entry_root),
                status,
                time.perf_counter() - start,
            )
