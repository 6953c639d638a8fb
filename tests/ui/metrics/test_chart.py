"""The drawing of a panel's series: a value standing alone between gaps (or at an edge next to one, or a
series of one point) is drawn as a dot, since a line needs two neighbouring points and would leave it
invisible; the pixels of a grabbed panel show it."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtGui import QColor, QImage

from opsconsole.metrics.dashboard import Layout, Panel
from opsconsole.ui.metrics.chart import COLORS, PanelView
from opsconsole.ui.metrics.data import build

NAN = np.nan
T0 = 1_800_000_000.0


def panel_view(qtbot: Any) -> PanelView:
    view = PanelView(Panel(id="p", title="Spikes", layout=Layout(0, 0, 12, 4)))
    qtbot.addWidget(view)
    view.resize(640, 320)
    view.show()
    qtbot.waitExposed(view)
    return view


def show(view: PanelView, *series: tuple[str, list[float]]) -> None:
    named = [
        (name, T0 + np.arange(len(y), dtype=np.float64) * 15, np.array(y, dtype=np.float64))
        for name, y in series
    ]
    view.show_data(build(named, T0, T0 + 15 * max(len(y) for _, y in series), "no data"))


def dots(view: PanelView, name: str) -> list[tuple[float, float]]:
    item = view.dots(name)
    if item is None or not item.isVisible():
        return []
    x, y = item.getData()
    return [(float(a), float(b)) for a, b in zip(x, y, strict=True)]


def pixels_of(view: PanelView, color: str) -> int:
    """How many pixels of the plot are drawn in ``color`` (exactly: curves and dots are not antialiased)."""
    image = view.plot.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    width, height = image.width(), image.height()
    raw = np.frombuffer(image.constBits(), dtype=np.uint32, count=image.bytesPerLine() // 4 * height)
    pixels = raw.reshape(height, image.bytesPerLine() // 4)[:, :width]
    return int((pixels == (QColor(color).rgb() & 0xFFFFFFFF)).sum())


def test_a_value_between_two_gaps_is_visible(qtbot: Any) -> None:
    view = panel_view(qtbot)
    show(view, ("spike", [NAN, NAN, 5.0, NAN, NAN]))
    assert dots(view, "spike") == [(T0 + 30, 5.0)]
    assert pixels_of(view, COLORS[0]) >= 9  # a dot, not a stray pixel


def test_only_points_without_a_finite_neighbour_get_a_dot(qtbot: Any) -> None:
    view = panel_view(qtbot)
    # Index 3 stands between gaps; index 9 is last after a gap; 0 and 6 start lines that are drawn.
    show(view, ("s", [1.0, 2.0, NAN, 5.0, NAN, NAN, 3.0, 4.0, NAN, 7.0]), ("flat", [1.0, 1.0, 1.0]))
    assert dots(view, "s") == [(T0 + 45, 5.0), (T0 + 135, 7.0)]
    assert dots(view, "flat") == []
    # A lone first point after which the series goes dark is isolated too.
    show(view, ("s", [4.0, NAN, 2.0, 3.0]), ("flat", [1.0, 1.0, 1.0]))
    assert dots(view, "s") == [(T0, 4.0)]


def test_a_series_of_one_point_is_a_dot(qtbot: Any) -> None:
    view = panel_view(qtbot)
    show(view, ("one", [3.0]))
    assert dots(view, "one") == [(T0, 3.0)]
    assert pixels_of(view, COLORS[0]) >= 9


def test_dots_follow_the_series_toggle_and_the_next_refresh(qtbot: Any) -> None:
    view = panel_view(qtbot)
    show(view, ("spike", [NAN, 5.0, NAN]))
    view.set_series_visible("spike", False)
    assert pixels_of(view, COLORS[0]) == 0
    view.set_series_visible("spike", True)
    assert pixels_of(view, COLORS[0]) >= 9
    # The gap filled in: a line now, and no dot left over from the last refresh.
    show(view, ("spike", [4.0, 5.0, 6.0]))
    assert dots(view, "spike") == []
    # A series that went away takes its dots along.
    show(view, ("other", [1.0, 2.0]))
    assert view.dots("spike") is None


def test_missing_samples_are_a_gap_not_a_ramp(qtbot: Any) -> None:
    # Samples at 0, 15, 30, then 330 alone, then 600 and 615: no line may cross the minutes between.
    view = panel_view(qtbot)
    x = T0 + np.array([0, 15, 30, 330, 600, 615], dtype=np.float64)
    data = build([("s", x, np.array([1, 1, 1, 5, 1, 1], dtype=np.float64))], T0, T0 + 630, "no data")
    data.spacing = 15
    view.show_data(data)
    assert dots(view, "s") == [(T0 + 330, 5.0)]  # the lone sample between the gaps is a dot
    drawn_x, drawn_y = view.curve("s").getData()
    assert np.isnan(drawn_y).sum() == 2 and len(drawn_x) == 8
