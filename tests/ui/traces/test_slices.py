"""The background pass of a shown trace runs on the GUI thread a slice at a time (ui/traces/slices.py):
the event loop handles what waits between two slices, the pass ends with its result, a pass that is
stopped does no more, and a step that fails stops it."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

import pytest
from bench._traces_data import jaeger_trace
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from opsconsole.traces import critical_path, traces_from_bytes
from opsconsole.traces.critical_path import STEP, critical_path_steps
from opsconsole.ui.traces.page import TracesPage
from opsconsole.ui.traces.prepared import CHUNK_ROWS, PreparedTrace, background_steps, prepare
from opsconsole.ui.traces.slices import TimeSliced

WAIT = 30_000


def generated(spans: int) -> PreparedTrace:
    return prepare(
        traces_from_bytes(json.dumps(jaeger_trace(spans)).encode())[0], "generated", critical=False
    )


def test_the_critical_path_in_steps_is_the_critical_path() -> None:
    lay = generated(3_000).layout
    steps = critical_path_steps(lay)
    taken = 0
    while True:
        try:
            next(steps)
        except StopIteration as done:
            sections = done.value
            break
        taken += 1
    assert taken >= 2 * (3_000 // STEP)  # steps in both of its loops over every span
    assert sections == critical_path(lay) and sections


def test_events_are_handled_between_slices_and_the_pass_ends_with_its_result(qtbot: Any) -> None:
    prepared = generated(20_000)
    assert sum(1 for _ in background_steps(generated(2_000))) >= 2_000 // CHUNK_ROWS
    seen_mid_pass: list[bool] = []
    results: list[PreparedTrace] = []
    background = TimeSliced(background_steps(prepared), results.append)
    QTimer.singleShot(0, lambda: seen_mid_pass.append(prepared.details_read))  # queued after the first slice
    qtbot.waitUntil(lambda: bool(results), timeout=WAIT)
    assert seen_mid_pass == [False]  # handled while the pass had more to do
    assert results == [prepared] and prepared.critical_ready and prepared.details_read
    assert not background.running


def test_a_stopped_pass_does_no_more(qtbot: Any) -> None:
    done: list[Any] = []
    steps_taken: list[int] = []

    def steps() -> Generator[None, None, str]:
        for i in range(10**9):
            steps_taken.append(i)
            yield
        return "never"

    background = TimeSliced(steps(), done.append)
    qtbot.waitUntil(lambda: len(steps_taken) > 0, timeout=WAIT)
    background.stop()
    taken = len(steps_taken)
    for _ in range(20):  # a zero-interval timer still running would fire at each of these
        QApplication.processEvents()
    assert len(steps_taken) == taken and done == [] and not background.running


def test_a_step_that_fails_stops_the_pass(qtbot: Any) -> None:
    def steps() -> Generator[None, None, None]:
        yield
        raise ValueError("broken step")

    background = TimeSliced(steps(), lambda _r: None)
    with pytest.raises(ValueError, match="broken step"):
        background._slice()
    assert not background.running


def test_the_page_drops_the_pass_of_a_trace_no_longer_shown(qtbot: Any, make_page: Any) -> None:
    page, _ = make_page()
    assert isinstance(page, TracesPage)
    big, small = generated(20_000), generated(500)
    page.show_trace(big)
    page.show_trace(small)
    qtbot.waitUntil(lambda: small.details_read, timeout=WAIT)
    assert not big.details_read  # its pass stopped when the next trace was shown
    assert page.view.critical.isEnabled() and "500 spans" in page.view.facts.text()
