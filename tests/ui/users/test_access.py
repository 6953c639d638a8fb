"""Every control of the users pages has an accessible name and is reachable from the keyboard;
Ctrl+1 and Ctrl+2 open the Users and Roles pages."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QComboBox, QLineEdit, QWidget

pytestmark = pytest.mark.slow
CONTROLS = (QAbstractButton, QComboBox, QLineEdit, QAbstractItemView)


def _unnamed(root: QWidget) -> list[str]:
    missing = []
    for widget in root.findChildren(QWidget):
        if isinstance(widget, CONTROLS) and widget.isVisibleTo(root) and not widget.accessibleName():
            if isinstance(widget, QAbstractButton) and isinstance(widget.parent(), QAbstractItemView):
                continue  # Qt's own part of a table (the corner button that selects all)
            missing.append(f"{type(widget).__name__}({widget.text() if hasattr(widget, 'text') else ''!r})")
    return missing


def test_every_control_is_named_and_the_pages_have_their_shortcuts(open_console: Any) -> None:
    console = open_console()
    window = console.window
    view = console.users()
    view.select_rows([0])
    detail = view.detail
    console.qtbot.waitUntil(lambda: detail.loaded, timeout=10_000)
    assert _unnamed(view) == [] and _unnamed(detail) == []
    for widget in (view.search, view.status, view.role, view.table, view.new_button, view.export_button):
        assert widget.focusPolicy() & Qt.FocusPolicy.TabFocus, widget.accessibleName()

    window.activateWindow()
    QTest.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page_key == "roles"
    roles = console.page("roles")
    console.qtbot.waitUntil(lambda: roles.loaded, timeout=10_000)
    assert _unnamed(roles) == []
    QTest.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page_key == "users"
    QTest.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    console.qtbot.waitUntil(view.search.hasFocus, timeout=2000)
