"""The Traces page in the rail: built when first shown (pyqtgraph with it, never at start-up), and
Ctrl+F finds spans in the open trace."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from opsconsole.traces import traces_from_bytes
from opsconsole.ui.shell.main_window import MainWindow
from opsconsole.ui.traces.page import TracesPage
from opsconsole.ui.traces.prepared import prepare
from tests.unit.traces.hostile import jaeger_doc

REPO = Path(__file__).resolve().parents[3]


def test_the_shell_does_not_import_the_page_or_pyqtgraph_until_it_is_shown() -> None:
    code = (
        "import sys\n"
        "from opsconsole.ui.shell import main_window, pages\n"
        "spec = next(p for p in pages.PAGES if p.key == 'traces')\n"
        "assert spec.create is not None\n"
        "print(sorted(m for m in sys.modules if m.startswith(('pyqtgraph', 'opsconsole.ui.traces'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_rails_traces_page_and_ctrl_f(qtbot: Any, config_set: Any, tmp_path: Path) -> None:
    window = MainWindow(config_set, profile="sandbox")
    qtbot.addWidget(window)
    with qtbot.waitExposed(window):
        window.show()
    window.show_page("traces")
    page = window.page("traces")
    assert isinstance(page, TracesPage) and page.objectName() == "page-traces"
    assert "has no traces_url" in page.results_status.text()  # this profile names no traces backend
    # Without a bridge (this window has none) opening a file says so instead of failing.
    path = tmp_path / "t.json"
    path.write_text(json.dumps(jaeger_doc([("root", None, 0, 100)])))
    page.open_file(path)
    assert "background runner is not running" in page.status.text()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert page.trace_id.hasFocus()  # no trace open and no backend to search: the trace id box
    (trace,) = traces_from_bytes(path.read_bytes())
    page.show_trace(prepare(trace, "t.json"))
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert page.view.find_box.hasFocus()  # a trace open: find spans in it
    window.close()


def test_every_control_of_both_tabs_has_an_accessible_name(
    qtbot: Any, config_set: Any, tmp_path: Path
) -> None:
    from PySide6.QtWidgets import QWidget

    window = MainWindow(config_set, profile="sandbox")
    qtbot.addWidget(window)
    window.show_page("traces")
    page = window.page("traces")
    assert isinstance(page, TracesPage)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(jaeger_doc([("root", None, 0, 100), ("child", "root", 10, 20)])))
    page.show_trace(prepare(traces_from_bytes(path.read_bytes())[0], "t.json"))
    with qtbot.waitExposed(window):
        window.show()
    unnamed: list[str] = []
    for tab in (0, 1):
        page.tabs.setCurrentIndex(tab)
        focusable = [
            w
            for w in page.findChildren(QWidget)
            if w.focusPolicy() & Qt.FocusPolicy.TabFocus
            and w.isVisibleTo(page)
            and w.isEnabled()
            and w.objectName() != "qt_spinbox_lineedit"  # a spin box's own editor: the spin box is named
        ]
        assert (page.view.waterfall if tab else page.table) in focusable
        unnamed += [
            f"{type(w).__name__}({w.objectName()!r})" for w in focusable if not w.accessibleName().strip()
        ]
    assert unnamed == []
    window.close()
