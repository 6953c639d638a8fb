"""An event in one line of words, safe for a terminal and a list row."""

from __future__ import annotations

from opsconsole.events.summary import actor_words, printable, short_id, summarize, target_of


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


ACCOUNT = "3f2a9c1e-5b7d-4e21-9a0c-6d8e4f1b2a3c"


def test_an_actor_known_only_by_id_is_named_by_its_short_id() -> None:
    # A reader without read:users gets role events without the actor's email, only its account id.
    assert summarize("role.created", {"role": {"name": "auditor"}, "actor_id": ACCOUNT}) == (
        "role auditor · by user 3f2a9c1e"
    )
    assert actor_words({"actor_id": ACCOUNT}, full=True) == f"by user {ACCOUNT}"
    # With the email too, the email: it is what a person recognises.
    both = {"role": {"name": "auditor"}, "actor": "admin@x", "actor_id": ACCOUNT}
    assert summarize("role.created", both) == "role auditor · by admin@x"
    assert summarize("role.created", {**both, "actor": " "}) == "role auditor · by user 3f2a9c1e"


def test_ids_that_are_not_uuids_are_shown_whole_or_cut() -> None:
    assert short_id("svc-metrics") == "svc-metrics"
    assert short_id("service-account-for-the-nightly-export") == "service-acc…"
    assert actor_words({"actor_id": 42}) == "by user 42"


def test_no_actor_is_no_words_never_none() -> None:
    for data in (
        {},
        {"actor": None, "actor_id": None},
        {"actor_id": ""},
        {"actor_id": True},
        {"actor_id": {}},
    ):
        assert actor_words(data) == ""
        line = summarize("role.deleted", {"role": {"name": "auditor"}, **data})
        assert line == "role auditor" and "None" not in line


def test_an_actor_email_cannot_forge_lines_or_turn_text_around() -> None:
    # The tooltip adds actor_words(full=True) on a line of its own: a line break in the email would
    # forge a second "By ..." line, an RTL override would reverse what follows.
    forged = {"role": {"name": "auditor"}, "actor": "mallory@x\nBy admin@corp.example\u202e"}
    for words in (actor_words(forged), actor_words(forged, full=True)):
        assert words == "by mallory@x By admin@corp.example"
    assert summarize("role.updated", forged) == "role auditor · by mallory@x By admin@corp.example"


def test_an_actor_of_invisible_characters_is_no_actor() -> None:
    assert actor_words({"actor": "\u200b"}) == ""
    assert summarize("role.updated", {"role": {"name": "auditor"}, "actor": "\u200b\u202e"}) == "role auditor"
    both = {"role": {"name": "auditor"}, "actor": "\u200b", "actor_id": ACCOUNT}
    assert summarize("role.updated", both) == "role auditor · by user 3f2a9c1e"
