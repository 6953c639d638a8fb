"""Guards the PySide6 pin in pyproject.toml (PySide6-Essentials>=6.11.3,<6.12).

PySide6 6.12.0 on Python 3.11 drops a reference to None on every Qt call that returns nothing; after a
few thousand calls the process dies with "Fatal Python error: none_dealloc". Before lifting the pin,
this test must pass on the new release.
"""

from __future__ import annotations

import sys
from typing import Any

import PySide6
from PySide6.QtWidgets import QWidget

CALLS = 10_000
TOLERANCE = 20


def test_void_qt_calls_do_not_leak_references_to_none(qtbot: Any) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    before = sys.getrefcount(None)
    for _ in range(CALLS):
        widget.update()
    drift = sys.getrefcount(None) - before
    assert abs(drift) <= TOLERANCE, (
        f"PySide6 {PySide6.__version__}: sys.getrefcount(None) moved by {drift:+d} over {CALLS} "
        "QWidget.update() calls. This binding loses references to None and will crash with "
        "'none_dealloc'; keep the pin PySide6-Essentials<6.12 in pyproject.toml until a fixed release."
    )
