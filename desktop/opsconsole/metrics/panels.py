"""What a dashboard's panels draw: named series, the step and point count, and a message per panel.

``fetch_dashboard`` runs every panel's queries at once (Prometheus mode); ``from_scraper`` reads the
direct-scrape ring buffers. A panel whose query fails gets its message and the others their data: one
bad panel never blanks the dashboard. Everything here is plain data for the views to draw.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx
import numpy as np

from .api import FloatArray, PrometheusAPI, QueryResult
from .dashboard import Dashboard, Panel
from .durations import format_duration, parse_duration
from .errors import MetricsError
from .incremental import RangeCache
from .legend import format_legend
from .scraper import DEFAULT_CAPACITY, DirectScraper
from .step import StepChoice, choose_step, expand_variables

# A step this many times the scrape interval averages away spikes shorter than the step.
COARSE_STEP_FACTOR = 10


@dataclass(slots=True)
class NamedSeries:
    name: str
    labels: dict[str, str]
    timestamps: FloatArray
    values: FloatArray


@dataclass(slots=True)
class PanelData:
    """One panel's data: its series, the step used (Prometheus mode), and messages to show."""

    panel_id: str
    series: list[NamedSeries] = field(default_factory=list)
    step: StepChoice | None = None
    error: str = ""
    warnings: list[str] = field(default_factory=list)
    window: tuple[float, float] | None = None  # the range queried, on the step's grid (align)

    @property
    def points(self) -> int:
        return sum(len(s.values) for s in self.series)

    @property
    def empty(self) -> bool:
        return not self.series and not self.error


def step_warning(choice: StepChoice) -> str:
    """Why a chart may hide short spikes, or "" when the step is close to the scrape interval."""
    if choice.step < COARSE_STEP_FACTOR * choice.scrape_interval:
        return ""
    return (
        f"step {format_duration(choice.step)} is {choice.step / choice.scrape_interval:.0f}x the scrape "
        f"interval ({format_duration(choice.scrape_interval)}): spikes shorter than the step may not "
        "show; narrow the range, or use max_over_time() to keep them"
    )


def align(start: float, end: float, step: float) -> tuple[float, float]:
    """[start, end] widened to multiples of ``step``: refreshes then evaluate at the same timestamps,
    so a point means the same from one refresh to the next, and an incremental refresh's new points
    fall on the kept points' grid (``metrics.incremental``). The end goes up, not down, so the newest
    samples are in the last point (Prometheus evaluates a time after the last sample with its
    lookback, as for the present)."""
    return math.floor(start / step) * step, math.ceil(end / step) * step


async def fetch_panel(
    api: PrometheusAPI,
    panel: Panel,
    start: float,
    end: float,
    width_px: int,
    scrape_interval: float | None,
    *,
    cache: RangeCache | None = None,
    reload: bool = False,
) -> PanelData:
    """Run ``panel``'s queries for [start, end] (aligned to the step) drawn ``width_px`` wide; never
    raises MetricsError. With ``cache``, a refresh asks only for the window's new part where it can
    (``metrics.incremental``); ``reload`` asks for the whole window."""
    choice = choose_step(end - start, width_px, scrape_interval)
    data = PanelData(panel.id, step=choice)
    exprs = [expand_variables(q.expr, choice.step, choice.scrape_interval) for q in panel.queries]
    first, last = align(start, end, choice.step)
    data.window = (first, last)
    queries = (
        api.query_range(expr, first, last, choice.step)
        if cache is None
        else cache.query_range(
            api, (panel.id, i), expr, first, last, choice.step, span=end - start, reload=reload
        )
        for i, expr in enumerate(exprs)
    )
    results = await asyncio.gather(*queries, return_exceptions=True)
    errors = []
    for query, result in zip(panel.queries, results, strict=True):
        if isinstance(result, MetricsError):
            errors.append(result.message)
            continue
        if isinstance(result, BaseException):
            raise result
        data.warnings.extend(w for w in result.warnings if w not in data.warnings)
        data.series.extend(_named(result, query.legend))
    # Several queries failing the same way (Prometheus down) read as one message.
    data.error = "; ".join(dict.fromkeys(errors))
    return data


def _named(result: QueryResult, legend: str) -> list[NamedSeries]:
    return [
        NamedSeries(format_legend(legend, s.labels), s.labels, s.timestamps, s.values) for s in result.series
    ]


async def fetch_dashboard(
    api: PrometheusAPI,
    dashboard: Dashboard,
    start: float,
    end: float,
    widths: Mapping[str, int],
    scrape_interval: float | None,
) -> dict[str, PanelData]:
    """Every panel with queries, fetched at once; ``widths`` are the panels' plot widths in pixels."""
    panels = [p for p in dashboard.panels if p.queries]
    fetched = await asyncio.gather(
        *(fetch_panel(api, p, start, end, widths.get(p.id, 800), scrape_interval) for p in panels)
    )
    return {data.panel_id: data for data in fetched}


def scraper_for(
    client: httpx.AsyncClient, url: str, dashboard: Dashboard, *, capacity: int = DEFAULT_CAPACITY
) -> DirectScraper:
    """A direct scraper of ``url`` for the dashboard's panels that have a scrape form."""
    specs = {p.id: p.scrape for p in dashboard.panels if p.scrape is not None}
    interval = parse_duration(dashboard.scrape_interval)
    return DirectScraper(client, url, specs, interval=interval, capacity=capacity)


def from_scraper(
    scraper: DirectScraper, dashboard: Dashboard, errors: Mapping[str, str | None]
) -> dict[str, PanelData]:
    """The direct-scrape buffers as panel data (copies: safe to hand to the GUI thread)."""
    out: dict[str, PanelData] = {}
    for panel in dashboard.panels:
        transform = scraper.panels.get(panel.id)
        if transform is None:
            continue
        data = PanelData(panel.id, error=errors.get(panel.id) or "")
        for buffered in transform.series.values():
            times, values = buffered.ring.arrays()
            name = format_legend(panel.scrape_legend, buffered.labels)
            data.series.append(NamedSeries(name, buffered.labels, times, values))
        data.series.sort(key=lambda s: s.name)
        out[panel.id] = data
    return out


def finite_range(series: list[NamedSeries]) -> tuple[float, float] | None:
    """The smallest and largest finite value across ``series`` (for the y axis), or None."""
    lows, highs = [], []
    for s in series:
        finite = s.values[np.isfinite(s.values)]
        if finite.size:
            lows.append(float(finite.min()))
            highs.append(float(finite.max()))
    return (min(lows), max(highs)) if lows else None
