"""The panel editor: completion over 100,000 metric names fetched from a real HTTP server, label
names and values, the step warning, and saving an edited panel into the dashboard."""

from __future__ import annotations

from typing import Any

import pytest

from opsconsole.ui.metrics.timerange import TimeRange
from tests.ui.conftest import OFFSCREEN_NOISE

from .conftest import panels_updated

# The completion popup grabs the keyboard, which the offscreen platform cannot do (and says so).
pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE, "does not support grabbing the keyboard")


def test_editor_completes_metric_names_from_100k(page: Any, qtbot: Any) -> None:
    editor = page.open_editor("ok")
    row = editor.rows[0]
    row.expr.clear()
    qtbot.keyClicks(row.expr, "rate(metric_0999")
    expected = [f"metric_0999{d}_total" for d in range(10)]
    # The ten names that start with the prefix first, then names containing its words, 50 at most.
    qtbot.waitUntil(lambda: row.completer.popup_items()[:10] == expected, timeout=20_000)
    items = row.completer.popup_items()
    assert len(items) == 20 and all("0999" in name for name in items)  # metric_X0999 too
    # Narrowing the prefix answers from the list already fetched.
    qtbot.keyClicks(row.expr, "7")
    assert row.completer.popup_items() == ["metric_09997_total"]
    row.completer.insert("metric_09997_total")
    assert row.expr.text() == "rate(metric_09997_total"
    editor.reject()


def test_editor_completes_label_names_and_values(page: Any, qtbot: Any) -> None:
    editor = page.open_editor("ok")
    row = editor.rows[0]
    row.expr.clear()
    qtbot.keyClicks(row.expr, "metric_00000_total{j")
    qtbot.waitUntil(lambda: row.completer.popup_items() == ["job"], timeout=20_000)
    row.completer.insert("job")
    qtbot.keyClicks(row.expr, '="')
    qtbot.waitUntil(lambda: row.completer.popup_items() == ["api", "worker"], timeout=20_000)
    editor.reject()


def test_editor_warns_when_the_step_dwarfs_the_scrape_interval(page: Any, qtbot: Any) -> None:
    editor = page.open_editor("ok")
    assert not editor.step_warning.isVisibleTo(editor)  # 5 minutes: a fine step
    editor.reject()
    with panels_updated(qtbot, page, {"ok"}):
        page.set_time_range(TimeRange(7 * 86400))
    editor = page.open_editor("ok")
    assert editor.step_warning.isVisibleTo(editor)
    assert "x the scrape interval" in editor.step_warning.text()
    assert page.views["ok"].footer.text().startswith("⚠")
    editor.reject()


def test_editor_saves_the_edited_panel(page: Any, qtbot: Any) -> None:
    editor = page.open_editor("ok")
    editor.title_edit.setText("Edited")
    editor.unit_combo.setCurrentIndex(editor.unit_combo.findData("bytes"))
    editor.thresholds_edit.setText("3 red, 1 orange")
    editor.rows[0].legend.setText("job {{job}}")
    with panels_updated(qtbot, page, {"ok"}):
        editor.save()
    panel = page.dashboard.panel("ok")
    assert (panel.title, panel.unit) == ("Edited", "bytes")
    assert [(t.value, t.color) for t in panel.thresholds] == [(3.0, "red"), (1.0, "orange")]
    view = page.views["ok"]
    assert "Edited" in view.title.text() and view.axis.unit == "bytes"
    assert [s.name for s in view.data.series] == ["job ok"]


def test_editor_refuses_what_a_dashboard_cannot_hold(page: Any) -> None:
    editor = page.open_editor("ok")
    editor.thresholds_edit.setText("high red")
    editor.save()
    assert editor.isVisible() and "'high red' is not “value colour”" in editor.problem.text()
    editor.thresholds_edit.setText("")
    editor.title_edit.setText("")
    editor.save()
    assert editor.isVisible() and editor.problem.text() == "The title is empty"
    editor.title_edit.setText("t")
    editor.rows[0].expr.setText("")
    editor.save()
    assert editor.isVisible() and editor.problem.text().startswith("needs queries")
    assert page.dashboard.panel("ok").title == "case ok"
    editor.reject()
