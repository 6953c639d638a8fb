"""A panel's legend: one entry per series with its colour; a click hides or shows that series.

A QListWidget in wrapping icon flow rather than pyqtgraph's LegendItem: it sits under the chart
instead of over the data, scrolls when a query returns many series, and its entries are ordinary
items that a screen reader and a test can find.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QWidget

from ..shell import plain

NAME_ROLE = 256  # Qt.ItemDataRole.UserRole
VISIBLE_ROLE = 257


class LegendList(QListWidget):
    toggled = Signal(str, bool)  # series name, visible

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panelLegend")
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFrameShape(QListWidget.Shape.NoFrame)
        self.setIconSize(QSize(12, 12))
        self.setSpacing(1)
        self.setToolTip("Click a series to hide or show it")
        self.itemClicked.connect(self._clicked)
        self._icons: dict[str, QIcon] = {}

    def set_series(self, entries: list[tuple[str, QColor]], hidden: set[str]) -> None:
        """Show ``entries`` (name, colour) in order; names in ``hidden`` are drawn as hidden."""
        current = [self.item(i).data(NAME_ROLE) for i in range(self.count())]
        if current != [name for name, _ in entries]:
            self.clear()
            for name, color in entries:
                item = QListWidgetItem(self._icon(color), name)
                item.setData(NAME_ROLE, name)
                item.setToolTip(plain.tooltip(name))  # a series name is label values: text
                self.addItem(item)
        for i in range(self.count()):
            item = self.item(i)
            visible = item.data(NAME_ROLE) not in hidden
            if item.data(VISIBLE_ROLE) != visible:  # restyling relays the list out: only on a change
                self._style(item, visible)
        self._fit()
        self.setVisible(bool(entries))

    def _fit(self) -> None:
        """One row of entries high, two when they wrap (it scrolls beyond): no empty band under a chart."""
        metrics = self.fontMetrics()
        needed = sum(metrics.horizontalAdvance(self.item(i).text()) + 30 for i in range(self.count()))
        row = metrics.height() + 8
        self.setFixedHeight(row if needed <= max(self.width(), 200) else 2 * row + 2)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:  # light/dark switch: the text colour follows
            for i in range(self.count()):
                self._style(self.item(i), bool(self.item(i).data(VISIBLE_ROLE)))
        super().changeEvent(event)

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._fit()

    def item_named(self, name: str) -> QListWidgetItem | None:
        for i in range(self.count()):
            if self.item(i).data(NAME_ROLE) == name:
                return self.item(i)
        return None

    def _icon(self, color: QColor) -> QIcon:
        key = color.name()
        if key not in self._icons:
            pixmap = QPixmap(12, 12)
            pixmap.fill(color)
            self._icons[key] = QIcon(pixmap)
        return self._icons[key]

    def _style(self, item: QListWidgetItem, visible: bool) -> None:
        font = item.font()
        font.setStrikeOut(not visible)
        item.setFont(font)
        item.setData(VISIBLE_ROLE, visible)
        color = self.palette().text().color()
        if not visible:
            color.setAlpha(110)
        item.setForeground(color)

    def _clicked(self, item: QListWidgetItem) -> None:
        visible = not item.data(VISIBLE_ROLE)
        self._style(item, visible)
        self.toggled.emit(item.data(NAME_ROLE), visible)
