"""What a panel is given to draw (ui/metrics/data.py): the no-data cases worded apart."""

from __future__ import annotations

import numpy as np

from opsconsole.ui.metrics.data import build

T0 = 1_800_000_000.0
EMPTY = np.empty(0, dtype=np.float64)


def test_series_without_points_are_not_called_all_nan() -> None:
    data = build([("a", EMPTY, EMPTY), ("b", EMPTY, EMPTY)], T0, T0 + 600, "no data")
    assert data.message == "No points to draw: 2 series, none with a sample in this range"
    assert "NaN" not in data.message


def test_points_that_are_all_nan_say_so() -> None:
    x = T0 + np.arange(3, dtype=np.float64) * 15
    data = build([("a", x, np.array([np.nan, np.inf, np.nan]))], T0, T0 + 600, "no data")
    assert data.message == "No value to draw: all 3 points are NaN or ±Inf"
