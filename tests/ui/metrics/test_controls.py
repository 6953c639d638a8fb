"""The page's controls: auto-refresh and pause, a custom time range, the unit axis."""

from __future__ import annotations

from typing import Any

import numpy as np

from opsconsole.ui.metrics.page import FLUSH_MAX_MS, FLUSH_MS
from opsconsole.ui.metrics.timerange import CustomRangeDialog, TimeRange

from .conftest import panels_updated


def test_auto_refresh_interval_and_pause(page: Any, server: Any, qtbot: Any) -> None:
    page.refresh_combo.setCurrentIndex(page.refresh_combo.findData(5))
    assert page.timer.isActive() and page.timer.interval() == 5000
    page.pause_button.click()
    assert page.paused and not page.timer.isActive() and page.pause_button.text() == "Resume"
    before = server.ok_requests
    with panels_updated(qtbot, page, {"ok"}):
        page.pause_button.click()  # resuming refreshes at once, then keeps the interval
    assert server.ok_requests == before + 1
    assert page.timer.isActive() and page.pause_button.text() == "Pause"
    page.refresh_combo.setCurrentIndex(page.refresh_combo.findData(0))
    assert not page.timer.isActive()


def test_a_tick_refreshes_every_panel(page: Any, server: Any, qtbot: Any) -> None:
    before = server.ok_requests
    with panels_updated(qtbot, page, {"ok", "bad", "nan"}):
        page.timer.timeout.emit()
    assert server.ok_requests == before + 1


def test_custom_range_is_queried_as_given(page: Any, qtbot: Any) -> None:
    end = float(int(page.views["ok"].data.end)) - 3600
    start = end - 1800
    dialog = CustomRangeDialog(TimeRange(1800, start, end), page)
    dialog.end_edit.setDateTime(dialog.start_edit.dateTime().addSecs(-60))
    dialog._accept()
    assert dialog.result_range is None and "must come after" in dialog.problem.text()
    dialog.end_edit.setDateTime(dialog.start_edit.dateTime().addSecs(1800))
    dialog._accept()
    assert dialog.result_range == TimeRange(1800, start, end)
    with panels_updated(qtbot, page, {"ok"}):
        page.set_time_range(dialog.result_range)
    data = page.views["ok"].data
    assert (data.start, data.end) == (start, end)
    assert page.range_picker.currentText() == dialog.result_range.text and " to " in dialog.result_range.text
    assert page.views["ok"].view_box.viewRange()[0] == [start, end]


def test_unit_axis_writes_the_unit(qtbot: Any) -> None:
    from opsconsole.ui.metrics.axis import UnitAxis

    assert UnitAxis("bytes").tickStrings([1024, 1536, 3 * 2**30], 1, 512) == ["1 KiB", "1.5 KiB", "3 GiB"]
    assert UnitAxis("seconds").tickStrings([0.25, 90], 1, 1) == ["250 ms", "1.5 min"]
    assert UnitAxis("percent").tickStrings([20], 1, 10) == ["20%"]
    assert UnitAxis("per_second").tickStrings([1500], 1, 500) == ["1.5k/s"]
    # Bytes step in powers of two, so ticks land on round binary values.
    (major, _), (minor, _) = UnitAxis("bytes").tickSpacing(0, 20 * 2**30, 300)
    assert major == 4 * 2**30 and minor == 2 * 2**30


def test_a_hidden_page_stops_asking_and_catches_up_when_shown(page: Any, server: Any, qtbot: Any) -> None:
    page.refresh_combo.setCurrentIndex(page.refresh_combo.findData(5))
    assert page.timer.isActive()
    page.hide()
    assert not page.timer.isActive()
    before = server.ok_requests
    with panels_updated(qtbot, page, {"ok"}):
        page.show()
    assert server.ok_requests == before + 1 and page.timer.isActive()


def test_answers_are_drawn_together_once_they_stop_coming(page: Any, server: Any, qtbot: Any) -> None:
    """Drawn while the bridge still parses the other answers, panels take several times as long to
    draw (the two threads fight for the GIL): the page waits for a pause in the answers (FLUSH_MS),
    or for FLUSH_MAX_MS after the first one at most."""
    with panels_updated(qtbot, page):
        page.refresh()  # every panel has answered: none is waiting
    ok, nan, slow = page.views["ok"], page.views["nan"], page.views["slow"]
    old = ok.data
    ok.job = nan.job = slow.job = Waiting()
    page._panel_done(ok, ok.data)  # the first answer waits for the others...
    assert page._flush_timer.isActive() and page._flush_timer.interval() == FLUSH_MS
    assert set(page._ready) == {"ok"} and ok.data is old
    page._first_ready -= FLUSH_MAX_MS / 1000  # ...but not beyond FLUSH_MAX_MS, answers or not
    page._panel_done(nan, nan.data)
    assert page._flush_timer.isActive() and page._flush_timer.interval() == 0
    assert set(page._ready) == {"ok", "nan"}
    with panels_updated(qtbot, page, {"ok", "nan"}):
        pass  # the timer fires: both drawn in one go, the slow panel still waiting
    assert not page._ready and slow.job is not None
    slow.job = None


class Waiting:
    """A job still running, as far as the page can tell."""

    def cancel(self) -> bool:
        return True


def _ok_dashboard(**settings: Any) -> Any:
    from opsconsole.metrics import dashboard as dashboards

    panel = {
        "id": "ok",
        "title": "ok",
        "layout": {"x": 0, "y": 0, "w": 12, "h": 4},
        "queries": [{"expr": "ok"}],
    }
    return dashboards.from_json({"title": "one", "range": "1h", "panels": [panel], **settings})


def test_ticks_ask_for_the_new_part_and_the_refresh_button_for_the_whole_range(
    make_page: Any, server: Any, qtbot: Any
) -> None:
    page = make_page(server.url)
    with panels_updated(qtbot, page, {"ok"}):
        page.set_dashboard(_ok_dashboard())
    start, end, step = server.ok_asked[-1]
    assert start % step == 0 and end % step == 0 and 3600 <= end - start <= 3600 + step  # on the grid
    with panels_updated(qtbot, page, {"ok"}):
        page.timer.timeout.emit()
    since = server.ok_asked[-1][0]
    assert since >= start + 3000  # only the last 10 minutes (the overlap) and what is new
    # The kept points (the first answer's count) and the new part's (the second) in one series.
    (series,) = page.views["ok"].data.series
    assert set(series.y[series.x < since]) == {server.ok_requests - 1}
    assert set(series.y[series.x >= since]) == {server.ok_requests}
    assert series.x[-1] == server.ok_asked[-1][1] and series.x[-1] - series.x[0] >= 3600  # the whole range
    assert (np.diff(series.x) == step).all()  # on one grid, without a hole or a point twice
    with panels_updated(qtbot, page, {"ok"}):
        page.refresh_button.click()
    assert server.ok_asked[-1][0] == page.views["ok"].data.series[0].x[0]  # the whole range again
    assert set(page.views["ok"].data.series[0].y) == {server.ok_requests}


def test_incremental_refresh_can_be_turned_off(make_page: Any, server: Any, qtbot: Any) -> None:
    page = make_page(server.url)
    with panels_updated(qtbot, page, {"ok"}):
        page.set_dashboard(_ok_dashboard(incremental=False))
    with panels_updated(qtbot, page, {"ok"}):
        page.timer.timeout.emit()
    start, end, step = server.ok_asked[-1]
    assert 3600 <= end - start <= 3600 + step
    assert set(page.views["ok"].data.series[0].y) == {server.ok_requests}
