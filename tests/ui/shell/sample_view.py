"""A minimal page used by test_pages.py to check that views are imported lazily."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from opsconsole.ui.shell.pages import PageContext


class SampleView(QWidget):
    def __init__(self, context: PageContext) -> None:
        super().__init__()
        self.context = context
