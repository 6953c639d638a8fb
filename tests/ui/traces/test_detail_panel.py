"""A span's details in the shell's detail panel: the page leaves the panel its width, the width the
user drags is kept for the next spans and traces, and long tag values wrap in the panel, cut past
ELIDE_AT characters, with "Copy value" copying the whole of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from opsconsole.traces import traces_from_bytes
from opsconsole.ui.shell.main_window import DETAIL_WIDTH, MainWindow
from opsconsole.ui.traces.detail import ELIDE_AT, SpanDetail
from opsconsole.ui.traces.page import TracesPage
from opsconsole.ui.traces.prepared import PreparedTrace, prepare
from tests.unit.traces.hostile import jaeger_doc

URL = (
    "https://shop.example.com/api/v2/checkout/carts/8f14e45fceea167a5a36dedd4bea2543/items?"
    "expand=prices,discounts,inventory&session=eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9eyJzdWIiOiIxMjM0"
)
HUGE = "SELECT " + ", ".join(f"column_{i}" for i in range(400)) + " FROM orders"  # over ELIDE_AT


def trace_with_long_tags() -> PreparedTrace:
    doc = jaeger_doc([("checkout", None, 0, 100), ("db.query", "checkout", 10, 50)])
    doc["data"][0]["spans"][1]["tags"] = [
        {"key": "http.url", "type": "string", "value": URL},
        {"key": "db.statement", "type": "string", "value": HUGE},
        {"key": "peer.port", "type": "int64", "value": 5432},
    ]
    prepared = prepare(traces_from_bytes(json.dumps(doc).encode())[0], "long-tags.json")
    prepared.read_details()  # as the background pass leaves it: nothing runs after the test
    return prepared


def opened(qtbot: Any, config_set: Any, width: int = 1200) -> tuple[MainWindow, TracesPage]:
    window = MainWindow(config_set, profile="sandbox")
    qtbot.addWidget(window)
    window.resize(width, 760)
    with qtbot.waitExposed(window):
        window.show()
    window.show_page("traces")
    page = window.page("traces")
    assert isinstance(page, TracesPage)
    page.show_trace(trace_with_long_tags())
    return window, page


def shown_detail(window: MainWindow) -> SpanDetail:
    content = window.detail.content
    assert isinstance(content, SpanDetail)
    return content


def drag_handle(window: MainWindow, dx: int) -> None:
    handle = window.splitter.handle(1)
    start = handle.rect().center()
    QTest.mousePress(handle, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(handle, start + QPoint(dx // 2, 0))
    QTest.mouseMove(handle, start + QPoint(dx, 0))
    QTest.mouseRelease(
        handle, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPoint(dx, 0)
    )


def point_of(detail: SpanDetail, text: str) -> QPoint:
    """Where ``text`` is shown in the panel, in the viewport's coordinates."""
    cursor = detail.document().find(text)
    assert not cursor.isNull(), text
    cursor.setPosition(cursor.selectionStart() + 1)
    return detail.cursorRect(cursor).center()


def test_the_panel_opens_at_its_width_and_keeps_the_width_the_user_drags(
    qtbot: Any, config_set: Any, tmp_path: Path
) -> None:
    window, page = opened(qtbot, config_set, 1440)
    page.show_span(1)
    # The trace view's least width leaves the panel its width (it left it 177 px of 340 before).
    assert window.splitter.sizes()[1] == DETAIL_WIDTH
    drag_handle(window, -150)
    wide = window.splitter.sizes()[1]
    assert wide >= DETAIL_WIDTH + 100
    page.show_span(0)  # another span
    assert window.splitter.sizes()[1] == wide and shown_detail(window).row == 0
    page.show_trace(trace_with_long_tags())  # another trace
    page.show_span(1)
    assert window.splitter.sizes()[1] == wide
    window.show_detail(None)  # closed and opened again: the same width
    page.show_span(1)
    assert window.splitter.sizes()[1] == wide
    window.grab().save(str(tmp_path / "wide-detail.png"))
    window.close()


def test_long_tag_values_wrap_in_the_panel_and_copy_whole(qtbot: Any, config_set: Any) -> None:
    window, page = opened(qtbot, config_set)
    page.show_span(1)
    detail = shown_detail(window)
    QApplication.processEvents()
    text = detail.toPlainText()
    assert URL in text  # all of it, wrapped: nothing to scroll sideways for
    assert detail.horizontalScrollBar().maximum() == 0
    assert HUGE[:ELIDE_AT] in text and HUGE not in text
    assert f"{len(HUGE) - ELIDE_AT:,} more characters" in text
    # The long URL goes on its own line under its key, as wide as the panel: it starts left of where
    # the short values of the side-by-side rows do.
    assert point_of(detail, "https://shop").x() < point_of(detail, "5432").x()

    assert detail.value_at(point_of(detail, "column_3,")) == ("db.statement", HUGE)
    menu = detail.context_menu(point_of(detail, "column_3,"))
    copy = next(a for a in menu.actions() if a.objectName() == "copyTagValue")
    assert copy.text() == "Copy value of db.statement" and menu.actions()[0] is copy
    copy.trigger()
    assert QGuiApplication.clipboard().text() == HUGE  # the whole value, not what is shown
    assert detail.value_at(point_of(detail, "Self time")) is None  # not a tag's value
    plain = detail.context_menu(point_of(detail, "Self time"))
    assert not any(a.objectName() == "copyTagValue" for a in plain.actions())
    assert plain.actions()  # the usual menu is still there (copy, select all)
    window.close()
