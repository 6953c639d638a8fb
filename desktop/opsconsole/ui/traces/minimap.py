"""The minimap: the whole trace in a strip, and the zoom window over it, to drag.

The strip is the trace's shape: the rows are bucketed into the strip's pixel rows and each bucket is
drawn as one line from its earliest start to its latest end (numpy, once per size), so it costs the
same for 100 spans or 100,000. Dragging across the strip zooms the waterfall to that time range;
a click moves the window there, a double-click shows the whole trace again, the wheel zooms.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from .prepared import PreparedTrace
from .style import is_dark, service_color
from .waterfall import TimeWindow

__all__ = ["Minimap"]

HEIGHT = 56


class Minimap(QWidget):
    def __init__(self, window: TimeWindow, left: Callable[[], int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("traceMinimap")
        self.setAccessibleName("Trace minimap")
        self.setAccessibleDescription("The whole trace; drag across it to zoom, double-click to see it all")
        self.setFixedHeight(HEIGHT)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.window_ = window
        self.left = left  # where the bars start: the waterfall's name column width
        window.changed.connect(self.update)
        self.prepared: PreparedTrace | None = None
        self._image: QImage | None = None
        self._image_key: tuple[int, int, bool] | None = None
        self._drag_from: float | None = None
        self._drag_to: float | None = None
        self.side: QWidget | None = None

    def set_side(self, widget: QWidget) -> None:
        """Put ``widget`` (the view's zoom controls) in the strip's left part, beside the name column."""
        widget.setParent(self)
        self.side = widget
        self._place_side()

    def _place_side(self) -> None:
        if self.side is not None:
            width = int(self._area().left()) - 8
            self.side.setGeometry(0, 0, max(0, width), self.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_side()

    def set_trace(self, prepared: PreparedTrace | None) -> None:
        self.prepared = prepared
        self._image = None
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(600, HEIGHT)

    def _area(self) -> QRectF:
        x = float(self.left()) + 1
        return QRectF(x, 3, max(1.0, self.width() - x - 8), self.height() - 6)

    def _time_at(self, x: float) -> float:
        area = self._area()
        frac = min(1.0, max(0.0, (x - area.left()) / area.width()))
        return frac * self.window_.total

    def _shape(self, width: int, height: int, dark: bool) -> QImage:
        key = (width, height, dark)
        if self._image is not None and self._image_key == key:
            return self._image
        image = QImage(max(1, width), max(1, height), QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        p = self.prepared
        if p is not None and p.rows:
            bucket = (np.arange(p.rows) * height) // p.rows
            first = np.full(height, np.iinfo(np.int64).max)
            last = np.full(height, -1, dtype=np.int64)
            np.minimum.at(first, bucket, p.row_start)
            np.maximum.at(last, bucket, p.row_start + p.row_duration)
            # The bucket's colour: the service of its first row.
            starts_of_bucket = np.searchsorted(bucket, np.arange(height))
            scale = width / max(1, p.duration_us)
            painter = QPainter(image)
            try:
                for y in range(height):
                    if last[y] < 0:
                        continue
                    x0 = int(first[y] * scale)
                    x1 = max(x0 + 1, int(last[y] * scale))
                    r = int(starts_of_bucket[y]) if starts_of_bucket[y] < p.rows else p.rows - 1
                    painter.fillRect(x0, y, x1 - x0, 1, service_color(int(p.row_service[r]), dark))
            finally:
                painter.end()
        self._image, self._image_key = image, key
        return image

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            pal = self.palette()
            dark = is_dark(pal)
            painter.fillRect(self.rect(), pal.color(QPalette.ColorRole.Window))
            area = self._area()
            painter.fillRect(area, pal.color(QPalette.ColorRole.Base))
            if self.prepared is None:
                return
            painter.drawImage(area.topLeft(), self._shape(int(area.width()), int(area.height()), dark))
            win = self.window_
            scale = area.width() / win.total
            shade = QColor(pal.color(QPalette.ColorRole.Window))
            shade.setAlpha(170)
            x0 = area.left() + win.start * scale
            x1 = area.left() + win.end * scale
            if win.zoomed:
                painter.fillRect(QRectF(area.left(), area.top(), x0 - area.left(), area.height()), shade)
                painter.fillRect(QRectF(x1, area.top(), area.right() - x1, area.height()), shade)
            painter.setPen(pal.color(QPalette.ColorRole.Highlight))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(x0, area.top(), max(2.0, x1 - x0), area.height() - 1))
            if self._drag_from is not None and self._drag_to is not None:
                sel = QColor(pal.color(QPalette.ColorRole.Highlight))
                sel.setAlpha(60)
                a, b = sorted((self._drag_from, self._drag_to))
                painter.fillRect(QRectF(a, area.top(), max(1.0, b - a), area.height()), sel)
        finally:
            painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.prepared is not None:
            self._drag_from = self._drag_to = event.position().x()
            self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is not None:
            self._drag_to = event.position().x()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is None:
            return
        a, b = sorted((self._drag_from, event.position().x()))
        self._drag_from = self._drag_to = None
        if b - a >= 3:
            self.window_.set(self._time_at(a), self._time_at(b))
        else:  # a click: centre the window there
            width = self.window_.end - self.window_.start
            at = self._time_at(a)
            self.window_.set(at - width / 2, at + width / 2)
        self.update()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.window_.reset()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self.prepared is not None:
            self.window_.zoom(
                0.8 if event.angleDelta().y() > 0 else 1.25, self._time_at(event.position().x())
            )
            event.accept()
