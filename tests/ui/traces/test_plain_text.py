"""A trace's words are shown as words: a file whose service, operation, span tag or name holds markup
(or a file name with an ampersand) is drawn literally in the waterfall's tooltip, the facts line, the problems' tooltip and the span's
details, and a search result's services tooltip shows them literally too."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from opsconsole.traces.model import TraceSummary
from opsconsole.ui.traces.detail import SpanDetail
from opsconsole.ui.traces.page import TracesPage
from tests.ui.shown import HOSTILE, shown_label, shown_text
from tests.ui.traces.conftest import Shown
from tests.unit.traces.hostile import jaeger_doc

from .test_trace_view import open_file

MakePage = Callable[..., tuple[TracesPage, Shown]]
OPERATION = "<i>GET</i> /"
ORPHAN = "<u>orphan</u>"


def test_a_trace_file_with_markup_is_shown_as_text(qtbot: Any, make_page: MakePage, tmp_path: Path) -> None:
    page, _ = make_page()
    path = tmp_path / "R&D.json"
    doc = jaeger_doc(
        [(OPERATION, None, 0, 100, {"kind": HOSTILE}), (ORPHAN, "gone", 10, 20)], processes={"p1": HOSTILE}
    )
    path.write_text(json.dumps(doc))
    open_file(qtbot, page, path)
    view, wf = page.view, page.view.waterfall
    prepared = wf.prepared
    assert prepared is not None
    root = next(r for r in range(prepared.rows) if prepared.span(r).operation == OPERATION)
    assert shown_text(wf.row_tooltip(root)).split("\n")[0] == f"{HOSTILE}: {OPERATION}"
    assert "R&D.json" in shown_label(view.facts)
    assert view.problems.isVisibleTo(page)
    assert shown_text(view.problems.toolTip()).split("\n") == prepared.layout.problems
    detail = SpanDetail(prepared, root)
    qtbot.addWidget(detail)
    shown = detail.toPlainText()
    assert OPERATION in shown and HOSTILE in shown  # the operation, the service and the span.kind tag


def test_a_search_results_services_tooltip_shows_markup_as_text(make_page: MakePage) -> None:
    page, _ = make_page()
    page.results.set_results([TraceSummary("ab" * 16, HOSTILE, "GET /", 1, 2000, 5, 0, (HOSTILE, "api"))])
    tip = page.results.index(0, 5).data(Qt.ItemDataRole.ToolTipRole)
    assert shown_text(tip) == f"{HOSTILE}\napi"
