"""One dashboard panel: a pyqtgraph plot with its title, legend, crosshair, message and footer.

Drawing keeps to pyqtgraph's fast paths: one PlotDataItem per series, fed float64 arrays with
``setData`` (no per-point Python objects), peak downsampling to the pixel width, clipping to the view,
and ``skipFiniteCheck`` when the data is known to have no gaps. A gap is a NaN or a hole in time (samples
Prometheus left out, found by ``data.drawable``); a value with no finite neighbour (a brief spike between
two scrape gaps) makes no line at all, so it gets a dot. The axes' ranges are set from the
data the panel already knows (time range, y from zero to the visible maximum) instead of pyqtgraph's
auto-range, which would scan every array again on each refresh.

A panel's message (a failed query, no data, only NaN) is shown in the panel itself, so one bad query
never hides the rest of the dashboard.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg  # type: ignore[import-untyped]
from PySide6.QtCore import QEvent, QPointF, QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMenu, QToolButton, QVBoxLayout, QWidget

from ...metrics.api import FloatArray
from ...metrics.dashboard import Panel
from ...metrics.units import format_value
from ..shell import plain
from .axis import UnitAxis
from .data import PanelData, SeriesData, drawable
from .legend_list import VISIBLE_ROLE, LegendList

# Tableau 10: distinct on light and dark backgrounds, and for the common colour-vision deficiencies.
COLORS = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
BoolArray = npt.NDArray[np.bool_]
MAX_READOUT = 6  # series listed in the crosshair readout; the rest are counted
DOT_SIZE = 6  # pixels across: a lone value's dot, a little wider than the 1-pixel line
_BANNER = {
    "error": "background: rgba(220, 53, 69, 0.16); border-left: 3px solid #dc3545;",
    "warning": "background: rgba(255, 170, 0, 0.16); border-left: 3px solid #e0a000;",
    "info": "background: rgba(128, 128, 128, 0.14); border-left: 3px solid #888888;",
}


class PanelView(QFrame):
    """The view of one :class:`~opsconsole.metrics.dashboard.Panel`."""

    editRequested = Signal(str)
    exportPngRequested = Signal(str)
    exportCsvRequested = Signal(str)

    def __init__(self, panel: Panel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.panel = panel
        self.data: PanelData | None = None
        self.job: Any = None  # the refresh running for this panel (a bridge Job)
        self.hidden: set[str] = set()
        self.requested: tuple[float, float] | None = None
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._dots: dict[str, pg.ScatterPlotItem] = {}  # each a child of its series' curve
        self._colors: dict[str, QColor] = {}
        self._long: dict[str, bool] = {}
        self.setObjectName(f"metricsPanel-{panel.id}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName(f"Panel {panel.title}")

        self.title = QLabel(f"<b>{_escape(panel.title)}</b>")
        self.title.setToolTip(plain.tooltip(panel.description or "\n".join(q.expr for q in panel.queries)))
        self.footer = QLabel("")
        self.footer.setObjectName("panelFooter")
        self.footer.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.menu_button = QToolButton()
        self.menu_button.setText("⋯")
        self.menu_button.setAutoRaise(True)
        self.menu_button.setAccessibleName(f"{panel.title}: panel actions")
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.menu_button)
        self.edit_action = QAction("Edit panel…", self)
        self.png_action = QAction("Export as PNG…", self)
        self.csv_action = QAction("Export as CSV…", self)
        for action in (self.edit_action, self.png_action, self.csv_action):
            menu.addAction(action)
        self.menu_button.setMenu(menu)
        self.edit_action.triggered.connect(lambda: self.editRequested.emit(self.panel.id))
        self.png_action.triggered.connect(lambda: self.exportPngRequested.emit(self.panel.id))
        self.csv_action.triggered.connect(lambda: self.exportCsvRequested.emit(self.panel.id))

        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.title, 1)
        header.addWidget(self.footer)
        header.addWidget(self.menu_button)

        self.banner = _Banner()
        self.banner.setObjectName("panelMessage")
        # Plain: the message quotes the server (label values, error texts), which is never markup.
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Its height is set from the text (_fit_banner, three lines at most; the whole text is in the
        # tooltip) rather than asked of the layout (see _Banner).
        self.banner.hide()
        self.banner_kind = ""

        self.axis = UnitAxis(panel.unit)
        self.plot = pg.PlotWidget(axisItems={"left": self.axis, "bottom": pg.DateAxisItem()})
        self.plot.setObjectName("panelPlot")
        self.plot.setMinimumHeight(90)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=True, y=False)
        item = self.plot.getPlotItem()
        # Horizontal grid lines at the major ticks only, in an opaque colour: pyqtgraph's default
        # (every tick level, alpha-blended across the whole plot) tripled the cost of a repaint.
        item.showGrid(x=True, y=True, alpha=1.0)
        self.time_axis = item.getAxis("bottom")
        for axis in (self.axis, self.time_axis):
            axis.setStyle(tickAlpha=255, maxTickLevel=0)
            # Under the curves: an opaque grid line would hide a flat series sitting on a tick (0, 100%).
            axis.setZValue(-100)
        self.view_box = item.getViewBox()
        self.view_box.disableAutoRange()
        self._thresholds: list[pg.InfiniteLine] = []
        self._crosshair = pg.InfiniteLine(angle=90, movable=False)
        self._crosshair.setZValue(10)
        self._crosshair.hide()
        self.plot.addItem(self._crosshair, ignoreBounds=True)
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self.plot.viewport().installEventFilter(self)

        self.readout = QLabel(" ")
        self.readout.setObjectName("panelReadout")
        self.readout.setTextFormat(Qt.TextFormat.PlainText)
        self.legend = LegendList()
        self.legend.toggled.connect(self.set_series_visible)
        self.legend.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 6)
        layout.setSpacing(3)
        layout.addLayout(header)
        layout.addWidget(self.banner)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.readout)
        layout.addWidget(self.legend)
        self._apply_palette()
        self._set_thresholds()

    def sizeHint(self) -> QSize:
        # Small: the dashboard's grid rows give a panel its height; the plot's own hint (480 px) would
        # make every row grow to it whenever the window has room.
        return QSize(320, 160)

    # -- what the page calls ----------------------------------------------------------------------------

    def plot_width(self) -> int:
        """The data area's width in pixels (what the step follows)."""
        width = int(self.view_box.width()) if self.view_box.width() > 0 else self.plot.width() - 60
        return max(50, width)

    def set_panel(self, panel: Panel) -> None:
        """The panel was edited: new title, unit and thresholds; the data comes with the next refresh."""
        self.panel = panel
        self.title.setText(f"<b>{_escape(panel.title)}</b>")
        self.setAccessibleName(f"Panel {panel.title}")
        self.axis.set_unit(panel.unit)
        self._set_thresholds()

    def show_loading(self, start: float, end: float) -> None:
        """A refresh of [start, end] has started: an empty panel gets that time axis while it waits."""
        self.requested = (start, end)
        if self.data is None:
            self.view_box.setXRange(start, end, padding=0)
            if not self.banner_kind:
                self.footer.setText("loading…")

    def show_data(self, data: PanelData) -> None:
        """Draw one refresh's data (and its message or notes, if any)."""
        self.job = None
        self.data = data
        names = {s.name for s in data.series}
        for name in [n for n in self._curves if n not in names]:
            self.plot.removeItem(self._curves.pop(name))
            self._dots.pop(name, None)
        for index, series in enumerate(data.series):
            self._draw(series, index)
        self.legend.set_series([(s.name, self._colors[s.name]) for s in data.series], self.hidden)
        self._set_ranges()
        points = f"{data.points:,} point{'s' if data.points != 1 else ''}"
        step = (
            f"step {data.step_text} · "
            if data.step_text and not data.step_text.startswith("scrape")
            else (f"{data.step_text} · " if data.step_text else "")
        )
        failed = data.message_kind == "error" and not data.series
        footer = f"{'⚠ ' if data.step_warning else ''}{step}{points} · {len(data.series)} series"
        self.footer.setText("" if failed else footer)
        self.footer.setToolTip(plain.tooltip(data.step_warning))
        if data.message:
            self.set_message(data.message, data.message_kind)
        elif data.notes:
            self.set_message(" · ".join(data.notes), "warning")
        else:
            self.set_message("", "")

    def show_error(self, error: BaseException) -> None:
        """A refresh that failed: its message in this panel; the chart is cleared (its data is unknown)."""
        self.job = None
        message = getattr(error, "message", None) or str(error) or type(error).__name__
        self.data = None
        for curve in self._curves.values():
            self.plot.removeItem(curve)
        self._curves.clear()
        self._dots.clear()
        self.legend.set_series([], self.hidden)
        if self.requested is not None:
            self.view_box.setXRange(*self.requested, padding=0)
        self.footer.setText("")
        self.footer.setToolTip("")
        self.set_message(message, "error")
        detail = getattr(error, "detail", "") or ""
        hint = getattr(error, "hint", "") or ""
        # The detail is often the whole of a clipped message: then it replaces it rather than repeat it.
        if detail.startswith(message.removesuffix("…")):
            message = ""
        self.banner.setToolTip(plain.tooltip(message, detail, hint))

    def set_message(self, text: str, kind: str) -> None:
        self.banner_kind = kind if text else ""
        if not text:
            self.banner.hide()
            self.banner.setToolTip("")
            return
        self.banner.setText(text)
        self._fit_banner()
        self.banner.setStyleSheet(f"QLabel#panelMessage {{ {_BANNER[kind]} padding: 4px 6px; }}")
        self.banner.setAccessibleName(f"{kind}: {text}")
        self.banner.setToolTip(plain.tooltip(text))
        self.banner.show()

    def _fit_banner(self) -> None:
        """As many lines as the text needs at the panel's width, three at most."""
        width = max(50, self.width() - 30)
        lines = max(1, min(3, -(-self.banner.fontMetrics().horizontalAdvance(self.banner.text()) // width)))
        self.banner.setFixedHeight(lines * self.banner.fontMetrics().lineSpacing() + 10)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self.banner_kind:
            self._fit_banner()

    def set_series_visible(self, name: str, visible: bool) -> None:
        if visible:
            self.hidden.discard(name)
        else:
            self.hidden.add(name)
        curve = self._curves.get(name)
        if curve is not None:
            curve.setVisible(visible)
        item = self.legend.item_named(name)
        if item is not None and item.data(VISIBLE_ROLE) != visible:
            self.legend._style(item, visible)
        self._set_ranges()

    def series_visible(self, name: str) -> bool:
        curve = self._curves.get(name)
        return curve is not None and curve.isVisible()

    def curve(self, name: str) -> pg.PlotDataItem | None:
        return self._curves.get(name)

    def dots(self, name: str) -> pg.ScatterPlotItem | None:
        """The dots of the series' values that have no finite neighbour (None until it had one)."""
        return self._dots.get(name)

    # -- crosshair --------------------------------------------------------------------------------------

    def crosshair_text(self, x: float) -> str:
        """The time at ``x`` and each visible series' value at its nearest point there."""
        if self.data is None or not self.data.series:
            return ""
        span = self.data.end - self.data.start
        when = datetime.fromtimestamp(x).strftime("%Y-%m-%d %H:%M:%S" if span > 86400 else "%H:%M:%S")
        rows: list[tuple[float, str]] = []
        for s in self.data.series:
            if s.name in self.hidden or not len(s.x):
                continue
            i = int(np.searchsorted(s.x, x))
            candidates = [j for j in (i - 1, i) if 0 <= j < len(s.x)]
            j = min(candidates, key=lambda k: abs(s.x[k] - x))
            value = float(s.y[j])
            rows.append(
                (value if value == value else -np.inf, f"{s.name}: {format_value(value, self.panel.unit)}")
            )
        rows.sort(key=lambda r: r[0], reverse=True)
        shown = [text for _, text in rows[:MAX_READOUT]]
        if len(rows) > MAX_READOUT:
            shown.append(f"+{len(rows) - MAX_READOUT} more")
        return f"{when}  " + "  ·  ".join(shown)

    def show_crosshair(self, x: float) -> None:
        self._crosshair.setPos(x)
        self._crosshair.show()
        text = self.crosshair_text(x)
        self.readout.setText(text or " ")
        self.readout.setToolTip(plain.tooltip(*text.split("  ·  ")))  # series names are label values

    def hide_crosshair(self) -> None:
        self._crosshair.hide()
        self.readout.setText(" ")

    def _mouse_moved(self, pos: QPointF) -> None:
        if self.view_box.sceneBoundingRect().contains(pos):
            self.show_crosshair(self.view_box.mapSceneToView(pos).x())
        else:
            self.hide_crosshair()

    def eventFilter(self, watched: Any, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Leave:
            self.hide_crosshair()
        return False

    # -- drawing ----------------------------------------------------------------------------------------

    def _draw(self, series: SeriesData, index: int) -> None:
        curve = self._curves.get(series.name)
        if curve is None:
            color = QColor(COLORS[index % len(COLORS)])
            self._colors[series.name] = color
            curve = pg.PlotDataItem(pen=pg.mkPen(color, width=1), name=series.name)
            self.plot.addItem(curve)
            self._curves[series.name] = curve
        # Peak downsampling and clipping to the view pay once a series has more points than pixels;
        # below that they only cost (each setData then scans the arrays for their bounds).
        # Missing samples (a hole in time, not a NaN) break the line as NaN does (data.drawable).
        spacing = self.data.spacing if self.data is not None else 0.0
        x, y, holes = drawable(series.x, series.y, spacing)
        gaps = series.has_gaps or holes
        long = len(x) > 2 * self.plot_width()
        if self._long.get(series.name) != long:
            self._long[series.name] = long
            curve.setDownsampling(auto=long, method="peak")
            curve.setClipToView(long)
        curve.setData(x, y, connect="finite" if gaps else "all", skipFiniteCheck=not gaps)
        self._draw_dots(series.name, x, y, gaps, curve)
        curve.setVisible(series.name not in self.hidden)

    def _draw_dots(self, name: str, x: FloatArray, y: FloatArray, gaps: bool, curve: pg.PlotDataItem) -> None:
        """A dot for each value the line cannot show. Only a series with gaps (or of one point) can have
        one, so the usual series costs nothing here."""
        alone = isolated(y) if gaps or len(y) == 1 else None
        dots = self._dots.get(name)
        if alone is None or not alone.any():
            if dots is not None:
                dots.hide()
            return
        if dots is None:
            color = self._colors[name]
            dots = pg.ScatterPlotItem(size=DOT_SIZE, pen=pg.mkPen(None), brush=pg.mkBrush(color), symbol="o")
            # A child of the curve: it is shown, hidden and removed with it.
            dots.setParentItem(curve)
            self._dots[name] = dots
        dots.setData(x[alone], y[alone])
        dots.show()

    def _set_ranges(self) -> None:
        data = self.data
        if data is None:
            return
        low, high = np.inf, -np.inf
        for s in data.series:
            if s.name in self.hidden or not len(s.y):
                continue
            if s.has_gaps:
                if np.isnan(s.y).all():
                    continue
                low, high = min(low, float(np.nanmin(s.y))), max(high, float(np.nanmax(s.y)))
            else:
                low, high = min(low, float(s.y.min())), max(high, float(s.y.max()))
        if low > high:  # nothing visible to scale to
            low, high = 0.0, 1.0
        if self.panel.y_min is not None:
            low = min(low, self.panel.y_min)
        if high <= low:
            high = low + (abs(low) or 1.0)
        # One call for both axes: one view update, one regeneration of each axis.
        self.view_box.setRange(
            xRange=(data.start, data.end), yRange=(low, high + (high - low) * 0.05), padding=0
        )

    def _set_thresholds(self) -> None:
        for line in self._thresholds:
            self.plot.removeItem(line)
        self._thresholds = []
        for threshold in self.panel.thresholds:
            pen = pg.mkPen(QColor(threshold.color), width=1, style=Qt.PenStyle.DashLine)
            line = pg.InfiniteLine(pos=threshold.value, angle=0, movable=False, pen=pen)
            line.setToolTip(f"threshold {format_value(threshold.value, self.panel.unit)}")
            self.plot.addItem(line, ignoreBounds=True)
            self._thresholds.append(line)

    # -- theme ------------------------------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
        super().changeEvent(event)

    def _apply_palette(self) -> None:
        palette = self.palette()
        self.plot.setBackground(palette.base().color())
        text = palette.text().color()
        for name in ("left", "bottom"):
            axis = self.plot.getPlotItem().getAxis(name)
            axis.setPen(pg.mkPen(text.darker(110) if text.lightness() < 128 else text))
            axis.setTextPen(pg.mkPen(text))
        base = palette.base().color()
        grid = QColor(
            round(0.86 * base.red() + 0.14 * text.red()),
            round(0.86 * base.green() + 0.14 * text.green()),
            round(0.86 * base.blue() + 0.14 * text.blue()),
        )
        for axis in (self.axis, self.time_axis):
            axis.setTickPen(pg.mkPen(grid))
        mid = QColor(text)
        mid.setAlpha(140)
        self._crosshair.setPen(pg.mkPen(mid, width=1, style=Qt.PenStyle.DotLine))


class _Banner(QLabel):
    """The panel's message. Word-wrapped, but without height-for-width: that would spread to the
    dashboard's grid, which the scroll area then sizes by height-for-width (the tallest layout)
    rather than by the viewport, and every row grew."""

    def hasHeightForWidth(self) -> bool:
        return False


def isolated(y: FloatArray) -> BoolArray:
    """Which values are finite with no finite neighbour: a line through them has no length."""
    finite = np.isfinite(y)
    alone = finite.copy()
    alone[1:] &= ~finite[:-1]
    alone[:-1] &= ~finite[1:]
    return alone


def _escape(text: str) -> str:
    from html import escape

    return escape(text)
