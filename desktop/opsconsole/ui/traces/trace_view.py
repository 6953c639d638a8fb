"""One trace on screen: its header and problems, the tools (find, duration filter, collapse, critical
path, zoom), the minimap and the waterfall."""

from __future__ import annotations

from html import escape

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...traces.query import DurationError, parse_duration_us
from ...traces.render import format_duration
from ..shell import plain
from .minimap import Minimap
from .prepared import PreparedTrace
from .style import is_dark, warning_color
from .waterfall import TimeWindow, Waterfall

__all__ = ["TraceView"]


class TraceView(QWidget):
    spanActivated = Signal(int)
    """A span's details were asked for (a layout row)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("traceView")
        self.setAccessibleName("Trace")
        self.prepared: PreparedTrace | None = None
        self.match_rows: list[int] = []
        self.match_index = -1

        self.time_window = TimeWindow(self)
        self.waterfall = Waterfall(self.time_window)
        self.minimap = Minimap(self.time_window, self.waterfall.name_width)
        self.waterfall.activated.connect(self.spanActivated)
        self.waterfall.rowsChanged.connect(self._update_find_status)

        self.title = QLabel("No trace open")
        self.title.setObjectName("traceTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts = plain.label()  # the trace id and file name, as they are
        self.facts.setObjectName("traceFacts")
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Wrapped when narrow (the detail panel widened): the facts must not set the view's least width.
        self.facts.setWordWrap(True)
        self.problems = QToolButton()
        self.problems.setObjectName("traceProblems")
        self.problems.setAutoRaise(True)
        self.problems.setVisible(False)
        self.problems.setAccessibleName("Problems found in the trace")

        self.find_box = QLineEdit()
        self.find_box.setObjectName("traceFind")
        self.find_box.setPlaceholderText("Find spans (service, operation, tag)…")
        self.find_box.setAccessibleName("Find spans")
        self.find_box.setClearButtonEnabled(True)
        self.find_box.setMinimumWidth(160)
        self.find_box.textChanged.connect(self._on_find_text)
        self.find_box.returnPressed.connect(self.find_next)
        self.find_prev_button = self._tool("↑", "Previous match (Shift+Enter)", self.find_previous)
        self.find_next_button = self._tool("↓", "Next match (Enter)", self.find_next)
        self.find_status = QLabel("")
        self.find_status.setObjectName("traceFindStatus")
        QShortcut(QKeySequence("Shift+Return"), self.find_box, self.find_previous)

        self.min_duration = QLineEdit()
        self.min_duration.setObjectName("traceMinDuration")
        self.min_duration.setPlaceholderText("e.g. 5ms")
        self.min_duration.setAccessibleName("Show only spans longer than")
        self.min_duration.setToolTip("Show only spans at least this long (300us, 5ms, 1.5s); empty: all")
        self.min_duration.setMinimumWidth(70)
        self.min_duration.setMaximumWidth(100)
        self.min_duration.editingFinished.connect(self._on_min_duration)

        self.depth_box = QSpinBox()
        self.depth_box.setObjectName("traceDepth")
        self.depth_box.setPrefix("depth ")
        self.depth_box.setRange(1, 99)
        self.depth_box.setValue(3)
        self.depth_box.setAccessibleName("Collapse below depth")
        self.depth_box.setToolTip("Collapse every span deeper than this")
        collapse_depth = self._tool(
            "Collapse to", "Show spans down to the chosen depth", self._collapse_depth
        )
        collapse_all = self._tool(
            "Collapse all", "Show only the top-level spans", lambda: self.waterfall.collapse_all()
        )
        expand_all = self._tool("Expand all", "Show every span", lambda: self.waterfall.expand_all())
        self.critical = QCheckBox("Critical path")
        self.critical.setObjectName("traceCritical")
        self.critical.setChecked(True)
        self.critical.setToolTip("Draw the sections of spans that set the trace's end-to-end latency")
        self.critical.setAccessibleName("Show the critical path")
        self.critical.toggled.connect(self._on_critical)
        zoom_in = self._tool("+", "Zoom in on the time axis (Ctrl+wheel)", lambda: self.time_window.zoom(0.5))
        zoom_out = self._tool("−", "Zoom out", lambda: self.time_window.zoom(2.0))
        self.zoom_reset = self._tool(
            "Whole trace", "Show the whole trace (double-click the minimap)", lambda: self.time_window.reset()
        )

        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.title, 0)
        head.addWidget(self.facts, 1)
        head.addWidget(self.problems, 0)
        # Collapse and expand all sit here, beside the facts that wrap, so that the tools row is short
        # enough for the page to leave the detail panel its width.
        head.addWidget(collapse_all, 0)
        head.addWidget(expand_all, 0)
        tools = QHBoxLayout()
        tools.setContentsMargins(0, 0, 0, 0)
        tools.setSpacing(4)
        w: QWidget
        for w in (self.find_box, self.find_prev_button, self.find_next_button, self.find_status):
            tools.addWidget(w)
        tools.addSpacing(12)
        tools.addWidget(QLabel("Spans over"))
        tools.addWidget(self.min_duration)
        tools.addStretch(1)
        for w in (collapse_depth, self.depth_box):
            tools.addWidget(w)
        # The view's own controls sit in the minimap's left part, beside the name column.
        side = QWidget()
        side.setObjectName("traceViewControls")
        side_grid = QVBoxLayout(side)
        side_grid.setContentsMargins(0, 2, 0, 2)
        side_grid.setSpacing(2)
        zoom_row = QHBoxLayout()
        zoom_row.setSpacing(4)
        zoom_row.addWidget(QLabel("Zoom"))
        for w in (zoom_in, zoom_out, self.zoom_reset):
            zoom_row.addWidget(w)
        zoom_row.addStretch(1)
        side_grid.addLayout(zoom_row)
        side_grid.addWidget(self.critical)
        self.minimap.set_side(side)
        column = QVBoxLayout(self)
        column.setContentsMargins(8, 8, 8, 8)
        column.setSpacing(6)
        column.addLayout(head)
        column.addLayout(tools)
        column.addWidget(self.minimap)
        column.addWidget(self.waterfall, 1)
        self.setEnabled(False)

    def _tool(self, text: str, tip: str, slot: object) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(tip.split(" (")[0])
        button.clicked.connect(slot)
        return button

    # -- the trace -------------------------------------------------------------------------------

    def set_trace(self, prepared: PreparedTrace) -> None:
        self.prepared = prepared
        self.setEnabled(True)
        lay = prepared.layout
        root = lay.spans[lay.roots[0]] if lay.roots else None
        name = f"{root.service}: {root.operation}" if root else "empty trace"
        self.title.setText(f"<b>{escape(name)}</b>")
        self._show_facts(prepared)
        self.problems.setVisible(bool(lay.problems))
        if lay.problems:
            color = warning_color(is_dark(self.palette())).name()
            n = len(lay.problems)
            self.problems.setText(f"⚠ {n} problem{'s' if n > 1 else ''}")
            self.problems.setStyleSheet(f"color: {color}; font-weight: 600")
            self.problems.setToolTip(plain.tooltip(*lay.problems))
            self.problems.setAccessibleDescription("; ".join(lay.problems))
        self.min_duration.clear()
        self.critical.setEnabled(prepared.critical_ready)
        self.waterfall.set_trace(prepared)
        self.minimap.set_trace(prepared)
        if prepared.details_read or not self.find_box.text().strip():
            self._on_find_text(self.find_box.text())
        else:  # a find already typed runs once the details are read (background_ready), not here
            self.match_rows, self.match_index, self.waterfall.matches = [], -1, set()
            self.find_status.setText("finding…")

    def _show_facts(self, prepared: PreparedTrace) -> None:
        lay = prepared.layout
        depth = int(prepared.row_depth.max()) + 1 if prepared.rows else 0
        facts = [
            f"trace {lay.trace.trace_id}",
            format_duration(prepared.duration_us),
            f"{len(lay.trace.spans):,} spans",
            f"{len(prepared.services)} services",
            f"depth {depth}",
        ]
        errors = prepared.error_count  # None until the background has read every span's details
        if errors:
            facts.append(f"{errors} error{'s' if errors > 1 else ''}")
        if prepared.source:
            facts.append(prepared.source)
        self.facts.setText("   ·   ".join(facts))

    # -- find ------------------------------------------------------------------------------------

    def focus_find(self) -> None:
        self.find_box.setFocus()
        self.find_box.selectAll()

    def _on_find_text(self, text: str) -> None:
        self.match_rows = self.prepared.find(text).tolist() if self.prepared is not None else []
        self.match_index = -1
        self.waterfall.matches = set(self.match_rows)
        self.waterfall.viewport().update()
        self._update_find_status()

    def find_next(self) -> None:
        self._step(1)

    def find_previous(self) -> None:
        self._step(-1)

    def _step(self, delta: int) -> None:
        wf = self.waterfall
        if not self.match_rows or wf.state is None:
            return
        n = len(self.match_rows)
        for _ in range(n):  # skip matches the duration filter hides
            self.match_index = (
                (self.match_index + delta) % n if self.match_index >= 0 else (0 if delta > 0 else n - 1)
            )
            row = self.match_rows[self.match_index]
            if wf.state.reveal(row):
                wf._rows_changed()
                wf.set_current(row)
                break
        self._update_find_status()

    def _update_find_status(self) -> None:
        if not self.find_box.text().strip():
            self.find_status.setText("")
        elif not self.match_rows:
            self.find_status.setText("no match")
        else:
            at = f"{self.match_index + 1} of " if self.match_index >= 0 else ""
            self.find_status.setText(f"{at}{len(self.match_rows):,}")

    # -- filters ---------------------------------------------------------------------------------

    def _on_min_duration(self) -> None:
        text = self.min_duration.text().strip()
        try:
            us = parse_duration_us(text) if text else 0
        except DurationError as exc:
            self.min_duration.setToolTip(str(exc))
            self.min_duration.setStyleSheet("color: #c62828")
            return
        self.min_duration.setStyleSheet("")
        self.min_duration.setToolTip("Show only spans at least this long (300us, 5ms, 1.5s); empty: all")
        if self.waterfall.state is not None and us != self.waterfall.state.min_duration_us:
            self.waterfall.set_min_duration(us)

    def set_min_duration(self, text: str) -> None:
        self.min_duration.setText(text)
        self._on_min_duration()

    def _collapse_depth(self) -> None:
        self.waterfall.collapse_to_depth(self.depth_box.value())

    def _on_critical(self, on: bool) -> None:
        self.waterfall.show_critical = on
        self.waterfall.viewport().update()

    def background_ready(self, prepared: PreparedTrace) -> None:
        """The critical path of ``prepared`` was computed and its spans' details read in the background:
        if it is still shown, draw the path, count the errors, run a find that waited for them."""
        if prepared is self.prepared:
            self.critical.setEnabled(True)
            self._show_facts(prepared)
            if self.find_box.text().strip():
                self._on_find_text(self.find_box.text())
            self.waterfall.viewport().update()

    def critical_rows(self) -> list[int]:
        return sorted(self.prepared.critical) if self.prepared is not None else []

    def visible_rows(self) -> np.ndarray:
        return (
            self.waterfall.state.visible if self.waterfall.state is not None else np.empty(0, dtype=np.int64)
        )
