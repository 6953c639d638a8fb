"""The panel editor: title, PromQL queries with completion, legend formats, unit, y from zero,
thresholds, and what step the panel will use (with a warning when it dwarfs the scrape interval).

What the dialog returns is checked by the dashboard's own reader (``dashboard.from_json``), so the
editor cannot save a panel that a dashboard file could not hold.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...metrics import dashboard
from ...metrics.dashboard import Panel
from ...metrics.durations import format_duration
from ...metrics.panels import step_warning
from ...metrics.step import choose_step
from ...metrics.units import UNITS
from .completion import PromQLCompleter

_THRESHOLD = re.compile(r"^\s*(-?[0-9.eE+-]+)\s*([#a-zA-Z0-9]*)\s*$")
MAX_QUERIES = 6
UNIT_NAMES = {
    "none": "None (plain number)",
    "count": "Count (k, M)",
    "bytes": "Bytes (KiB, MiB)",
    "percent": "Percent (0-100)",
    "seconds": "Seconds (ms, s, min)",
    "per_second": "Per second",
    "per_minute": "Per minute",
}
_PANEL_PREFIX = re.compile(r"^panel (?:'[^']*' )?\(#\d+\)(?:, |: )?")


def parse_thresholds(text: str) -> list[dict[str, object]]:
    """``"1 orange, 5 red"`` as threshold objects; ValueError naming the part that is not one."""
    out: list[dict[str, object]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = _THRESHOLD.match(part)
        if not match:
            raise ValueError(f"{part!r} is not “value colour” (e.g. 5 red)")
        try:
            value = float(match.group(1))
        except ValueError:
            raise ValueError(f"{match.group(1)!r} is not a number") from None
        out.append({"value": value, "color": match.group(2) or "red"})
    return out


def thresholds_text(panel: Panel) -> str:
    return ", ".join(f"{t.value:g} {t.color}" for t in panel.thresholds)


class QueryRow:
    def __init__(self, expr: str, legend: str, request: Callable[[str, str, str], None] | None) -> None:
        self.expr = QLineEdit(expr)
        self.expr.setPlaceholderText(
            "PromQL, e.g. sum by (path) (rate(http_requests_total[$__rate_interval]))"
        )
        self.expr.setAccessibleName("PromQL query")
        self.legend = QLineEdit(legend)
        self.legend.setPlaceholderText("legend, e.g. {{path}} {{status}}")
        self.legend.setAccessibleName("Legend format")
        self.completer = PromQLCompleter(self.expr, request)


class PanelEditor(QDialog):
    def __init__(
        self,
        panel: Panel,
        *,
        range_seconds: float,
        width_px: int,
        scrape_interval: float | None,
        request_names: Callable[[str, str, str], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("metricsPanelEditor")
        self.setWindowTitle(f"Edit panel: {panel.title}")
        self.original = panel
        self.result_panel: Panel | None = None
        self._request = request_names
        self.rows: list[QueryRow] = []

        self.title_edit = QLineEdit(panel.title)
        self.title_edit.setAccessibleName("Title")
        self.unit_combo = QComboBox()
        for unit in UNITS:
            self.unit_combo.addItem(UNIT_NAMES.get(unit, unit), unit)
        self.unit_combo.setCurrentIndex(self.unit_combo.findData(panel.unit))
        self.unit_combo.setAccessibleName("Unit")
        self.zero_check = QCheckBox("Y axis starts at zero")
        self.zero_check.setChecked(panel.y_min == 0.0)
        self.thresholds_edit = QLineEdit(thresholds_text(panel))
        self.thresholds_edit.setPlaceholderText("e.g. 1 orange, 5 red")
        self.thresholds_edit.setAccessibleName("Thresholds")

        self.query_grid = QGridLayout()
        self.query_grid.addWidget(QLabel("<b>Query</b>"), 0, 0)
        self.query_grid.addWidget(QLabel("<b>Legend</b>"), 0, 1)
        self.query_grid.setColumnStretch(0, 3)
        self.query_grid.setColumnStretch(1, 1)
        for query in panel.queries or (dashboard.Query(""),):
            self.add_query(query.expr, query.legend)
        self.add_button = QPushButton("Add query")
        self.add_button.clicked.connect(lambda: self.add_query("", ""))

        choice = choose_step(range_seconds, width_px, scrape_interval)
        self.step_info = QLabel(
            f"Over {format_duration(range_seconds)} at this panel's width ({width_px} px): step {choice.text}, "
            f"{choice.points:,} points per series (limited by {choice.limited_by}; scrape interval "
            f"{format_duration(choice.scrape_interval)}). $__rate_interval and $__interval follow the step."
        )
        self.step_info.setWordWrap(True)
        self.step_warning = QLabel(step_warning(choice))
        self.step_warning.setObjectName("stepWarning")
        self.step_warning.setWordWrap(True)
        self.step_warning.setStyleSheet(
            "QLabel { background: rgba(255, 170, 0, 0.16); border-left: 3px solid #e0a000; padding: 4px; }"
        )
        self.step_warning.setVisible(bool(self.step_warning.text()))
        self.problem = QLabel("")
        self.problem.setObjectName("editorProblem")
        self.problem.setWordWrap(True)
        self.problem.setTextFormat(Qt.TextFormat.PlainText)  # may quote the server's error
        self.problem.setStyleSheet("QLabel { color: #dc3545; }")

        form = QFormLayout()
        form.addRow("Title", self.title_edit)
        form.addRow("Unit", self.unit_combo)
        form.addRow("", self.zero_check)
        form.addRow("Thresholds", self.thresholds_edit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(self.query_grid)
        layout.addWidget(self.add_button)
        layout.addWidget(self.step_info)
        layout.addWidget(self.step_warning)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        self.resize(760, 420)

    def add_query(self, expr: str, legend: str) -> QueryRow:
        row = QueryRow(expr, legend, self._request)
        index = len(self.rows) + 1
        self.query_grid.addWidget(row.expr, index, 0)
        self.query_grid.addWidget(row.legend, index, 1)
        self.rows.append(row)
        self.add_button_enabled()
        return row

    def add_button_enabled(self) -> None:
        if hasattr(self, "add_button"):
            self.add_button.setEnabled(len(self.rows) < MAX_QUERIES)

    def provide_names(self, kind: str, metric: str, label: str, names: list[str]) -> None:
        for row in self.rows:
            row.completer.provide(kind, metric, label, names)

    def edited_panel(self) -> Panel:
        """The panel as edited; ValueError (or DashboardError) saying what is wrong."""
        if not self.title_edit.text().strip():
            raise ValueError("The title is empty")
        thresholds = parse_thresholds(self.thresholds_edit.text())
        queries = [
            {"expr": r.expr.text().strip(), **({"legend": r.legend.text()} if r.legend.text() else {})}
            for r in self.rows
            if r.expr.text().strip()
        ]
        original = dashboard.to_json(dashboard.Dashboard("panel", (self.original,)))["panels"][0]
        original.pop("queries", None)
        raw = {
            **original,
            "title": self.title_edit.text().strip(),
            "unit": self.unit_combo.currentData(),
            "thresholds": thresholds,
            **({"queries": queries} if queries else {}),
        }
        raw["y_min"] = 0 if self.zero_check.isChecked() else None
        checked = dashboard.from_json({"panels": [raw]}, "panel")
        return dataclasses.replace(checked.panels[0])

    def save(self) -> None:
        try:
            self.result_panel = self.edited_panel()
        except dashboard.DashboardError as exc:
            # "panel 'x' (#1), queries[0].expr: empty" -> "queries[0].expr: empty": the dialog is the panel.
            self.problem.setText("\n".join(_PANEL_PREFIX.sub("", p) for p in exc.problems))
            return
        except ValueError as exc:
            self.problem.setText(str(exc))
            return
        self.accept()
