"""The Users and Roles pages as the rail builds them: light shells that build their content when idle.

The Users page is the first page after sign-in, so it is built with the window, before the first
paint. Its content (the table, the core and with it httpx) waits for the first idle, as every heavy
piece of start-up does (docs/architecture.md, "Start-up"); until then the shell shows one line. The
shell touches no ``Qt`` enum (ui/shell/qtprops.py says why). A page that is not visible when the
loop first idles (a window closed at once, a page built but not shown) builds its content when shown.
"""

from __future__ import annotations

import importlib
from typing import Any

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..shell.context import PageContext
from ..shell.idle import call_when_idle


class _LazyPage(QWidget):
    content_module = ""
    content_class = ""
    title = ""

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setAccessibleName(f"{self.title} page")
        self.view: Any = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._waiting = QLabel(f"Opening {self.title.lower()}…")
        self._waiting.setContentsMargins(16, 16, 16, 16)
        self._layout.addWidget(self._waiting)
        self._layout.addStretch(1)
        self._idle_seen = False
        call_when_idle(self, self._on_idle)

    def _on_idle(self) -> None:
        self._idle_seen = True
        # Not while hidden: a window closing at once (or a page not shown) has no use for the content.
        if self.view is None and self.isVisible():
            self.build()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.view is None and self._idle_seen:
            self.build()

    def build(self) -> Any:
        """Build the content now (it is built on the first idle otherwise); returns it."""
        if self.view is None:
            cls = getattr(importlib.import_module(self.content_module, __package__), self.content_class)
            self.view = cls(self.context, self)
            while self._layout.count():
                self._layout.takeAt(0)
            self._waiting.hide()
            self._waiting.deleteLater()
            self._layout.addWidget(self.view)
            self.setFocusProxy(self.view.focus_widget())
        return self.view

    def focus_find(self) -> None:
        self.build().focus_find()

    def refresh_colors(self) -> None:
        """The colour scheme changed: the content's own colours (its notices) follow, once it is built."""
        if self.view is not None:
            self.view.refresh_colors()


class UsersPage(_LazyPage):
    content_module = ".users_view"
    content_class = "UsersView"
    title = "Users"


class RolesPage(_LazyPage):
    content_module = ".roles_view"
    content_class = "RolesView"
    title = "Roles"
