"""What a panel draws, built off the GUI thread: series as float64 arrays ready for ``setData``.

Both sources end here, through the core's ``metrics.panels`` (:func:`from_core`): a Prometheus
panel's query results or a direct scrape's ring buffers. Infinite values become NaN (a gap: pyqtgraph cannot scale an axis
to infinity) and are counted, with the NaNs, into a note the panel shows; a result without a single
drawable point becomes the panel's message instead of an empty chart.

A missing sample is no NaN: Prometheus' matrices and a direct scrape leave it out, and a line drawn
through the hole would show a ramp that never happened. :func:`drawable` puts a NaN where the time
between two points exceeds :data:`GAP_STEPS` steps (the query's step, or the scrape interval), so the
line breaks there and a value left alone gets its dot. It is done when drawing, so the CSV export and
the crosshair keep the samples as they came.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ...metrics import panels
from ...metrics.api import FloatArray

# Points further apart than this many steps have samples missing between them. Two, not one: scrape
# times jitter, and Prometheus' lookback fills a single missed scrape at the query's step.
GAP_STEPS = 2.0


@dataclass(slots=True)
class SeriesData:
    name: str
    x: FloatArray  # Unix seconds
    y: FloatArray  # finite values, NaN for gaps
    has_gaps: bool = False


@dataclass(slots=True)
class PanelData:
    """One refresh of one panel: its series, the step and point count, notes and an optional message
    (shown instead of the chart: "no data", "only NaN")."""

    series: list[SeriesData]
    start: float
    end: float
    step_text: str = ""
    points: int = 0
    notes: list[str] = field(default_factory=list)
    message: str = ""
    message_kind: str = "info"  # "info" (no data) or "error" (a scrape that failed: old points stay)
    step_warning: str = ""
    spacing: float = 0.0  # seconds between samples (step or scrape interval); 0: unknown, no gaps found


def clean(values: FloatArray) -> tuple[FloatArray, int, int, int]:
    """``values`` with infinities turned into NaN; the counts of NaN, +Inf and -Inf in the original."""
    finite = np.isfinite(values)
    if finite.all():
        return values, 0, 0, 0
    nan = int(np.isnan(values).sum())
    pos = int(np.isposinf(values).sum())
    neg = int(np.isneginf(values).sum())
    out = np.where(finite, values, np.nan)
    return out, nan, pos, neg


def nonfinite_note(nan: int, pos: int, neg: int) -> str:
    parts = [f"{n} {what}" for n, what in ((nan, "NaN"), (pos, "+Inf"), (neg, "-Inf")) if n]
    if not parts:
        return ""
    return f"{', '.join(parts)} value{'s' if nan + pos + neg > 1 else ''} not drawn (shown as gaps)"


def build(
    named: Iterable[tuple[str, FloatArray, FloatArray]], start: float, end: float, empty_message: str
) -> PanelData:
    """PanelData from (name, times, values) triples, with NaN/Inf counted and the no-data cases worded."""
    series: list[SeriesData] = []
    seen: dict[str, int] = {}
    nan = pos = neg = points = finite_points = 0
    for name, x, y in named:
        # Two series with one legend name would share a toggle: number the later ones.
        count = seen.get(name, 0)
        seen[name] = count + 1
        y_clean, n, p, m = clean(y)
        nan, pos, neg = nan + n, pos + p, neg + m
        points += len(y)
        finite_points += len(y) - n - p - m
        series.append(SeriesData(f"{name} ({count + 1})" if count else name, x, y_clean, bool(n or p or m)))
    series.sort(key=lambda s: s.name)
    data = PanelData(series, start, end, points=points)
    note = nonfinite_note(nan, pos, neg)
    if not series:
        data.message = empty_message
    elif points == 0:  # series, but no sample of any in the range: nothing was NaN
        data.message = f"No points to draw: {len(series)} series, none with a sample in this range"
    elif finite_points == 0:
        data.message = f"No value to draw: all {points} point{'s' if points != 1 else ''} are NaN or ±Inf"
    elif note:
        data.notes.append(note)
    return data


def drawable(x: FloatArray, y: FloatArray, spacing: float) -> tuple[FloatArray, FloatArray, bool]:
    """``x`` and ``y`` with a NaN one ``spacing`` after each point followed by a hole in time (more than
    :data:`GAP_STEPS` spacings), and whether there was one; the arrays themselves when there is none."""
    if spacing <= 0 or len(x) < 2:
        return x, y, False
    before = np.flatnonzero(np.diff(x) > GAP_STEPS * spacing)
    if not before.size:
        return x, y, False
    return np.insert(x, before + 1, x[before] + spacing), np.insert(y, before + 1, np.nan), True


def from_core(
    core: panels.PanelData,
    start: float,
    end: float,
    empty_message: str,
    *,
    cut: bool = False,
    spacing: float | None = None,
) -> PanelData:
    """The view's PanelData from the core's (``metrics.panels``): a failed query becomes the panel's
    error message, kept beside whatever series there are (a direct scrape's older points stay drawn);
    ``cut`` keeps only the points within [start, end] (ring buffers hold more than the range).
    ``spacing`` is the time between samples (the scrape interval); by default the query's step."""
    named = []
    for s in core.series:
        x, y = s.timestamps, s.values
        if cut:
            lo, hi = int(np.searchsorted(x, start, side="left")), int(np.searchsorted(x, end, side="right"))
            x, y = x[lo:hi], y[lo:hi]
        named.append((s.name, x, y))
    data = build(named, start, end, empty_message)
    if core.error:
        data.message, data.message_kind = core.error, "error"
    data.notes.extend(f"Prometheus: {w}" for w in core.warnings)
    if core.step is not None:
        data.step_text = core.step.text
        data.step_warning = panels.step_warning(core.step)
    data.spacing = spacing if spacing is not None else (core.step.step if core.step is not None else 0.0)
    return data


def shorten(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
