"""Colours and time ticks the trace view's painters share (ruler, minimap, waterfall, scatter).

Service colours are a fixed qualitative palette (Tableau 20's darker half, then its lighter half),
given out in the order services first appear in the trace, so the root's service is always blue and
the same trace looks the same each time it is opened. Dark mode uses the same hues a little lighter.
"""

from __future__ import annotations

import math
from functools import cache

from PySide6.QtGui import QColor, QPalette

from ...traces.render import format_duration

__all__ = ["ROW_HEIGHT", "error_color", "is_dark", "service_color", "ticks", "warning_color"]

ROW_HEIGHT = 22

_PALETTE = (
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#e15759", "#9c755f",
    "#bab0ac", "#ff9da7", "#86bcb6", "#8cd17d", "#b6992d", "#499894", "#d37295", "#a0cbe8",
    "#ffbe7d", "#f1ce63", "#d4a6c8", "#79706e",
)  # fmt: skip


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


@cache
def service_color(index: int, dark: bool) -> QColor:
    color = QColor(_PALETTE[index % len(_PALETTE)])
    return color.lighter(115) if dark else color


def error_color(dark: bool) -> QColor:
    return QColor("#ff6b60" if dark else "#c62828")


def warning_color(dark: bool) -> QColor:
    return QColor("#e3b341" if dark else "#9a6700")


def ticks(start_us: float, end_us: float, width_px: int, min_gap_px: int = 90) -> list[tuple[float, str]]:
    """(µs, label) of round time marks between ``start_us`` and ``end_us`` for ``width_px`` pixels:
    1, 2 or 5 times a power of ten, at least ``min_gap_px`` apart."""
    span = end_us - start_us
    if span <= 0 or width_px <= 0:
        return []
    raw = span * min_gap_px / width_px
    power = 10 ** math.floor(math.log10(max(raw, 1e-9)))
    step = next((m * power for m in (1, 2, 5, 10) if m * power >= raw), 10 * power)
    step = max(step, 1.0)
    first = math.ceil(start_us / step) * step
    out = []
    t = first
    while t <= end_us + 1e-9:
        out.append((t, format_duration(round(t)) if t else "0"))
        t += step
    return out
