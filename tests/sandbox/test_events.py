"""EventBus: topic matching, persisted ids and retention, fan-out, resume and gaps, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from opsconsole.sandbox.events import (
    Event,
    EventBus,
    Gap,
    SlowConsumer,
    StreamClosed,
    TooManySubscribers,
    compile_patterns,
    events_table,
    topic_matches,
    validate_pattern,
)
from tests.sandbox.live_support import collect, event_ids, postgres_engine, sqlite_engine

# --- topic matching ------------------------------------------------------------------------------

MATCHES = [
    ("user.created", "user.created", True),
    ("user.created", "user.updated", False),
    ("user.created", "user", False),
    ("user", "user.created", False),
    ("User.created", "user.created", False),
    ("*", "user", True),
    ("*", "user.created", False),
    ("*.*", "user.created", True),
    ("*.*", "user", False),
    ("user.*", "user.created", True),
    ("user.*", "user", False),
    ("user.*", "user.created.extra", False),
    ("user.*", "role.granted", False),
    ("#", "user", True),
    ("#", "user.created.by.admin", True),
    ("user.#", "user", True),
    ("user.#", "user.created", True),
    ("user.#", "user.created.by.admin", True),
    ("user.#", "users.created", False),
    ("user.#", "role.user", False),
    ("#.created", "created", True),
    ("#.created", "user.created", True),
    ("#.created", "a.b.created", True),
    ("#.created", "user.created.x", False),
    ("a.#.b", "a.b", True),
    ("a.#.b", "a.x.b", True),
    ("a.#.b", "a.x.y.b", True),
    ("a.#.b", "a.b.x", False),
    ("a.#.b", "b", False),
    ("a.*.#", "a", False),
    ("a.*.#", "a.b", True),
    ("a.*.#", "a.b.c.d", True),
    ("#.*", "a", True),
    ("#.*", "a.b.c", True),
    ("*.#.*", "a", False),
    ("*.#.*", "a.b", True),
    ("#.#", "a.b", True),
    ("#.#.a", "a", True),
    ("alert.high-cpu", "alert.high-cpu", True),
    ("alert.high_cpu", "alert.high-cpu", False),
    ("a.*.c", "a.b.c", True),
    ("a.*.c", "a.c", False),
]


@pytest.mark.parametrize(("pattern", "topic", "expected"), MATCHES)
def test_topic_matching_follows_amqp_rules(pattern: str, topic: str, expected: bool) -> None:
    assert topic_matches(pattern, topic) is expected


def _reference_match(pattern: list[str], topic: list[str]) -> bool:
    """AMQP topic matching written the slow, obvious way: recursion over words."""
    if not pattern:
        return not topic
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_reference_match(rest, topic[i:]) for i in range(len(topic) + 1))
    if not topic:
        return False
    return (head == "*" or head == topic[0]) and _reference_match(rest, topic[1:])


@settings(max_examples=400, deadline=None)
@given(
    pattern=st.lists(st.sampled_from(["a", "b", "*", "#"]), min_size=1, max_size=6),
    topic=st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=6),
)
def test_topic_matching_agrees_with_a_reference_matcher(pattern: list[str], topic: list[str]) -> None:
    assert topic_matches(".".join(pattern), ".".join(topic)) is _reference_match(pattern, topic)


def test_several_patterns_match_when_any_does() -> None:
    matches = compile_patterns(["user.created", "role.#"])
    assert matches("user.created")
    assert matches("role.granted")
    assert not matches("user.deleted")
    assert not compile_patterns([])("user.created")


@pytest.mark.parametrize(
    "bad", ["", "a..b", ".user", "user.", "user*", "us er", "user.*x", "x" * 256, ".".join(["a"] * 33)]
)
def test_malformed_patterns_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        validate_pattern(bad)


def test_matching_stays_fast_on_hostile_patterns() -> None:
    # Many "#" against a long non-matching topic is where a naive backtracking regex explodes; a
    # correct answer at all (within pytest's timeout) is the check.
    pattern = ".".join(["#", "a"] * 15) + ".z"
    topic = ".".join(["a"] * 31) + ".b"
    assert topic_matches(pattern, topic) is False


# --- fixtures ------------------------------------------------------------------------------------

EngineFactory = Callable[[], sa.Engine]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def make_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EngineFactory]:
    """A factory of engines on one database: calling it twice is 'the same database after a restart'."""
    url = request.getfixturevalue("postgres_db_url") if request.param == "postgresql" else None
    engines: list[sa.Engine] = []

    def factory() -> sa.Engine:
        engine = sqlite_engine(tmp_path) if url is None else postgres_engine(url, tmp_path)
        engines.append(engine)
        return engine

    yield factory
    for engine in engines:
        engine.dispose()


def _bus(make_engine: EngineFactory, **kwargs: int) -> EventBus:
    bus = EventBus(make_engine(), **kwargs)
    bus.create_schema()
    return bus


def _count(bus: EventBus) -> int:
    with bus.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(events_table)).scalar_one())


# --- publishing ----------------------------------------------------------------------------------


def test_publish_returns_the_event_as_sent_and_persists_it(make_engine: EngineFactory) -> None:
    bus = _bus(make_engine)
    user_id = uuid.uuid4()
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    first = bus.publish("user.created", {"user": {"id": user_id, "created_at": when, "name": "Zoë"}})
    second = bus.publish("user.disabled", {"user": {"id": str(user_id)}}, type="user.status")

    assert first["id"] >= 1 and second["id"] > first["id"]
    assert first["type"] == first["topic"] == "user.created"
    assert second == {**second, "type": "user.status", "topic": "user.disabled"}
    assert first["data"] == {
        "user": {"id": str(user_id), "created_at": "2026-01-02T03:04:05Z", "name": "Zoë"}
    }
    parsed = dt.datetime.fromisoformat(first["time"])
    assert first["time"].endswith("Z") and parsed.tzinfo is not None
    assert abs((dt.datetime.now(dt.UTC) - parsed).total_seconds()) < 60
    rows, oldest = bus.read_after(0)
    assert [r.as_dict() for r in rows] == [first, second]
    assert oldest == first["id"]
    assert bus.last_id == second["id"]


def test_publish_refuses_bad_topics_and_unserialisable_data_without_persisting(
    make_engine: EngineFactory,
) -> None:
    bus = _bus(make_engine)
    for topic in ("user.*", "", "a..b", "user created"):
        with pytest.raises(ValueError):
            bus.publish(topic, {})
    with pytest.raises(TypeError, match="not JSON"):
        bus.publish("user.created", {"blob": object()})
    assert _count(bus) == 0
    assert bus.publish("user.created", {})["id"] == 1


def test_publish_many_gives_consecutive_ids_in_order(make_engine: EngineFactory) -> None:
    bus = _bus(make_engine)
    bus.publish("user.created", {"n": 0})
    batch = bus.publish_many([("user.created", {"n": i}, None) for i in range(1, 6)])
    assert [e["id"] for e in batch] == [2, 3, 4, 5, 6]
    assert [e["data"]["n"] for e in batch] == [1, 2, 3, 4, 5]
    assert bus.publish_many([]) == []


async def test_concurrent_publishers_give_strictly_increasing_ids_on_the_stream(
    make_engine: EngineFactory,
) -> None:
    bus = _bus(make_engine)
    bus.attach_loop(asyncio.get_running_loop())
    sub = bus.subscribe(["#"])
    threads, per_thread = 6, 40

    def publisher(n: int) -> None:
        for i in range(per_thread):
            bus.publish(f"load.t{n}", {"i": i})

    workers = [threading.Thread(target=publisher, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    received = await collect(sub, threads * per_thread)
    for w in workers:
        w.join()
    ids = event_ids(received)
    assert ids == sorted(set(ids)), "ids on the stream are strictly increasing and unique"
    assert len(ids) == threads * per_thread
    rows, _ = bus.read_after(0, limit=10_000)
    assert [r.id for r in rows] == ids
    # Each publisher's own events arrive in the order it published them.
    for n in range(threads):
        mine = [i.data["i"] for i in received if isinstance(i, Event) and i.topic == f"load.t{n}"]
        assert mine == list(range(per_thread))


def test_publish_without_a_loop_only_persists(make_engine: EngineFactory) -> None:
    bus = _bus(make_engine)
    bus.publish("user.created", {})
    assert _count(bus) == 1
    with pytest.raises(RuntimeError, match="attach_loop"):
        bus.subscribe()


# --- retention and restart -----------------------------------------------------------------------


def test_retention_keeps_the_newest_and_prunes_in_batches(make_engine: EngineFactory) -> None:
    bus = _bus(make_engine, keep=20, prune_every=10)
    for i in range(25):
        bus.publish("user.created", {"i": i})
    # Pruned at the 20th publish (nothing to do then); the next prune is due at the 30th.
    assert _count(bus) == 25
    for i in range(25, 30):
        bus.publish("user.created", {"i": i})
    assert _count(bus) == 20
    assert bus.window() == (11, 30)


def test_ids_and_window_survive_a_restart(make_engine: EngineFactory) -> None:
    first = _bus(make_engine, keep=20, prune_every=5)
    for i in range(30):
        first.publish("user.created", {"i": i})
    first.engine.dispose()

    again = _bus(make_engine, keep=20)
    assert again.last_id == 30
    assert again.window() == (11, 30)
    assert again.publish("user.deleted", {})["id"] == 31
    rows, oldest = again.read_after(14)
    assert oldest == 11
    assert [r.id for r in rows] == list(range(15, 32))


def test_ids_are_never_reused_even_when_the_newest_rows_are_deleted(make_engine: EngineFactory) -> None:
    bus = _bus(make_engine)
    for _ in range(5):
        bus.publish("user.created", {})
    with bus.engine.begin() as conn:
        conn.execute(sa.delete(events_table).where(events_table.c.id > 2))
    bus.engine.dispose()
    again = _bus(make_engine)
    assert again.publish("user.created", {})["id"] == 6


def test_a_smaller_keep_applies_at_start(make_engine: EngineFactory) -> None:
    bus = _bus(make_engine, keep=100)
    bus.publish_many([("user.created", {}, None)] * 50)
    bus.engine.dispose()
    again = _bus(make_engine, keep=10)
    assert again.window() == (41, 50)


# --- subscriptions, resume and gaps --------------------------------------------------------------


async def test_live_subscriber_gets_only_matching_events_after_it_subscribed(
    make_engine: EngineFactory,
) -> None:
    bus = _bus(make_engine)
    bus.attach_loop(asyncio.get_running_loop())
    bus.publish("user.created", {"before": True})
    sub = bus.subscribe(["user.*", "role.#"])
    assert sub.position == 1
    await asyncio.to_thread(bus.publish, "user.created", {"n": 1})
    await asyncio.to_thread(bus.publish, "alert.fired", {"n": 2})
    await asyncio.to_thread(bus.publish, "role.granted", {"n": 3})
    got = await collect(sub, 2)
    assert [(i.topic, i.data) for i in got if isinstance(i, Event)] == [
        ("user.created", {"n": 1}),
        ("role.granted", {"n": 3}),
    ]
    assert sub.position == 4


async def test_resume_replays_exactly_what_came_after(make_engine: EngineFactory) -> None:
    bus = _bus(make_engine)
    bus.attach_loop(asyncio.get_running_loop())
    bus.publish_many([("user.created" if i % 2 else "alert.fired", {"i": i}, None) for i in range(1, 1201)])
    sub = bus.subscribe(["user.*"], last_event_id=700)
    assert sub.position == 700
    got = await collect(sub, 250)
    assert not any(isinstance(i, Gap) for i in got)
    assert event_ids(got) == list(range(701, 1201, 2))
    await asyncio.to_thread(bus.publish, "user.created", {"live": True})
    assert event_ids(await collect(sub, 1)) == [1201]


@pytest.mark.parametrize("max_queue", [4, 1000])
async def test_resume_while_publishing_loses_and_repeats_nothing(
    make_engine: EngineFactory, max_queue: int
) -> None:
    bus = _bus(make_engine, keep=100_000)
    bus.attach_loop(asyncio.get_running_loop())
    bus.publish_many([("user.created", {"i": i}, None) for i in range(1500)])
    worker = threading.Thread(target=lambda: [bus.publish("user.updated", {}) for _ in range(400)])
    worker.start()
    got: list[Event | Gap] = []
    resumed = 0
    try:
        # A tiny queue overflows during the replay (which then reads on from the database) and, once
        # live, closes the subscription as a slow consumer; the client then resumes from its position,
        # as a WebSocket client would. Either way each id must arrive exactly once.
        sub = bus.subscribe(["#"], last_event_id=100, max_queue=max_queue)
        async with asyncio.timeout(60):
            while len(event_ids(got)) < 1800:
                try:
                    got.extend(await sub.next_batch(1.0))
                except SlowConsumer:
                    resumed += 1
                    sub = bus.subscribe(["#"], last_event_id=sub.position, max_queue=max_queue)
    finally:
        await asyncio.to_thread(worker.join)
    if max_queue == 1000:
        assert resumed == 0
    assert event_ids(got) == list(range(101, 1901))
    assert not any(isinstance(i, Gap) for i in got)
    assert await sub.next_batch(0) == []


async def test_resume_from_before_the_window_reports_the_gap(make_engine: EngineFactory) -> None:
    bus = _bus(make_engine, keep=10, prune_every=1)
    bus.attach_loop(asyncio.get_running_loop())
    bus.publish_many([("user.created", {}, None)] * 30)
    sub = bus.subscribe(["#"], last_event_id=3)
    got = await collect(sub, 10)
    assert got[0] == Gap(requested_after=3, oldest_available=21, missed_at_least=17)
    assert event_ids(got) == list(range(21, 31))
    message = got[0].json
    assert '"type":"stream.gap"' in message and '"oldest_available":21' in message


async def test_resume_from_zero_within_the_window_has_no_gap(make_engine: EngineFactory) -> None:
    bus = _bus(make_engine)
    bus.attach_loop(asyncio.get_running_loop())
    bus.publish_many([("user.created", {}, None)] * 3)
    got = await collect(bus.subscribe(["#"], last_event_id=0), 3)
    assert got == [i for i in got if isinstance(i, Event)]
    assert event_ids(got) == [1, 2, 3]


async def test_events_pruned_after_subscribing_but_before_reading_are_reported(
    make_engine: EngineFactory,
) -> None:
    bus = _bus(make_engine, keep=50, prune_every=1)
    bus.attach_loop(asyncio.get_running_loop())
    bus.publish_many([("user.created", {}, None)] * 40)
    sub = bus.subscribe(["user.*"], last_event_id=5, max_queue=5)
    # Fifty more (not matching the subscription) push the window past the resume point before the
    # subscriber reads anything.
    bus.publish_many([("alert.fired", {}, None)] * 50)
    bus.publish("user.deleted", {})
    got = await collect(sub, 1)
    assert got[0] == Gap(requested_after=5, oldest_available=42, missed_at_least=36)
    assert event_ids(got) == [91]


async def test_an_id_from_another_database_is_a_reset_gap(make_engine: EngineFactory) -> None:
    bus = _bus(make_engine)
    bus.attach_loop(asyncio.get_running_loop())
    bus.publish_many([("user.created", {}, None)] * 4)
    got = await collect(bus.subscribe(["#"], last_event_id=9_999), 4)
    assert got[0] == Gap(requested_after=9_999, oldest_available=1, missed_at_least=0, reason="reset")
    assert event_ids(got) == [1, 2, 3, 4]


async def test_resuming_at_the_newest_id_replays_nothing(make_engine: EngineFactory) -> None:
    bus = _bus(make_engine)
    bus.attach_loop(asyncio.get_running_loop())
    bus.publish_many([("user.created", {}, None)] * 4)
    sub = bus.subscribe(["#"], last_event_id=4)
    assert await sub.next_batch(0) == []
    bus.publish("user.deleted", {})
    assert event_ids(await collect(sub, 1)) == [5]


async def test_resubscribe_switches_topics_and_can_replay(make_engine: EngineFactory) -> None:
    bus = _bus(make_engine)
    bus.attach_loop(asyncio.get_running_loop())
    sub = bus.subscribe(["user.*"])
    bus.publish("user.created", {})
    bus.publish("role.granted", {})
    await asyncio.sleep(0)  # let the loop run the dispatch callbacks queued by the publishes
    sub.resubscribe(["role.*"])
    bus.publish("user.created", {})
    bus.publish("role.revoked", {})
    got = await collect(sub, 1)
    assert [i.topic for i in got if isinstance(i, Event)] == ["role.revoked"]
    sub.resubscribe(["#"], last_event_id=0)
    assert event_ids(await collect(sub, 4)) == [1, 2, 3, 4]
    with pytest.raises(ValueError):
        sub.resubscribe(["bad*pattern"])
    assert sub.patterns == ("#",)


async def test_a_slow_live_consumer_is_closed_not_buffered(make_engine: EngineFactory) -> None:
    bus = _bus(make_engine)
    bus.attach_loop(asyncio.get_running_loop())
    sub = bus.subscribe(["#"], max_queue=3)
    bus.publish_many([("user.created", {}, None)] * 10)
    await asyncio.sleep(0)  # run the dispatch callback: the fourth event overflows the queue
    with pytest.raises(SlowConsumer) as caught:
        await sub.next_batch(1)
    assert caught.value.code == 1013
    assert "last_event_id=0" in caught.value.reason
    assert bus.subscriber_count == 0
    # Resuming from where it stood recovers everything from the database.
    again = bus.subscribe(["#"], last_event_id=0)
    assert event_ids(await collect(again, 10)) == list(range(1, 11))


async def test_overflow_during_replay_reads_on_from_the_database(make_engine: EngineFactory) -> None:
    bus = _bus(make_engine)
    bus.attach_loop(asyncio.get_running_loop())
    bus.publish_many([("user.created", {}, None)] * 5)
    sub = bus.subscribe(["#"], last_event_id=0, max_queue=2)
    bus.publish_many([("user.updated", {}, None)] * 10)
    await asyncio.sleep(0)  # the live queue overflows before the replay has read anything
    assert event_ids(await collect(sub, 15)) == list(range(1, 16))
    bus.publish("user.deleted", {})
    assert event_ids(await collect(sub, 1)) == [16]


async def test_close_ends_every_subscription_with_going_away(make_engine: EngineFactory) -> None:
    bus = _bus(make_engine)
    bus.attach_loop(asyncio.get_running_loop())
    subs = [bus.subscribe(), bus.subscribe(["user.*"])]
    waiting = asyncio.create_task(subs[0].next_batch(None))
    await asyncio.sleep(0)
    bus.close("maintenance")
    with pytest.raises(StreamClosed) as caught:
        await asyncio.wait_for(waiting, 5)
    assert (caught.value.code, caught.value.reason) == (1001, "maintenance")
    with pytest.raises(StreamClosed):
        await subs[1].next_batch(0)
    assert bus.subscriber_count == 0
    bus.publish("user.created", {})  # no loop any more: persisted only


async def test_interrupt_wakes_a_waiting_consumer(make_engine: EngineFactory) -> None:
    bus = _bus(make_engine)
    bus.attach_loop(asyncio.get_running_loop())
    sub = bus.subscribe()
    waiting = asyncio.create_task(sub.next_batch(None))
    await asyncio.sleep(0)
    sub.interrupt()
    assert await asyncio.wait_for(waiting, 5) == []


async def test_subscriber_limit(make_engine: EngineFactory) -> None:
    bus = _bus(make_engine, max_subscribers=2)
    bus.attach_loop(asyncio.get_running_loop())
    first = bus.subscribe()
    bus.subscribe()
    with pytest.raises(TooManySubscribers):
        bus.subscribe()
    first.close()
    bus.subscribe()


def test_keep_must_hold_at_least_one_event(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    try:
        with pytest.raises(ValueError):
            EventBus(engine, keep=0)
    finally:
        engine.dispose()
