"""The value axis of a panel: ticks written in the panel's unit (bytes as KiB/MiB, seconds as ms,
percent, per second) with the same formatter as legends and the crosshair."""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg  # type: ignore[import-untyped]

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

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:
        """Bytes on binary steps (256 MiB, 512 MiB, 1 GiB...) so the labels read as round numbers."""
        span = maxVal - minVal
        if self.unit != "bytes" or not span > 0 or not math.isfinite(span):
            return super().tickSpacing(minVal, maxVal, size)
        wanted = max(2, int(size / 60))  # about one label per 60 px
        spacing = 2.0 ** math.ceil(math.log2(span / wanted))
        return [(spacing, 0.0), (spacing / 2, 0.0)]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [format_value(v * scale, self.unit) for v in values]
