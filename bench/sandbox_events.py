"""Sandbox event stream: publish rate, live delivery to 1 and 10 WebSocket clients, replay on resume.

Setup: the sandbox's own EventBus on a SQLite file (the sandbox's engine settings), and the real
`/ws/notifications` endpoint on uvicorn in a background thread, as `opsconsole sandbox` runs it.
Clients are `websockets` clients in this process' main loop; they json-decode every frame.

Results (events per second, higher is better; each the median of REPEATS runs):
- `sandbox_events.publish`: `EventBus.publish()` one event at a time (what the API does per change).
  Baseline: the same engine inserting and committing the same rows one at a time with plain SQLAlchemy.
- `sandbox_events.publish_batched`: `EventBus.publish_events()` in batches of 100 (what the alert
  generator does). Baseline: the same engine inserting the same rows 100 to a transaction with plain
  SQLAlchemy, one executemany each (a bare batched insert).
- `sandbox_events.ws_1_client` / `ws_10_clients`: events published (in batches of 100, as a busy
  API or the alert generator would) until every client received all of them. Baseline: a bare
  `websockets` server with the same design (a queue per connection fed by one producer, one frame per
  event, the same JSON, deflate on both) sending the same number of events to as many clients.
- `sandbox_events.resume_replay`: a client reconnecting with `last_event_id=0` while the database
  holds N events: the replay rate. Baseline: the bare server's rate for one client.

Run: `.venv/bin/python -m bench.sandbox_events` (or through `python -m bench sandbox_events`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from opsconsole.sandbox import ws
from opsconsole.sandbox.db import create_engine_for
from opsconsole.sandbox.events import EventBus
from opsconsole.sandbox.settings import SandboxSettings

REPEATS = 3
PUBLISH_COUNT = 2_000
PUBLISH_BATCHED_COUNT = 20_000
LIVE_EVENTS = {1: 10_000, 10: 2_000}
REPLAY_EVENTS = 5_000
BATCH = 100
TOKEN = "bench-token"  # accepted by the bench's own verifier only
DATA = {
    "user": {
        "id": "2c1f0e9a-8a53-4d0e-9c61-0f7f6b0d2a11",
        "email": "jane.doe@example.test",
        "status": "active",
    }
}


def _sample_event(i: int) -> str:
    return json.dumps(
        {
            "id": i,
            "type": "user.updated",
            "topic": "user.updated",
            "time": "2026-01-01T12:00:00.000Z",
            "data": DATA,
        },
        separators=(",", ":"),
    )


def _listening_socket(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart may bind the same port at once
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    return sock


def _verify(token: str) -> dict[str, Any]:
    if token != TOKEN:
        raise ValueError("not the bench token")
    return {"sub": "bench", "exp": time.time() + 3600, "scopes": ["read:users", "read:roles"]}


# --- the sandbox side ----------------------------------------------------------------------------


class SandboxStream:
    """The bus and /ws/notifications on uvicorn in a background thread."""

    def __init__(self, data_dir: Path, keep: int, max_queue: int, port: int = 0) -> None:
        self.engine = create_engine_for(SandboxSettings(data_dir=data_dir))
        self.bus = EventBus(self.engine, keep=keep, max_queue=max_queue)
        self.bus.create_schema()
        started = threading.Event()

        @contextlib.asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            self.bus.attach_loop(asyncio.get_running_loop())
            started.set()
            yield
            await self.bus.aclose()

        app = FastAPI(lifespan=lifespan)
        app.state.bus = self.bus
        app.state.settings = SimpleNamespace(heartbeat_interval=15.0)
        app.state.verify_access_token = _verify
        app.state.account_permissions = lambda claims: claims["scopes"]  # the bench account reads all
        app.state.streams = ws.StreamRegistry()
        app.include_router(ws.router)
        self.sock = _listening_socket(port)
        self.url = f"ws://127.0.0.1:{self.sock.getsockname()[1]}{ws.PATH}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        if not started.wait(30):
            raise RuntimeError("the bench server did not start")

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()
        self.engine.dispose()


async def _receive(conn: ClientConnection, count: int) -> None:
    got = 0
    while got < count:
        if "id" in json.loads(await conn.recv()):
            got += 1


async def _sandbox_live(stream: SandboxStream, clients: int, count: int) -> float:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with contextlib.AsyncExitStack() as stack:
        conns = [
            await stack.enter_async_context(connect(stream.url, additional_headers=headers))
            for _ in range(clients)
        ]
        for conn in conns:
            json.loads(await conn.recv())  # stream.subscribed: the subscription is registered
        batch = [("user.updated", DATA, None)] * BATCH

        def produce() -> None:
            for _ in range(count // BATCH):
                stream.bus.publish_many(batch)

        start = time.perf_counter()
        producer = asyncio.create_task(asyncio.to_thread(produce))
        await asyncio.gather(*(_receive(c, count) for c in conns))
        elapsed = time.perf_counter() - start
        await producer
    return count / elapsed


async def _sandbox_replay(stream: SandboxStream, count: int) -> float:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    start_id = stream.bus.last_id - count
    start = time.perf_counter()
    async with connect(f"{stream.url}?last_event_id={start_id}", additional_headers=headers) as conn:
        await _receive(conn, count)
    return count / (time.perf_counter() - start)


# --- the baseline --------------------------------------------------------------------------------


class BareBroadcast:
    """A bare websockets server: one producer feeds a queue per connection, each drained by its handler."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.queues: set[asyncio.Queue[str]] = set()
        self.connected = threading.Condition()
        self.sock = _listening_socket()
        self.url = f"ws://127.0.0.1:{self.sock.getsockname()[1]}"
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(30)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            async with serve(self._handler, sock=self.sock) as server:
                self.server = server
                ready.set()
                await server.wait_closed()

        self.loop.run_until_complete(main())

    async def _handler(self, conn: ServerConnection) -> None:
        queue: asyncio.Queue[str] = asyncio.Queue()

        async def pump() -> None:
            while True:
                await conn.send(await queue.get())

        self.queues.add(queue)
        with self.connected:
            self.connected.notify_all()
        sender = asyncio.create_task(pump())
        try:
            # Until the client leaves: its queue must stop receiving (and costing) at once.
            await conn.wait_closed()
        finally:
            self.queues.discard(queue)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await sender

    def wait_for(self, clients: int) -> None:
        with self.connected:
            self.connected.wait_for(lambda: len(self.queues) >= clients, 30)

    def produce(self, count: int) -> None:
        async def feed() -> None:
            for first in range(0, count, BATCH):
                for i in range(first, min(first + BATCH, count)):
                    message = _sample_event(i + 1)
                    for queue in self.queues:
                        queue.put_nowait(message)
                await asyncio.sleep(0)

        asyncio.run_coroutine_threadsafe(feed(), self.loop).result(60)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.thread.join(30)


async def _bare_live(bare: BareBroadcast, clients: int, count: int) -> float:
    async with contextlib.AsyncExitStack() as stack:
        conns = [await stack.enter_async_context(connect(bare.url)) for _ in range(clients)]
        await asyncio.to_thread(bare.wait_for, clients)
        start = time.perf_counter()
        producer = asyncio.create_task(asyncio.to_thread(bare.produce, count))
        await asyncio.gather(*(_receive(c, count) for c in conns))
        elapsed = time.perf_counter() - start
        await producer
    return count / elapsed


# --- publishing ----------------------------------------------------------------------------------


def _publish_rate(bus: EventBus, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        bus.publish("user.updated", DATA)
    return count / (time.perf_counter() - start)


def _publish_batched_rate(bus: EventBus, count: int) -> float:
    batch = [("alert.fired", DATA, None)] * BATCH
    start = time.perf_counter()
    for _ in range(count // BATCH):
        bus.publish_events(batch)
    return count / (time.perf_counter() - start)


def _raw_batched_insert_rate(engine: sa.Engine, count: int) -> float:
    table = _raw_table(engine)
    rows = [
        {
            "topic": "alert.fired",
            "type": "alert.fired",
            "time": "2026-01-01T12:00:00.000Z",
            "data": json.dumps(DATA),
        }
    ] * BATCH
    insert = sa.insert(table)  # one executemany per batch: the fastest plain way to write them
    start = time.perf_counter()
    for _ in range(count // BATCH):
        with engine.begin() as conn:
            conn.execute(insert, rows)
    return count / (time.perf_counter() - start)


def _raw_table(engine: sa.Engine) -> sa.Table:
    table = sa.Table(
        "bench_raw_events",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("topic", sa.String(255)),
        sa.Column("type", sa.String(255)),
        sa.Column("time", sa.String(40)),
        sa.Column("data", sa.Text),
    )
    table.create(engine, checkfirst=True)
    return table


def _raw_insert_rate(engine: sa.Engine, count: int) -> float:
    table = _raw_table(engine)
    row = {
        "topic": "user.updated",
        "type": "user.updated",
        "time": "2026-01-01T12:00:00.000Z",
        "data": json.dumps(DATA),
    }
    start = time.perf_counter()
    for _ in range(count):
        with engine.begin() as conn:
            conn.execute(sa.insert(table), row)
    return count / (time.perf_counter() - start)


# --- running -------------------------------------------------------------------------------------


def _result(name: str, values: list[float], baselines: list[float]) -> dict[str, Any]:
    value, baseline = statistics.median(values), statistics.median(baselines)
    return {
        "name": name,
        "value": round(value, 1),
        "unit": "events/s",
        "baseline": round(baseline, 1),
        "ratio": round(value / baseline, 3),
    }


@contextlib.contextmanager
def _temp_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="opsconsole-bench-events-") as name:
        yield Path(name)


def run() -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with _temp_dir() as data_dir:
        keep = (
            sum(LIVE_EVENTS.values()) * REPEATS
            + REPLAY_EVENTS
            + (PUBLISH_COUNT + PUBLISH_BATCHED_COUNT) * REPEATS
        )
        stream = SandboxStream(data_dir, keep=keep, max_queue=max(LIVE_EVENTS.values()))
        bare = BareBroadcast()
        try:
            ours, base = [], []
            for _ in range(REPEATS):
                base.append(_raw_insert_rate(stream.engine, PUBLISH_COUNT))
                ours.append(_publish_rate(stream.bus, PUBLISH_COUNT))
            results.append(_result("sandbox_events.publish", ours, base))
            ours, base = [], []
            for _ in range(REPEATS):
                base.append(_raw_batched_insert_rate(stream.engine, PUBLISH_BATCHED_COUNT))
                ours.append(_publish_batched_rate(stream.bus, PUBLISH_BATCHED_COUNT))
            results.append(_result("sandbox_events.publish_batched", ours, base))
            for clients, count in LIVE_EVENTS.items():
                ours, base = [], []
                for _ in range(REPEATS):
                    base.append(asyncio.run(_bare_live(bare, clients, count)))
                    ours.append(asyncio.run(_sandbox_live(stream, clients, count)))
                label = "1_client" if clients == 1 else f"{clients}_clients"
                results.append(_result(f"sandbox_events.ws_{label}", ours, base))
            ours, base = [], []
            for _ in range(REPEATS):
                base.append(asyncio.run(_bare_live(bare, 1, REPLAY_EVENTS)))
                ours.append(asyncio.run(_sandbox_replay(stream, REPLAY_EVENTS)))
            results.append(_result("sandbox_events.resume_replay", ours, base))
        finally:
            bare.close()
            stream.close()
    return results


def main() -> int:
    for result in run():
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
