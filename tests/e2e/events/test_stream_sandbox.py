"""The console's event stream against the real sandbox: every event exactly once, whatever happens.

Each test runs a real sandbox (uvicorn, SQLite, the real token endpoint) and the console's
``EventStream``, and breaks something on purpose: the server restarts, a proxy cuts the connection
without a close frame or stops forwarding, the access token expires, the history is pruned, the
client reads too slowly. Events are published through the sandbox's own bus, as its API does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsconsole.auth.errors import SessionEnded
from opsconsole.events import Backoff, Event, Gap, Phase, StreamStatus
from opsconsole.events.stream import EventStream
from opsconsole.sandbox.server import RunningSandbox
from tests.support.sandbox import ADMIN, CLIENT_ID, obtain_tokens

pytestmark = pytest.mark.timeout(90)

_WAIT = 30.0


class SandboxTokens:
    """A token source like the console's session: the real /token endpoint, refresh on demand."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.tokens = obtain_tokens(base_url, ADMIN)
        self.refreshes = 0
        self.session_ended = False

    async def access_token(self) -> str:
        return str(self.tokens["access_token"])

    async def refresh(self, *, force: bool = False, rejected: str | None = None) -> Any:
        if self.session_ended:  # what the console's session raises when the provider refuses the refresh
            raise SessionEnded("The session ended: sign in again.")
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(
                f"{self.base_url}/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": self.tokens["refresh_token"],
                    "client_id": CLIENT_ID,
                },
            )
        response.raise_for_status()
        self.tokens = response.json()
        self.refreshes += 1
        return self.tokens


class Reader:
    """Runs ``stream.items()`` in a task and collects what it yields, with awaitable conditions."""

    def __init__(self, stream: EventStream) -> None:
        self.stream = stream
        self.events: list[Event] = []
        self.gaps: list[Gap] = []
        self.statuses: list[StreamStatus] = []
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Reader:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stream.close()
        assert self._task is not None
        await asyncio.wait_for(self._task, _WAIT)

    async def _run(self) -> None:
        async with contextlib.aclosing(self.stream.items()) as items:
            async for item in items:
                if isinstance(item, Event):
                    self.events.append(item)
                elif isinstance(item, Gap):
                    self.gaps.append(item)
                else:
                    self.statuses.append(item)
                async with self._changed:
                    self._changed.notify_all()

    async def until(self, condition: Callable[[], bool], what: str) -> None:
        async def wait() -> None:
            async with self._changed:
                await self._changed.wait_for(condition)

        try:
            await asyncio.wait_for(wait(), _WAIT)
        except TimeoutError:
            pytest.fail(f"timed out waiting for {what}; statuses: {[s.message() for s in self.statuses]}")

    async def live(self, times: int = 1) -> None:
        await self.until(lambda: sum(s.phase is Phase.LIVE for s in self.statuses) >= times, f"live x{times}")

    def ids(self) -> list[int]:
        return [e.id for e in self.events]


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/ws/notifications"


def publish(sandbox: RunningSandbox, count: int, topic: str = "alert.fired") -> list[int]:
    published = sandbox.app.state.bus.publish_many([(topic, {"n": i}, None) for i in range(count)])
    return [int(e["id"]) for e in published]


def stream_for(base_url: str, tokens: SandboxTokens, **kwargs: Any) -> EventStream:
    kwargs.setdefault("backoff", Backoff(base=0.05, cap=0.5))
    kwargs.setdefault("ping_interval", 0.5)
    kwargs.setdefault("ping_timeout", 0.5)
    return EventStream(ws_url(base_url), tokens, **kwargs)


async def test_events_arrive_in_order_and_the_stream_says_it_is_live(
    make_sandbox: Callable[..., RunningSandbox],
) -> None:
    sandbox = make_sandbox()
    tokens = await asyncio.to_thread(SandboxTokens, sandbox.url)
    async with Reader(stream_for(sandbox.url, tokens, topics=["alert.*"])) as reader:
        await reader.live()
        ids = await asyncio.to_thread(publish, sandbox, 5)
        await asyncio.to_thread(publish, sandbox, 2, "role.created")  # not subscribed
        await reader.until(lambda: len(reader.events) >= 5, "5 events")
    assert reader.ids() == ids
    assert all(e.topic == "alert.fired" for e in reader.events)
    assert list(reader.stream.history) == reader.events
    assert reader.statuses[-1].phase is Phase.OFFLINE


async def test_a_server_restart_loses_and_repeats_nothing(
    make_sandbox: Callable[..., RunningSandbox], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    first = make_sandbox(data_dir=data_dir)
    port = first.settings.port
    tokens = await asyncio.to_thread(SandboxTokens, first.url)
    async with Reader(stream_for(first.url, tokens)) as reader:
        await reader.live()
        before = await asyncio.to_thread(publish, first, 20)
        await reader.until(lambda: len(reader.events) >= 20, "the first 20")
        await asyncio.to_thread(first.stop)
        await reader.until(
            lambda: any(s.phase is Phase.RECONNECTING for s in reader.statuses), "reconnecting"
        )
        second = make_sandbox(data_dir=data_dir, port=port)
        # Published before the client is back: it must get them by resuming, not live.
        during = await asyncio.to_thread(publish, second, 15)
        await reader.live(times=2)
        after = await asyncio.to_thread(publish, second, 10)
        await reader.until(lambda: len(reader.events) >= 45, "all 45 events")
    assert reader.ids() == before + during + after
    assert reader.ids() == list(range(reader.ids()[0], reader.ids()[0] + 45))  # contiguous
    assert reader.stream.stats.duplicates == 0


class CuttingProxy:
    """A TCP proxy that can cut every connection without a close frame, or silently stop forwarding."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.blackhole = False
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.port = 0
        self.connections = 0

    async def __aenter__(self) -> CuttingProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cut()
        assert self._server is not None
        self._server.close()

    def cut(self) -> None:
        """Reset every open connection (RST): the client gets no close frame."""
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers += [client_w, up_w]

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await reader.read(65536):
                    if not self.blackhole:
                        writer.write(data)
                        await writer.drain()
            writer.transport.abort()

        await asyncio.gather(pipe(client_r, up_w), pipe(up_r, client_w))


async def test_a_connection_cut_without_a_close_frame_is_resumed(
    make_sandbox: Callable[..., RunningSandbox],
) -> None:
    sandbox = make_sandbox()
    tokens = await asyncio.to_thread(SandboxTokens, sandbox.url)
    async with (
        CuttingProxy(sandbox.settings.port) as proxy,
        Reader(stream_for(f"http://127.0.0.1:{proxy.port}", tokens)) as reader,
    ):
        await reader.live()
        first = await asyncio.to_thread(publish, sandbox, 10)
        await reader.until(lambda: len(reader.events) >= 10, "10 events")
        proxy.cut()
        second = await asyncio.to_thread(publish, sandbox, 10)
        await reader.live(times=2)
        await reader.until(lambda: len(reader.events) >= 20, "20 events")
    assert reader.ids() == first + second
    assert proxy.connections == 2
    assert reader.stream.stats.last_close == "no close frame"


async def test_a_connection_that_stops_forwarding_is_found_dead_by_pings_and_resumed(
    make_sandbox: Callable[..., RunningSandbox],
) -> None:
    sandbox = make_sandbox(heartbeat_interval=60.0)  # no server traffic: only the pings can tell
    tokens = await asyncio.to_thread(SandboxTokens, sandbox.url)
    async with (
        CuttingProxy(sandbox.settings.port) as proxy,
        Reader(stream_for(f"http://127.0.0.1:{proxy.port}", tokens)) as reader,
    ):
        await reader.live()
        proxy.blackhole = True
        lost_live = await asyncio.to_thread(publish, sandbox, 5)
        await reader.until(
            lambda: any(s.phase is Phase.RECONNECTING for s in reader.statuses), "the dead link found"
        )
        proxy.blackhole = False
        await reader.until(lambda: len(reader.events) >= 5, "the 5 events, resumed")
    assert reader.ids() == lost_live


async def test_the_token_expiring_mid_stream_is_refreshed_without_losing_events(
    make_sandbox: Callable[..., RunningSandbox],
) -> None:
    sandbox = make_sandbox(access_token_ttl=2)
    tokens = await asyncio.to_thread(SandboxTokens, sandbox.url)
    async with Reader(stream_for(sandbox.url, tokens)) as reader:
        await reader.live()
        published: list[int] = []
        while tokens.refreshes < 2:  # through two expiries, publishing all along
            published += await asyncio.to_thread(publish, sandbox, 3)
            await asyncio.sleep(0.2)
        published += await asyncio.to_thread(publish, sandbox, 3)
        await reader.until(lambda: len(reader.events) >= len(published), "every event")
    assert reader.ids() == published
    assert "4401" in reader.stream.stats.last_close or tokens.refreshes >= 2
    assert not any(s.phase is Phase.SIGNED_OUT for s in reader.statuses)


async def test_resuming_past_the_kept_history_reports_the_gap(
    make_sandbox: Callable[..., RunningSandbox],
) -> None:
    sandbox = make_sandbox(events_keep=10)
    tokens = await asyncio.to_thread(SandboxTokens, sandbox.url)
    ids = await asyncio.to_thread(publish, sandbox, 60)
    async with Reader(stream_for(sandbox.url, tokens, since=ids[0])) as reader:
        await reader.until(lambda: bool(reader.gaps), "a gap")
        await reader.until(lambda: bool(reader.events) and reader.events[-1].id == ids[-1], "the kept tail")
    gap = reader.gaps[0]
    assert gap.requested_after == ids[0] and gap.missed_at_least > 0
    assert "may be missing" in gap.message()
    assert reader.ids() == list(range(gap.oldest_available, ids[-1] + 1))


async def test_a_slow_consumer_closed_with_1013_resumes_without_loss(
    make_sandbox: Callable[..., RunningSandbox],
) -> None:
    sandbox = make_sandbox()
    sandbox.app.state.bus.max_queue = 3  # new subscriptions overflow after three queued events
    tokens = await asyncio.to_thread(SandboxTokens, sandbox.url)
    async with Reader(stream_for(sandbox.url, tokens)) as reader:
        await reader.live()
        ids = await asyncio.to_thread(publish, sandbox, 50)  # one hand-off: the queue overflows at once
        await reader.until(lambda: len(reader.events) >= 50, "all 50 events")
    assert reader.ids() == ids
    assert "1013" in reader.stream.stats.last_close


async def test_a_server_that_refuses_the_token_for_good_signs_the_stream_out(
    make_sandbox: Callable[..., RunningSandbox],
) -> None:
    sandbox = make_sandbox()
    tokens = await asyncio.to_thread(SandboxTokens, sandbox.url)
    async with httpx.AsyncClient() as client:  # sign out everywhere: the refresh token is revoked
        await client.post(
            f"{sandbox.url}/revoke",
            data={"token": tokens.tokens["refresh_token"], "client_id": CLIENT_ID},
        )
    tokens.session_ended = True
    async with Reader(stream_for(sandbox.url, tokens)) as reader:
        await reader.until(lambda: any(s.phase is Phase.SIGNED_OUT for s in reader.statuses), "signed out")
    assert reader.statuses[-1].phase is Phase.SIGNED_OUT
    assert "sign in again" in reader.statuses[-1].detail
