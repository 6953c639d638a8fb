"""An event's words are shown as words: a stream whose event type, summary or actor holds markup gets
a tooltip that shows it literally, on the Notifications page and the dock alike (one model)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from opsconsole.events.model import Event
from opsconsole.ui.events.model import EventTableModel
from tests.ui.shown import HOSTILE, shown_text


def test_a_hostile_event_has_a_tooltip_that_shows_its_markup_as_text(qtbot: Any) -> None:
    model = EventTableModel()
    # What a hostile or odd server could send: the sandbox validates types, another server need not.
    data = {"alert": {"summary": HOSTILE}, "actor": "<i>mallory</i>@evil.test"}
    model.add([Event(7, HOSTILE, "alert.fired", "2026-11-30T14:00:00Z", data)])
    for column in range(model.columnCount()):
        tip = model.index(0, column).data(Qt.ItemDataRole.ToolTipRole)
        shown = shown_text(tip)
        assert shown.startswith(f"#7 {HOSTILE} at "), tip
        assert f"\n{HOSTILE} · by <i>mallory</i>@evil.test" in shown, tip
