"""Where a dashboard's data comes from, as coroutines the page runs on ``context.bridge``.

- :class:`PrometheusSource`: range queries on a Prometheus-compatible API, one job per panel (so a
  panel's error stays in that panel), the step from the panel's pixel width (``metrics.step``), a
  refresh asking only for the window's new part (``metrics.incremental``, the dashboard's
  ``incremental`` setting), the firing and pending alerts, and the names the panel editor completes;
- :class:`ScrapeSource`: one /metrics endpoint scraped directly (``metrics.scraper``) into ring
  buffers; each scrape feeds every panel and returns what each one draws.

Everything here runs on the bridge's loop thread, including turning results into numpy arrays and
legend names: the GUI thread only calls ``setData``.
"""

from __future__ import annotations

import asyncio
import math
import time

import httpx

from ... import net_aiohttp
from ...metrics import exposition, panels
from ...metrics.api import Alert, PrometheusAPI
from ...metrics.commands import uses_sign_in
from ...metrics.dashboard import Dashboard, Panel
from ...metrics.durations import format_duration
from ...metrics.errors import MetricsError
from ...metrics.incremental import RangeCache
from ..shell.context import PageContext
from . import data as panel_data
from .data import PanelData

# Direct scrape: keep a day of points, at most this many per series (memory: 16 bytes a point).
MAX_RING = 20_000


def open_client(context: PageContext, url: str) -> httpx.AsyncClient:
    """A client for ``url``: with the sign-in's token only when the URL belongs to the system the
    profile signs in to (never to a third-party Prometheus), else the console's plain client sending
    with aiohttp (``net_aiohttp``: a dashboard's many small requests in a third of httpx's CPU)."""
    profile = context.profile
    if profile is not None and context.session is not None and uses_sign_in(profile, url):
        client = context.client(url)
        if client is not None:
            return client
    return net_aiohttp.build_client(profile, base_url=url)


class PrometheusSource:
    mode = "prometheus"

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        timeout: float = 30.0,
        ranges: RangeCache | None = None,
    ) -> None:
        self.client = client
        self.url = url
        self.api = PrometheusAPI(client, url, timeout=timeout)
        # The panels' last answers, for incremental refreshes (None: every refresh is a full query).
        # One per source: another server or profile starts with nothing kept.
        self.ranges = ranges
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

    async def fetch_panel(
        self,
        panel: Panel,
        start: float,
        end: float,
        width_px: int,
        *,
        reload: bool = False,
        live: bool = False,
    ) -> PanelData:
        """One refresh of ``panel``, every query at the step its width calls for (``metrics.panels``);
        a failed query is the panel's message, not an exception. ``reload``: the whole window, even
        where an incremental refresh would do. ``live``: the range ends now, and the chart reaches to
        the query's end (the step after now, whose point holds the newest samples); a fixed range is
        shown as given."""
        if not panel.queries:
            raise MetricsError(
                "This panel has no PromQL query (it only has a direct-scrape form)", kind="none"
            )
        interval = await self.scrape_interval()
        core = await panels.fetch_panel(
            self.api, panel, start, end, width_px, interval, cache=self.ranges, reload=reload
        )
        if live and core.window is not None:
            end = max(end, core.window[1])
        exprs = [q.expr for q in panel.queries]
        shown = exprs[0] if len(exprs) == 1 else f"these {len(exprs)} queries"
        return panel_data.from_core(
            core, start, end, f"No data: {panel_data.shorten(shown)} returned no series in this range"
        )

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

    def __init__(self, client: httpx.AsyncClient, url: str, dashboard: Dashboard, *, interval: float) -> None:
        self.client = client
        self.url = url
        self.interval = interval
        self.dashboard = dashboard
        capacity = max(60, min(MAX_RING, math.ceil(86400 / interval)))
        self.scraper = panels.scraper_for(client, url, dashboard, capacity=capacity)
        self.scraper.interval = interval

    async def scrape(self, start: float | None, end: float | None, span: float) -> dict[str, PanelData]:
        """Scrape once and return what each panel draws over [start, end] (None: the last ``span``
        seconds up to now); a failed scrape or a missing metric is the panel's error message."""
        update = await self.scraper.scrape_once()
        if end is None or start is None:
            end = time.time()
            start = end - span
        step = f"scrape {format_duration(self.interval)}"
        out = {}
        for panel_id, core in panels.from_scraper(self.scraper, self.dashboard, update.errors).items():
            metric = self.dashboard.panel(panel_id).scrape
            waiting = f"No data yet for {metric.metric if metric else panel_id}: waiting for scrapes"
            out[panel_id] = panel_data.from_core(core, start, end, waiting, cut=True, spacing=self.interval)
            out[panel_id].step_text = step
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
