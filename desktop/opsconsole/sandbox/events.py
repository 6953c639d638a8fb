"""The sandbox's in-process topic bus: every change is published here, persisted, and fanned out live.

Events are rows of the `events` table on the sandbox's engine, so their ids come from the database:
strictly increasing, and still increasing after a restart. The table keeps the last `keep` events
(pruned in batches), which is the window a reconnecting client can resume from.

Publishing is synchronous and thread-safe (the REST API publishes from FastAPI's worker threads).
Subscribers live on the event loop (the WebSocket endpoint): each has a bounded queue, and a
subscriber that falls behind by more than that is closed with `SlowConsumer` rather than being
allowed to hold an unbounded backlog. A `Subscription` merges the replay of missed events from the
database with the live queue so that a resuming client gets each event exactly once.

Topic patterns follow AMQP topic-exchange rules: dot-separated words, `*` matches exactly one word,
`#` matches zero or more words.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import functools
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa

log = logging.getLogger("opsconsole.sandbox.events")

__all__ = [
    "MAX_PATTERNS",
    "MAX_PATTERN_LENGTH",
    "Event",
    "EventBus",
    "Gap",
    "SlowConsumer",
    "StreamClosed",
    "StreamItem",
    "Subscription",
    "TooManySubscribers",
    "compile_patterns",
    "iso_utc",
    "topic_matches",
    "validate_pattern",
    "validate_topic",
]

MAX_PATTERNS: Final = 50
MAX_PATTERN_LENGTH: Final = 255
MAX_TOPIC_LENGTH: Final = 255
_MAX_WORDS: Final = 32
_WORD = re.compile(r"[A-Za-z0-9_\-]+")
_REPLAY_PAGE: Final = 500
_MATCH_CACHE_LIMIT: Final = 1024

metadata = sa.MetaData()
events_table = sa.Table(
    "events",
    metadata,
    # BIGSERIAL on PostgreSQL; on SQLite AUTOINCREMENT so that an id is never handed out twice even
    # if the newest rows were deleted by hand.
    sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("topic", sa.String(MAX_TOPIC_LENGTH), nullable=False),
    sa.Column("type", sa.String(MAX_TOPIC_LENGTH), nullable=False),
    sa.Column("time", sa.String(40), nullable=False),
    sa.Column("data", sa.Text(), nullable=False),
    sqlite_autoincrement=True,
)


# Built once: constructing and cache-keying the statement on every publish costs as much as the insert.
_INSERT_ONE: Final = sa.insert(events_table)
_INSERT_MANY: Final = sa.insert(events_table).returning(events_table.c.id, sort_by_parameter_order=True)


def _insert_many_sqlite(conn: sa.Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` in one executemany and return their ids, without RETURNING.

    SQLAlchemy cannot keep RETURNING's order for a batch on SQLite and so inserts row by row (a third
    of a flood's publishing time). Here the write transaction is exclusive (BEGIN IMMEDIATE, see
    ``EventBus._writing``) and the table is AUTOINCREMENT: the batch's rows get consecutive ids
    ending at ``last_insert_rowid()``.
    """
    conn.execute(_INSERT_ONE, rows)
    last = int(conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
    return list(range(last - len(rows) + 1, last + 1))


# --- topics and patterns -------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)  # a system has few topics, and each publish checks them
def validate_topic(topic: str) -> str:
    """Return `topic` if it is a routing key: dot-separated words of letters, digits, `_` and `-`."""
    if not isinstance(topic, str) or not topic or len(topic) > MAX_TOPIC_LENGTH:
        raise ValueError(f"a topic is 1 to {MAX_TOPIC_LENGTH} characters")
    words = topic.split(".")
    if len(words) > _MAX_WORDS or not all(_WORD.fullmatch(w) for w in words):
        raise ValueError(f"invalid topic {topic!r}: words of letters, digits, '_' or '-', separated by '.'")
    return topic


def validate_pattern(pattern: str) -> str:
    """Return `pattern` if it is a topic pattern: words, `*` or `#`, separated by dots."""
    if not isinstance(pattern, str) or not pattern or len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"a topic pattern is 1 to {MAX_PATTERN_LENGTH} characters")
    words = pattern.split(".")
    if len(words) > _MAX_WORDS:
        raise ValueError(f"topic pattern {pattern!r} has more than {_MAX_WORDS} words")
    for w in words:
        if w not in ("*", "#") and not _WORD.fullmatch(w):
            raise ValueError(
                f"invalid topic pattern {pattern!r}: each word is a name, '*' (one word) or '#' (any words)"
            )
    return pattern


def _words_match(pattern: tuple[str, ...], words: list[str]) -> bool:
    # reach[j]: the pattern words seen so far can consume exactly the first j topic words. One pass per
    # pattern word makes this O(len(pattern) * len(words)) whatever the pattern, where a backtracking
    # regex is exponential in the number of "#"s.
    reach = [True] + [False] * len(words)
    for p in pattern:
        if p == "#":
            seen = False
            for j, r in enumerate(reach):
                seen = seen or r
                reach[j] = seen
        else:
            reach = [False] + [reach[j] and (p == "*" or p == w) for j, w in enumerate(words)]
        if not any(reach):
            return False
    return reach[-1]


def compile_patterns(patterns: Sequence[str]) -> Callable[[str], bool]:
    """A predicate telling whether a topic matches any of `patterns` (validated here)."""
    for p in patterns:
        validate_pattern(p)
    if "#" in patterns:
        return _match_all
    literal = frozenset(p for p in patterns if "*" not in p and "#" not in p)
    wild = [tuple(p.split(".")) for p in patterns if p not in literal]

    def matches(topic: str) -> bool:
        if topic in literal:
            return True
        if not wild:
            return False
        words = topic.split(".")
        return any(_words_match(p, words) for p in wild)

    return matches


def _match_all(topic: str) -> bool:
    return True


def _match_none(topic: str) -> bool:
    return False


def topic_matches(pattern: str, topic: str) -> bool:
    """Whether `topic` matches the AMQP topic `pattern`."""
    return compile_patterns([pattern])(topic)


# --- stream items --------------------------------------------------------------------------------


def _json_default(value: object) -> object:
    # The API's payloads carry UUID keys and timestamps; anything else unserialisable is a bug.
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"event data holds a {type(value).__name__}, which is not JSON")


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def iso_utc(moment: dt.datetime | None = None) -> str:
    """`moment` (default: now) as the stream writes times: UTC, milliseconds, a `Z` suffix."""
    moment = dt.datetime.now(dt.UTC) if moment is None else moment.astimezone(dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Event:
    """One published event; `json` is its wire form, built once and shared by every subscriber."""

    id: int
    type: str
    topic: str
    time: str
    data_json: str
    json: str = field(repr=False)

    @classmethod
    def build(cls, id: int, type: str, topic: str, time: str, data_json: str) -> Event:
        # type and topic are validated dotted names and time is ISO 8601: none needs JSON escaping.
        wire = f'{{"id":{id},"type":"{type}","topic":"{topic}","time":"{time}","data":{data_json}}}'
        return cls(id, type, topic, time, data_json, wire)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "topic": self.topic, "time": self.time, "data": self.data}

    @property
    def data(self) -> Any:
        return json.loads(self.data_json)

    def without(self, fields: frozenset[str]) -> Event:
        """This event with the top-level data `fields` left out; itself when it carries none of them."""
        # A substring test first: most events carry none, and decoding each would cost every reader.
        if not any(f'"{name}":' in self.data_json for name in fields):
            return self
        data = self.data
        if not isinstance(data, dict) or fields.isdisjoint(data):
            return self
        kept = {key: value for key, value in data.items() if key not in fields}
        return Event.build(self.id, self.type, self.topic, self.time, _dumps(kept))


@dataclass(frozen=True, slots=True)
class Gap:
    """The client asked to resume from before the kept window: events were lost for it.

    `reason` is "pruned" (the events were older than what is kept) or "reset" (the requested id is
    newer than anything this database has issued: the history the client knew is gone).
    """

    requested_after: int
    oldest_available: int
    missed_at_least: int
    reason: str = "pruned"

    @property
    def json(self) -> str:
        return _dumps(
            {
                "type": "stream.gap",
                "requested_after": self.requested_after,
                "oldest_available": self.oldest_available,
                "missed_at_least": self.missed_at_least,
                "reason": self.reason,
            }
        )


StreamItem = Event | Gap


class StreamClosed(Exception):
    """The subscription was closed by the server; `code` and `reason` suit a WebSocket close frame."""

    def __init__(self, reason: str, code: int = 1001) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class SlowConsumer(StreamClosed):
    """The subscriber fell further behind the live stream than its queue allows."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, code=1013)


class TooManySubscribers(RuntimeError):
    """The bus already serves its maximum number of subscribers."""


# --- the bus -------------------------------------------------------------------------------------


class EventBus:
    """The in-process topic bus over a persisted ring of the last `keep` events.

    `publish` is safe from any thread. Subscriptions are made and consumed on the loop given to
    `attach_loop`. Publishes are serialised by a lock held across insert, commit and hand-off to the
    loop, so ids reach the database, the live queues and the resume window in one order.
    """

    def __init__(
        self,
        engine: sa.Engine,
        keep: int = 10_000,
        *,
        prune_every: int | None = None,
        max_queue: int = 10_000,  # a second of a 10,000 events/s flood: a reader may pause that long
        max_subscribers: int = 1_000,
    ) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1: the newest event carries the id sequence")
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.engine = engine
        self.keep = keep
        # Pruning is a range delete over the primary key; doing it every `prune_every` publishes keeps
        # it off the per-event path while letting the table overshoot `keep` by at most that much.
        self.prune_every = prune_every if prune_every is not None else max(1, min(1_000, keep // 10))
        self.max_queue = max_queue
        self.max_subscribers = max_subscribers
        self._lock = threading.Lock()
        self._since_prune = 0
        self._last_id = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: set[Subscription] = set()

    # schema and lifecycle

    def create_schema(self) -> None:
        """Create the `events` table if needed, apply the retention and learn the newest id."""
        metadata.create_all(self.engine)
        with self._lock:
            self._prune()
            with self.engine.connect() as conn:
                newest = conn.execute(sa.select(sa.func.max(events_table.c.id))).scalar()
            self._last_id = int(newest or 0)

    def attach_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver live events on `loop` from now on (call it from the app's lifespan)."""
        self._loop = loop

    def close(self, reason: str = "server shutting down") -> None:
        """Close every subscription (their consumers see `StreamClosed`, code 1001) and detach the loop."""
        for sub in list(self._subscribers):
            sub._close(StreamClosed(reason, code=1001))
        self._subscribers.clear()
        self._loop = None

    async def aclose(self, reason: str = "server shutting down", grace: float = 2.0) -> None:
        """`close()`, then wait (up to `grace` seconds) until every consumer has let go.

        A WebSocket session lets go after it has sent its close frame, so awaiting this before the
        server closes the connections itself (uvicorn sends 1012 then) gives clients the 1001 "going
        away" with `reason`.
        """
        closing = list(self._subscribers)
        self.close(reason)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                for sub in closing:
                    await sub._released.wait()

    @property
    def last_id(self) -> int:
        """The newest id published (0 before the first event)."""
        return self._last_id

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    # publishing

    def publish(self, topic: str, data: Mapping[str, Any], type: str | None = None) -> dict[str, Any]:
        """Persist one event and hand it to live subscribers. `type` (default: the topic) is a dotted name too.

        Returns the event as sent on the stream: `{"id", "type", "topic", "time", "data"}`.
        """
        return self.publish_many([(topic, data, type)])[0]

    def publish_many(
        self, items: Iterable[tuple[str, Mapping[str, Any], str | None]]
    ) -> list[dict[str, Any]]:
        """Persist several events in one transaction (ids consecutive in the given order), then fan out.

        Returns them as sent on the stream (the data as JSON made it: UUIDs and times as strings).
        """
        return [event.as_dict() for event in self.publish_events(items)]

    def publish_events(self, items: Iterable[tuple[str, Mapping[str, Any], str | None]]) -> list[Event]:
        """`publish_many` for a publisher that has no use for the events as dicts (the alert generator at
        10,000 a second): decoding every event's data back from JSON would cost it a fifth of its time.
        """
        prepared = [
            (validate_topic(topic), validate_topic(type_) if type_ else topic, _dumps(dict(data)))
            for topic, data, type_ in items
        ]
        if not prepared:
            return []
        with self._lock:
            now = iso_utc()  # taken under the lock so that time never runs backwards along the ids
            rows = [{"topic": t, "type": ty, "time": now, "data": d} for t, ty, d in prepared]
            with self._writing() as conn:
                if len(rows) == 1:  # the API's case: the driver's lastrowid, no RETURNING round
                    key = conn.execute(_INSERT_ONE, rows[0]).inserted_primary_key
                    ids = [int(key[0])] if key is not None else []
                elif conn.dialect.name == "sqlite":
                    ids = _insert_many_sqlite(conn, rows)
                else:
                    ids = [int(i) for i in conn.execute(_INSERT_MANY, rows).scalars()]
            events = [
                Event.build(i, r["type"], r["topic"], r["time"], r["data"])
                for i, r in zip(ids, rows, strict=True)
            ]
            self._last_id = events[-1].id
            self._since_prune += len(events)
            if self._since_prune >= self.prune_every:
                self._prune()
            loop = self._loop
            # Nobody listening, nothing to hand over (waking the loop's thread costs the publisher).
            # A subscriber that registers after this check starts at or after _last_id, set above.
            if loop is not None and self._subscribers:
                try:
                    # One callback per batch, queued in lock order: the loop sees ids in order.
                    loop.call_soon_threadsafe(self._dispatch, events)
                except RuntimeError:  # the loop closed under us: events stay persisted
                    self._loop = None
        return events

    def _prune(self) -> None:
        # Deletes everything older than the keep-th newest row; a no-op while fewer rows exist.
        threshold = (
            sa.select(events_table.c.id).order_by(events_table.c.id.desc()).offset(self.keep - 1).limit(1)
        ).scalar_subquery()
        with self._writing() as conn:
            deleted = conn.execute(sa.delete(events_table).where(events_table.c.id < threshold)).rowcount
        self._since_prune = 0
        if deleted:
            log.debug("pruned %d events beyond the newest %d", deleted, self.keep)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sa.Connection]:
        # On the sandbox's SQLite engine this begins with BEGIN IMMEDIATE (see db.py): the write lock is
        # taken up front, so a read-then-delete never fails half way on a lock upgrade. Other engines
        # ignore the option.
        with self.engine.connect() as conn:
            conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    def _dispatch(self, events: list[Event]) -> None:
        for sub in list(self._subscribers):
            for ev in events:
                if not sub._offer(ev):
                    break

    # reading the window

    def window(self) -> tuple[int, int] | None:
        """The (oldest, newest) ids kept, or None when nothing is."""
        with self.engine.connect() as conn:
            lo, hi = conn.execute(
                sa.select(sa.func.min(events_table.c.id), sa.func.max(events_table.c.id))
            ).one()
        return None if lo is None else (int(lo), int(hi))

    def read_after(self, after: int, limit: int = _REPLAY_PAGE) -> tuple[list[Event], int | None]:
        """Up to `limit` events with id > `after` in id order, then the oldest id kept.

        The oldest id is read after the page on purpose: both statements may see different snapshots,
        and in this order a prune that raced the page read shows up as a raised oldest id.
        """
        c = events_table.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(c.id, c.type, c.topic, c.time, c.data)
                .where(c.id > after)
                .order_by(c.id)
                .limit(limit)
            ).all()
            oldest = conn.execute(sa.select(sa.func.min(c.id))).scalar()
        events = [Event.build(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]
        return events, (None if oldest is None else int(oldest))

    # subscribing

    def subscribe(
        self,
        patterns: Sequence[str] = ("#",),
        last_event_id: int | None = None,
        *,
        max_queue: int | None = None,
        allow: Callable[[str], bool] | None = None,
    ) -> Subscription:
        """A subscription on the running loop; with `last_event_id` it first replays what came after it.

        `allow`, when given, vetoes topics the patterns match (the reader's permissions, say): replayed
        and live events alike pass through it.
        """
        if self._loop is None:
            raise RuntimeError("EventBus.attach_loop() was not called: there is no loop to deliver on")
        if len(self._subscribers) >= self.max_subscribers:
            raise TooManySubscribers(f"the bus already serves {self.max_subscribers} subscribers")
        sub = Subscription(self, patterns, last_event_id, max_queue or self.max_queue, allow)
        self._subscribers.add(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)


class Subscription:
    """One consumer's view of the stream: a replay of missed events, then the live events, in id order.

    Consume it from a single task with `next_batch`. Registration with the bus happens before the
    first database read, so an event committed during the replay is either read from the database
    or found in the live queue, and duplicates are dropped by id.
    """

    def __init__(
        self,
        bus: EventBus,
        patterns: Sequence[str],
        last_event_id: int | None,
        max_queue: int,
        allow: Callable[[str], bool] | None = None,
    ) -> None:
        self._bus = bus
        self._max_queue = max_queue
        self._queue: collections.deque[Event] = collections.deque()
        self._wake = asyncio.Event()
        self._released = asyncio.Event()
        self._interrupted = False
        self._overflowed = False
        self._closed: StreamClosed | None = None
        self._generation = 0
        self._patterns: tuple[str, ...] = ()
        self._matches: Callable[[str], bool] = _match_none
        self._match_cache: dict[str, bool] = {}
        self._cursor = bus.last_id
        self._replaying = False
        self._first_page = False
        self.resubscribe(patterns, last_event_id, allow=allow)

    @property
    def patterns(self) -> tuple[str, ...]:
        return self._patterns

    @property
    def position(self) -> int:
        """The id the stream continues after: the requested resume point, then the last id consumed."""
        return self._cursor

    @property
    def closed(self) -> bool:
        return self._closed is not None

    def resubscribe(
        self,
        patterns: Sequence[str],
        last_event_id: int | None = None,
        *,
        allow: Callable[[str], bool] | None = None,
    ) -> None:
        """Replace the patterns (and the `allow` veto); with `last_event_id`, replay from there again."""
        compiled = compile_patterns(patterns)
        matches = compiled if allow is None else (lambda topic: compiled(topic) and allow(topic))
        if last_event_id is not None and last_event_id < 0:
            raise ValueError("last_event_id is a non-negative integer")
        self._patterns = tuple(patterns)
        self._matches = matches
        self._match_cache.clear()
        self._generation += 1
        if last_event_id is not None:
            # Everything after the resume point is read from the database, so the live queue (which
            # only holds what was committed after registration) can start over.
            self._cursor = last_event_id
            self._replaying = True
            self._first_page = True
            self._overflowed = False
            self._queue.clear()

    def interrupt(self) -> None:
        """Make a pending `next_batch` return early (with what it has, maybe nothing)."""
        self._interrupted = True
        self._wake.set()

    def close(self) -> None:
        """The consumer is done with this subscription (also after the server closed it)."""
        self._close(StreamClosed("subscription closed", code=1000))
        self._released.set()

    def _close(self, exc: StreamClosed) -> None:
        if self._closed is None:
            self._closed = exc
            self._queue.clear()
            self._bus._unsubscribe(self)
            self._wake.set()

    def _wanted(self, topic: str) -> bool:
        hit = self._match_cache.get(topic)
        if hit is None:
            if len(self._match_cache) >= _MATCH_CACHE_LIMIT:
                self._match_cache.clear()
            hit = self._matches(topic)
            self._match_cache[topic] = hit
        return hit

    def _offer(self, ev: Event) -> bool:
        """Queue a live event (on the loop thread); False once this subscriber is full or closed."""
        if self._closed is not None or self._overflowed:
            return False
        if not self._wanted(ev.topic):
            return True
        if len(self._queue) >= self._max_queue:
            # During a replay this only means "read the rest from the database too"; when live, the
            # consumer is closed by `next_batch`.
            self._overflowed = True
            self._queue.clear()
            self._wake.set()
            return False
        self._queue.append(ev)
        self._wake.set()
        return True

    async def next_batch(self, max_wait: float | None = None, limit: int = 256) -> list[StreamItem]:
        """The next items in id order; [] when `max_wait` seconds passed or `interrupt()` was called.

        Raises `StreamClosed` when the bus closed this subscription and `SlowConsumer` when it fell
        more than `max_queue` events behind the live stream.
        """
        self._raise_if_closed()
        if self._replaying:
            items = await self._replay_page(limit)
            if items or self._replaying:
                return items
        if not self._queue and not self._interrupted and not self._overflowed:
            self._wake.clear()
            if max_wait is None or max_wait > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max_wait):
                        await self._wake.wait()
            self._raise_if_closed()
        if self._overflowed:
            self._close(
                SlowConsumer(
                    f"slow consumer: over {self._max_queue} events behind;"
                    f" resume with last_event_id={self._cursor}"
                )
            )
            self._raise_if_closed()
        self._interrupted = False
        out: list[StreamItem] = []
        while self._queue and len(out) < limit:
            ev = self._queue.popleft()
            if ev.id <= self._cursor:
                continue
            self._cursor = ev.id
            if self._wanted(ev.topic):
                out.append(ev)
        return out

    def _raise_if_closed(self) -> None:
        if self._closed is not None:
            raise self._closed

    async def _replay_page(self, limit: int) -> list[StreamItem]:
        generation = self._generation
        page = max(limit, _REPLAY_PAGE)
        out: list[StreamItem] = []
        if self._first_page:
            self._first_page = False
            newest_known = self._bus.last_id
            if self._cursor > newest_known:
                # An id this database never issued: the client's history belongs to another database.
                window = await asyncio.to_thread(self._bus.window)
                if generation != self._generation or self._closed is not None:
                    return []
                start = window[0] if window is not None else newest_known + 1
                out.append(Gap(self._cursor, start, 0, reason="reset"))
                self._cursor = start - 1
        cursor = self._cursor
        rows, oldest = await asyncio.to_thread(self._bus.read_after, cursor, page)
        if generation != self._generation or self._closed is not None:
            return []  # resubscribed or closed while reading: the caller asks again
        if rows and rows[0].id > cursor + 1 and oldest is not None and oldest > cursor + 1:
            # Ids between the cursor and the first row are gone and nothing at or below cursor + 1 is
            # left either: they were pruned before this client got to them.
            out.append(Gap(cursor, rows[0].id, rows[0].id - cursor - 1))
        for ev in rows:
            self._cursor = ev.id
            if self._wanted(ev.topic):
                out.append(ev)
        if len(rows) < page:
            if self._overflowed:
                # Live events were dropped while we read: they are in the database, read on.
                self._overflowed = False
                self._queue.clear()
            else:
                self._replaying = False
        return out
