"""What a panel is given to draw (ui/metrics/data.py): the no-data cases worded apart, and missing
samples (a break in time, not a NaN) drawn as gaps."""

from __future__ import annotations

import numpy as np

from opsconsole.metrics import panels
from opsconsole.metrics.step import StepChoice
from opsconsole.ui.metrics.data import build, drawable, from_core

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


def test_missing_samples_break_the_line_where_they_are_missing() -> None:
    # Prometheus (and a direct scrape) leaves a missing sample out instead of sending NaN: a break in
    # time longer than about two steps is a gap, drawn as one.
    x = T0 + np.array([0, 15, 30, 330, 600, 615], dtype=np.float64)
    y = np.array([1, 2, 3, 4, 5, 6], dtype=np.float64)
    dx, dy, broken = drawable(x, y, 15)
    assert broken
    assert (dx - T0).tolist() == [0, 15, 30, 45, 330, 345, 600, 615]
    assert np.isnan(dy[[3, 5]]).all() and dy[[0, 1, 2, 4, 6, 7]].tolist() == [1, 2, 3, 4, 5, 6]
    # Jitter and a single missed scrape's worth (under 2 steps) are not gaps; no spacing known, none.
    jittery = T0 + np.array([0, 15.4, 29.8, 55, 70], dtype=np.float64)
    assert drawable(jittery, np.ones(5), 15)[2] is False
    assert drawable(x, y, 0)[2] is False


def test_the_spacing_is_the_step_or_the_scrape_interval() -> None:
    x = T0 + np.array([0, 15, 300], dtype=np.float64)
    series = [panels.NamedSeries("a", {}, x, np.ones(3))]
    step = StepChoice(step=15, points=41, scrape_interval=15, limited_by="scrape interval")
    prometheus = from_core(panels.PanelData("p", series, step=step), T0, T0 + 600, "no data")
    assert prometheus.spacing == 15 and prometheus.points == 3 and prometheus.notes == []
    scraped = from_core(panels.PanelData("p", series), T0, T0 + 600, "none", spacing=5)
    assert scraped.spacing == 5
