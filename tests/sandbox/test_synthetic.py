"""Synthetic load: the drift-free pacer, the alert simulator, and both generators against real servers."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI, Header, HTTPException
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from opsconsole.sandbox import synthetic
from opsconsole.sandbox.events import Event, EventBus
from opsconsole.sandbox.server import RunningSandbox
from opsconsole.sandbox.synthetic import (
    AlertSimulator,
    Pacer,
    TrafficStats,
    generate_events,
    generate_traffic,
)
from tests.sandbox.live_support import collect, serve, sqlite_engine
from tests.support.sandbox import VIEWER, bearer, obtain_tokens

# --- pacing --------------------------------------------------------------------------------------


def test_pacer_is_drift_free_whatever_the_wake_ups() -> None:
    pacer = Pacer(rate=10, start=100.0)
    assert pacer.take(100.0) == 1  # item 0 is due at the start
    assert pacer.take(100.05) == 0
    assert pacer.next_at() == pytest.approx(100.1)
    assert pacer.take(100.1) == 1
    assert pacer.take(100.35) == 2  # the items due at .2 and .3: a late wake-up catches up
    assert pacer.next_at() == pytest.approx(100.4)
    # Irregular wake-ups never accumulate error: after t seconds exactly floor(10 t) + 1 were issued.
    rng = random.Random(7)
    now = 100.35
    for _ in range(1000):
        now += rng.uniform(0.0, 0.25)
        pacer.take(now)
        assert pacer.issued == int((now - 100.0) * 10) + 1
    assert pacer.dropped == 0


def test_pacer_drops_a_long_backlog_instead_of_bursting() -> None:
    pacer = Pacer(rate=20, start=0.0)
    assert pacer.take(0.0) == 1
    assert pacer.take(10.0) == 20  # ten seconds behind: one second's worth now, the rest dropped
    assert pacer.dropped == 180
    assert pacer.take(10.05) == 1  # and back on the original schedule
    with pytest.raises(ValueError):
        Pacer(rate=0, start=0.0)
    with pytest.raises(ValueError):
        Pacer(rate=float("inf"), start=0.0)


# --- alerts --------------------------------------------------------------------------------------


def test_alerts_fire_and_resolve_consistently() -> None:
    sim = AlertSimulator(seed=3, max_open=8)
    open_alerts: dict[str, dict[str, Any]] = {}
    start = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    topics = []
    for step in range(600):
        topic, data = sim.step(start + dt.timedelta(seconds=step))
        topics.append(topic)
        assert data["severity"] in {"critical", "warning", "info"}
        assert data["service"] and data["summary"] and data["name"]
        assert isinstance(data["value"], float) and isinstance(data["threshold"], float)
        if topic == "alert.fired":
            assert data["alert_id"] not in open_alerts
            assert (data["name"], data["service"]) not in {
                (a["name"], a["service"]) for a in open_alerts.values()
            }
            open_alerts[data["alert_id"]] = data
        else:
            assert topic == "alert.resolved"
            fired = open_alerts.pop(data["alert_id"])
            assert data["started_at"] == fired["started_at"]
            assert data["summary"].startswith("resolved: ")
            resolved = dt.datetime.fromisoformat(data["resolved_at"])
            assert (
                data["duration_seconds"]
                == (resolved - dt.datetime.fromisoformat(fired["started_at"])).total_seconds()
            )
        assert len(open_alerts) <= 8
        assert {a["alert_id"] for a in sim.open_alerts} == set(open_alerts)
    assert topics.count("alert.fired") > 100 and topics.count("alert.resolved") > 100


def test_the_simulator_is_reproducible_with_a_seed() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    a, b, c = AlertSimulator(seed=11), AlertSimulator(seed=11), AlertSimulator(seed=12)
    run_a = [a.step(now) for _ in range(50)]
    assert run_a == [b.step(now) for _ in range(50)]
    assert run_a != [c.step(now) for _ in range(50)]
    assert run_a[0][0] == "alert.fired"  # nothing is open yet


# --- generate_events -----------------------------------------------------------------------------


async def test_generate_events_publishes_alerts_and_stops_cleanly(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    bus = EventBus(engine)
    bus.create_schema()
    bus.attach_loop(asyncio.get_running_loop())
    sub = bus.subscribe(["alert.#"])
    task = asyncio.create_task(generate_events(bus, 200.0, seed=5))
    try:
        got = await collect(sub, 40)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
    try:
        events = [i for i in got if isinstance(i, Event)]
        assert {e.topic for e in events} <= {"alert.fired", "alert.resolved"}
        assert events[0].topic == "alert.fired"
        ids = [e.id for e in events]
        assert ids == sorted(set(ids))
        assert {"severity", "service", "summary"} <= set(events[0].data)
        # Cancellation waited for the publish in flight: everything published is in the database.
        window = bus.window()
        assert window is not None and window[1] == bus.last_id
    finally:
        bus.close()
        engine.dispose()


# --- generate_traffic ----------------------------------------------------------------------------

SECRET = "traffic tests only: not a real signing key"


def token_with(ttl: float, sub: str = "svc") -> str:
    return jwt.encode({"sub": sub, "exp": time.time() + ttl}, SECRET, algorithm="HS256")


class FakeApi:
    """Just enough of the sandbox's API for the traffic generator, recording what it was asked."""

    def __init__(self, revoked: set[str]) -> None:
        self.revoked = revoked
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.enough = asyncio.Event()
        self.users = [{"id": f"u-{i}", "email": f"user{i}@example.test"} for i in range(30)]

    def check(self, authorization: str | None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme != "Bearer":
            raise HTTPException(401)
        try:
            jwt.decode(token, SECRET, algorithms=["HS256"])
        except jwt.PyJWTError:
            raise HTTPException(401) from None
        if token in self.revoked:
            raise HTTPException(401)

    def seen(self, kind: str, params: dict[str, str]) -> None:
        self.requests.append((kind, params))
        if len(self.requests) >= 40:
            self.enough.set()

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/api/users")
        def users(
            limit: int = 50,
            search: str | None = None,
            cursor: str | None = None,
            authorization: str | None = Header(None),
        ) -> dict[str, Any]:
            self.check(authorization)
            self.seen("search" if search else "list", {"limit": str(limit), "cursor": cursor or ""})
            start = int(cursor) if cursor else 0
            page = self.users[start : start + 5]
            return {"items": page, "next_cursor": str(start + 5) if start + 5 < len(self.users) else None}

        @app.get("/api/users/{user_id}")
        def user(user_id: str, authorization: str | None = Header(None)) -> dict[str, Any]:
            self.check(authorization)
            self.seen("get", {"id": user_id})
            for u in self.users:
                if u["id"] == user_id:
                    return u
            raise HTTPException(404)

        @app.get("/api/roles")
        def roles(authorization: str | None = Header(None)) -> dict[str, Any]:
            self.check(authorization)
            self.seen("roles", {})
            return {"items": [{"name": "admin"}]}

        return app


@pytest.fixture
async def fake_api() -> AsyncIterator[tuple[FakeApi, str]]:
    revoked: set[str] = set()
    api = FakeApi(revoked)
    async with serve(api.app()) as base:
        yield api, f"{base}/api"


async def test_traffic_mixes_real_requests_and_renews_its_token(fake_api: tuple[FakeApi, str]) -> None:
    api, base = fake_api
    issued: list[str] = []

    def token_source() -> str:
        # The first token is refused by the server (as if revoked): a 401 must fetch a new one.
        token = token_with(600, sub=f"svc-{len(issued)}")
        if not issued:
            api.revoked.add(token)
        issued.append(token)
        return token

    stats = TrafficStats()
    task = asyncio.create_task(generate_traffic(base, 200.0, token_source, seed=1, stats=stats))
    try:
        await asyncio.wait_for(api.enough.wait(), 20)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
    kinds = {kind for kind, _ in api.requests}
    assert kinds == {"list", "search", "get", "roles"}
    known = {u["id"] for u in api.users}
    assert all(params["id"] in known for kind, params in api.requests if kind == "get")
    assert any(params["cursor"] for kind, params in api.requests if kind == "list")  # it follows pages
    assert len(issued) == 2 and stats.token_refreshes == 2
    # Every request the server answered came back ok, but those still in flight at cancellation.
    assert len(api.requests) - 8 <= stats.ok <= len(api.requests)
    assert stats.server_errors == 0 and stats.failed == 0
    assert stats.sent >= stats.ok + stats.client_errors
    assert set(stats.by_kind) == kinds


async def test_traffic_renews_a_token_about_to_expire_and_accepts_async_sources(
    fake_api: tuple[FakeApi, str],
) -> None:
    api, base = fake_api
    calls = 0

    async def token_source() -> str:
        nonlocal calls
        calls += 1
        return token_with(5)  # inside the renewal margin: every request asks for a fresh one

    stats = TrafficStats()
    task = asyncio.create_task(generate_traffic(base, 200.0, token_source, stats=stats, concurrency=1))
    try:
        await asyncio.wait_for(api.enough.wait(), 20)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
    assert calls >= 40 and stats.client_errors == 0


async def test_traffic_to_a_server_that_is_not_there_fails_quietly(caplog: pytest.LogCaptureFixture) -> None:
    asked = 0
    enough = asyncio.Event()

    def token_source() -> str:
        nonlocal asked
        asked += 1
        if asked >= 10:
            enough.set()
        return token_with(5)  # renewed before every request: the count of requests tried

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        stats = TrafficStats()
        caplog.set_level(logging.INFO, logger="opsconsole.sandbox.synthetic")
        task = asyncio.create_task(
            generate_traffic(f"http://127.0.0.1:{port}/api", 100.0, token_source, stats=stats, concurrency=1)
        )
        try:
            await asyncio.wait_for(enough.wait(), 10)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, 10)
    assert stats.ok == 0 and stats.failed >= 9
    warnings = [r for r in caplog.records if "request failed" in r.getMessage()]
    assert len(warnings) == 1


# --- start / stop --------------------------------------------------------------------------------


async def test_start_runs_what_the_settings_ask_and_stop_ends_it(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    bus = EventBus(engine)
    bus.create_schema()
    bus.attach_loop(asyncio.get_running_loop())
    app = SimpleNamespace(state=SimpleNamespace(bus=bus, mint_service_token=lambda scopes: token_with(600)))
    try:
        quiet = synthetic.start(
            app, SimpleNamespace(event_rate=0.0, traffic=0.0, public_url="http://127.0.0.1:9")
        )
        assert quiet == []
        sub = bus.subscribe(["alert.*"])
        tasks = synthetic.start(
            app, SimpleNamespace(event_rate=100.0, traffic=0.0, public_url="http://127.0.0.1:9")
        )
        assert [t.get_name() for t in tasks] == ["synthetic-events"]
        await collect(sub, 5)
        await synthetic.stop(tasks)
        assert all(t.done() for t in tasks)
    finally:
        bus.close()
        engine.dispose()


# --- through the real sandbox --------------------------------------------------------------------


async def test_the_sandbox_runs_its_generators_from_the_settings(
    make_sandbox: Callable[..., RunningSandbox],
) -> None:
    sandbox = await asyncio.to_thread(make_sandbox, event_rate=50.0, traffic=40.0)
    tokens = await asyncio.to_thread(obtain_tokens, sandbox.url, VIEWER)
    ws_url = sandbox.url.replace("http://", "ws://", 1) + "/ws/notifications?topics=alert.%23"
    async with connect(ws_url, additional_headers=bearer(tokens)) as conn:
        alerts: list[dict[str, Any]] = []
        async with asyncio.timeout(15):
            while len(alerts) < 10:
                message = json.loads(await conn.recv())
                if "id" in message:  # events carry ids; control messages do not
                    alerts.append(message)
    assert {a["topic"] for a in alerts} <= {"alert.fired", "alert.resolved"}
    assert all({"severity", "service", "summary"} <= set(a["data"]) for a in alerts)

    # The traffic generator signs in with a service token and its requests show in the metrics and
    # the traces: wait (bounded) until enough of them went through.
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=15) as http:
        served = 0.0
        for _ in range(100):
            text = (await http.get("/metrics")).text
            served = sum(
                s.value
                for f in text_string_to_metric_families(text)
                for s in f.samples
                if s.name == "http_requests_total"
                and s.labels["path"].startswith("/api/")
                and s.labels["status"] == "200"
            )
            if served >= 20:
                break
            await asyncio.sleep(0.1)
        assert served >= 20
        found = (await http.get("/jaeger/api/traces", params={"service": "user-service", "limit": 5})).json()
        assert len(found["data"]) == 5
