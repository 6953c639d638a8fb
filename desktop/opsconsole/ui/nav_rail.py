"""The navigation rail on the left of the main window: one entry per page, icon and text.

A QListWidget, so it comes with keyboard navigation (arrows, Home/End, type-ahead) and accessibility;
a small delegate draws the entries as rounded pills with a visible focus ring, and the icons are
re-tinted from the palette when the colour scheme or the screen's pixel ratio changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from .assets import tinted_icon
from .pages import PageSpec
from .palette import shell_colors

ICON_SIZE = 20
ROW_HEIGHT = 38
KEY_ROLE = Qt.ItemDataRole.UserRole + 1


class _RailDelegate(QStyledItemDelegate):
    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(option.rect.width(), ROW_HEIGHT)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        state = option.state
        palette: QPalette = option.palette
        rect: QRect = option.rect.adjusted(6, 2, -6, -2)
        selected = bool(state & QStyle.StateFlag.State_Selected)
        hovered = bool(state & QStyle.StateFlag.State_MouseOver)
        focused = bool(state & QStyle.StateFlag.State_HasFocus)
        enabled = bool(state & QStyle.StateFlag.State_Enabled)

        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        if selected:
            painter.setBrush(palette.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(rect, 6, 6)
        elif hovered:
            hover = QColor(palette.color(QPalette.ColorRole.Text))
            hover.setAlphaF(0.08)
            painter.setBrush(hover)
            painter.drawRoundedRect(rect, 6, 6)
        if focused:
            ring = QColor(
                palette.color(
                    QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Highlight
                )
            )
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(ring, 1.5, Qt.PenStyle.SolidLine if selected else Qt.PenStyle.DashLine))
            painter.drawRoundedRect(rect.adjusted(2, 2, -2, -2), 5, 5)

        icon = index.data(Qt.ItemDataRole.DecorationRole)
        icon_rect = QRect(rect.left() + 10, rect.center().y() - ICON_SIZE // 2 + 1, ICON_SIZE, ICON_SIZE)
        if isinstance(icon, QIcon):
            mode = (
                QIcon.Mode.Disabled if not enabled else QIcon.Mode.Selected if selected else QIcon.Mode.Normal
            )
            icon.paint(painter, icon_rect, Qt.AlignmentFlag.AlignCenter, mode)

        text_rect = rect.adjusted(ICON_SIZE + 22, 0, -8, 0)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        group = QPalette.ColorGroup.Normal if enabled else QPalette.ColorGroup.Disabled
        painter.setPen(palette.color(group, role))
        painter.setFont(option.font)
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        elided = option.fontMetrics.elidedText(text, Qt.TextElideMode.ElideRight, text_rect.width())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, elided)
        painter.restore()


class NavRail(QListWidget):
    def __init__(self, specs: Sequence[PageSpec], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.specs = list(specs)
        self.setObjectName("navRail")
        self.setAccessibleName("Navigation")
        self.setAccessibleDescription("Pages of the console; Ctrl+1 to Ctrl+5 jump to them")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setUniformItemSizes(True)
        self.setMouseTracking(True)
        self.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        self.setItemDelegate(_RailDelegate(self))
        self.setFixedWidth(188)
        self.setAutoFillBackground(True)
        self.setViewportMargins(0, 8, 0, 8)
        for number, spec in enumerate(self.specs, start=1):
            item = QListWidgetItem(spec.title)
            item.setData(KEY_ROLE, spec.key)
            shortcut = f"Ctrl+{number}" if number <= 9 else ""
            item.setToolTip(f"{spec.title} ({shortcut})" if shortcut else spec.title)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, spec.title)
            item.setData(
                Qt.ItemDataRole.AccessibleDescriptionRole,
                f"{spec.summary} Shortcut {shortcut}." if shortcut else spec.summary,
            )
            self.addItem(item)
        self.refresh_style()

    def key_at(self, row: int) -> str | None:
        item = self.item(row)
        return None if item is None else str(item.data(KEY_ROLE))

    def row_of(self, key: str) -> int:
        for row in range(self.count()):
            if self.key_at(row) == key:
                return row
        return -1

    def refresh_style(self) -> None:
        """Re-tint the icons and the background from the current palette and pixel ratio."""
        app_palette = QApplication.palette()
        colors = shell_colors()
        own = QPalette(app_palette)
        own.setColor(QPalette.ColorRole.Base, QColor(colors.rail_background))
        own.setColor(QPalette.ColorRole.Window, QColor(colors.rail_background))
        self.setPalette(own)
        modes = {
            QIcon.Mode.Normal: app_palette.color(QPalette.ColorRole.Text),
            QIcon.Mode.Selected: app_palette.color(QPalette.ColorRole.HighlightedText),
            QIcon.Mode.Disabled: app_palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text),
        }
        ratio = self.devicePixelRatioF()
        for row, spec in enumerate(self.specs):
            item = self.item(row)
            if item is not None:
                item.setIcon(tinted_icon(spec.icon, modes, logical_size=ICON_SIZE, device_pixel_ratio=ratio))
