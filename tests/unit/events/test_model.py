"""Frames are parsed strictly: an event, a gap, a control message, or a reason it is none of these."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsconsole.events.model import Control, Event, Gap, Malformed, Phase, StreamStatus, parse_frame


def test_an_event_frame_becomes_an_event() -> None:
    frame = json.dumps(
        {"id": 7, "type": "user.created", "topic": "user.created", "time": "2026-11-30T10:00:00Z",
         "data": {"user": {"email": "a@example.com"}}}
    )  # fmt: skip
    item = parse_frame(frame)
    assert item == Event(
        7, "user.created", "user.created", "2026-11-30T10:00:00Z", {"user": {"email": "a@example.com"}}
    )
    assert isinstance(item, Event) and item.to_json()["id"] == 7


def test_a_gap_says_how_many_events_may_be_missing() -> None:
    gap = parse_frame(
        json.dumps({"type": "stream.gap", "requested_after": 1, "oldest_available": 50, "missed_at_least": 48,
                    "reason": "pruned"})
    )  # fmt: skip
    assert gap == Gap(1, 50, 48, "pruned")
    assert isinstance(gap, Gap) and gap.message().startswith("48 events may be missing")
    reset = Gap(900, 1, 0, "reset")
    assert "reset" in reset.message()


def test_control_messages_keep_their_body() -> None:
    item = parse_frame('{"type": "stream.subscribed", "topics": ["#"], "last_event_id": 3}')
    assert isinstance(item, Control) and item.type == "stream.subscribed" and item.body["last_event_id"] == 3


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"\x00\x01", "binary"),
        ("{not json", "not JSON"),
        ("[1, 2]", "list, not an object"),
        ('{"id": "7", "type": "a", "topic": "a", "time": "t"}', "'id'"),
        ('{"id": true, "type": "a", "topic": "a", "time": "t"}', "'id'"),
        ('{"id": 0, "type": "a", "topic": "a", "time": "t"}', "not positive"),
        ('{"id": 3, "type": "a", "topic": "a", "time": "t", "data": [1]}', "'data'"),
        ('{"id": 3, "type": "a", "time": "t"}', "'topic'"),
        ('{"type": "user.created"}', "not a stream.* control type"),
        ('{"type": "stream.gap", "requested_after": "x"}', "'requested_after'"),
        ("[" * 100_000, "not JSON"),
    ],
)
def test_a_malformed_frame_says_why(frame: str | bytes, reason: str) -> None:
    item = parse_frame(frame)
    assert isinstance(item, Malformed) and reason in item.reason and item.size == len(frame)


@given(st.one_of(st.text(max_size=200), st.binary(max_size=200), st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=20,
).map(json.dumps)))  # fmt: skip
def test_no_frame_makes_the_parser_raise(frame: str | bytes) -> None:
    assert isinstance(parse_frame(frame), Event | Gap | Control | Malformed)


def test_a_status_reads_as_the_status_bar_says_it() -> None:
    assert StreamStatus(Phase.RECONNECTING, "the server is restarting", 4.2).message() == (
        "reconnecting in 4 s: the server is restarting"
    )
    assert StreamStatus(Phase.LIVE).message() == "live"


@pytest.mark.parametrize(
    "frame",
    [
        '{"id": ' + "1" * 5001 + ', "type": "a", "topic": "a", "time": "t"}',  # over Python's int digit limit
        '{"type": "stream.gap", "requested_after": 1, "oldest_available": 5, "missed_at_least": Infinity}',
        '{"type": "stream.gap", "requested_after": 1, "oldest_available": 5, "missed_at_least": 1e400}',
    ],
)
def test_hostile_numbers_are_malformed_frames_not_crashes(frame: str) -> None:
    assert isinstance(parse_frame(frame), Malformed)
