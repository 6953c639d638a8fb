"""The scatter of search results: duration over start time, one point a trace; click one to open it.

pyqtgraph's ScatterPlotItem (with a DateAxisItem for wall-clock time): clickable points carrying the
trace id, hover, zoom and pan for free. Error traces are red and points grow with the span count.
The time axis shows the local time of day at every zoom (pyqtgraph's own labels ticks less than a
second apart with the seconds alone, "54.350", and a burst of requests often spans less than that).
Imported only when the Traces page is first shown.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg  # type: ignore[import-untyped]  # no stubs; used in this module only
from pyqtgraph.graphicsItems.DateAxisItem import (  # type: ignore[import-untyped]
    MINUTE_SPACING,
    MS_SPACING,
    TickSpec,
    ZoomLevel,
    makeMSStepper,
    makeSStepper,
)
from PySide6.QtCore import QPointF, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ...traces.model import TraceSummary
from ...traces.render import format_duration
from .style import error_color, is_dark, service_color

__all__ = ["ResultsScatter"]

# pyqtgraph's finest zoom level (ticks under a second apart), with the time of day in its labels and
# the room they take ("99:99:99.999") in its spacing, as DateAxisItem's docstring invites.
_TIME_OF_DAY_MS = ZoomLevel(
    [
        TickSpec(MINUTE_SPACING, makeSStepper(MINUTE_SPACING), "%H:%M:%S"),
        TickSpec(MS_SPACING, makeMSStepper(MS_SPACING), "%H:%M:%S.%f", autoSkip=[1, 5, 10, 25]),
    ],
    "99:99:99.999",
)


def _time_axis() -> Any:
    """A bottom axis of local wall-clock time (DateAxisItem's default offset is the local zone's)."""
    axis = pg.DateAxisItem(orientation="bottom")
    axis.zoomLevels[1] = _TIME_OF_DAY_MS  # the level used below 1 s between ticks
    return axis


class ResultsScatter(QWidget):
    openRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("traceScatter")
        self.setAccessibleName("Traces found: duration over time")
        self.setAccessibleDescription("One point a trace; click a point to open the trace")
        self.plot = pg.PlotWidget(axisItems={"bottom": _time_axis()})
        self.plot.setAccessibleName("Duration over time")
        self.plot.viewport().setAccessibleName("Duration over time: click a point to open its trace")
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setLabel("left", "duration", units="s")
        self.plot.setLabel("bottom", "started")
        self.item = pg.ScatterPlotItem(hoverable=True, tip=self._tip, pxMode=True)
        self.item.sigClicked.connect(self._on_click)
        self.plot.addItem(self.item)
        self.results: list[TraceSummary] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.apply_palette()

    def apply_palette(self) -> None:
        pal = self.palette()
        self.plot.setBackground(pal.color(QPalette.ColorRole.Base))
        fg = pal.color(QPalette.ColorRole.Text)
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(pg.mkPen(pal.color(QPalette.ColorRole.Mid)))
            axis.setTextPen(pg.mkPen(fg))
        if self.results:
            self.set_results(self.results)

    def changeEvent(self, event: Any) -> None:
        from PySide6.QtCore import QEvent

        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.apply_palette()

    def set_results(self, results: list[TraceSummary]) -> None:
        self.results = list(results)
        dark = is_dark(self.palette())
        ok = service_color(0, dark)
        bad = error_color(dark)
        spots = []
        for t in self.results:
            color = QColor(bad if t.error_count else ok)
            fill = QColor(color)
            fill.setAlpha(170)
            spots.append(
                {
                    "pos": (t.start_us / 1e6, t.duration_us / 1e6),
                    "size": 7 + min(14, t.span_count**0.5),
                    "brush": pg.mkBrush(fill),
                    "pen": pg.mkPen(color),
                    "data": t.trace_id,
                }
            )
        self.item.setData(spots)
        # The range now, not at the next paint: a click that comes first must land on the points.
        if spots:
            self.plot.plotItem.vb.autoRange(padding=0.05)

    def _tip(self, x: float, y: float, data: Any) -> str:
        found = next((t for t in self.results if t.trace_id == data), None)
        if found is None:
            return str(data)
        return (
            f"{found.root_service}: {found.root_operation}\n{format_duration(found.duration_us)}, "
            f"{found.span_count} spans" + (f", {found.error_count} errors" if found.error_count else "")
        )

    def _on_click(self, _item: Any, points: Any, _event: Any = None) -> None:
        if len(points):
            self.openRequested.emit(str(points[0].data()))

    def point_position(self, trace_id: str) -> QPointF:
        """Where ``trace_id``'s point is in the plot widget's coordinates (for tests and screenshots)."""
        t = next(t for t in self.results if t.trace_id == trace_id)
        scene = self.plot.plotItem.vb.mapViewToScene(QPointF(t.start_us / 1e6, t.duration_us / 1e6))
        return self.plot.mapFromScene(scene).toPointF()
