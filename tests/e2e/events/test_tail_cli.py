"""`opsconsole events tail` as a user runs it: signed in through the real sandbox, tokens in a real
Secret Service, one JSON object per line with --json, exit codes of the contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsconsole.sandbox.server import RunningSandbox
from tests.support.cli import run_cli, write_profile
from tests.support.keyring_service import SecretService
from tests.support.scripted_browser import browser_command

pytestmark = pytest.mark.slow


def _profiles(tmp_path: Path, sandbox: RunningSandbox, *, events: bool = True) -> Path:
    extra = {"events_url": sandbox.url.replace("http://", "ws://") + "/ws/notifications"} if events else {}
    return write_profile(tmp_path / "profiles.toml", sandbox.url, **extra)


def test_tail_prints_one_json_object_per_event_and_stops_after_count(
    tmp_path: Path, sandbox: RunningSandbox, secret_service: SecretService
) -> None:
    profiles = _profiles(tmp_path, sandbox)
    assert run_cli(profiles, "login", env={"BROWSER": browser_command(tmp_path)}).returncode == 0
    bus = sandbox.app.state.bus
    published = bus.publish_many(
        [("alert.fired", {"alert": {"summary": f"disk {i}"}}, None) for i in range(6)]
    )
    bus.publish("role.created", {"role": {"name": "auditor"}})
    first = int(published[0]["id"])

    tail = run_cli(
        profiles, "events", "tail", "--json", "--topic", "alert.*", "--since", str(first - 1), "--count", "6"
    )
    assert tail.returncode == 0, tail.stderr
    lines = [json.loads(line) for line in tail.stdout.splitlines()]
    assert [e["id"] for e in lines] == [int(e["id"]) for e in published]
    assert set(lines[0]) == {"id", "type", "topic", "time", "data"}
    assert lines[-1]["data"] == {"alert": {"summary": "disk 5"}}

    text = run_cli(profiles, "events", "tail", "--since", str(first - 1), "--count", "7")
    assert text.returncode == 0, text.stderr
    rows = text.stdout.splitlines()
    assert len(rows) == 7 and "disk 0" in rows[0] and "role auditor" in rows[-1]


def test_tail_without_a_sign_in_exits_3_and_says_how(tmp_path: Path, sandbox: RunningSandbox) -> None:
    tail = run_cli(_profiles(tmp_path, sandbox), "events", "tail", "--count", "1")
    assert tail.returncode == 3
    assert "opsconsole login" in tail.stderr and "Traceback" not in tail.stderr


def test_tail_on_a_profile_without_an_events_url_says_so(tmp_path: Path, sandbox: RunningSandbox) -> None:
    tail = run_cli(_profiles(tmp_path, sandbox, events=False), "events", "tail")
    assert tail.returncode == 1
    assert "has no events_url" in tail.stderr and "Traceback" not in tail.stderr


def test_a_bad_topic_pattern_is_a_clear_error(tmp_path: Path, sandbox: RunningSandbox) -> None:
    tail = run_cli(_profiles(tmp_path, sandbox), "events", "tail", "--topic", "user.*x")
    assert tail.returncode in (1, 2)
    assert "topic pattern" in tail.stderr and "Traceback" not in tail.stderr
