"""Where a dashboard's data comes from, as coroutines the page runs on ``context.bridge``.

- :class:`PrometheusSource`: range queries on a Prometheus-compatible API, one job per panel (so a
  panel's error stays in that panel), the step from the panel's pixel width (``metrics.step``), the
  firing and pending alerts, and the names the panel editor completes;
- :class:`ScrapeSource`: one /metrics endpoint scraped directly (``metrics.scraper``) into ring
  buffers; each scrape feeds every panel and returns what each one draws.

Everything here runs on the bridge's loop thread, including turning results into numpy arrays and
legend names: the GUI thread only calls ``setData``.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence

import httpx

from ... import net
from ...metrics import exposition
from ...metrics.api import Alert, PrometheusAPI
from ...metrics.commands import uses_sign_in
from ...metrics.dashboard import Panel
from ...metrics.durations import format_duration
from ...metrics.errors import MetricsError
from ...metrics.legend import format_legend
from ...metrics.scraper import DirectScraper
from ...metrics.step import StepChoice, choose_step, expand_variables
from ..shell.context import PageContext
from . import data as panel_data
from .data import PanelData

# A step this many times the scrape interval averages away spikes shorter than the step: say so.
STEP_WARNING_RATIO = 10
# Direct scrape: keep a day of points, at most this many per series (memory: 16 bytes a point).
MAX_RING = 20_000


def open_client(context: PageContext, url: str) -> httpx.AsyncClient:
    """A client for ``url``: with the sign-in's token only when the URL belongs to the system the
    profile signs in to (never to a third-party Prometheus), else the console's plain client."""
    profile = context.profile
    if profile is not None and context.session is not None and uses_sign_in(profile, url):
        client = context.client(url)
        if client is not None:
            return client
    return net.build_client(profile, base_url=url)


def step_warning(choice: StepChoice) -> str:
    if choice.step < STEP_WARNING_RATIO * choice.scrape_interval:
        return ""
    return (
        f"The step ({choice.text}) is {choice.step / choice.scrape_interval:.0f}x the scrape interval "
        f"({format_duration(choice.scrape_interval)}): spikes shorter than the step can be averaged "
        "away. Narrow the time range, or use max_over_time(...[$__interval]) to keep peaks."
    )


class PrometheusSource:
    mode = "prometheus"

    def __init__(self, client: httpx.AsyncClient, url: str, *, timeout: float = 30.0) -> None:
        self.client = client
        self.url = url
        self.api = PrometheusAPI(client, url, timeout=timeout)
        self._interval: float | None = None
        self._interval_known = False
        self._interval_lock: asyncio.Lock | None = None

    async def scrape_interval(self) -> float | None:
        """The server's scrape interval, asked once (None when it does not say)."""
        if self._interval_lock is None:
            self._interval_lock = asyncio.Lock()
        async with self._interval_lock:
            if not self._interval_known:
                try:
                    self._interval = await self.api.scrape_interval()
                except MetricsError:
                    return None  # asked again next time: the server may be back
                self._interval_known = True
        return self._interval

    async def fetch_panel(self, panel: Panel, start: float, end: float, width_px: int) -> PanelData:
        """One refresh of ``panel``: every query at the step its width calls for (raises MetricsError)."""
        if not panel.queries:
            raise MetricsError(
                "This panel has no PromQL query (it only has a direct-scrape form)", kind="none"
            )
        interval = await self.scrape_interval()
        choice = choose_step(end - start, width_px, interval)
        exprs = [expand_variables(q.expr, choice.step, interval) for q in panel.queries]
        results = await asyncio.gather(*(self.api.query_range(e, start, end, choice.step) for e in exprs))
        data = panel_data.from_query_results(
            [(r, q.legend) for r, q in zip(results, panel.queries, strict=True)],
            start,
            end,
            [q.expr for q in panel.queries],
        )
        data.step_text = choice.text
        data.step_warning = step_warning(choice)
        return data

    async def alerts(self) -> list[Alert]:
        return await self.api.alerts()

    async def metric_names(self) -> list[str]:
        return sorted(await self.api.label_values("__name__"))

    async def label_names(self, metric: str = "") -> list[str]:
        return sorted(await self.api.label_names([metric] if metric else ()))

    async def label_values(self, label: str, metric: str = "") -> list[str]:
        return sorted(await self.api.label_values(label, [metric] if metric else ()))

    async def close(self) -> None:
        await self.client.aclose()


class ScrapeSource:
    """Direct-scrape mode: ``url`` scraped every ``interval`` seconds for the panels' scrape forms."""

    mode = "scrape"

    def __init__(
        self, client: httpx.AsyncClient, url: str, panels: Sequence[Panel], *, interval: float
    ) -> None:
        self.client = client
        self.url = url
        self.interval = interval
        self.legends = {p.id: p.scrape_legend for p in panels if p.scrape is not None}
        capacity = max(60, min(MAX_RING, math.ceil(86400 / interval)))
        specs = {p.id: p.scrape for p in panels if p.scrape is not None}
        self.scraper = DirectScraper(client, url, specs, interval=interval, capacity=capacity)

    async def scrape(self, start: float | None, end: float | None, span: float) -> dict[str, PanelData]:
        """Scrape once and return what each panel draws over [start, end] (None: the last ``span``
        seconds up to now); a failed scrape or a missing metric is the panel's ``error``."""
        update = await self.scraper.scrape_once()
        if end is None or start is None:
            end = time.time()
            start = end - span
        out = {}
        for panel_id, transform in self.scraper.panels.items():
            legend = self.legends.get(panel_id, "")
            named = [(format_legend(legend, b.labels), *b.ring.arrays()) for b in transform.series.values()]
            data = panel_data.from_rings(named, start, end, transform.spec.metric)
            data.step_text = f"scrape {format_duration(self.interval)}"
            error = update.errors.get(panel_id)
            if error:
                data.message, data.message_kind = error, "error"
            out[panel_id] = data
        return out

    async def _families(self) -> list[exposition.Family]:
        return await exposition.scrape(self.client, self.url)

    async def metric_names(self) -> list[str]:
        names = set()
        for family in await self._families():
            names.add(family.name)
            names.update(s.name for s in family.samples)
        return sorted(names)

    async def label_names(self, metric: str = "") -> list[str]:
        return sorted(
            {
                k
                for f in await self._families()
                for s in f.samples
                if not metric or s.name == metric
                for k in s.labels
            }
        )

    async def label_values(self, label: str, metric: str = "") -> list[str]:
        return sorted(
            {
                s.labels[label]
                for f in await self._families()
                for s in f.samples
                if label in s.labels and (not metric or s.name == metric)
            }
        )

    async def close(self) -> None:
        await self.client.aclose()
