"""The step a range query asks for: one point per pixel, within Prometheus' limits, never finer than
the data.

Rules (docs/metrics.md): start from ``range / pixel width`` (one point per pixel column: a finer step
only draws points on top of each other, a coarser one starts hiding short spikes); never more than
11,000 points per series (Prometheus refuses more); never below the scrape interval (a finer step
repeats the same sample); then round *up* to a human step (15s, 1m, 5m...) so the axis and the
legend read well and consecutive refreshes hit the same cache-friendly alignment.

``rate_interval`` is Grafana's ``$__rate_interval``: the window ``rate()`` needs so that every step
sees at least two samples (max(step + scrape interval, 4 x scrape interval)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .durations import format_duration

MAX_POINTS = 11_000
DEFAULT_SCRAPE_INTERVAL = 15.0
# Seconds. Round steps a person reads at a glance; the last ones cover multi-year ranges.
HUMAN_STEPS = (
    0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 20, 30,
    60, 120, 300, 600, 900, 1200, 1800,
    3600, 7200, 10800, 21600, 43200,
    86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400,
)  # fmt: skip


@dataclass(slots=True, frozen=True)
class StepChoice:
    """The step a panel uses and why, for its footer ("step 15s, 241 points")."""

    step: float
    points: int
    scrape_interval: float
    limited_by: str  # "pixels", "max points" or "scrape interval"

    @property
    def text(self) -> str:
        return format_duration(self.step)


def round_step(seconds: float) -> float:
    """The smallest human step at or above ``seconds`` (whole days beyond the table)."""
    for candidate in HUMAN_STEPS:
        if candidate >= seconds - 1e-9:
            return float(candidate)
    return float(math.ceil(seconds / 86400) * 86400)


def points_for(range_seconds: float, step: float) -> int:
    """How many points a range query returns per series: Prometheus includes both ends."""
    return math.floor(range_seconds / step + 1e-9) + 1


def choose_step(
    range_seconds: float,
    width_px: int,
    scrape_interval: float | None = None,
    *,
    max_points: int = MAX_POINTS,
) -> StepChoice:
    """The step for a ``range_seconds`` long query drawn ``width_px`` pixels wide (see module doc)."""
    if range_seconds <= 0:
        raise ValueError("range_seconds must be positive")
    interval = scrape_interval if scrape_interval and scrape_interval > 0 else DEFAULT_SCRAPE_INTERVAL
    candidates = {
        "pixels": range_seconds / max(1, width_px),
        "max points": range_seconds / (max_points - 1),
        "scrape interval": interval,
    }
    limited_by = max(candidates, key=lambda k: candidates[k])
    step = round_step(candidates[limited_by])
    # Rounding up can only lower the point count, so the cap still holds.
    return StepChoice(step, points_for(range_seconds, step), interval, limited_by)


def rate_interval(step: float, scrape_interval: float | None = None) -> float:
    """Grafana's ``$__rate_interval``: the ``rate()`` window that sees two samples at every step."""
    interval = scrape_interval if scrape_interval and scrape_interval > 0 else DEFAULT_SCRAPE_INTERVAL
    return max(step + interval, 4 * interval)


def expand_variables(expr: str, step: float, scrape_interval: float | None = None) -> str:
    """``expr`` with Grafana's ``$__rate_interval`` and ``$__interval`` replaced by durations."""
    return expr.replace("$__rate_interval", format_duration(rate_interval(step, scrape_interval))).replace(
        "$__interval", format_duration(step)
    )
