"""The trace view offscreen: files of each format, collapse and expand, find, the duration filter,
the critical path, hostile traces, span details, zoom, and a 20,000-span trace painting only the
rows on screen."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bench._traces_data import jaeger_trace
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QPalette, QWheelEvent
from PySide6.QtWidgets import QApplication

from opsconsole.traces import critical_path, critical_spans, layout, traces_from_bytes
from opsconsole.ui.traces.detail import SpanDetail
from opsconsole.ui.traces.page import TracesPage
from opsconsole.ui.traces.prepared import prepare
from opsconsole.ui.traces.style import service_color
from opsconsole.ui.traces.waterfall import Waterfall
from tests.ui.traces.conftest import Shown
from tests.unit.traces import test_files
from tests.unit.traces.hostile import jaeger_doc, span_id
from tests.unit.traces.otel_writer import otlp_hex_json, otlp_json, record_checkout, zipkin_json

WAIT = 15_000
CHECKOUT = test_files._EXPECTED_TREE  # the SDK's checkout trace: (depth, service, operation)
MakePage = Callable[..., tuple[TracesPage, Shown]]


def rows_shown(wf: Waterfall) -> list[tuple[int, str, str]]:
    assert wf.prepared is not None and wf.state is not None
    out = []
    for row in wf.state.visible.tolist():
        span = wf.prepared.span(row)
        out.append((int(wf.prepared.row_depth[row]), span.service, span.operation))
    return out


def open_file(qtbot: Any, page: TracesPage, path: Path) -> None:
    page.open_file(path)
    qtbot.waitUntil(lambda: page.prepared is not None and page.tabs.currentIndex() == 1, timeout=WAIT)
    # The critical path follows in the background; the view enables its switch once it has it.
    qtbot.waitUntil(page.view.critical.isEnabled, timeout=WAIT)


def show(qtbot: Any, page: TracesPage) -> None:
    with qtbot.waitExposed(page):
        page.show()


@pytest.fixture(scope="module")
def sdk_spans() -> list[Any]:
    return record_checkout()


@pytest.fixture
def checkout(
    qtbot: Any, make_page: MakePage, tmp_path: Path, sdk_spans: list[Any]
) -> tuple[TracesPage, Shown]:
    """A page showing the SDK's checkout trace, opened from an OTLP file."""
    page, shown = make_page()
    path = tmp_path / "checkout.json"
    path.write_text(otlp_json(sdk_spans))
    open_file(qtbot, page, path)
    return page, shown


@pytest.mark.parametrize(
    "writer", [otlp_json, otlp_hex_json, zipkin_json], ids=["otlp-b64", "otlp-hex", "zipkin"]
)
def test_a_file_written_by_the_sdk_opens_by_content(
    qtbot: Any, make_page: MakePage, tmp_path: Path, sdk_spans: list[Any], writer: Callable[..., str]
) -> None:
    page, _ = make_page()
    path = tmp_path / "trace.txt"  # no telling extension: the content decides
    path.write_text(writer(sdk_spans), encoding="utf-8")
    open_file(qtbot, page, path)
    wf = page.view.waterfall
    assert rows_shown(wf) == CHECKOUT
    assert "7 spans" in page.view.facts.text() and "trace.txt" in page.view.facts.text()
    assert not page.view.problems.isVisible()


def test_a_jaeger_file_opens_and_a_bad_file_says_why(qtbot: Any, make_page: MakePage, tmp_path: Path) -> None:
    page, _ = make_page()
    good = tmp_path / "jaeger.json"
    good.write_text(json.dumps(jaeger_doc([("root", None, 0, 100), ("child", "root", 10, 50)])))
    bad = tmp_path / "report.json"
    bad.write_text(json.dumps({"metrics": [], "status": "ok"}))
    open_file(qtbot, page, good)
    assert [op for _, _, op in rows_shown(page.view.waterfall)] == ["root", "child"]
    page.open_file(bad)
    qtbot.waitUntil(lambda: "not a trace of a supported format" in page.status.text(), timeout=WAIT)
    assert "Traceback" not in page.status.text()
    assert page.prepared is not None and page.prepared.layout.trace.format == "jaeger"  # still shown


def test_a_malformed_trace_id_is_refused_with_a_message(make_page: MakePage) -> None:
    page, shown = make_page()
    page.open_trace("not-a-trace-id!")
    assert "is not a trace id" in page.status.text() and shown.messages


def test_collapse_and_expand_with_keys_buttons_and_depth(
    qtbot: Any, checkout: tuple[TracesPage, Shown]
) -> None:
    page, _ = checkout
    wf = page.view.waterfall
    assert wf.current == 0  # the root is current after opening
    qtbot.keyClick(wf, Qt.Key.Key_Left)  # collapse the root
    assert rows_shown(wf) == CHECKOUT[:1]
    qtbot.keyClick(wf, Qt.Key.Key_Right)  # expand it
    assert rows_shown(wf) == CHECKOUT
    qtbot.keyClick(wf, Qt.Key.Key_Down)
    qtbot.keyClick(wf, Qt.Key.Key_Down)  # frontend Authentication Service
    qtbot.keyClick(wf, Qt.Key.Key_Left)
    assert rows_shown(wf) == [CHECKOUT[0], CHECKOUT[1], CHECKOUT[2], CHECKOUT[6]]
    qtbot.keyClick(wf, Qt.Key.Key_Right)
    qtbot.keyClick(wf, Qt.Key.Key_Right)  # expanded already: go to the first child
    assert wf.prepared is not None and wf.prepared.span(wf.current).service == "users"
    qtbot.keyClick(wf, Qt.Key.Key_Left)
    qtbot.keyClick(wf, Qt.Key.Key_Left)  # collapsed: Left goes to the parent
    assert (wf.prepared.span(wf.current).service, int(wf.prepared.row_depth[wf.current])) == ("frontend", 1)
    page.view.waterfall.collapse_all()
    assert rows_shown(wf) == CHECKOUT[:1]
    page.view.waterfall.expand_all()
    assert rows_shown(wf) == CHECKOUT
    page.view.depth_box.setValue(2)
    page.view._collapse_depth()
    assert rows_shown(wf) == [r for r in CHECKOUT if r[0] <= 2]
    # A click on a row's triangle toggles it.
    wf.expand_all()
    y = 2 * wf.row_height + wf.row_height // 2 - wf.verticalScrollBar().value()
    qtbot.mouseClick(wf.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(6 + 1 * 14 + 3, y))
    assert rows_shown(wf) == [CHECKOUT[0], CHECKOUT[1], CHECKOUT[2], CHECKOUT[6]]


def test_find_highlights_and_steps_through_matches_into_collapsed_spans(
    qtbot: Any, checkout: tuple[TracesPage, Shown]
) -> None:
    page, _ = checkout
    view, wf = page.view, page.view.waterfall
    wf.collapse_all()
    show(qtbot, page)
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow, timeout=WAIT)
    page.focus_find()  # Ctrl+F
    assert view.find_box.hasFocus()
    qtbot.keyClicks(view.find_box, "authentication")
    assert view.find_status.text() == "2"
    assert wf.prepared is not None
    qtbot.keyClick(view.find_box, Qt.Key.Key_Return)
    first = wf.current
    assert (
        wf.prepared.span(first).operation == "Authentication Service" and view.find_status.text() == "1 of 2"
    )
    qtbot.keyClick(view.find_box, Qt.Key.Key_Return)
    second = wf.current
    assert second != first and wf.prepared.span(second).service == "users"
    assert view.find_status.text() == "2 of 2"
    assert second in wf.state.visible.tolist()  # its collapsed parents were opened
    qtbot.keyClick(view.find_box, Qt.Key.Key_Return)
    assert wf.current == first  # round again
    view.find_previous()
    assert wf.current == second
    wf.viewport().repaint()
    assert {first, second} <= set(wf.painted) and wf.matches == {first, second}
    # Tags are searched too: the DB Query's event-free tag values, and nothing matches nonsense.
    view.find_box.setText("HTTP.STATUS_CODE=200")  # tags too, in any case
    assert view.find_status.text() == "1" and [wf.prepared.span(r).operation for r in wf.matches] == [
        "User Request"
    ]
    view.find_box.setText("e")  # a match in every row: each row once
    assert view.find_status.text() == str(wf.prepared.rows) and view.match_rows == list(
        range(wf.prepared.rows)
    )
    view.find_box.setText("zzz-no-such-thing")
    assert view.find_status.text() == "no match" and wf.matches == set()
    page.hide()


def test_the_duration_filter_shows_only_longer_spans(qtbot: Any, make_page: MakePage, tmp_path: Path) -> None:
    page, _ = make_page()
    path = tmp_path / "t.json"
    path.write_text(json.dumps(jaeger_doc([
        ("root", None, 0, 10_000), ("slow", "root", 0, 6_000), ("fast", "root", 6_000, 300),
        ("slow-child", "slow", 10, 2_000), ("tiny", "slow", 3_000, 5),
    ])))  # fmt: skip
    open_file(qtbot, page, path)
    wf = page.view.waterfall
    page.view.set_min_duration("1ms")
    assert [op for _, _, op in rows_shown(wf)] == ["root", "slow", "slow-child"]
    page.view.set_min_duration("bogus")
    assert page.view.min_duration.styleSheet() and wf.visible_count == 3  # kept, and the field says why
    assert "invalid duration" in page.view.min_duration.toolTip()
    page.view.set_min_duration("")
    assert wf.visible_count == 5


def test_the_critical_path_is_marked_on_its_spans(qtbot: Any, make_page: MakePage, tmp_path: Path) -> None:
    page, _ = make_page()
    path = tmp_path / "t.json"
    # root 0-1000; a 100-700 and b 200-900 overlap: b finishes last, so the path is root, b, root...
    path.write_text(json.dumps(jaeger_doc([
        ("root", None, 0, 1000), ("a", "root", 100, 600), ("b", "root", 200, 700),
    ])))  # fmt: skip
    open_file(qtbot, page, path)
    show(qtbot, page)
    wf = page.view.waterfall
    p = wf.prepared
    assert p is not None
    lay = layout(p.layout.trace)
    expected = {int(lay.row_of[i]) for i in critical_spans(critical_path(lay))}
    assert set(p.critical) == expected
    assert page.view.critical.isEnabled()  # computed in the background after the rows were shown
    ops = {p.span(r).operation for r in expected}
    assert ops == {"root", "b"}
    wf.set_current(-1)

    def pixel(operation: str) -> QColor:
        row = next(r for r in range(p.rows) if p.span(r).operation == operation)
        start, end = p.critical.get(
            row, [(int(p.row_start[row]), int(p.row_start[row] + p.row_duration[row]))]
        )[0]
        bar_x = wf.name_width() + 1
        bar_w = wf.viewport().width() - bar_x - 8
        x = int(bar_x + (start + end) / 2 * bar_w / p.duration_us)
        y = wf.state.position(row) * wf.row_height + wf.row_height // 2
        return wf.viewport().grab().toImage().pixelColor(x, y)

    ink = wf.palette().color(QPalette.ColorRole.Text)
    assert pixel("b") == ink  # the critical line over the bar
    assert pixel("a") == service_color(int(p.row_service[1]), False)  # not critical: the bar's colour
    page.view.critical.setChecked(False)
    assert pixel("b") != ink
    page.hide()


def test_hostile_traces_are_shown_and_flagged(qtbot: Any, make_page: MakePage, tmp_path: Path) -> None:
    page, _ = make_page()
    path = tmp_path / "hostile.json"
    doc = jaeger_doc([
        ("root", None, 0, 100),
        ("early", "root", -50, 20),  # clock skew: starts before its parent
        ("orphan", "gone", 10, 20),  # its parent is not in the trace
        ("a", "b", 10, 50), ("b", "a", 20, 30),  # a cycle
        ("dup1", "root", 30, 10, {"id": span_id("dup")}), ("dup2", "root", 40, 10, {"id": span_id("dup")}),
    ])  # fmt: skip
    path.write_text(json.dumps(doc))
    open_file(qtbot, page, path)
    view, wf = page.view, page.view.waterfall
    p = wf.prepared
    assert p is not None and wf.visible_count == 8  # 7 spans and the missing parent's placeholder
    assert view.problems.isVisibleTo(page) and view.problems.text().startswith("⚠ 4 problems")
    tips = {p.span(r).operation: wf.row_tooltip(r) for r in range(p.rows)}
    assert "clock skew" in tips["early"]
    assert "parent is not in the trace" in tips["orphan"]
    assert "placeholder" in tips[f"missing span {span_id('gone')}"]
    assert "cycle" in tips["a"]
    assert "same id" in tips["dup1"] and "same id" in tips["dup2"]
    assert "cycle" not in tips["root"] and "⚠" not in tips["root"]
    # The placeholder is a marked top-level row with the orphan under it.
    placeholder = next(r for r in range(p.rows) if p.span(r).operation.startswith("missing span"))
    assert int(p.row_depth[placeholder]) == 0 and p.span(placeholder + 1).operation == "orphan"
    show(qtbot, page)
    wf.viewport().repaint()
    assert len(wf.painted) == 8
    page.hide()


def test_enter_and_a_click_show_the_spans_details(qtbot: Any, checkout: tuple[TracesPage, Shown]) -> None:
    page, shown = checkout
    wf = page.view.waterfall
    for _ in range(4):
        qtbot.keyClick(wf, Qt.Key.Key_Down)  # DB Query
    qtbot.keyClick(wf, Qt.Key.Key_Return)
    widget, title = shown.details[-1]
    assert isinstance(widget, SpanDetail) and title == "users: DB Query"
    text = widget.toPlainText()
    assert "Error" in text and "deadlock detected" in text
    assert "query sent" in text and "db.statement=SELECT 1" in text  # the event
    assert "Resource" in text and "host.name" in text  # the resource
    assert "users-api" in text  # the scope, among the resource's tags
    y = wf.row_height // 2  # the root row, clicked on its bar
    qtbot.mouseClick(wf.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(wf.viewport().width() - 40, y))
    widget, title = shown.details[-1]
    assert title == "frontend: User Request" and "http.status_code" in widget.toPlainText()
    assert "Critical path" in widget.toPlainText()


def test_the_minimap_zooms_the_time_axis(qtbot: Any, checkout: tuple[TracesPage, Shown]) -> None:
    page, _ = checkout
    show(qtbot, page)
    view = page.view
    mini = view.minimap
    left = view.waterfall.name_width() + 1
    width = mini.width() - left - 8
    qtbot.mousePress(mini, Qt.MouseButton.LeftButton, pos=QPoint(left + width // 4, 20))
    qtbot.mouseMove(mini, QPoint(left + width // 2, 20))
    qtbot.mouseRelease(mini, Qt.MouseButton.LeftButton, pos=QPoint(left + width // 2, 20))
    total = view.time_window.total
    assert view.time_window.zoomed
    assert view.time_window.start == pytest.approx(total / 4, rel=0.05)
    assert view.time_window.end == pytest.approx(total / 2, rel=0.05)
    qtbot.mouseDClick(mini, Qt.MouseButton.LeftButton, pos=QPoint(left + 5, 20))
    assert not view.time_window.zoomed
    # Ctrl+wheel over the bars zooms around the pointer; a plain wheel scrolls instead.
    vp = view.waterfall.viewport()
    at = QPointF(left + width * 0.75, 10)

    def wheel(modifiers: Qt.KeyboardModifier) -> None:
        event = QWheelEvent(at, vp.mapToGlobal(at), QPoint(), QPoint(0, 120), Qt.MouseButton.NoButton,
                            modifiers, Qt.ScrollPhase.NoScrollPhase, False)  # fmt: skip
        QApplication.sendEvent(vp, event)

    wheel(Qt.KeyboardModifier.NoModifier)
    assert not view.time_window.zoomed
    wheel(Qt.KeyboardModifier.ControlModifier)
    assert view.time_window.zoomed and view.time_window.end - view.time_window.start == pytest.approx(
        0.8 * total
    )
    assert view.time_window.start == pytest.approx(
        0.75 * total * 0.2, rel=0.05
    )  # the pointer's time stays put
    page.hide()


def test_a_20000_span_trace_paints_only_the_rows_on_screen(qtbot: Any, make_page: MakePage) -> None:
    page, _ = make_page()
    (trace,) = traces_from_bytes(json.dumps(jaeger_trace(20_000)).encode())
    page.show_trace(prepare(trace, "generated"))
    show(qtbot, page)
    wf = page.view.waterfall
    assert wf.visible_count == 20_000
    on_screen = wf.viewport().height() // wf.row_height + 2
    bar = wf.verticalScrollBar()
    for value in (0, bar.maximum() // 3, bar.maximum() // 2 + 7, bar.maximum()):
        bar.setValue(value)
        before = wf.paints
        wf.viewport().repaint()
        assert wf.paints == before + 1
        first = value // wf.row_height
        assert 0 < len(wf.painted) <= on_screen
        assert wf.painted[0] == int(wf.state.visible[first])  # the rows at the scroll position
    assert wf.painted[-1] == 19_999  # the last row, at the bottom
    # Zoomed in, the same: rows on screen only.
    page.view.time_window.zoom(0.01)
    wf.viewport().repaint()
    assert 0 < len(wf.painted) <= on_screen
    # Meanwhile, between these frames, the page read every span's details.
    qtbot.waitUntil(lambda: page.prepared is not None and page.prepared.details_read, timeout=WAIT)
    page.hide()


def test_span_details_are_read_for_the_rows_on_screen_and_then_in_the_background(qtbot: Any) -> None:
    from opsconsole.traces.critical_path import run_steps
    from opsconsole.ui.traces.prepared import background_steps
    from opsconsole.ui.traces.trace_view import TraceView

    doc = jaeger_trace(2_000)
    spans = doc["data"][0]["spans"]
    spans[1]["tags"].append({"key": "error", "type": "bool", "value": True})
    spans[2]["tags"] = [{"value": 1}]  # malformed: a tag without a key
    errors = sum(1 for s in spans if any(t.get("key") == "error" for t in s["tags"]))
    # From bytes, as a file or a trace-by-id answer is read: the details stay encoded until asked for.
    prepared = prepare(traces_from_bytes(json.dumps(doc).encode())[0], "generated", critical=False)
    view = TraceView()
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.find_box.setText("error=true")  # typed before the trace opens: it waits for the details
    with qtbot.waitExposed(view):
        view.show()
    view.set_trace(prepared)
    view.waterfall.viewport().repaint()
    painted = view.waterfall.painted
    assert 0 < len(painted) < 100
    # Only the rows on screen had their details read (for their error colour).
    assert set(np.flatnonzero(prepared.row_error >= 0).tolist()) == set(painted)
    assert view.find_status.text() == "finding…" and "error" not in view.facts.text()

    run_steps(background_steps(prepared))  # what the page runs between frames once the rows are shown
    view.background_ready(prepared)
    assert (prepared.row_error >= 0).all() and prepared.error_count == errors
    assert f"{errors} errors" in view.facts.text()
    assert len(view.match_rows) == errors and view.find_status.text() == f"{errors:,}"
    assert prepared.is_error(view.match_rows[0])

    kid = next(r for r in range(prepared.rows) if prepared.span(r).span_id == spans[2]["spanID"])
    text = SpanDetail(prepared, kid).toPlainText()
    assert "could not be read" in text and "tags[0]: the field 'key' is missing" in text
