"""A slim banner for sign-in news that must be seen but must not take over the window.

Two uses: the no-keyring warning ("tokens are kept in memory for this run only"), shown on the sign-in
page and above the workspace, and the "your session has ended" notice with a *Sign in again* button,
which leaves every open view and form where it was. Colours come from the palette scheme, so the text
keeps its contrast in light and dark themes.
"""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

Kind = Literal["warning", "error", "info"]

# Background and border per kind and scheme; the text colour is the palette's WindowText.
_COLOURS: dict[tuple[Kind, bool], tuple[str, str]] = {
    ("warning", False): ("#fff4ce", "#d4a72c"),
    ("warning", True): ("#3d3213", "#9e7b1f"),
    ("error", False): ("#fde7e9", "#cf222e"),
    ("error", True): ("#3d1a1d", "#c9403a"),
    ("info", False): ("#ddf4ff", "#54aeff"),
    ("info", True): ("#12263b", "#316dca"),
}


class Banner(QFrame):
    """Icon-less coloured strip: a message, an optional action button and a close button."""

    actionTriggered = Signal()
    dismissed = Signal()

    def __init__(
        self,
        text: str = "",
        *,
        kind: Kind = "warning",
        action: str = "",
        closable: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.kind: Kind = kind
        self.setObjectName(f"{kind}Banner")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # provider text is never markup
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # The buttons are children from the start: shown (setVisible) while parentless, each was for a
        # moment a window of its own, which took the activation from the main window.
        self.action = QPushButton(action, self)
        self.action.setVisible(bool(action))
        self.action.clicked.connect(self.actionTriggered)
        self.close_button = QToolButton(self)
        self.close_button.setText("\u2715")
        self.close_button.setAutoRaise(True)
        self.close_button.setAccessibleName("Dismiss")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setVisible(closable)
        self.close_button.clicked.connect(self._dismiss)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 8, 8)
        row.setSpacing(10)
        row.addWidget(self.label, 1)
        row.addWidget(self.action, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.set_text(text)
        self.refresh_colors()

    def set_text(self, text: str) -> None:
        self.label.setText(text)
        self.setAccessibleName(f"{self.kind.capitalize()}: {text}")

    def text(self) -> str:
        return self.label.text()

    def refresh_colors(self) -> None:
        """Pick this kind's colours for the application's current scheme (call again when it changes)."""
        dark = QApplication.palette().color(QPalette.ColorRole.Window).lightnessF() < 0.5
        background, border = _COLOURS[(self.kind, dark)]
        self._background, self._border = QColor(background), QColor(border)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(self._border, 1))
        painter.setBrush(self._background)
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        painter.end()

    def _dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()
