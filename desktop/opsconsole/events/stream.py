"""The live notification stream: one WebSocket that survives drops, restarts and token expiry.

``EventStream.items()`` is an async iterator of :class:`Event`, :class:`Gap` and
:class:`StreamStatus`. Behind it one loop connects, reads and reconnects:

- It authenticates with the session's current access token (``Authorization: Bearer``), asking the
  session for it before every connect, so a token near expiry is refreshed first. A 401 at the
  handshake or a 4401 close refreshes the token and reconnects at once; a session that cannot be
  refreshed ends the stream as *signed out*.
- It resumes from the last event it delivered (``last_event_id``) and drops anything at or below it,
  so a reconnect neither loses nor repeats an event. What the server could no longer send comes as a
  :class:`Gap` to show, not to hide.
- Reconnects wait an exponential, jittered, capped delay (:mod:`.backoff`); a connection that stayed
  healthy resets it. WebSocket pings find a dead connection (a cut cable sends no close frame).
- Frames that are not JSON, not an event, or over the size limit are counted, logged and skipped:
  one bad frame never ends the stream.
- A refusal that retrying cannot fix (a 403 at the handshake) ends the stream as *offline* with the
  server's words. A 4403 (a permission lost while streaming) reconnects: the new subscription gets
  what is still allowed, and ``stream.subscribed`` says what is not (shown in the status).

Close codes handled (docs/sandbox.md): 4401, 4403, 4400, 1009, 1013 (slow consumer: resume), 1001.
Qt-free: the GUI runs ``items()`` on the bridge's loop and batches what it yields per frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any, NoReturn, Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from .. import __version__
from ..auth.errors import SignInRequired
from .backoff import Backoff
from .model import Control, Event, Gap, Phase, StreamStats, StreamStatus, parse_frame
from .topics import validate_pattern

log = logging.getLogger("opsconsole.events")

__all__ = ["EventStream", "TokenSource"]

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN = 1013
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403

# Bigger frames are skipped (counted, logged); far bigger ones make the library close the connection
# (1009) before they are read into memory at all.
MAX_EVENT_BYTES = 256 * 1024
MAX_FRAME_BYTES = 4 * 1024 * 1024
_LOG_EVERY = 100  # after the first few, log one malformed frame in this many


class TokenSource(Protocol):
    """What the stream needs of the sign-in session (``opsconsole.auth.Session`` fits)."""

    async def access_token(self) -> str: ...

    async def refresh(self, *, force: bool = False, rejected: str | None = None) -> Any: ...


Item = Event | Gap | StreamStatus


class _Reconnect(Exception):
    """End this connection and connect again after ``delay`` (None: the backoff decides)."""

    def __init__(self, detail: str, delay: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.delay = delay


class _Stop(Exception):
    """End the stream for good with this status."""

    def __init__(self, status: StreamStatus) -> None:
        super().__init__(status.message())
        self.status = status


class EventStream:
    """One subscription to the notification stream; see the module docstring."""

    def __init__(
        self,
        url: str,
        tokens: TokenSource,
        *,
        topics: Sequence[str] = ("#",),
        since: int | None = None,
        history: int = 10_000,
        ssl_context: Any = None,
        backoff: Backoff | None = None,
        ping_interval: float | None = 15.0,
        ping_timeout: float | None = 15.0,
        open_timeout: float = 10.0,
        max_event_bytes: int = MAX_EVENT_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        scheme = urlsplit(url).scheme
        if scheme not in ("ws", "wss"):
            raise ValueError(f"the events URL must start with ws:// or wss://, not {url!r}")
        if history < 1:
            raise ValueError("the history keeps at least one event")
        self.url = url
        self.tokens = tokens
        self.topics: tuple[str, ...] = tuple(validate_pattern(t) for t in topics) or ("#",)
        self.last_id: int | None = since
        self.history: deque[Event] = deque(maxlen=history)
        self.stats = StreamStats()
        self.status = StreamStatus(Phase.CONNECTING)
        self.backoff = backoff or Backoff()
        self._ssl = ssl_context if scheme == "wss" else None
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._open_timeout = open_timeout
        self._max_event_bytes = max_event_bytes
        self._clock = clock
        self._ws: ClientConnection | None = None
        self._closed = False
        self._wake = asyncio.Event()

    # -- the reader's side ---------------------------------------------------------------------------

    async def items(self) -> AsyncGenerator[Item, None]:
        """Events, gaps and status changes until :meth:`close` or a final refusal."""
        try:
            while not self._closed:
                try:
                    async for item in self._one_connection():
                        yield item
                except _Reconnect as again:
                    if self._stopping():
                        break
                    delay = self.backoff.next_delay() if again.delay is None else again.delay
                    self.stats.reconnects += 1
                    yield self._set(
                        StreamStatus(Phase.RECONNECTING, again.detail, delay, self.backoff.attempt)
                    )
                    await self._pause(delay)
                except _Stop as stop:
                    yield self._set(stop.status)
                    return
            yield self._set(StreamStatus(Phase.OFFLINE, "closed"))
        finally:
            await self._drop_connection()

    async def subscribe(self, topics: Sequence[str]) -> None:
        """Change the topics; takes effect at once when live, else at the next connect."""
        self.topics = tuple(validate_pattern(t) for t in topics) or ("#",)
        ws = self._ws
        if ws is not None:
            message: dict[str, Any] = {"op": "subscribe", "topics": list(self.topics)}
            if self.last_id is not None:
                message["last_event_id"] = self.last_id
            with contextlib.suppress(ConnectionClosed):
                await ws.send(json.dumps(message))

    async def close(self) -> None:
        """Stop: the current connection is closed and ``items()`` ends."""
        self._closed = True
        self._wake.set()
        await self._drop_connection()

    # -- one connection ------------------------------------------------------------------------------

    async def _one_connection(self) -> AsyncGenerator[Item, None]:
        yield self._set(StreamStatus(Phase.CONNECTING, attempt=self.backoff.attempt))
        token = await self._token()
        ws = await self._connect(token)
        self._ws = ws
        self.stats.connects += 1
        opened = self._clock()
        try:
            while True:
                try:
                    frame = await ws.recv()
                except ConnectionClosed as exc:
                    if self._closed:
                        return  # closed by us
                    self.backoff.connected_for(self._clock() - opened)
                    await self._after_close(exc, token)
                item = self._take(frame)
                if item is not None:
                    yield item
        finally:
            self._ws = None
            await ws.close()

    async def _token(self) -> str:
        try:
            return await self.tokens.access_token()
        except SignInRequired as exc:
            raise _Stop(StreamStatus(Phase.SIGNED_OUT, str(exc))) from exc
        except Exception as exc:  # the provider unreachable, a keyring hiccup: worth another try
            raise _Reconnect(f"could not get an access token: {exc}") from exc

    async def _connect(self, token: str) -> ClientConnection:
        try:
            return await connect(
                self._url(),
                additional_headers={"Authorization": f"Bearer {token}"},
                user_agent_header=f"opsconsole/{__version__}",
                ssl=self._ssl,
                ping_interval=self._ping_interval,
                ping_timeout=self._ping_timeout,
                open_timeout=self._open_timeout,
                close_timeout=5,
                max_size=MAX_FRAME_BYTES,
                max_queue=64,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status == 401:
                await self._refresh(token, "the server refused the access token")
            if status == 403:
                raise _Stop(
                    StreamStatus(Phase.OFFLINE, "not allowed to read the notification stream")
                ) from exc
            raise _Reconnect(f"the server answered HTTP {status} to the connection") from exc
        except InvalidURI as exc:
            raise _Stop(StreamStatus(Phase.OFFLINE, f"bad events URL: {exc}")) from exc
        except (OSError, TimeoutError, InvalidHandshake, EOFError) as exc:
            raise _Reconnect(_describe_connect_error(exc)) from exc

    async def _refresh(self, token: str, why: str) -> NoReturn:
        """Refresh the rejected token, then reconnect at once (raises _Reconnect or _Stop)."""
        try:
            await self.tokens.refresh(rejected=token)
        except SignInRequired as exc:
            raise _Stop(StreamStatus(Phase.SIGNED_OUT, str(exc))) from exc
        except Exception as exc:
            raise _Reconnect(f"{why}; refreshing it failed: {exc}") from exc
        # Once at once; a server that keeps refusing fresh tokens gets the backoff.
        delay = 0.0 if self.backoff.attempt == 0 else None
        self.backoff.attempt += 1
        raise _Reconnect(f"{why}; signed in again", delay)

    async def _after_close(self, exc: ConnectionClosed, token: str) -> NoReturn:
        frame = exc.rcvd
        code = frame.code if frame is not None else None
        reason = frame.reason if frame is not None else ""
        self.stats.last_close = f"{code} {reason}".strip() if code is not None else "no close frame"
        if code == CLOSE_UNAUTHORIZED:
            await self._refresh(token, "the access token expired or was revoked")
        if code == CLOSE_FORBIDDEN:
            # A permission the subscription read with was taken away. Connecting again subscribes to
            # what is still allowed, and stream.subscribed then says what no longer is.
            raise _Reconnect(f"a permission was lost: {reason or 'not allowed'}")
        if exc.sent is not None and exc.sent.code == CLOSE_TOO_BIG:
            self.stats.oversized += 1
            log.warning("events: a frame over %d bytes closed the connection; resuming", MAX_FRAME_BYTES)
            raise _Reconnect("a message was too large; resuming")
        if code == CLOSE_BAD_REQUEST:
            log.error("events: the server rejected our messages: %s", reason)
            raise _Reconnect(f"the server rejected a request: {reason}")
        if code == CLOSE_TRY_AGAIN:
            raise _Reconnect(reason or "the server asked to come back later")
        if code == CLOSE_GOING_AWAY:
            raise _Reconnect("the server is restarting")
        if code is None:
            raise _Reconnect("the connection was lost")
        raise _Reconnect(f"the server closed the stream ({code}{': ' + reason if reason else ''})")

    def _url(self) -> str:
        parts = urlsplit(self.url)
        query = [q for q in parts.query.split("&") if q and not q.startswith(("topics=", "last_event_id="))]
        ours: dict[str, str] = {"topics": ",".join(self.topics)}
        if self.last_id is not None:
            ours["last_event_id"] = str(self.last_id)
        query.append(urlencode(ours))
        return urlunsplit(parts._replace(query="&".join(query)))

    # -- frames --------------------------------------------------------------------------------------

    def _take(self, frame: str | bytes) -> Item | None:
        if len(frame) > self._max_event_bytes:
            self.stats.oversized += 1
            self._note_bad(f"a frame of {len(frame)} bytes (the limit is {self._max_event_bytes})")
            return None
        item = parse_frame(frame)
        if isinstance(item, Event):
            if self.last_id is not None and item.id <= self.last_id:
                self.stats.duplicates += 1
                return None
            self.last_id = item.id
            self.history.append(item)
            self.stats.events += 1
            return item
        if isinstance(item, Gap):
            self.stats.gaps += 1
            log.warning("events: %s (after id %d)", item.message(), item.requested_after)
            return item
        if isinstance(item, Control):
            return self._control(item)
        self.stats.malformed += 1
        self._note_bad(item.reason)
        return None

    def _control(self, item: Control) -> Item | None:
        if item.type == "stream.subscribed":
            position = item.body.get("last_event_id")
            if self.last_id is None and isinstance(position, int) and not isinstance(position, bool):
                # Where the server started us: a reconnect before the first event resumes from here,
                # so events published while we were away are not lost.
                self.last_id = position
            # What the server would not send, and why: patterns refused outright, and topic families
            # withheld from a wildcard (docs/sandbox.md, "What the stream requires").
            self.stats.refused_topics = _reasons(item.body.get("refused"))
            self.stats.filtered_topics = _reasons(item.body.get("filtered"))
            withheld = {**self.stats.refused_topics, **self.stats.filtered_topics}
            detail = (
                "not allowed: " + "; ".join(f"{t} ({why})" for t, why in withheld.items()) if withheld else ""
            )
            return self._set(StreamStatus(Phase.LIVE, detail))
        if item.type == "stream.heartbeat":
            return None
        if item.type == "stream.error":
            log.warning("events: the server reported %s", item.body.get("detail") or item.body.get("error"))
            return None
        self.stats.unknown_control += 1
        self._note_bad(f"unknown control message {item.type!r}")
        return None

    def _note_bad(self, reason: str) -> None:
        skipped = self.stats.malformed + self.stats.oversized + self.stats.unknown_control
        if skipped <= 5 or skipped % _LOG_EVERY == 0:
            log.warning("events: skipped %s (%d skipped so far)", reason, skipped)

    # -- state ---------------------------------------------------------------------------------------

    def _stopping(self) -> bool:
        return self._closed

    def _set(self, status: StreamStatus) -> StreamStatus:
        self.status = status
        return status

    async def _pause(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    async def _drop_connection(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()


def _reasons(entries: object) -> dict[str, str]:
    """``[{"topic": ..., "reason": ...}, ...]`` as {topic: reason}; anything else as nothing."""
    if not isinstance(entries, list):
        return {}
    return {
        str(e["topic"]): str(e.get("reason") or "not allowed")
        for e in entries
        if isinstance(e, dict) and isinstance(e.get("topic"), str)
    }


def _describe_connect_error(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running?)"
    if isinstance(exc, TimeoutError):
        return "the server did not answer in time"
    if isinstance(exc, InvalidHandshake):
        return f"the server did not speak WebSocket: {exc}"
    text = str(exc) or exc.__class__.__name__
    return f"could not connect: {text}"
