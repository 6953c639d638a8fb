"""Small widgets the shell's pages share."""

from __future__ import annotations

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QFrame, QWidget


class Card(QFrame):
    """A panel on the Base colour with a hairline border: a page's main block of content.

    Drawn by QFrame itself (a plain box in the Mid colour, the background filled from the palette), so
    it follows the colour scheme and its children keep the plain Fusion style. Not a Python paintEvent:
    that would build QPaintEvent, QPainter and QEvent's 180-value enum for the first paint (8 ms of
    start-up, see qtprops.py).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.Box)
        self.setFrameShadow(QFrame.Shadow.Plain)
        self.setLineWidth(1)
        self.setForegroundRole(QPalette.ColorRole.Mid)  # a plain frame is drawn in the foreground role
        self.setBackgroundRole(QPalette.ColorRole.Base)
        self.setAutoFillBackground(True)
