"""The time range picker: the last 5 minutes to 7 days, or a custom from-to range."""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QDateTime, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QWidget,
)

from ...metrics.durations import format_duration, parse_duration

PRESETS = ("5m", "15m", "30m", "1h", "3h", "6h", "12h", "1d", "2d", "7d")
CUSTOM = "Custom…"


@dataclass(slots=True, frozen=True)
class TimeRange:
    """Either the last ``span`` seconds up to now (``start`` None), or a fixed [start, end]."""

    span: float
    start: float | None = None
    end: float | None = None

    @property
    def relative(self) -> bool:
        return self.start is None

    def bounds(self, now: float | None = None) -> tuple[float, float]:
        if self.start is not None and self.end is not None:
            return self.start, self.end
        end = time.time() if now is None else now
        return end - self.span, end

    @property
    def text(self) -> str:
        if self.start is None or self.end is None:
            return f"Last {format_duration(self.span)}"
        fmt = "%Y-%m-%d %H:%M"
        return f"{time.strftime(fmt, time.localtime(self.start))} to {time.strftime(fmt, time.localtime(self.end))}"


def preset_label(duration: str) -> str:
    return f"Last {duration}"


class TimeRangePicker(QComboBox):
    changed = Signal(object)  # TimeRange

    def __init__(self, initial: str = "1h", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("metricsTimeRange")
        self.setAccessibleName("Time range")
        presets = list(PRESETS)
        if initial not in presets:
            presets.append(initial)
            presets.sort(key=parse_duration)
        for duration in presets:
            self.addItem(preset_label(duration), parse_duration(duration))
        self.addItem(CUSTOM, None)
        self._range = TimeRange(parse_duration(initial))
        self.setCurrentIndex(presets.index(initial))
        self._last_index = self.currentIndex()
        self.activated.connect(self._activated)

    @property
    def time_range(self) -> TimeRange:
        return self._range

    def set_range(self, time_range: TimeRange) -> None:
        self._range = time_range
        if time_range.relative:
            index = self.findData(time_range.span)
            if index < 0:
                self.insertItem(
                    self.count() - 1, preset_label(format_duration(time_range.span)), time_range.span
                )
                index = self.findData(time_range.span)
        else:
            index = self.count() - 1
            self.setItemText(index, time_range.text)
        self.setCurrentIndex(index)
        self._last_index = index
        self.changed.emit(time_range)

    def _activated(self, index: int) -> None:
        span = self.itemData(index)
        if span is not None:
            self.setItemText(self.count() - 1, CUSTOM)
            self.set_range(TimeRange(float(span)))
            return
        dialog = CustomRangeDialog(self._range, self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.result_range is not None:
            self.set_range(dialog.result_range)
        else:
            self.setCurrentIndex(self._last_index)


class CustomRangeDialog(QDialog):
    """From and to, as local date and time; to must come after from."""

    def __init__(self, current: TimeRange, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Custom time range")
        self.result_range: TimeRange | None = None
        start, end = current.bounds()
        self.start_edit = QDateTimeEdit(QDateTime.fromSecsSinceEpoch(int(start)))
        self.end_edit = QDateTimeEdit(QDateTime.fromSecsSinceEpoch(int(end)))
        for edit in (self.start_edit, self.end_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
        self.problem = QLabel("")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("From", self.start_edit)
        form.addRow("To", self.end_edit)
        form.addRow(self.problem)
        form.addRow(buttons)

    def _accept(self) -> None:
        start = self.start_edit.dateTime().toSecsSinceEpoch()
        end = self.end_edit.dateTime().toSecsSinceEpoch()
        if end <= start:
            self.problem.setText("“To” must come after “From”.")
            return
        self.result_range = TimeRange(float(end - start), float(start), float(end))
        self.accept()
