"""Direct-scrape mode's loop: scrape one endpoint every ``interval`` seconds and feed each panel.

One fetch and one parse per scrape serve every panel. A failed scrape (endpoint down, a proxy's
error page, an exposition that does not parse) is reported to every panel and the loop goes on; a
panel whose metric is missing gets its own message while the others keep updating.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from . import exposition
from .errors import MetricsError
from .transform import PanelTransform, ScrapeSpec, index_families

DEFAULT_INTERVAL = 5.0
DEFAULT_CAPACITY = 720  # an hour at the default interval


@dataclass(slots=True)
class ScrapeUpdate:
    """The outcome of one scrape: when, each panel's message (None: it got new points), and how many
    samples of the panels' families were parsed."""

    time: float
    errors: dict[str, str | None] = field(default_factory=dict)
    samples: int = 0


class DirectScraper:
    """Scrapes ``url`` for the panels in ``specs`` (panel id -> scrape form) into ring buffers."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        specs: Mapping[str, ScrapeSpec],
        *,
        interval: float = DEFAULT_INTERVAL,
        capacity: int = DEFAULT_CAPACITY,
        timeout: float | None = None,
        clock: Callable[[], float] = time.time,
        select_families: bool = True,
    ) -> None:
        self.client = client
        self.url = url
        self.interval = interval
        self.timeout = timeout if timeout is not None else max(1.0, min(10.0, interval))
        self.clock = clock
        self.panels = {panel_id: PanelTransform(spec, capacity) for panel_id, spec in specs.items()}
        # None: parse every family (the benchmark's comparison; selection is always on otherwise).
        self._metrics = sorted({spec.metric for spec in specs.values()}) if select_families else None

    def ingest(self, body: bytes, content_type: str, t: float) -> ScrapeUpdate:
        """Parse one exposition and add its points to every panel (also what the benchmark times).
        Only the panels' families are parsed: an endpoint's other thousand families cost a line scan."""
        try:
            metrics = exposition.parse_metrics(body, content_type, only=self._metrics)
        except MetricsError as exc:
            return ScrapeUpdate(t, dict.fromkeys(self.panels, exc.message))
        families = index_families(metrics)
        update = ScrapeUpdate(t, samples=sum(len(m.samples) for m in metrics))
        for panel_id, panel in self.panels.items():
            update.errors[panel_id] = panel.ingest(families, t)
        return update

    async def scrape_once(self) -> ScrapeUpdate:
        t = self.clock()
        try:
            body, content_type = await exposition.fetch(self.client, self.url, limit_s=self.timeout)
        except MetricsError as exc:
            return ScrapeUpdate(t, dict.fromkeys(self.panels, exc.message))
        # Parsing a large exposition takes a while: off the event loop, so other work keeps going.
        return await asyncio.to_thread(self.ingest, body, content_type, t)

    async def run(self, on_update: Callable[[ScrapeUpdate], None], stop: asyncio.Event) -> None:
        """Scrape until ``stop`` is set, at a steady ``interval`` (a slow scrape shortens the wait)."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not stop.is_set():
            on_update(await self.scrape_once())
            next_at += self.interval
            delay = next_at - loop.time()
            if delay < 0:  # fell behind (slow endpoint): start again from now rather than bursting
                next_at, delay = loop.time(), 0.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
