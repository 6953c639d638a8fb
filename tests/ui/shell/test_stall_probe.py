"""The GUI stall probe measures how long the event loop was blocked and reports it three ways."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer

from opsconsole.ui.shell import stall_probe


@pytest.fixture(autouse=True)
def _reset_probe() -> Iterator[None]:
    stall_probe.reset()
    yield
    stall_probe.reset()


def block_gui_thread(seconds: float) -> None:
    # The workload under test: a slot that hogs the GUI thread, as a slow model reset would.
    time.sleep(seconds)


def test_is_opt_in(monkeypatch: pytest.MonkeyPatch, qapp: Any) -> None:
    assert stall_probe.install_from_env() is None
    assert stall_probe.current() is None
    monkeypatch.setenv("OPSCONSOLE_STALL_PROBE", "1")
    assert stall_probe.enabled()
    probe = stall_probe.install_from_env()
    assert probe is not None and probe.running
    probe.stop()


def test_measures_a_blocked_event_loop_and_reports_it(
    qtbot: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    probe = stall_probe.install()
    with caplog.at_level(logging.INFO, logger="opsconsole.ui"):
        qtbot.waitUntil(lambda: probe.ticks >= 3, timeout=5000)
        QTimer.singleShot(0, lambda: block_gui_thread(0.25))
        qtbot.waitUntil(lambda: probe.max_stall_s >= 0.2, timeout=5000)
        figures = stall_probe.current()
        assert figures is not None
        assert figures["max_stall_ms"] >= 200
        assert figures["stalls_over_100ms"] >= 1
        target = tmp_path / "reports" / "stall.json"
        report = stall_probe.finish({"OPSCONSOLE_STALL_PROBE_FILE": str(target)})
    assert report is not None and not probe.running
    assert json.loads(target.read_text()) == report
    assert report["max_stall_ms"] >= 200
    messages = [r.getMessage() for r in caplog.records if r.name == "opsconsole.ui"]
    assert any("GUI thread was blocked" in m for m in messages)
    assert any("longest block" in m for m in messages)


def test_a_second_probe_cannot_run_alongside(qapp: Any) -> None:
    probe = stall_probe.install()
    with pytest.raises(RuntimeError):
        stall_probe.install()
    probe.stop()
