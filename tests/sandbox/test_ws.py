"""/ws/notifications over a real uvicorn server: auth, subscriptions, resume, heartbeats, expiry, hostile input."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from opsconsole.sandbox import ws
from opsconsole.sandbox.events import EventBus
from opsconsole.sandbox.server import RunningSandbox
from tests.sandbox.live_support import make_token, serve, sqlite_engine, verify_test_token
from tests.support.sandbox import ADMIN, VIEWER, bearer, obtain_tokens


def ws_app(bus: EventBus, *, heartbeat_interval: float = 15.0) -> FastAPI:
    """A bare app with only the notifications endpoint and the state it reads."""
    app = FastAPI()
    app.state.bus = bus
    app.state.settings = SimpleNamespace(heartbeat_interval=heartbeat_interval)
    app.state.verify_access_token = verify_test_token
    app.include_router(ws.router)
    return app


@dataclass
class Live:
    bus: EventBus
    url: str

    def connect(self, query: str = "", *, token: str | None = None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token or make_token()}"}
        return connect(f"{self.url}/ws/notifications{query}", additional_headers=headers, **kwargs)


async def _live(tmp_path: Path, **bus_options: Any) -> AsyncIterator[Live]:
    heartbeat = bus_options.pop("heartbeat_interval", 15.0)
    engine = sqlite_engine(tmp_path)
    bus = EventBus(engine, **bus_options)
    bus.create_schema()
    bus.attach_loop(asyncio.get_running_loop())
    try:
        async with serve(ws_app(bus, heartbeat_interval=heartbeat)) as base:
            yield Live(bus, base.replace("http://", "ws://"))
    finally:
        bus.close()
        engine.dispose()


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    async for value in _live(tmp_path):
        yield value


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


# --- authentication ------------------------------------------------------------------------------


async def test_handshake_without_a_token_is_refused_with_401(live: Live) -> None:
    with pytest.raises(InvalidStatus) as caught:
        async with connect(f"{live.url}/ws/notifications"):
            pass
    response = caught.value.response
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert json.loads(response.body)["status"] == 401


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        make_token(ttl=-10),
        make_token().rsplit(".", 1)[0] + ".c2lnbmF0dXJl",
    ],
    ids=["garbage", "expired", "bad-signature"],
)
async def test_handshake_with_a_bad_token_is_refused_with_401(live: Live, token: str) -> None:
    with pytest.raises(InvalidStatus) as caught:
        async with live.connect(token=token):
            pass
    assert caught.value.response.status_code == 401
    assert token.encode() not in caught.value.response.body


async def test_a_non_bearer_authorization_header_is_refused(live: Live) -> None:
    with pytest.raises(InvalidStatus) as caught:
        async with connect(
            f"{live.url}/ws/notifications", additional_headers={"Authorization": "Basic eDp5"}
        ):
            pass
    assert caught.value.response.status_code == 401


async def test_token_in_the_authorization_header(live: Live) -> None:
    live.bus.publish("user.created", {})
    async with live.connect() as conn:
        assert await recv(conn) == {"type": "stream.subscribed", "topics": ["#"], "last_event_id": 1}
        assert conn.subprotocol is None


async def test_token_as_the_bearer_subprotocol_pair(live: Live) -> None:
    protocols = [Subprotocol("bearer"), Subprotocol(make_token())]
    async with connect(f"{live.url}/ws/notifications", subprotocols=protocols) as conn:
        assert conn.subprotocol == "bearer"
        assert (await recv(conn))["type"] == "stream.subscribed"
        await asyncio.to_thread(live.bus.publish, "user.created", {"n": 1})
        [event] = await recv_events(conn, 1)
        assert event["data"] == {"n": 1}


async def test_a_bad_subprotocol_token_is_refused(live: Live) -> None:
    protocols = [Subprotocol("bearer"), Subprotocol("nope")]
    with pytest.raises(InvalidStatus) as caught:
        async with connect(f"{live.url}/ws/notifications", subprotocols=protocols):
            pass
    assert caught.value.response.status_code == 401


async def test_the_stream_closes_with_4401_when_the_token_expires(live: Live) -> None:
    async with live.connect(token=make_token(ttl=1.0)) as conn:
        assert (await recv(conn))["type"] == "stream.subscribed"
        assert await closed(conn) == (4401, "access token expired")


# --- the stream ----------------------------------------------------------------------------------


async def test_events_match_the_wire_shape_and_the_query_topics(live: Live) -> None:
    async with live.connect("?topics=user.*,role.%23") as conn:
        assert (await recv(conn))["topics"] == ["user.*", "role.#"]
        for topic in ("alert.fired", "user.created", "role.granted", "userx.created"):
            await asyncio.to_thread(live.bus.publish, topic, {"topic": topic})
        got = await recv_events(conn, 2)
    assert [e["topic"] for e in got] == ["user.created", "role.granted"]
    for event in got:
        assert set(event) == {"id", "type", "topic", "time", "data"}
        assert event["type"] == event["topic"] and event["data"] == {"topic": event["topic"]}
    assert got[0]["id"] < got[1]["id"]


async def test_resume_with_last_event_id_gets_exactly_the_missed_events(live: Live) -> None:
    live.bus.publish_many([("user.created", {"i": i}, None) for i in range(1, 21)])
    async with live.connect("?last_event_id=12") as conn:
        assert (await recv(conn))["last_event_id"] == 12
        assert [e["id"] for e in await recv_events(conn, 8)] == list(range(13, 21))
        await asyncio.to_thread(live.bus.publish, "user.deleted", {})
        assert [e["id"] for e in await recv_events(conn, 1)] == [21]


async def test_resume_while_others_publish_has_no_duplicates_and_no_loss(live: Live) -> None:
    live.bus.publish_many([("user.created", {}, None)] * 1500)
    worker = threading.Thread(target=lambda: [live.bus.publish("user.updated", {}) for _ in range(300)])
    worker.start()
    try:
        async with live.connect("?last_event_id=200") as conn:
            await recv(conn)
            ids = [e["id"] for e in await recv_events(conn, 1600)]
    finally:
        await asyncio.to_thread(worker.join)
    assert ids == list(range(201, 1801))


async def test_resume_from_before_the_window_sends_stream_gap(tmp_path: Path) -> None:
    async for live in _live(tmp_path, keep=10, prune_every=1):
        live.bus.publish_many([("user.created", {}, None)] * 25)
        async with live.connect("?last_event_id=2") as conn:
            assert (await recv(conn))["type"] == "stream.subscribed"
            gap = await recv(conn)
            assert gap == {
                "type": "stream.gap",
                "requested_after": 2,
                "oldest_available": 16,
                "missed_at_least": 13,
                "reason": "pruned",
            }
            assert [e["id"] for e in await recv_events(conn, 10)] == list(range(16, 26))


async def test_subscribe_message_replaces_the_subscription(live: Live) -> None:
    live.bus.publish_many(
        [("user.created", {}, None), ("role.granted", {}, None), ("user.deleted", {}, None)]
    )
    async with live.connect("?topics=alert.*") as conn:
        await recv(conn)
        await conn.send(json.dumps({"op": "subscribe", "topics": ["user.#"], "last_event_id": 0}))
        assert await recv(conn) == {"type": "stream.subscribed", "topics": ["user.#"], "last_event_id": 0}
        assert [e["topic"] for e in await recv_events(conn, 2)] == ["user.created", "user.deleted"]
        await conn.send(json.dumps({"op": "subscribe", "topics": ["role.*"]}))
        assert (await recv(conn))["topics"] == ["role.*"]
        await asyncio.to_thread(live.bus.publish, "user.created", {})
        await asyncio.to_thread(live.bus.publish, "role.revoked", {})
        assert [e["topic"] for e in await recv_events(conn, 1)] == ["role.revoked"]


async def test_heartbeats_arrive_on_schedule(tmp_path: Path) -> None:
    async for live in _live(tmp_path, heartbeat_interval=0.2):
        async with live.connect() as conn:
            await recv(conn)
            beats = [await recv(conn) for _ in range(3)]
        assert all(b["type"] == "stream.heartbeat" and b["time"].endswith("Z") for b in beats)


async def test_a_slow_consumer_is_closed_with_1013_and_its_resume_point(tmp_path: Path) -> None:
    async for live in _live(tmp_path, max_queue=3):
        async with live.connect() as conn:
            await recv(conn)
            # One publish_many is one hand-off to the loop: the queue overflows before the pump runs.
            await asyncio.to_thread(live.bus.publish_many, [("user.created", {}, None)] * 20)
            code, reason = await closed(conn)
        assert code == 1013
        assert reason is not None and "last_event_id=0" in reason
        assert live.bus.subscriber_count == 0


async def test_server_shutdown_of_the_bus_closes_with_1001(live: Live) -> None:
    async with live.connect() as conn:
        await recv(conn)
        live.bus.close("restarting")
        assert await closed(conn) == (1001, "restarting")


async def test_too_many_subscribers_is_refused_with_1013(tmp_path: Path) -> None:
    async for live in _live(tmp_path, max_subscribers=1):
        async with live.connect() as first:
            await recv(first)
            async with live.connect() as second:
                code, reason = await closed(second)
        assert code == 1013 and reason is not None and "subscribers" in reason


# --- hostile and malformed input -----------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        "[1, 2]",
        json.dumps({"op": "unsubscribe"}),
        json.dumps({"op": "subscribe", "topics": "user.*"}),
        json.dumps({"op": "subscribe", "topics": []}),
        json.dumps({"op": "subscribe", "topics": ["user*"]}),
        json.dumps({"op": "subscribe", "topics": [f"t{i}" for i in range(51)]}),
        json.dumps({"op": "subscribe", "topics": ["#"], "last_event_id": -1}),
        json.dumps({"op": "subscribe", "topics": ["#"], "last_event_id": "12"}),
        json.dumps({"op": "subscribe", "topics": ["#"], "extra": 1}),
        b"\x00binary",
    ],
)
async def test_malformed_messages_get_stream_error_and_the_stream_goes_on(
    live: Live, message: str | bytes
) -> None:
    async with live.connect("?topics=user.*") as conn:
        await recv(conn)
        await conn.send(message)
        error = await recv(conn)
        assert error["type"] == "stream.error" and error["error"] == "invalid_message" and error["detail"]
        await asyncio.to_thread(live.bus.publish, "user.created", {})
        assert [e["topic"] for e in await recv_events(conn, 1)] == ["user.created"]


async def test_a_message_over_64_kib_closes_with_1009(live: Live) -> None:
    async with live.connect() as conn:
        await recv(conn)
        await conn.send(json.dumps({"op": "subscribe", "topics": ["#"], "pad": "x" * 70_000}))
        code, _ = await closed(conn)
    assert code == 1009


async def test_a_flood_of_malformed_messages_closes_with_4400(live: Live) -> None:
    async with live.connect() as conn:
        await recv(conn)
        for _ in range(ws.MAX_ERRORS):
            await conn.send("{")
        code, reason = await closed(conn)
    assert code == 4400 and reason is not None and "malformed" in reason


@pytest.mark.parametrize(
    "query",
    ["?topics=user*", "?topics=", "?last_event_id=abc", "?last_event_id=-3", "?topics=" + ",".join("x" * 51)],
)
async def test_a_bad_query_closes_with_4400_after_saying_why(live: Live, query: str) -> None:
    async with live.connect(query) as conn:
        error = await recv(conn)
        assert error["type"] == "stream.error" and error["detail"]
        code, _ = await closed(conn)
    assert code == 4400


async def test_aclose_waits_until_clients_got_going_away(live: Live) -> None:
    async with live.connect() as first, live.connect("?topics=user.*") as second:
        await recv(first)
        await recv(second)
        await live.bus.aclose("restarting", grace=5)
        # Both sessions sent their close frame before aclose returned.
        assert await closed(first) == (1001, "restarting")
        assert await closed(second) == (1001, "restarting")


async def test_a_client_that_stops_reading_is_dropped(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ws, "SEND_TIMEOUT", 0.5)
    # A tiny receive buffer, and the client library told to stop reading after one frame: the
    # server's sends back up until one of them blocks for longer than the send timeout.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = live.url.removeprefix("ws://").split(":")
    sock.connect((host, int(port)))
    headers = {"Authorization": f"Bearer {make_token()}"}
    async with connect(
        f"{live.url}/ws/notifications", sock=sock, additional_headers=headers, max_queue=1, close_timeout=0.5
    ) as conn:
        await recv(conn)
        assert live.bus.subscriber_count == 1
        # Incompressible, or per-message deflate would shrink it to nothing.
        blobs = [base64.b64encode(os.urandom(24_000)).decode() for _ in range(200)]
        await asyncio.to_thread(live.bus.publish_many, [("user.created", {"blob": b}, None) for b in blobs])
        for _ in range(200):
            if live.bus.subscriber_count == 0:
                break
            await asyncio.sleep(0.05)
        assert live.bus.subscriber_count == 0


# --- through the real sandbox --------------------------------------------------------------------


def ws_url(sandbox: RunningSandbox, query: str = "") -> str:
    return sandbox.url.replace("http://", "ws://", 1) + "/ws/notifications" + query


async def create_user(base: str, headers: dict[str, str], email: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=15) as api:
        response = await api.post("/api/users", json={"email": email, "name": email.split("@")[0]})
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


async def test_the_sandbox_streams_api_changes_to_a_subprotocol_client(sandbox: RunningSandbox) -> None:
    tokens = await asyncio.to_thread(obtain_tokens, sandbox.url, ADMIN)
    protocols = [Subprotocol("bearer"), Subprotocol(tokens["access_token"])]
    async with connect(ws_url(sandbox, "?topics=user.*"), subprotocols=protocols) as conn:
        subscribed = await recv(conn)
        assert subscribed["type"] == "stream.subscribed" and subscribed["topics"] == ["user.*"]
        user = await create_user(sandbox.url, bearer(tokens), "stream.one@example.test")
        [event] = await recv_events(conn, 1)
    assert event["topic"] == event["type"] == "user.created"
    assert event["id"] > subscribed["last_event_id"]
    assert event["data"]["user"]["id"] == user["id"]


async def test_the_sandbox_refuses_a_handshake_without_a_valid_token(sandbox: RunningSandbox) -> None:
    for headers in ({}, {"Authorization": "Bearer not.a.token"}):
        with pytest.raises(InvalidStatus) as caught:
            async with connect(ws_url(sandbox), additional_headers=headers):
                pass
        assert caught.value.response.status_code == 401


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def test_the_resume_window_survives_a_sandbox_restart(
    make_sandbox: Callable[..., RunningSandbox],
    tmp_path: Path,
    request: pytest.FixtureRequest,
    database: str,
) -> None:
    options: dict[str, Any] = {"data_dir": tmp_path}
    if database == "postgresql":
        options["db_url"] = request.getfixturevalue("postgres_db_url")
    first = await asyncio.to_thread(make_sandbox, **options)
    headers = bearer(await asyncio.to_thread(obtain_tokens, first.url, ADMIN))
    async with connect(ws_url(first), additional_headers=headers) as conn:
        start = (await recv(conn))["last_event_id"]
        for i in range(3):
            await create_user(first.url, headers, f"before.{i}@example.test")
        before = [e["id"] for e in await recv_events(conn, 3)]
    await asyncio.to_thread(first.stop)

    again = await asyncio.to_thread(make_sandbox, **options)
    headers = bearer(await asyncio.to_thread(obtain_tokens, again.url, ADMIN))
    async with connect(ws_url(again, f"?last_event_id={before[0]}"), additional_headers=headers) as conn:
        assert (await recv(conn))["last_event_id"] == before[0]
        replayed = await recv_events(conn, 2)
        assert [e["id"] for e in replayed] == before[1:]
        await create_user(again.url, headers, "after@example.test")
        [after] = await recv_events(conn, 1)
    assert before == sorted(before) and before[0] > start
    assert after["id"] > before[-1]
    assert after["data"]["user"]["email"] == "after@example.test"


async def test_the_sandbox_closes_the_stream_when_the_token_expires(
    make_sandbox: Callable[..., RunningSandbox],
) -> None:
    sandbox = await asyncio.to_thread(make_sandbox, access_token_ttl=2)
    tokens = await asyncio.to_thread(obtain_tokens, sandbox.url, VIEWER)
    async with connect(ws_url(sandbox), additional_headers=bearer(tokens)) as conn:
        assert (await recv(conn))["type"] == "stream.subscribed"
        assert await closed(conn) == (4401, "access token expired")
