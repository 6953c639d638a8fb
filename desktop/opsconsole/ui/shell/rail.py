"""The navigation rail on the left of the main window: one entry per page, icon and text.

A QListWidget, so it comes with keyboard navigation (arrows, Home/End, type-ahead) and accessibility.
Its look (rounded entries, hover, a visible keyboard-focus ring) is a small style sheet scoped to the
rail, rebuilt from the palette when the colour scheme changes, rather than a Python item delegate: the
delegate would run Python on every paint and, at startup, cost more than the rest of the rail.
Icons are re-tinted from the palette (normal and selected ink) at the screen's pixel ratio.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon, QPalette
from PySide6.QtWidgets import QAbstractItemView, QApplication, QFrame, QListWidget, QListWidgetItem, QWidget

from .assets import NAV_ICON_SIZE, tinted_icon
from .pages import PageSpec
from .palette import shell_colors
from .qtprops import ACCESSIBLE_DESCRIPTION_ROLE, ACCESSIBLE_TEXT_ROLE, USER_ROLE, set_enum_property

ICON_SIZE = NAV_ICON_SIZE
RAIL_WIDTH = 188
KEY_ROLE = USER_ROLE + 1

_STYLE = """
QListWidget#navRail {{
    background: {background};
    border: none;
    outline: none;
    padding: 8px 0px;
}}
QListWidget#navRail::item {{
    color: {text};
    padding: 8px 8px;
    margin: 2px 6px;
    border: 1px solid transparent;
    border-radius: 6px;
}}
QListWidget#navRail::item:hover {{
    background: {hover};
}}
QListWidget#navRail::item:selected {{
    background: {highlight};
    color: {highlighted_text};
}}
QListWidget#navRail::item:focus {{
    border: 1px dashed {focus};
}}
QListWidget#navRail::item:selected:focus {{
    border: 1px dashed {highlighted_text};
}}
"""


class NavRail(QListWidget):
    def __init__(self, specs: Sequence[PageSpec], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.specs = list(specs)
        self.setObjectName("navRail")
        self.setAccessibleName("Navigation")
        self.setAccessibleDescription("Pages of the console; Ctrl+1 to Ctrl+5 jump to them")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        set_enum_property(self, "horizontalScrollBarPolicy", "ScrollBarAlwaysOff")
        self.setUniformItemSizes(True)
        self.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        self.setFixedWidth(RAIL_WIDTH)
        for number, spec in enumerate(self.specs, start=1):
            item = QListWidgetItem(spec.title)
            item.setData(KEY_ROLE, spec.key)
            shortcut = f"Ctrl+{number}" if number <= 9 else ""
            item.setToolTip(f"{spec.title} ({shortcut})" if shortcut else spec.title)
            item.setData(ACCESSIBLE_TEXT_ROLE, spec.title)
            item.setData(
                ACCESSIBLE_DESCRIPTION_ROLE,
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

    def set_badge(self, key: str, count: int) -> None:
        """Show a count beside a page's title (unread notifications); 0 hides it."""
        row = self.row_of(key)
        item = self.item(row) if row >= 0 else None
        if item is None:
            return
        spec = self.specs[row]
        shown = "99+" if count > 99 else str(count)
        item.setText(f"{spec.title}  ({shown})" if count else spec.title)
        item.setData(ACCESSIBLE_TEXT_ROLE, f"{spec.title}, {count} unread" if count else spec.title)

    def refresh_style(self) -> None:
        """Re-tint the icons and re-colour the rail from the current palette and pixel ratio."""
        palette = QApplication.palette()
        colors = shell_colors()
        text = palette.color(QPalette.ColorRole.Text)
        self.setStyleSheet(
            _STYLE.format(
                background=colors.rail_background,
                text=text.name(),
                hover=f"rgba({text.red()}, {text.green()}, {text.blue()}, 20)",  # the text colour at 8 %
                highlight=palette.color(QPalette.ColorRole.Highlight).name(),
                highlighted_text=palette.color(QPalette.ColorRole.HighlightedText).name(),
                focus=palette.color(QPalette.ColorRole.Highlight).name(),
            )
        )
        modes = {
            QIcon.Mode.Normal: text,
            QIcon.Mode.Selected: palette.color(QPalette.ColorRole.HighlightedText),
        }
        ratio = self.devicePixelRatioF()
        for row, spec in enumerate(self.specs):
            item = self.item(row)
            if item is not None:
                item.setIcon(tinted_icon(spec.icon, modes, logical_size=ICON_SIZE, device_pixel_ratio=ratio))
