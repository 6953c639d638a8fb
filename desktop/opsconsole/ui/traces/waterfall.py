"""The span waterfall: one painted row per visible span, and only the rows on screen are painted.

A QAbstractScrollArea whose viewport paints, in ``paintEvent``, the rows between the scroll position
and the bottom edge from the PreparedTrace's arrays: a left column of indented service and operation
names with a collapse triangle, and a bar per span on the time axis of the current zoom window
(``TimeWindow``), coloured by service, with the critical path drawn over it. There is no widget or
item per span: a 100,000-span trace costs the same to paint as a 100-span one.

``painted`` (the layout rows of the last paint) and ``paints`` let tests and the bench check that.

Keys: Up/Down/PageUp/PageDown/Home/End move between spans; Left collapses (or goes to the parent),
Right expands (or goes to the first child); Space toggles; Enter opens the span's details
(``activated``). Ctrl+wheel zooms the time axis around the pointer.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPolygonF,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QToolTip, QWidget

from ...traces.render import format_duration
from ..shell import plain
from .prepared import PreparedTrace, RowState, flag_words
from .style import ROW_HEIGHT, error_color, is_dark, service_color, ticks, warning_color

__all__ = ["TimeRuler", "TimeWindow", "Waterfall"]

INDENT = 14
MAX_INDENT_LEVELS = 16  # deeper rows stay at this indent and show their depth instead
RULER_HEIGHT = 24


class TimeWindow(QObject):
    """The part of the trace the bars show: [start, end] in µs after the trace's start."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.total = 1.0
        self.start = 0.0
        self.end = 1.0

    def reset(self, total: float | None = None) -> None:
        if total is not None:
            self.total = max(1.0, float(total))
        self.set(0.0, self.total)

    def set(self, start: float, end: float) -> None:
        width = min(max(end - start, min(self.total, 1.0)), self.total)
        start = min(max(0.0, start), self.total - width)
        if (start, start + width) != (self.start, self.end):
            self.start, self.end = start, start + width
            self.changed.emit()

    def zoom(self, factor: float, at: float | None = None) -> None:
        """Zoom by ``factor`` (< 1: in) around time ``at`` (default: the middle)."""
        at = (self.start + self.end) / 2 if at is None else at
        self.set(at - (at - self.start) * factor, at + (self.end - at) * factor)

    @property
    def zoomed(self) -> bool:
        return self.end - self.start < self.total


class Waterfall(QAbstractScrollArea):
    currentChanged = Signal(int)
    """The current row changed (a layout row, -1 for none)."""
    activated = Signal(int)
    """Enter or a double-click on a row: show its details."""
    rowsChanged = Signal()
    """The visible rows changed (collapse, expand, filter)."""

    def __init__(self, window: TimeWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("traceWaterfall")
        self.setAccessibleName("Span waterfall")
        self.setAccessibleDescription(
            "Spans of the trace nested by parent. Arrows move between spans, Left and Right collapse "
            "and expand, Enter shows a span's details."
        )
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.viewport().setMouseTracking(False)
        self.window_ = window
        window.changed.connect(self.viewport().update)
        self.prepared: PreparedTrace | None = None
        self.state: RowState | None = None
        self.current = -1
        self.matches: set[int] = set()
        self.show_critical = True
        self.painted: list[int] = []
        self.paints = 0
        self.row_height = max(ROW_HEIGHT, QFontMetrics(self.font()).height() + 6)
        self.ruler = TimeRuler(self)
        self.setViewportMargins(0, RULER_HEIGHT, 0, 0)
        self.verticalScrollBar().valueChanged.connect(lambda _v: self.viewport().update())

    # -- data ------------------------------------------------------------------------------------

    def set_trace(self, prepared: PreparedTrace | None) -> None:
        self.prepared = prepared
        self.state = RowState(prepared) if prepared is not None else None
        self.current = -1
        self.matches = set()
        self.window_.reset(prepared.duration_us if prepared is not None else 1)
        self.verticalScrollBar().setValue(0)
        self._rows_changed()
        if prepared is not None and prepared.rows:
            self.set_current(0)

    @property
    def visible_count(self) -> int:
        return len(self.state.visible) if self.state is not None else 0

    def name_width(self) -> int:
        return max(180, min(420, int(self.viewport().width() * 0.32)))

    def _rows_changed(self) -> None:
        self._update_scrollbar()
        self.viewport().update()
        self.ruler.update()
        self.rowsChanged.emit()

    def _update_scrollbar(self) -> None:
        bar = self.verticalScrollBar()
        total = self.visible_count * self.row_height
        bar.setRange(0, max(0, total - self.viewport().height()))
        bar.setPageStep(max(self.row_height, self.viewport().height() - self.row_height))
        bar.setSingleStep(self.row_height)

    # -- collapse and filter ---------------------------------------------------------------------

    def toggle(self, row: int) -> None:
        if self.state is None or self.prepared is None or not self.prepared.has_children(row):
            return
        self.state.set_collapsed([row], not bool(self.state.collapsed[row]))
        self._rows_changed()
        self.ensure_visible(row)

    def set_collapsed(self, row: int, collapsed: bool) -> None:
        if self.state is not None:
            self.state.set_collapsed([row], collapsed)
            self._rows_changed()

    def collapse_all(self) -> None:
        if self.state is not None:
            self.state.collapse_all()
            self._after_structure_change()

    def expand_all(self) -> None:
        if self.state is not None:
            self.state.expand_all()
            self._after_structure_change()

    def collapse_to_depth(self, depth: int) -> None:
        if self.state is not None:
            self.state.collapse_to_depth(depth)
            self._after_structure_change()

    def set_min_duration(self, us: int) -> None:
        if self.state is not None:
            self.state.set_min_duration(us)
            self._after_structure_change()

    def _after_structure_change(self) -> None:
        self._rows_changed()
        if self.state is not None and self.current >= 0 and self.state.position(self.current) < 0:
            # The current span went out of sight: the nearest visible row above it takes its place.
            import numpy as np

            at = int(np.searchsorted(self.state.visible, self.current)) - 1
            self.set_current(int(self.state.visible[max(0, at)]) if self.visible_count else -1)
        elif self.current >= 0:
            self.ensure_visible(self.current)

    # -- current row and scrolling ---------------------------------------------------------------

    def set_current(self, row: int) -> None:
        if row == self.current:
            return
        self.current = row
        if row >= 0 and self.state is not None:
            if self.state.position(row) < 0:
                self.state.reveal(row)
                self._rows_changed()
            self.ensure_visible(row)
            span = self.prepared.span(row) if self.prepared is not None else None
            if span is not None:
                self.setAccessibleDescription(
                    f"{span.service} {span.operation}, {format_duration(span.duration_us)}, "
                    f"depth {int(self.prepared.row_depth[row]) if self.prepared else 0}"
                )
        self.viewport().update()
        self.currentChanged.emit(row)

    def ensure_visible(self, row: int) -> None:
        if self.state is None:
            return
        pos = self.state.position(row)
        if pos < 0:
            return
        bar = self.verticalScrollBar()
        top = pos * self.row_height
        height = self.viewport().height()
        if top < bar.value():
            bar.setValue(top)
        elif top + self.row_height > bar.value() + height:
            bar.setValue(top + self.row_height - height)

    def scroll_to_row(self, row: int) -> None:
        """Put ``row`` at the top of the view (for find)."""
        if self.state is not None and (pos := self.state.position(row)) >= 0:
            self.verticalScrollBar().setValue(pos * self.row_height)

    def row_at(self, y: int) -> int:
        if self.state is None:
            return -1
        pos = (y + self.verticalScrollBar().value()) // self.row_height
        return int(self.state.visible[pos]) if 0 <= pos < self.visible_count else -1

    def _move(self, delta: int) -> None:
        if self.state is None or not self.visible_count:
            return
        pos = self.state.position(self.current) if self.current >= 0 else 0
        pos = max(0, min(self.visible_count - 1, pos + delta))
        self.set_current(int(self.state.visible[pos]))

    # -- painting --------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self.viewport())
        try:
            self._paint(painter, event.rect())
        finally:
            painter.end()

    def _paint(self, p: QPainter, clip: QRect) -> None:
        pal = self.palette()
        vp = self.viewport()
        p.fillRect(clip, pal.color(QPalette.ColorRole.Base))
        self.paints += 1
        self.painted = []
        prepared, state = self.prepared, self.state
        if prepared is None or state is None:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            p.drawText(vp.rect(), Qt.AlignmentFlag.AlignCenter, "Open a trace to see its spans here")
            return
        dark = is_dark(pal)
        h = self.row_height
        scroll = self.verticalScrollBar().value()
        first = max(0, (scroll + clip.top()) // h)
        last = min(self.visible_count, (scroll + clip.bottom()) // h + 1)
        name_w = self.name_width()
        bar_x = name_w + 1
        bar_w = max(1, vp.width() - bar_x - 8)
        win = self.window_
        scale = bar_w / max(1.0, win.end - win.start)
        text_color = pal.color(QPalette.ColorRole.Text)
        muted = pal.color(QPalette.ColorRole.PlaceholderText)
        grid = pal.color(QPalette.ColorRole.Midlight if not dark else QPalette.ColorRole.Light)
        fm = QFontMetrics(self.font())
        baseline = (h + fm.ascent() - fm.descent()) // 2
        highlight = QColor(pal.color(QPalette.ColorRole.Highlight))
        current_bg = QColor(highlight)
        current_bg.setAlpha(70)
        match_bg = QColor("#f5b400")
        match_bg.setAlpha(90 if dark else 110)
        crit_pen = QPen(text_color, 3)
        crit_pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        err = error_color(dark)
        warn = warning_color(dark)
        italic = QFont(self.font())
        italic.setItalic(True)

        # Grid lines at the ruler's ticks.
        p.setPen(grid)
        for t, _label in ticks(win.start, win.end, bar_w):
            x = int(bar_x + (t - win.start) * scale)
            p.drawLine(x, clip.top(), x, clip.bottom())
        p.drawLine(name_w, clip.top(), name_w, clip.bottom())

        visible = state.visible[first:last]
        rows = visible.tolist()
        self.painted = rows
        # Plain lists of just the rows on screen: indexing numpy scalars one by one costs more.
        starts = prepared.row_start[visible].tolist()
        durations = prepared.row_duration[visible].tolist()
        depths = prepared.row_depth[visible].tolist()
        ends = prepared.row_end[visible].tolist()
        services = prepared.row_service[visible].tolist()
        flags = prepared.row_flags[visible].tolist()
        collapsed = state.collapsed[visible].tolist()
        font = self.font()
        for k, row in enumerate(rows):
            y = (first + k) * h - scroll
            span = prepared.span(row)
            if row == self.current:
                p.fillRect(0, y, vp.width(), h, current_bg)
            elif row in self.matches:
                p.fillRect(0, y, vp.width(), h, match_bg)
            depth = depths[k]
            level = min(depth, MAX_INDENT_LEVELS)
            x = 6 + level * INDENT
            color = service_color(services[k], dark)
            # The collapse triangle.
            if ends[k] > row + 1:
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(muted)
                cy = y + h / 2
                if collapsed[k]:
                    tri = QPolygonF([QPointF(x, cy - 4), QPointF(x + 7, cy), QPointF(x, cy + 4)])
                else:
                    tri = QPolygonF([QPointF(x - 1, cy - 3), QPointF(x + 7, cy - 3), QPointF(x + 3, cy + 3)])
                p.drawPolygon(tri)
            x += 11
            p.fillRect(x, y + 5, 3, h - 10, color)
            x += 7
            row_flags = flags[k]
            badge_w = 16 if row_flags else 0
            label = f"{span.service}  {span.operation}"
            if depth > MAX_INDENT_LEVELS:
                label = f"[{depth}] {label}"
            if collapsed[k]:
                label += f"  (+{ends[k] - row - 1})"
            error = prepared.is_error(row)  # details are read for the rows on screen only
            p.setFont(italic if row_flags & 1 else font)
            p.setPen(err if error else text_color)
            p.drawText(
                x, y + baseline, fm.elidedText(label, Qt.TextElideMode.ElideRight, name_w - x - 4 - badge_w)
            )
            p.setFont(font)
            if row_flags:
                p.setPen(warn)
                p.drawText(name_w - badge_w, y + baseline, "⚠")
            # The bar.
            s = starts[k]
            d = durations[k]
            bx = bar_x + (s - win.start) * scale
            bw = max(1.0, d * scale)
            if bx + bw < bar_x or bx > bar_x + bar_w + 8:
                self._draw_offscreen_label(p, fm, bx, bar_x, bar_w, y, baseline, d, muted)
                continue
            cx0 = max(bx, bar_x - 1.0)
            cx1 = min(bx + bw, float(vp.width()))
            rect = QRectF(cx0, y + 4, max(1.0, cx1 - cx0), h - 8)
            if row_flags & 1:  # a placeholder: outline only
                p.setPen(QPen(muted, 1, Qt.PenStyle.DashLine))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(rect)
            else:
                p.fillRect(rect, color)
                if error:
                    p.fillRect(QRectF(cx0, y + 4, min(3.0, rect.width()), h - 8), err)
            if self.show_critical and (sections := prepared.critical.get(row)):
                p.setPen(crit_pen)
                mid = y + h / 2
                for cs, ce in sections:
                    x0 = max(bar_x + (cs - win.start) * scale, float(bar_x))
                    x1 = min(bar_x + (ce - win.start) * scale, float(vp.width()))
                    if x1 > x0:
                        p.drawLine(QPointF(x0, mid), QPointF(max(x1, x0 + 1), mid))
            p.setPen(muted)
            text = format_duration(d)
            tw = fm.horizontalAdvance(text)
            if bx + bw + 4 + tw < bar_x + bar_w + 8:
                p.drawText(int(bx + bw + 4), y + baseline, text)
            elif bx - 4 - tw > bar_x:
                p.drawText(int(bx - 4 - tw), y + baseline, text)

    def _draw_offscreen_label(
        self,
        p: QPainter,
        fm: QFontMetrics,
        bx: float,
        bar_x: int,
        bar_w: int,
        y: int,
        baseline: int,
        d: int,
        muted: QColor,
    ) -> None:
        # A span outside the zoom window: an arrow at the edge it lies beyond.
        p.setPen(muted)
        text = format_duration(d)
        if bx < bar_x:
            p.drawText(bar_x + 2, y + baseline, f"◀ {text}")
        else:
            p.drawText(bar_x + bar_w - fm.horizontalAdvance(f"{text} ▶"), y + baseline, f"{text} ▶")

    # -- events ----------------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        cr = self.contentsRect()
        self.ruler.setGeometry(QRect(cr.left(), cr.top(), self.viewport().width(), RULER_HEIGHT))
        self._update_scrollbar()

    def sizeHint(self) -> QSize:
        return QSize(900, 500)

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and self.prepared is not None:
            help_event = event
            assert isinstance(help_event, QHelpEvent)
            row = self.row_at(help_event.pos().y())
            if row >= 0:
                QToolTip.showText(help_event.globalPos(), self.row_tooltip(row), self.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    def row_tooltip(self, row: int) -> str:
        assert self.prepared is not None
        span = self.prepared.span(row)
        lines = [f"{span.service}: {span.operation}", format_duration(span.duration_us)]
        if row in self.prepared.critical:
            lines.append("on the critical path")
        lines += flag_words(int(self.prepared.row_flags[row]))
        return plain.tooltip(*lines)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.prepared is None:
            return super().mousePressEvent(event)
        pos = event.position().toPoint()
        row = self.row_at(pos.y())
        if row < 0:
            return None
        depth = min(int(self.prepared.row_depth[row]), MAX_INDENT_LEVELS)
        triangle = 6 + depth * INDENT
        if self.prepared.has_children(row) and triangle - 4 <= pos.x() <= triangle + 12:
            self.toggle(row)
            return None
        self.set_current(row)
        self.activated.emit(row)
        return None

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        row = self.row_at(event.position().toPoint().y())
        if row >= 0:
            self.toggle(row)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier and self.prepared is not None:
            bar_x = self.name_width() + 1
            bar_w = max(1, self.viewport().width() - bar_x - 8)
            x = event.position().x() - bar_x
            at = self.window_.start + (self.window_.end - self.window_.start) * max(0.0, min(1.0, x / bar_w))
            self.window_.zoom(0.8 if event.angleDelta().y() > 0 else 1.25, at)
            event.accept()
            return
        super().wheelEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        page_rows = max(1, self.viewport().height() // self.row_height - 1)
        K = Qt.Key
        if self.prepared is None:
            return super().keyPressEvent(event)
        if key == K.Key_Down:
            self._move(1)
        elif key == K.Key_Up:
            self._move(-1)
        elif key == K.Key_PageDown:
            self._move(page_rows)
        elif key == K.Key_PageUp:
            self._move(-page_rows)
        elif key == K.Key_Home:
            self._move(-self.visible_count)
        elif key == K.Key_End:
            self._move(self.visible_count)
        elif key == K.Key_Left and self.current >= 0:
            if (
                self.prepared.has_children(self.current)
                and self.state
                and not self.state.collapsed[self.current]
            ):
                self.set_collapsed(self.current, True)
            elif (parent := self.prepared.parent_row(self.current)) >= 0:
                self.set_current(parent)
        elif key == K.Key_Right and self.current >= 0:
            if self.state is not None and self.state.collapsed[self.current]:
                self.set_collapsed(self.current, False)
            elif self.prepared.has_children(self.current):
                self._move(1)
        elif key == K.Key_Space and self.current >= 0:
            self.toggle(self.current)
        elif key in (K.Key_Return, K.Key_Enter) and self.current >= 0:
            self.activated.emit(self.current)
        else:
            return super().keyPressEvent(event)
        event.accept()
        return None


class TimeRuler(QWidget):
    """The time marks over the bars (µs after the trace's start), with the name column's heading."""

    def __init__(self, waterfall: Waterfall) -> None:
        super().__init__(waterfall)
        self.waterfall = waterfall
        self.setObjectName("traceRuler")
        self.setAccessibleName("Time ruler")
        waterfall.window_.changed.connect(self.update)

    def paintEvent(self, event: QPaintEvent) -> None:
        wf = self.waterfall
        p = QPainter(self)
        try:
            pal = self.palette()
            p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Window))
            p.setPen(pal.color(QPalette.ColorRole.Mid))
            p.drawLine(0, self.height() - 1, self.width(), self.height() - 1)
            name_w = wf.name_width()
            fm = QFontMetrics(self.font())
            base = (self.height() + fm.ascent() - fm.descent()) // 2
            p.setPen(pal.color(QPalette.ColorRole.WindowText))
            heading = "Service  operation"
            if wf.prepared is not None:
                heading += f"   ({wf.visible_count:,} of {wf.prepared.rows:,} spans)"
            p.drawText(8, base, fm.elidedText(heading, Qt.TextElideMode.ElideRight, name_w - 12))
            bar_x = name_w + 1
            bar_w = max(1, self.width() - bar_x - 8)
            win = wf.window_
            scale = bar_w / max(1.0, win.end - win.start)
            muted = pal.color(QPalette.ColorRole.PlaceholderText)
            for t, label in ticks(win.start, win.end, bar_w):
                x = int(bar_x + (t - win.start) * scale)
                p.setPen(muted)
                p.drawLine(x, self.height() - 6, x, self.height() - 1)
                p.setPen(pal.color(QPalette.ColorRole.WindowText))
                if x + 3 + fm.horizontalAdvance(label) < self.width():
                    p.drawText(x + 3, base, label)
        finally:
            p.end()
