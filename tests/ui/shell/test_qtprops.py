"""The Qt-namespace-free helpers of the start-up path (ui/shell/qtprops.py) agree with Qt itself."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QListWidget

from opsconsole.ui.shell import qtprops


def test_the_roles_are_qts_own() -> None:
    assert Qt.ItemDataRole.ToolTipRole.value == qtprops.TOOLTIP_ROLE
    assert Qt.ItemDataRole.AccessibleTextRole.value == qtprops.ACCESSIBLE_TEXT_ROLE
    assert Qt.ItemDataRole.AccessibleDescriptionRole.value == qtprops.ACCESSIBLE_DESCRIPTION_ROLE
    assert Qt.ItemDataRole.UserRole.value == qtprops.USER_ROLE


def test_enum_properties_are_set_by_name(qapp: Any) -> None:
    label = QLabel("x")
    qtprops.set_enum_property(label, "alignment", "AlignRight|AlignVCenter")
    assert label.alignment() == Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    qtprops.set_enum_property(label, "textFormat", "RichText")
    assert label.textFormat() == Qt.TextFormat.RichText
    rail = QListWidget()
    qtprops.set_enum_property(rail, "horizontalScrollBarPolicy", "ScrollBarAlwaysOff")
    assert rail.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff


@pytest.mark.parametrize(("name", "keys"), [("alignment", "AlignCentre"), ("no_such_property", "AlignLeft")])
def test_a_misspelt_enum_property_raises(qapp: Any, name: str, keys: str) -> None:
    with pytest.raises(ValueError, match=name):
        qtprops.set_enum_property(QLabel("x"), name, keys)


def test_shortcuts_are_set_from_text(qapp: Any) -> None:
    action = QAction("Quit")
    qtprops.set_shortcut(action, "Ctrl+Q")
    assert action.shortcut().toString() == "Ctrl+Q"
    with pytest.raises(ValueError, match="takes no shortcut"):
        qtprops.set_shortcut(QLabel("no shortcut property"), "Ctrl+Q")
