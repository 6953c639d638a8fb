"""The console's event stream client: read rate against a bare websockets client, and reconnect time.

Setup: the sandbox's own bus and `/ws/notifications` on uvicorn (bench.sandbox_events.SandboxStream),
one producer publishing in batches of 100 from a thread, as a busy API or the alert generator does.

Results (each the median of REPEATS runs):
- `events_client.read_rate` (events/s, higher is better): `EventStream.items()` (parse, dedupe,
  history, status) until every event arrived. Baseline: a bare `websockets` client reading the same
  stream and json-decoding each frame. Target: at least 0.5x.
- `events_client.read_rate_fast_server`: the same against a bare websockets server that sends as fast
  as it can (the sandbox's publishing is the limit above, so this shows the client's own cost).
- `events_client.back_live_after_restart` (s, lower is better): from the restarted server accepting
  connections to the console's stream being live again, its backoff capped at 0.1 s. Baseline: a bare
  `websockets` client opening a connection to the same server the moment it is up. Target: under 2 s.

Run: `.venv/bin/python -m bench events_client`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from bench.sandbox_events import BATCH, DATA, TOKEN, BareBroadcast, SandboxStream
from bench.sandbox_events import _result as _rate
from opsconsole.events import Backoff, Event, Phase, StreamStatus
from opsconsole.events.stream import EventStream

REPEATS = 3
EVENTS = 20_000


class BenchTokens:
    """The bench server's one token; nothing to refresh."""

    async def access_token(self) -> str:
        return TOKEN

    async def refresh(self, *, force: bool = False, rejected: str | None = None) -> Any:
        return None


def _produce(stream: SandboxStream, count: int) -> None:
    batch = [("user.updated", DATA, None)] * BATCH
    for _ in range(count // BATCH):
        stream.bus.publish_many(batch)


async def _console_rate(stream: SandboxStream, count: int) -> float:
    client = EventStream(stream.url, BenchTokens(), history=count)
    got = 0
    async with contextlib.aclosing(client.items()) as items:
        async for item in items:
            if isinstance(item, StreamStatus) and item.phase is Phase.LIVE:
                start = time.perf_counter()
                producer = asyncio.create_task(asyncio.to_thread(_produce, stream, count))
            elif isinstance(item, Event):
                got += 1
                if got == count:
                    break
    elapsed = time.perf_counter() - start
    await producer
    await client.close()
    return count / elapsed


async def _bare_rate(stream: SandboxStream, count: int) -> float:
    async with connect(stream.url, additional_headers={"Authorization": f"Bearer {TOKEN}"}) as conn:
        json.loads(await conn.recv())  # stream.subscribed
        start = time.perf_counter()
        producer = asyncio.create_task(asyncio.to_thread(_produce, stream, count))
        got = 0
        while got < count:
            if "id" in json.loads(await conn.recv()):
                got += 1
        elapsed = time.perf_counter() - start
        await producer
    return count / elapsed


async def _console_rate_bare(bare: BareBroadcast, count: int) -> float:
    """From the first event to the last, read by the console's stream (the bare client is timed alike)."""
    client = EventStream(bare.url + "/", BenchTokens(), history=count)

    def produce() -> None:
        bare.wait_for(1)  # the server has our connection: start sending
        bare.produce(count)

    producer = asyncio.create_task(asyncio.to_thread(produce))
    got, start = 0, 0.0
    async with contextlib.aclosing(client.items()) as items:
        async for item in items:
            if isinstance(item, Event):
                got += 1
                if got == 1:
                    start = time.perf_counter()
                if got == count:
                    break
    elapsed = time.perf_counter() - start
    await producer
    await client.close()
    return (count - 1) / elapsed


async def _bare_rate_bare(bare: BareBroadcast, count: int) -> float:
    async with connect(bare.url) as conn:
        await asyncio.to_thread(bare.wait_for, 1)
        producer = asyncio.create_task(asyncio.to_thread(bare.produce, count))
        json.loads(await conn.recv())
        start = time.perf_counter()
        for _ in range(count - 1):
            json.loads(await conn.recv())
        elapsed = time.perf_counter() - start
        await producer
    return (count - 1) / elapsed


async def _console_back_live(data_dir: Path) -> tuple[float, float]:
    """Seconds from the server up again to the console live, and to a bare client connected."""
    first = SandboxStream(data_dir, keep=1_000, max_queue=1_000)
    port = int(first.url.split(":")[2].split("/")[0])
    client = EventStream(first.url, BenchTokens(), backoff=Backoff(base=0.05, cap=0.1))
    lives = 0
    up_at = 0.0
    second: SandboxStream | None = None
    async with contextlib.aclosing(client.items()) as items:
        async for item in items:
            if isinstance(item, StreamStatus) and item.phase is Phase.LIVE:
                lives += 1
                if lives == 1:
                    await asyncio.to_thread(first.close)
                    second = await asyncio.to_thread(SandboxStream, data_dir, 1_000, 1_000, port)
                    up_at = time.perf_counter()
                else:
                    break
    console = time.perf_counter() - up_at
    await client.close()
    assert second is not None
    start = time.perf_counter()
    async with connect(second.url, additional_headers={"Authorization": f"Bearer {TOKEN}"}) as conn:
        json.loads(await conn.recv())
    bare = time.perf_counter() - start
    await asyncio.to_thread(second.close)
    return console, bare


def run() -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="opsconsole-bench-events-client-") as name:
        stream = SandboxStream(Path(name) / "rate", keep=EVENTS * REPEATS * 2 + 1, max_queue=EVENTS)
        try:
            ours, base = [], []
            for _ in range(REPEATS):
                base.append(asyncio.run(_bare_rate(stream, EVENTS)))
                ours.append(asyncio.run(_console_rate(stream, EVENTS)))
        finally:
            stream.close()
        results.append(_rate("events_client.read_rate", ours, base))
        bare = BareBroadcast()
        try:
            ours, base = [], []
            for _ in range(REPEATS):
                base.append(asyncio.run(_bare_rate_bare(bare, EVENTS)))
                ours.append(asyncio.run(_console_rate_bare(bare, EVENTS)))
        finally:
            bare.close()
        results.append(_rate("events_client.read_rate_fast_server", ours, base))
        consoles, bares = [], []
        for i in range(REPEATS):
            console, bare_s = asyncio.run(_console_back_live(Path(name) / f"restart{i}"))
            consoles.append(console)
            bares.append(bare_s)
        value, baseline = statistics.median(consoles), statistics.median(bares)
        results.append(
            {
                "name": "events_client.back_live_after_restart",
                "value": round(value, 4),
                "unit": "s",
                "baseline": round(baseline, 4),
                "ratio": round(value / baseline, 3),
            }
        )
    return results


def main() -> int:
    for result in run():
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
