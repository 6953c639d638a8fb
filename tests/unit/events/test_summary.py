"""An event in one line of words, safe for a terminal and a list row."""

from __future__ import annotations

from opsconsole.events.summary import printable, summarize, target_of


def test_events_are_named_by_what_people_recognise() -> None:
    assert summarize("user.created", {"user": {"email": "a@example.com"}, "actor": "admin@x"}) == (
        "user a@example.com · by admin@x"
    )
    assert summarize("role.granted", {"user": {"email": "a@example.com"}, "role": "support"}) == (
        "user a@example.com · role support"
    )
    assert summarize("alert.fired", {"summary": "disk 91% full", "severity": "warning"}) == "disk 91% full"
    assert summarize("thing.happened", {"n": 1}) == '{"n":1}'


def test_escape_sequences_from_the_server_never_reach_the_terminal() -> None:
    hostile = {"user": {"email": "x\x1b[2J\x1b]0;owned\x07@example.com\nsecond line"}}
    line = summarize("user.created", hostile)
    assert "\x1b" not in line and "\x07" not in line and "\n" not in line
    assert printable("a\tb\x00c") == "a b c"


def test_long_data_is_cut_to_a_readable_line() -> None:
    assert len(summarize("x.y", {"blob": "z" * 10_000})) == 160


def test_what_an_event_is_about() -> None:
    assert target_of({"user": {"id": "u1"}}) == ("users", "u1")
    assert target_of({"trace_id": "abc"}) == ("traces", "abc")
    assert target_of({"summary": "nothing to open"}) is None
