"""Helpers for the tests of the sandbox's live side (events, ws, telemetry, tracing, jaeger, synthetic).

- engines on the sandbox's own engine factory (SQLite file in a temp dir, or a fresh PostgreSQL
  database from tests/support/postgres.py);
- `serve(app)`: a real uvicorn server on a free loopback port, in the test's event loop;
- test access tokens: HS256 JWTs signed with a test secret, and `verify_test_token`, which behaves
  like the sandbox's `verify_access_token` (claims, or ValueError);
- `collect(sub, n)`: read n events from a subscription, bounded in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import jwt
import sqlalchemy as sa
import uvicorn

from opsconsole.sandbox.db import create_engine_for
from opsconsole.sandbox.events import Event, Gap, Subscription
from opsconsole.sandbox.settings import SandboxSettings

TEST_SECRET = "live-side tests only: not a real signing key"
AUDIENCE = "opsconsole-api"


def sqlite_engine(data_dir: Path) -> sa.Engine:
    return create_engine_for(SandboxSettings(data_dir=data_dir))


def postgres_engine(url: str, data_dir: Path) -> sa.Engine:
    return create_engine_for(SandboxSettings(db_url=url, data_dir=data_dir))


def make_token(*, sub: str = "tester", ttl: float = 300.0, scopes: Sequence[str] = ("read:users",)) -> str:
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
