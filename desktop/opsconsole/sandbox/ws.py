"""`/ws/notifications`: the live event stream over WebSocket, with topic subscriptions and resume.

The wire protocol is fixed in docs/sandbox-contract.md. In short: a valid access token (the
`Authorization: Bearer` header, or the subprotocol pair `bearer, <token>`) or the handshake is
refused with HTTP 401; topics and a resume point come from the query (`?topics=user.*,role.#&
last_event_id=N`) or from a `{"op": "subscribe", ...}` message; the server sends events (they carry
an `id`) and control messages (`stream.subscribed`, `stream.heartbeat`, `stream.gap`,
`stream.error`). Close codes: 4401 token expired, revoked or invalid (or its session ended, or the
account was disabled or deleted), 4403 a permission the subscription needs was lost, 4400 malformed
client traffic, 1009 message too big, 1013 slow consumer or server busy, 1001 server going away.

Reading is checked like the REST API (stream_access.py): each topic family needs its permission in
the token's scopes and in the account's current roles, at subscribe, resubscribe and replay alike;
`stream.subscribed` lists the patterns refused and the families filtered out of wildcards; fields an
event carries that the caller may not see (the actor's email without read:users) are left out of
what it is sent, judged on its permissions as last checked. At every
heartbeat the token and the account are checked again, so a revocation ends the stream within one
heartbeat interval rather than at the token's expiry; the API asks for that check at once
(`StreamRegistry.recheck`) when it disables, deletes or re-passwords an account or takes permissions
away.

One task writes to the socket (the session's pump) and one reads from it; client messages reach
the writer through a small queue, so every frame the server sends is ordered in one place and a
client that floods us is slowed down by TCP rather than by our memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, QueryParams
from starlette.responses import JSONResponse
from starlette.websockets import WebSocketDisconnect

from .events import (
    MAX_PATTERNS,
    EventBus,
    StreamClosed,
    Subscription,
    TooManySubscribers,
    compile_patterns,
    iso_utc,
)
from .stream_access import Screened, StreamGrant

log = logging.getLogger("opsconsole.sandbox.ws")

__all__ = ["MAX_MESSAGE_BYTES", "PATH", "StreamRegistry", "bearer_token", "router"]

PATH: Final = "/ws/notifications"
MAX_MESSAGE_BYTES: Final = 64 * 1024
# A client that keeps sending garbage is cut off rather than answered forever.
MAX_ERRORS: Final = 20
_CONTROL_QUEUE: Final = 16
# A client that reads nothing for this long is given up on. The server may run without WebSocket
# pings, and a send blocked on a full socket would otherwise hold the session (and its subscription)
# for as long as the TCP connection lives.
SEND_TIMEOUT: Final = 30.0
_DEFAULT_HEARTBEAT: Final = 15.0
_MAX_EVENT_ID: Final = 2**63 - 1

CLOSE_GOING_AWAY: Final = 1001
CLOSE_TOO_BIG: Final = 1009
CLOSE_TRY_AGAIN: Final = 1013
CLOSE_BAD_REQUEST: Final = 4400
CLOSE_UNAUTHORIZED: Final = 4401
CLOSE_FORBIDDEN: Final = 4403

router = APIRouter()


def bearer_token(headers: Headers, subprotocols: Sequence[str]) -> str | None:
    """The access token of a handshake: the Authorization header's, else the `bearer, <token>` pair's."""
    auth = headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None
    for i, proto in enumerate(subprotocols[:-1]):
        if proto.lower() == "bearer":
            return subprotocols[i + 1]
    return None


def _parse_topics(raw: object) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise ValueError("topics is a list of topic patterns")
    topics = [t.strip() for t in raw]
    if not topics:
        raise ValueError("topics is empty: subscribe to at least one pattern ('#' for everything)")
    if len(topics) > MAX_PATTERNS:
        raise ValueError(f"at most {MAX_PATTERNS} topic patterns per subscription")
    compile_patterns(topics)  # raises ValueError naming the bad pattern
    return list(dict.fromkeys(topics))


def _parse_event_id(raw: object) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= _MAX_EVENT_ID:
        raise ValueError("last_event_id is a non-negative integer")
    return raw


def _parse_query(query: QueryParams) -> tuple[list[str], int | None]:
    raw_topics = [t for value in query.getlist("topics") for t in value.split(",")]
    topics = _parse_topics(raw_topics) if raw_topics else ["#"]
    raw_id = query.get("last_event_id")
    if raw_id is not None and not (raw_id.isascii() and raw_id.isdigit()):
        raise ValueError("last_event_id is a non-negative integer")
    return topics, _parse_event_id(None if raw_id is None else int(raw_id))


def _close_reason(text: str) -> str:
    # A close frame's reason is at most 123 bytes of UTF-8.
    data = text.encode()
    return text if len(data) <= 123 else data[:120].decode(errors="ignore") + "..."


def _error(code: str, detail: str) -> str:
    return json.dumps({"type": "stream.error", "error": code, "detail": detail})


async def _refuse(websocket: WebSocket, detail: str) -> None:
    """Refuse the handshake with 401 where the server can; otherwise accept and close with 4401."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        problem = {"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": detail}
        await websocket.send_denial_response(
            JSONResponse(
                problem,
                status_code=401,
                media_type="application/problem+json",
                headers={"WWW-Authenticate": 'Bearer realm="opsconsole", error="invalid_token"'},
            )
        )
        return
    await websocket.accept()
    await websocket.close(CLOSE_UNAUTHORIZED, _close_reason(detail))


async def _accept_and_close(websocket: WebSocket, subprotocol: str | None, code: int, detail: str) -> None:
    await websocket.accept(subprotocol=subprotocol)
    if code == CLOSE_BAD_REQUEST:
        await websocket.send_text(_error("invalid_request", detail))
    await websocket.close(code, _close_reason(detail))


@router.websocket(PATH)
async def notifications(websocket: WebSocket) -> None:
    """The live notification stream (see the module docstring for the protocol)."""
    state = websocket.app.state
    offered: list[str] = list(websocket.scope.get("subprotocols") or [])
    token = bearer_token(websocket.headers, offered)
    if token is None:
        await _refuse(
            websocket, "an access token is required: Authorization: Bearer, or subprotocols bearer, <token>"
        )
        return
    check = _Check(token, state.verify_access_token, state.account_permissions)
    try:
        # The checks read the database (revocation, roles), so they stay off the event loop.
        claims, grant = await run_in_threadpool(check)
    except ValueError:
        await _refuse(websocket, "the access token is invalid or expired")
        return
    # A client that offered subprotocols expects one back; `bearer` is the only one spoken here.
    subprotocol = "bearer" if any(p.lower() == "bearer" for p in offered) else None

    try:
        topics, last_event_id = _parse_query(websocket.query_params)
    except ValueError as exc:
        await _accept_and_close(websocket, subprotocol, CLOSE_BAD_REQUEST, str(exc))
        return
    bus: EventBus = state.bus
    screened = grant.screen(topics)
    try:
        sub = bus.subscribe(screened.topics, last_event_id, allow=grant.allows)
    except TooManySubscribers as exc:
        await _accept_and_close(websocket, subprotocol, CLOSE_TRY_AGAIN, str(exc))
        return
    except RuntimeError:  # the bus is not attached to a loop: the server is starting or stopping
        await _accept_and_close(websocket, subprotocol, CLOSE_GOING_AWAY, "the event stream is not running")
        return

    heartbeat = float(getattr(getattr(state, "settings", None), "heartbeat_interval", _DEFAULT_HEARTBEAT))
    session = _Session(websocket, sub, heartbeat, _expiry(claims), check, grant, screened)
    registry: StreamRegistry = state.streams
    subject = str(claims.get("sub"))
    registry.add(subject, session)
    try:
        await websocket.accept(subprotocol=subprotocol)
        await session.run()
    finally:
        registry.discard(subject, session)
        sub.close()


class StreamRegistry:
    """The open streams by account, so that a change to an account can have them re-checked at once.

    ``recheck`` is safe from any thread (the API's handlers run in worker threads); the sessions it
    nudges run their heartbeat check on their next turn instead of waiting for the heartbeat.
    """

    def __init__(self) -> None:
        self._sessions: dict[str, set[_Session]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, subject: str, session: _Session) -> None:
        self._loop = asyncio.get_running_loop()
        self._sessions.setdefault(subject, set()).add(session)

    def discard(self, subject: str, session: _Session) -> None:
        sessions = self._sessions.get(subject)
        if sessions is not None:
            sessions.discard(session)
            if not sessions:
                del self._sessions[subject]

    def recheck(self, subject: str | None) -> None:
        """Re-check the streams of account ``subject`` (every stream when None) as soon as they can."""
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed: no streams left to check
            loop.call_soon_threadsafe(self._nudge, subject)

    def _nudge(self, subject: str | None) -> None:
        groups = list(self._sessions.values()) if subject is None else [self._sessions.get(subject, set())]
        for sessions in groups:
            for session in list(sessions):
                session.request_recheck()


class _Check:
    """Verifies the connection's token and reads the account's permissions (call it off the loop).

    Raises ValueError (the verifier's InvalidToken) when the token was revoked, its session ended or
    its account was disabled or deleted.
    """

    def __init__(
        self,
        token: str,
        verify: Callable[[str], Mapping[str, Any]],
        permissions: Callable[[Mapping[str, Any]], Iterable[str]],
    ) -> None:
        self.token = token
        self.verify = verify
        self.permissions = permissions

    def __call__(self) -> tuple[Mapping[str, Any], StreamGrant]:
        claims = self.verify(self.token)
        return claims, StreamGrant.of(claims, self.permissions(claims))


def _expiry(claims: Mapping[str, Any]) -> float | None:
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float) or not math.isfinite(exp):
        return None
    return float(exp)


class _Disconnected(Exception):
    """The client went away; nothing more can be sent."""


@dataclass(frozen=True, slots=True)
class _ClientFrame:
    text: str | None
    size: int
    disconnected: bool = False


class _Session:
    """One connection after the handshake: pumps stream items out and applies client messages."""

    def __init__(
        self,
        websocket: WebSocket,
        sub: Subscription,
        heartbeat: float,
        expires_at: float | None,
        check: _Check,
        grant: StreamGrant,
        screened: Screened,
    ) -> None:
        self.ws = websocket
        self.sub = sub
        self.check = check
        self.grant = grant
        # What the caller may read as last checked: it shapes the events sent (`grant` stays the one
        # the subscription was judged on, for telling what was lost since).
        self.reader = grant
        self.screened = screened
        self.heartbeat = heartbeat
        self.expires_at = expires_at
        self.errors = 0
        self.recheck_due = False
        self.send_timeout = SEND_TIMEOUT
        self.control: asyncio.Queue[_ClientFrame] = asyncio.Queue(maxsize=_CONTROL_QUEUE)

    async def run(self) -> None:
        receiver = asyncio.create_task(self._receive())
        try:
            code, reason = await self._pump(receiver)
        except _Disconnected:
            return
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await receiver
        with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError):
            await self.ws.close(code, _close_reason(reason))

    async def _send(self, *texts: str) -> None:
        # One deadline for the whole batch (at most a few hundred frames): a client that reads at all
        # gets through it in far less than SEND_TIMEOUT, and a timer per frame would cost more than
        # the frame.
        try:
            async with asyncio.timeout(self.send_timeout):
                for text in texts:
                    await self.ws.send_text(text)
        except TimeoutError as exc:
            log.info("notifications: a client read nothing for %.0f s; dropping it", self.send_timeout)
            raise _Disconnected from exc
        except (WebSocketDisconnect, OSError) as exc:
            raise _Disconnected from exc

    async def _receive(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                frame = _ClientFrame(None, 0, disconnected=True)
            elif message.get("text") is not None:
                text: str = message["text"]
                frame = _ClientFrame(text, len(text.encode()))
            else:
                frame = _ClientFrame(None, len(message.get("bytes") or b""))
            # A full queue makes this wait: the client's sends back up into TCP instead of our memory.
            await self.control.put(frame)
            self.sub.interrupt()
            if frame.disconnected:
                return

    async def _pump(self, receiver: asyncio.Task[None]) -> tuple[int, str]:
        loop = asyncio.get_running_loop()
        # The token's expiry is wall-clock time; the loop's clock is monotonic: convert once.
        expires = None if self.expires_at is None else loop.time() + (self.expires_at - time.time())
        next_beat = loop.time() + self.heartbeat
        await self._send(self._subscribed())
        while True:
            while not self.control.empty():
                verdict = await self._handle(self.control.get_nowait())
                if verdict is not None:
                    return verdict
            if receiver.done():
                raise _Disconnected  # the reader failed: the connection is unusable
            if self.recheck_due:
                self.recheck_due = False
                verdict = await self._recheck()
                if verdict is not None:
                    return verdict
            now = loop.time()
            if expires is not None and now >= expires:
                return CLOSE_UNAUTHORIZED, "access token expired"
            if now >= next_beat:
                verdict = await self._recheck()
                if verdict is not None:
                    return verdict
                await self._send(json.dumps({"type": "stream.heartbeat", "time": iso_utc()}))
                # Fixed schedule, but never a burst of beats after a long stall.
                next_beat = max(next_beat + self.heartbeat, now)
            deadline = next_beat if expires is None else min(next_beat, expires)
            try:
                items = await self.sub.next_batch(max(0.0, deadline - loop.time()))
            except StreamClosed as exc:
                return exc.code, exc.reason
            if items:
                hidden = self.reader.hidden_fields()
                await self._send(*(self.reader.wire(item, hidden) for item in items))

    def _subscribed(self) -> str:
        return json.dumps(
            {
                "type": "stream.subscribed",
                "topics": list(self.sub.patterns),
                "last_event_id": self.sub.position,
                **self.screened.as_message(),
            }
        )

    def request_recheck(self) -> None:
        """Check the token and permissions on the next turn of the pump (on the loop's thread)."""
        self.recheck_due = True
        self.sub.interrupt()

    async def _current_grant(self) -> StreamGrant | tuple[int, str]:
        """What the caller may read now, or the close (4401) when its token or account is no longer good."""
        try:
            _, grant = await run_in_threadpool(self.check)
        except ValueError as exc:
            return CLOSE_UNAUTHORIZED, str(exc)
        return grant

    async def _recheck(self) -> tuple[int, str] | None:
        """The close owed when the token, the account or a permission the subscription uses is gone."""
        grant = await self._current_grant()
        if not isinstance(grant, StreamGrant):
            return grant
        self.reader = grant
        lost = grant.lost(self.grant, self.sub.patterns)
        return None if lost is None else (CLOSE_FORBIDDEN, lost)

    async def _handle(self, frame: _ClientFrame) -> tuple[int, str] | None:
        if frame.disconnected:
            raise _Disconnected
        if frame.size > MAX_MESSAGE_BYTES:
            return CLOSE_TOO_BIG, f"message too big: the limit is {MAX_MESSAGE_BYTES} bytes"
        try:
            if frame.text is None:
                raise ValueError("binary frames are not part of this protocol: send JSON text")
            topics, last_event_id = self._parse(frame.text)
        except ValueError as exc:
            self.errors += 1
            if self.errors >= MAX_ERRORS:
                return CLOSE_BAD_REQUEST, f"too many malformed messages ({MAX_ERRORS})"
            await self._send(_error("invalid_message", str(exc)))
            return None
        # A new subscription is judged on the permissions of now, like a new connection.
        grant = await self._current_grant()
        if not isinstance(grant, StreamGrant):
            return grant
        self.grant, self.reader, self.screened = grant, grant, grant.screen(topics)
        self.sub.resubscribe(self.screened.topics, last_event_id, allow=grant.allows)
        await self._send(self._subscribed())
        return None

    @staticmethod
    def _parse(text: str) -> tuple[list[str], int | None]:
        try:
            message = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc.msg} at position {exc.pos}") from exc
        if not isinstance(message, dict):
            raise ValueError('a client message is a JSON object like {"op": "subscribe", "topics": [...]}')
        op = message.get("op")
        if op != "subscribe":
            raise ValueError(f"unknown op {op!r}: the only op is 'subscribe'")
        unknown = set(message) - {"op", "topics", "last_event_id"}
        if unknown:
            raise ValueError(f"unknown field(s) {sorted(unknown)} in subscribe")
        return _parse_topics(message.get("topics", ["#"])), _parse_event_id(message.get("last_event_id"))
