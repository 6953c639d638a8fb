"""Helpers for the tests of the sandbox's live side (events, ws, telemetry, tracing, jaeger, synthetic).

- engines on the sandbox's own engine factory (SQLite file in a temp dir, or a fresh PostgreSQL
  database from tests/support/postgres.py);
- `serve(app)`: a real uvicorn server on a free loopback port, in the test's event loop;
- `sandbox_on(request, tmp_path_factory, **settings)`: a whole sandbox on the database named by a
  fixture's param ("sqlite" or "postgresql"), for module fixtures parametrized over both;
- test access tokens: HS256 JWTs signed with a test secret, and `verify_test_token`, which behaves
  like the sandbox's `verify_access_token` (claims, or ValueError);
- `collect(sub, n)`: read n events from a subscription, bounded in time;
- `ws_url`, `recv`, `recv_events`, `closed`: a WebSocket client's view of /ws/notifications.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
import uvicorn
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from opsconsole.sandbox.db import create_engine_for
from opsconsole.sandbox.events import Event, Gap, Subscription
from opsconsole.sandbox.server import RunningSandbox, start_background
from opsconsole.sandbox.settings import SandboxSettings
from tests.support.postgres import fresh_database
from tests.support.sandbox import test_settings

TEST_SECRET = "live-side tests only: not a real signing key"
AUDIENCE = "opsconsole-api"


def sqlite_engine(data_dir: Path) -> sa.Engine:
    return create_engine_for(SandboxSettings(data_dir=data_dir))


def postgres_engine(url: str, data_dir: Path) -> sa.Engine:
    return create_engine_for(SandboxSettings(db_url=url, data_dir=data_dir))


def make_token(
    *, sub: str = "tester", ttl: float = 300.0, scopes: Sequence[str] = ("read:users", "read:roles")
) -> str:
    now = time.time()
    claims = {
        "sub": sub,
        "aud": AUDIENCE,
        "iss": "test",
        "iat": int(now),
        "exp": now + ttl,
        "scopes": list(scopes),
    }
    return jwt.encode(claims, TEST_SECRET, algorithm="HS256")


def verify_test_token(token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(token, TEST_SECRET, algorithms=["HS256"], audience=AUDIENCE)
    except jwt.PyJWTError as exc:
        raise ValueError(str(exc)) from exc
    return claims


@contextlib.contextmanager
def sandbox_on(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, **overrides: Any
) -> Iterator[RunningSandbox]:
    """A running sandbox on ``request.param``'s database (a fresh PostgreSQL one, or SQLite)."""
    with contextlib.ExitStack() as stack:
        if request.param == "postgresql":
            overrides["db_url"] = stack.enter_context(fresh_database(request.getfixturevalue("postgres_url")))
        settings = test_settings(tmp_path_factory.mktemp("sandbox"), **overrides)
        yield stack.enter_context(start_background(settings))


@contextlib.asynccontextmanager
async def serve(app: Any, **config: Any) -> AsyncIterator[str]:
    """Run `app` on uvicorn in this loop on a free port; yields its base URL (http://127.0.0.1:PORT).

    The listening socket is bound before the server starts, so clients may connect at once: the
    kernel queues them until uvicorn accepts.
    """
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when the listening
    # socket says TCP, and without it Nagle + delayed ACK add ~40 ms to every response.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    options: dict[str, Any] = {"log_level": "warning", "lifespan": "on"}
    options.update(config)
    server = uvicorn.Server(uvicorn.Config(app, **options))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
        sock.close()


async def collect(sub: Subscription, count: int, *, within: float = 15.0) -> list[Event | Gap]:
    """The next items of `sub` until `count` events (gaps are included but not counted)."""
    items: list[Event | Gap] = []
    async with asyncio.timeout(within):
        while sum(isinstance(i, Event) for i in items) < count:
            items.extend(await sub.next_batch(1.0))
    return items


def event_ids(items: Sequence[object]) -> list[int]:
    return [i.id for i in items if isinstance(i, Event)]


async def recv(conn: ClientConnection) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(conn.recv(), 10))
    assert isinstance(message, dict)
    return message


async def recv_events(conn: ClientConnection, count: int) -> list[dict[str, Any]]:
    """The next `count` events, skipping heartbeats; fails on any other control message."""
    got: list[dict[str, Any]] = []
    while len(got) < count:
        message = await recv(conn)
        if message.get("type") == "stream.heartbeat":
            continue
        assert "id" in message, message
        got.append(message)
    return got


async def closed(conn: ClientConnection) -> tuple[int | None, str | None]:
    """Read until the server closes; the close code and reason."""
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(10):
            while True:
                await conn.recv()
    return conn.close_code, conn.close_reason


def ws_url(sandbox: RunningSandbox, query: str = "") -> str:
    return sandbox.url.replace("http://", "ws://", 1) + "/ws/notifications" + query
