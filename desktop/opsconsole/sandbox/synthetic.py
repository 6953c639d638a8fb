"""Synthetic load for demos and benchmarks: alert events (`--event-rate`) and API traffic (`--traffic`).

`generate_events(bus, rate)` publishes `alert.fired` / `alert.resolved` events from a small alert
simulator (alerts fire on a service, stay open a while, then resolve) at `rate` events per second.
`generate_traffic(base_url, rate, token_source)` sends `rate` real HTTP requests per second to the
running API (lists, searches, single users, roles), so that the metrics and traces move.

Both keep a drift-free schedule: item i is due at start + i / rate, so a late wake-up is caught up
by the next ones and the long-run rate is exact; after a long stall (more than a second behind) the
backlog is dropped rather than fired in one burst. Both run until cancelled and end cleanly: an
in-flight publish is finished, in-flight requests are cancelled, the HTTP client is closed.

`start(app, settings)` / `stop(tasks)` are what the app's lifespan calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import inspect
import logging
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol

import httpx
import jwt

from .events import EventBus, iso_utc

log = logging.getLogger("opsconsole.sandbox.synthetic")

__all__ = [
    "AlertSimulator",
    "Pacer",
    "TrafficStats",
    "generate_events",
    "generate_traffic",
    "start",
    "stop",
]

# Waking up more often than this only costs CPU: at high rates items are taken in small batches.
_MIN_SLEEP: Final = 0.005
_SERVICE_SCOPES: Final = ["read:users", "read:roles"]
_TOKEN_MARGIN: Final = 30.0


class Pacer:
    """Drift-free schedule of `rate` items per second from `start` (item i is due at start + i / rate)."""

    def __init__(self, rate: float, start: float, max_burst: int | None = None) -> None:
        if not rate > 0 or not math.isfinite(rate):
            raise ValueError("rate must be a positive number of items per second")
        self.rate = rate
        self.start = start
        self.issued = 0
        self.dropped = 0
        self.max_burst = max_burst if max_burst is not None else max(1, math.ceil(rate))

    def take(self, now: float) -> int:
        """How many items to do now; a backlog beyond `max_burst` is skipped, not done late."""
        # The tolerance absorbs float error: woken exactly at next_at(), (now - start) * rate can come out
        # as 0.9999... of an item, which would leave the item undone and the caller spinning.
        due = math.floor((now - self.start) * self.rate + 1e-6) + 1 - self.issued
        if due <= 0:
            return 0
        self.issued += due
        if due > self.max_burst:
            self.dropped += due - self.max_burst
            return self.max_burst
        return due

    def next_at(self) -> float:
        return self.start + self.issued / self.rate


async def _sleep_until_due(pacer: Pacer, loop: asyncio.AbstractEventLoop) -> None:
    delay = pacer.next_at() - loop.time()
    if delay > 0:
        await asyncio.sleep(max(delay, _MIN_SLEEP))


# --- alerts --------------------------------------------------------------------------------------

_SERVICES: Final = (
    "api-gateway",
    "auth-service",
    "user-service",
    "notification-service",
    "postgres",
    "redis",
)


@dataclasses.dataclass(frozen=True)
class _AlertRule:
    name: str
    severity: str
    unit: str
    threshold: float
    low: float
    high: float
    summary: str
    services: tuple[str, ...] = _SERVICES


_RULES: Final = (
    _AlertRule("HighErrorRate", "critical", "%", 5.0, 5.5, 40.0, "{service}: {value:.1f}% of requests fail (over {threshold:g}%)", ("api-gateway", "auth-service", "user-service")),
    _AlertRule("HighLatencyP99", "warning", "ms", 500.0, 520.0, 4000.0, "{service}: p99 latency {value:.0f} ms (over {threshold:g} ms)", ("api-gateway", "auth-service", "user-service", "notification-service")),
    _AlertRule("PodCrashLooping", "critical", "restarts", 3.0, 4.0, 25.0, "{service}: {value:.0f} restarts in 15 minutes"),
    _AlertRule("DiskSpaceLow", "warning", "%", 85.0, 86.0, 99.0, "{service}: volume {value:.0f}% full (over {threshold:g}%)", ("postgres", "redis")),
    _AlertRule("ReplicationLag", "warning", "s", 10.0, 11.0, 300.0, "{service}: replica {value:.0f} s behind", ("postgres",)),
    _AlertRule("CertificateExpiringSoon", "info", "days", 14.0, 1.0, 13.0, "{service}: TLS certificate expires in {value:.0f} days", ("api-gateway",)),
    _AlertRule("QueueBacklog", "warning", "messages", 1000.0, 1200.0, 50000.0, "{service}: {value:.0f} messages waiting", ("notification-service",)),
    _AlertRule("MemoryPressure", "warning", "%", 90.0, 90.5, 99.5, "{service}: memory {value:.1f}% used", _SERVICES),
    _AlertRule("TokenSigningFailures", "critical", "errors/min", 1.0, 2.0, 60.0, "{service}: {value:.0f} token signing failures a minute", ("auth-service",)),
)  # fmt: skip
_PAIRS: Final = tuple((rule, service) for rule in _RULES for service in rule.services)


class AlertSimulator:
    """Alerts that fire, stay open for a while and resolve, as a monitoring system would report them.

    At most `max_open` alerts are open at once and never two for the same rule and service; each
    step resolves an open alert (more likely the more are open) or fires a new one.
    """

    def __init__(self, seed: int | None = None, max_open: int = 12) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - demo data, not security
        self._max_open = max_open
        self._open: dict[str, dict[str, Any]] = {}
        self._counter = 0

    @property
    def open_alerts(self) -> list[dict[str, Any]]:
        return list(self._open.values())

    def step(self, now: dt.datetime | None = None) -> tuple[str, dict[str, Any]]:
        """The next event: (`alert.fired` or `alert.resolved`, its data)."""
        now = now or dt.datetime.now(dt.UTC)
        resolve_chance = len(self._open) / self._max_open
        if self._open and (len(self._open) >= self._max_open or self._rng.random() < resolve_chance):
            return self._resolve(now)
        fired = self._fire(now)
        return fired if fired is not None else self._resolve(now)

    def _fire(self, now: dt.datetime) -> tuple[str, dict[str, Any]] | None:
        taken = {(a["name"], a["service"]) for a in self._open.values()}
        choices = [pair for pair in _PAIRS if (pair[0].name, pair[1]) not in taken]
        if not choices:
            return None
        rule, service = self._rng.choice(choices)
        value = round(self._rng.uniform(rule.low, rule.high), 2)
        self._counter += 1
        alert: dict[str, Any] = {
            "alert_id": f"alrt-{self._counter:06d}-{self._rng.getrandbits(24):06x}",
            "name": rule.name,
            "severity": rule.severity,
            "service": service,
            "summary": rule.summary.format(service=service, value=value, threshold=rule.threshold),
            "value": value,
            "threshold": rule.threshold,
            "unit": rule.unit,
            "started_at": iso_utc(now),
        }
        self._open[alert["alert_id"]] = alert
        return "alert.fired", dict(alert)

    def _resolve(self, now: dt.datetime) -> tuple[str, dict[str, Any]]:
        alert_id = self._rng.choice(sorted(self._open))
        alert = self._open.pop(alert_id)
        started = dt.datetime.fromisoformat(alert["started_at"])
        return "alert.resolved", {
            **alert,
            "summary": f"resolved: {alert['summary']}",
            "resolved_at": iso_utc(now),
            "duration_seconds": round(max(0.0, (now - started).total_seconds()), 3),
        }


def _publish_alerts(bus: EventBus, simulator: AlertSimulator, count: int) -> None:
    now = dt.datetime.now(dt.UTC)
    bus.publish_events([(*simulator.step(now), None) for _ in range(count)])


async def generate_events(bus: EventBus, rate: float, *, seed: int | None = None) -> None:
    """Publish simulated `alert.*` events on `bus` at `rate` per second until cancelled."""
    loop = asyncio.get_running_loop()
    pacer = Pacer(rate, loop.time())
    simulator = AlertSimulator(seed)
    while True:
        count = pacer.take(loop.time())
        if count:
            # Making the alerts and inserting them run in a worker thread: this loop also writes every
            # frame of every stream, and at 10,000 events/s the simulator alone would starve it. On
            # cancellation the worker is waited for, so no write is left running against an engine the
            # lifespan is about to dispose.
            publishing = asyncio.ensure_future(asyncio.to_thread(_publish_alerts, bus, simulator, count))
            try:
                await asyncio.shield(publishing)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await publishing
                raise
            except Exception:
                log.exception("synthetic events: publishing failed; carrying on")
        await _sleep_until_due(pacer, loop)


# --- traffic -------------------------------------------------------------------------------------

TokenSource = Callable[[], str | Awaitable[str]]

_SEARCH_TERMS: Final = (
    "ann", "son", "lee", "mar", "kim", "rob", "ali", "eva", "jo", "admin", "support", "example", "sandbox",
)  # fmt: skip
_SORTS: Final = ("created_at", "-created_at", "name", "email", "-updated_at")


@dataclasses.dataclass
class TrafficStats:
    """What the traffic generator did, by outcome."""

    sent: int = 0
    ok: int = 0
    client_errors: int = 0
    server_errors: int = 0
    failed: int = 0
    skipped: int = 0
    token_refreshes: int = 0
    by_kind: dict[str, int] = dataclasses.field(default_factory=dict)


class _Traffic:
    def __init__(
        self, client: httpx.AsyncClient, token_source: TokenSource, rng: random.Random, stats: TrafficStats
    ):
        self.client = client
        self.token_source = token_source
        self.rng = rng
        self.stats = stats
        self.token: str | None = None
        self.token_expires = 0.0
        self.token_lock = asyncio.Lock()
        self.user_ids: deque[str] = deque(maxlen=500)
        self.cursor: str | None = None
        self.warned: set[str] = set()

    async def _token(self, refused: str | None = None) -> str:
        """The token to use; a new one when it is about to expire or when `refused` is still current.

        Several requests in flight may all be refused with the same token: only the first renews it.
        """
        async with self.token_lock:
            stale = self.token is None or time.time() > self.token_expires - _TOKEN_MARGIN
            if stale or (refused is not None and refused == self.token):
                # The source may hit the database (minting signs and looks up the admin): off the loop.
                produced = await asyncio.to_thread(self.token_source)
                token = await produced if inspect.isawaitable(produced) else produced
                self.token = token
                self.token_expires = _expiry(token)
                self.stats.token_refreshes += 1
            assert self.token is not None
            return self.token

    def _pick(self) -> tuple[str, str, dict[str, str]]:
        roll = self.rng.random()
        if roll < 0.2 and self.user_ids:
            return "get", f"/users/{self.rng.choice(self.user_ids)}", {}
        if roll < 0.45:
            term = self.rng.choice(_SEARCH_TERMS)
            return "search", "/users", {"search": term, "limit": "20"}
        if roll < 0.55:
            return "roles", "/roles", {}
        params = {"limit": str(self.rng.choice((20, 50, 100))), "sort": self.rng.choice(_SORTS)}
        if self.cursor and self.rng.random() < 0.5:
            params["cursor"] = self.cursor
        elif self.rng.random() < 0.2:
            params["status"] = self.rng.choice(("active", "disabled"))
        return "list", "/users", params

    async def one(self) -> None:
        kind, path, params = self._pick()
        self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + 1
        self.stats.sent += 1
        try:
            token = await self._token()
            response = await self._get(path, params, token)
            if response.status_code == 401:
                response = await self._get(path, params, await self._token(refused=token))
        except httpx.HTTPError as exc:
            self.stats.failed += 1
            self._warn_once(
                type(exc).__name__, f"synthetic traffic: {kind} request failed ({type(exc).__name__})"
            )
            return
        except Exception as exc:  # a token source that failed, most likely
            self.stats.failed += 1
            self._warn_once(
                type(exc).__name__, f"synthetic traffic: no request possible ({type(exc).__name__})"
            )
            return
        if response.status_code >= 500:
            self.stats.server_errors += 1
        elif response.status_code >= 400:
            self.stats.client_errors += 1
        else:
            self.stats.ok += 1
            if kind in ("list", "search"):
                self._learn(response)

    async def _get(self, path: str, params: dict[str, str], token: str) -> httpx.Response:
        return await self.client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})

    def _learn(self, response: httpx.Response) -> None:
        try:
            body = response.json()
        except ValueError:
            return
        if not isinstance(body, dict):
            return
        for item in body.get("items") or []:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                self.user_ids.append(item["id"])
        cursor = body.get("next_cursor")
        self.cursor = cursor if isinstance(cursor, str) else None

    def _warn_once(self, key: str, message: str) -> None:
        # The server may not listen yet (the lifespan starts this before uvicorn binds) or may be
        # stopping: say it once, not at the request rate.
        if key not in self.warned:
            self.warned.add(key)
            log.info(message)


def _expiry(token: str) -> float:
    """The `exp` of a JWT (not verified: the server checks it); 0 renews on every use if unknown."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return 0.0
    exp = claims.get("exp")
    return float(exp) if isinstance(exp, int | float) else 0.0


async def generate_traffic(
    base_url: str,
    rate: float,
    token_source: TokenSource,
    *,
    concurrency: int = 8,
    seed: int | None = None,
    stats: TrafficStats | None = None,
) -> None:
    """Send `rate` API requests per second to `base_url` (the API root, e.g. `http://127.0.0.1:8700/api`).

    `token_source()` gives an access token (a string, or an awaitable of one); it is asked again
    shortly before the token expires and after a 401. At most `concurrency` requests are in flight;
    requests due while all are busy are skipped (counted in `stats.skipped`).
    """
    stats = stats if stats is not None else TrafficStats()
    loop = asyncio.get_running_loop()
    pacer = Pacer(rate, loop.time())
    in_flight: set[asyncio.Task[None]] = set()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=10.0, limits=limits) as client:
        traffic = _Traffic(client, token_source, random.Random(seed), stats)  # noqa: S311 - demo load
        try:
            while True:
                for _ in range(pacer.take(loop.time())):
                    if len(in_flight) >= concurrency:
                        stats.skipped += 1
                        continue
                    task = asyncio.create_task(traffic.one())
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                await _sleep_until_due(pacer, loop)
        finally:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)


# --- wiring --------------------------------------------------------------------------------------


class _SyntheticSettings(Protocol):
    event_rate: float
    traffic: float

    @property
    def public_url(self) -> str: ...


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped with an error", task.get_name(), exc_info=task.exception())


def start(app: Any, settings: _SyntheticSettings) -> list[asyncio.Task[None]]:
    """Start the generators the settings ask for (call from the lifespan, on the server's loop).

    The traffic generator signs its requests with `app.state.mint_service_token` (read scopes) and
    targets `settings.public_url + "/api"`.
    """
    tasks: list[asyncio.Task[None]] = []
    if settings.event_rate > 0:
        tasks.append(
            asyncio.create_task(generate_events(app.state.bus, settings.event_rate), name="synthetic-events")
        )
    if settings.traffic > 0:

        def token() -> str:
            minted: str = app.state.mint_service_token(list(_SERVICE_SCOPES))
            return minted

        tasks.append(
            asyncio.create_task(
                generate_traffic(f"{settings.public_url}/api", settings.traffic, token),
                name="synthetic-traffic",
            )
        )
    for task in tasks:
        task.add_done_callback(_report_crash)
    return tasks


async def stop(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the generators and wait until they have ended."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
