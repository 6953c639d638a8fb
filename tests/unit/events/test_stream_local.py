"""The stream against small local WebSocket servers: where the token may go, and a frame too big."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from opsconsole.events.backoff import Backoff
from opsconsole.events.model import Event, Phase, StreamStatus
from opsconsole.events.stream import MAX_FRAME_BYTES, EventStream


class Tokens:
    async def access_token(self) -> str:
        return "SECRET-ACCESS-TOKEN"

    async def refresh(self, *, force: bool = False, rejected: str | None = None) -> Any:
        raise AssertionError("no refresh expected")


async def test_the_token_never_goes_over_plain_ws_to_another_machine() -> None:
    stream = EventStream("ws://192.0.2.10:8799/ws/notifications", Tokens())  # TEST-NET: never reached
    async with contextlib.aclosing(stream.items()) as items:
        statuses = [item async for item in items]
    last = statuses[-1]
    assert isinstance(last, StreamStatus) and last.phase is Phase.OFFLINE
    assert "wss://" in last.detail and stream.stats.connects == 0


def _event(i: int, size: int = 0) -> str:
    return json.dumps(
        {"id": i, "type": "a.b", "topic": "a.b", "time": "2026-11-30T10:00:00Z", "data": {"pad": "x" * size}}
    )


@contextlib.asynccontextmanager
async def _server(frames: list[str]) -> AsyncIterator[str]:
    """Sends `frames` after stream.subscribed, resuming after the client's last_event_id."""

    async def handler(conn: ServerConnection) -> None:
        after = int(
            dict(p.split("=") for p in conn.request.path.split("?")[1].split("&")).get("last_event_id", 0)
        )
        await conn.send(json.dumps({"type": "stream.subscribed", "topics": ["#"], "last_event_id": after}))
        for frame in frames:
            if json.loads(frame)["id"] > after:
                await conn.send(frame)
        await conn.wait_closed()

    async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ws"


async def test_a_frame_over_the_limit_is_skipped_and_the_stream_goes_on() -> None:
    frames = [_event(1), _event(2, size=MAX_FRAME_BYTES + 1000), _event(3), _event(4)]
    async with _server(frames) as url:
        stream = EventStream(url, Tokens(), backoff=Backoff(base=0.01, cap=0.05))
        got: list[int] = []
        async with contextlib.aclosing(stream.items()) as items:
            async with asyncio.timeout(30):
                async for item in items:
                    if isinstance(item, Event):
                        got.append(item.id)
                        if item.id == 4:
                            break
    assert got == [1, 3, 4]
    assert stream.stats.oversized >= 1 and stream.stats.reconnects == 1


async def test_a_frame_far_over_the_limit_stops_the_stream_and_says_why() -> None:
    frames = [_event(1), _event(2, size=MAX_FRAME_BYTES * 9)]
    async with _server(frames) as url:
        stream = EventStream(url, Tokens(), backoff=Backoff(base=0.01, cap=0.05))
        async with contextlib.aclosing(stream.items()) as items, asyncio.timeout(60):
            statuses = [item async for item in items if isinstance(item, StreamStatus)]
    assert statuses[-1].phase is Phase.OFFLINE and "bytes" in statuses[-1].detail


@pytest.mark.parametrize("reason", ["pruned", "reset"])
async def test_gaps_are_reported_and_ids_after_them_are_new(reason: str) -> None:
    frames = [_event(50), _event(51)]

    async def handler(conn: ServerConnection) -> None:
        await conn.send(json.dumps({"type": "stream.subscribed", "topics": ["#"], "last_event_id": 900}))
        await conn.send(json.dumps({"type": "stream.gap", "requested_after": 900, "oldest_available": 50,
                                    "missed_at_least": 0, "reason": reason}))  # fmt: skip
        for frame in frames:
            await conn.send(frame)
        await conn.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/ws"
        stream = EventStream(url, Tokens(), since=900)
        got: list[int] = []
        async with contextlib.aclosing(stream.items()) as items, asyncio.timeout(15):
            async for item in items:
                if isinstance(item, Event):
                    got.append(item.id)
                    if len(got) == 2:
                        break
    assert got == [50, 51] and stream.stats.gaps == 1
