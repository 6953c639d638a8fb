"""The value axis of a panel: ticks written in the panel's unit (bytes as KiB/MiB, seconds as ms,
percent, per second) with the same formatter as legends and the crosshair."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg

from ...metrics.units import format_value


class UnitAxis(pg.AxisItem):  # type: ignore[misc]
    def __init__(self, unit: str, **kwargs: Any) -> None:
        super().__init__("left", **kwargs)
        self.unit = unit
        self.enableAutoSIPrefix(False)  # the unit formatter picks prefixes itself

    def set_unit(self, unit: str) -> None:
        self.unit = unit
        self.picture = None
        self.update()

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [format_value(v * scale, self.unit) for v in values]
