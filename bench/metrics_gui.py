"""The Metrics page's drawing: a dashboard refresh against bare pyqtgraph, and panning a million points.

- ``refresh``: 8 panels x 10 series x 1,000 points, refreshed the way the page does it: range queries
  to a local HTTP server answering Prometheus' API (real sockets, real JSON as Prometheus writes it,
  generated for the range and step asked), run as a child process as a real Prometheus is
  (bench/_prometheus_server.py: served from a thread of this process, its writes took the GIL from
  the threads measured), parsed and transformed on the bridge's thread, ``setData`` on the GUI
  thread, and the page painted (``repaint``), at 1600x1200 offscreen. The panels ask for 1,000 points
  as 1,000-pixel-wide plots would (in two columns at 1600 px they are about 780 px wide and the step
  rule would halve the points), so the page gets exactly the points the baseline draws. Baseline,
  same run, interleaved: bare pyqtgraph, 8 PlotWidgets in a grid of the same size drawing the same
  arrays (``setData`` on existing curves, then the window painted). Target: at most 1.2x the
  baseline (issue 19). "Painted" is the event loop's repaint on both sides (events processed until
  the changed widgets are painted, as after a real refresh), with anything still queued from the
  previous round processed before the clock starts. (``grab()`` would also repaint what did not
  change: the page's legends, labels and toolbar, 25 ms of widget painting bare pyqtgraph does not
  have.) Three kinds:

  - ``fetched, parsed, drawn``: the same window again, fetched whole (what the first load costs);
  - ``incremental``: each round's window ends one refresh interval (:data:`MOVE`, 5 steps) later, as
    auto-refresh moves it, so the page asks only for the new part plus the overlap
    (``metrics.incremental``, 10 minutes: 125 of the 1,000 points a series); the baseline draws the
    moved window's arrays, which costs bare pyqtgraph about twice what drawing the same arrays
    again does (not broken down further here);
  - ``full: window moved``: the same moving rounds, each fetching the whole window (the Refresh
    button; every refresh before incremental queries), against the same kind of baseline.
- ``redraw``: the GUI thread's share of a refresh alone (``show_data`` of the data already fetched,
  then painted), against the same baseline; the difference between the two is the fetch and parse
  on the bridge's thread (JSON decoding and turning Prometheus' string values into float64). Its two
  big parts are then timed alone, against the same baseline: ``fetch`` (the 8 answers over HTTP with
  the client the page uses: httpx sending with aiohttp, ``net_aiohttp``; concurrently) and ``decode`` (the 8 bodies into arrays, results.py).
- ``pan``: one panel of 1,000,000 points showing a tenth of them, panned across in 60 steps, each
  frame ``setXRange`` + ``repaint``; max and p95 frame in ms. Target: frames under 33 ms. Baseline:
  bare pyqtgraph's default PlotDataItem (no clipping or downsampling) panned the same way.

Medians over ``OPSCONSOLE_BENCH_REPEAT`` rounds (default 7). The machine is shared: compare ratios.
"""

from __future__ import annotations

import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._prometheus_server import END, PANELS, POINTS, SERIES, START, STEP, series_values, timestamps
from bench.run import result

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SIZE = (1600, 1200)
PAN_POINTS, PAN_FRAMES = 1_000_000, 60
MOVE = 5 * STEP  # how far an incremental round moves the window: one auto-refresh interval
PLOT_PX = POINTS  # the width the panels ask their step for (see the module doc)


def _repeat() -> int:
    return max(1, int(os.environ.get("OPSCONSOLE_BENCH_REPEAT", "7")))


_result = functools.partial(result, digits=2)  # (name, value, baseline, unit="ms")


@contextmanager
def _server() -> Iterator[str]:
    """The fake Prometheus (bench/_prometheus_server.py) in a child process: its URL while it runs."""
    child = subprocess.Popen(
        [sys.executable, "-m", "bench._prometheus_server"],
        cwd=Path(__file__).resolve().parent.parent,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        ready = child.stdout.readline().split()
        if ready[:1] != ["READY"]:
            raise RuntimeError("the fake Prometheus did not start")
        yield f"http://127.0.0.1:{ready[1]}"
    finally:
        assert child.stdin is not None
        child.stdin.close()  # its signal to stop
        child.wait(timeout=10)


def _dashboard() -> Any:
    from opsconsole.metrics import dashboard as dashboards

    panels = [
        {
            "id": f"p{p}",
            "title": f"Panel {p}",
            "unit": "count",
            "layout": {"x": (p % 2) * 6, "y": (p // 2) * 4, "w": 6, "h": 4},
            "queries": [{"expr": f'bench{{panel="{p}"}}', "legend": "{{series}}"}],
        }
        for p in range(PANELS)
    ]
    return dashboards.from_json({"title": "bench", "panels": panels})


def _pump_until(app: Any, done: Any, timeout: float = 30.0) -> None:
    # Wait for events as the real event loop does (blocking, the GIL released): a busy processEvents()
    # loop would fight the bridge's thread for the GIL and measure itself.
    from PySide6.QtCore import QEventLoop

    deadline = time.monotonic() + timeout
    while not done():
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        if time.monotonic() > deadline:
            raise TimeoutError("the page did not refresh in time")


def _settle(app: Any) -> None:
    """Let the event loop paint what changed, as it would after a refresh (the scene's dirty items
    first, then the viewports' update requests)."""
    for _ in range(3):
        app.processEvents()


class _PageRig:
    """The real Metrics page on a PageContext with its own bridge, over the local server."""

    def __init__(self, app: Any, url: str) -> None:
        from opsconsole.config import ConfigSet, Profile
        from opsconsole.ui.metrics.page import MetricsPage
        from opsconsole.ui.shell.bridge import AsyncBridge
        from opsconsole.ui.shell.context import PageContext

        profile = Profile(
            name="bench", api_url="http://127.0.0.1:9/api", issuer="http://127.0.0.1:9", client_id="x",
            prometheus_url=url,
        )  # fmt: skip
        self.app = app
        self.bridge = AsyncBridge()
        context = PageContext(ConfigSet.in_memory(profile), bridge=self.bridge)
        context.set_profile(profile)
        self.page = MetricsPage(context)
        self.page.set_dashboard(_dashboard())
        self.page.refresh_combo.setCurrentIndex(0)
        self.page.resize(*SIZE)
        for view in self.page.views.values():
            view.plot_width = lambda: PLOT_PX  # type: ignore[method-assign]
        self.move_to(0.0)
        self.page.show()
        _pump_until(app, lambda: all(v.data is not None for v in self.page.views.values()))

    def move_to(self, shift: float) -> None:
        """A fixed range: the server's first window, ``shift`` seconds later (the step is STEP, the
        server's scrape interval)."""
        from opsconsole.ui.metrics.timerange import TimeRange

        self.page.range_picker._range = TimeRange(END - START, START + shift, END + shift)

    def refresh(self, *, reload: bool = True) -> float:
        pending = set(self.page.views)
        page = self.page

        def seen(panel_id: str) -> None:
            pending.discard(panel_id)

        page.panelUpdated.connect(seen)
        _settle(self.app)  # the last round's posted repaints are not this round's work
        start = time.perf_counter()
        page.refresh(force=True, reload=reload)
        _pump_until(self.app, lambda: not pending)
        _settle(self.app)
        elapsed = (time.perf_counter() - start) * 1000
        page.panelUpdated.disconnect(seen)
        return elapsed

    def redraw(self) -> float:
        """The GUI thread's part alone: the panels' last data drawn again (``show_data``) and painted."""
        _settle(self.app)
        views = list(self.page.views.values())
        start = time.perf_counter()
        for view in views:
            view.show_data(view.data)
        _settle(self.app)
        return (time.perf_counter() - start) * 1000

    def close(self) -> None:
        self.page.close()
        self.page.deleteLater()
        self.bridge.shutdown()


class _BareRig:
    """Bare pyqtgraph: 8 PlotWidgets in a grid of the same size, curves made once."""

    def __init__(self, app: Any) -> None:
        import pyqtgraph as pg
        from PySide6.QtWidgets import QGridLayout, QWidget

        self.app = app
        self.window = QWidget()
        grid = QGridLayout(self.window)
        self.curves: list[list[Any]] = []
        self.data = self.arrays(0.0)
        for p in range(PANELS):
            plot = pg.PlotWidget()
            grid.addWidget(plot, p // 2, p % 2)
            self.curves.append([plot.plot(pen=pg.intColor(s, SERIES)) for s in range(SERIES)])
        self.window.resize(*SIZE)
        self.window.show()
        self.draw()

    @staticmethod
    def arrays(shift: float) -> list[list[tuple[Any, Any]]]:
        """What the page draws for its window ``shift`` seconds after the first, per panel and series."""
        import numpy as np

        start, end = START + shift, END + shift
        x = np.array(timestamps(start, end))
        return [
            [(x, np.array(series_values(p, s, start, end))) for s in range(SERIES)] for p in range(PANELS)
        ]

    def draw(self, data: list[list[tuple[Any, Any]]] | None = None) -> float:
        _settle(self.app)
        start = time.perf_counter()
        for curves, panel in zip(self.curves, data or self.data, strict=True):
            for curve, (x, y) in zip(curves, panel, strict=True):
                curve.setData(x, y)
        _settle(self.app)
        return (time.perf_counter() - start) * 1000

    def close(self) -> None:
        self.window.close()
        self.window.deleteLater()


def _pan_frames(plot_widget: Any, view_box: Any, x0: float, x1: float) -> list[float]:
    width = (x1 - x0) / 10
    frames = []
    for i in range(PAN_FRAMES):
        left = x0 + (x1 - x0 - width) * i / (PAN_FRAMES - 1)
        start = time.perf_counter()
        view_box.setXRange(left, left + width, padding=0)
        plot_widget.grab()
        frames.append((time.perf_counter() - start) * 1000)
    return frames


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def bench_pan(app: Any) -> list[dict[str, Any]]:
    import numpy as np
    import pyqtgraph as pg

    from opsconsole.metrics.dashboard import Layout, Panel, Query
    from opsconsole.ui.metrics.chart import PanelView
    from opsconsole.ui.metrics.data import PanelData, SeriesData

    x = END - (PAN_POINTS - 1) + np.arange(PAN_POINTS, dtype=np.float64)
    y = np.cumsum(np.random.default_rng(1).normal(0, 1, PAN_POINTS)) + 1000
    view = PanelView(Panel("pan", "A million points", Layout(0, 0, 12, 4), queries=(Query("x"),)))
    view.resize(1600, 500)
    view.show()
    view.show_data(PanelData([SeriesData("series", x, y)], float(x[0]), float(x[-1]), points=PAN_POINTS))
    app.processEvents()
    bare = pg.PlotWidget()
    bare.resize(1600, 500)
    bare.show()
    bare.plot(x, y)
    app.processEvents()
    ours: list[float] = []
    base: list[float] = []
    for _ in range(max(1, _repeat() // 3)):
        ours += _pan_frames(view.plot, view.view_box, float(x[0]), float(x[-1]))
        base += _pan_frames(bare, bare.getPlotItem().getViewBox(), float(x[0]), float(x[-1]))
    view.close()
    bare.close()
    return [
        _result("pan 1M points: max frame", max(ours), max(base)),
        _result("pan 1M points: p95 frame", _p95(ours), _p95(base)),
        _result("pan 1M points: median frame", statistics.median(ours), statistics.median(base)),
    ]


def _bridge_parts(url: str) -> tuple[list[float], list[float]]:
    """The bridge thread's two big parts, each alone: the 8 answers fetched over HTTP (the page's
    client, concurrently, bodies read), and the 8 bodies decoded into float64 arrays."""
    import asyncio

    from opsconsole import net
    from opsconsole.metrics import results
    from opsconsole.net_aiohttp import AiohttpTransport

    params = [
        {"query": f'bench{{panel="{p}"}}', "start": str(START), "end": str(END), "step": str(STEP)}
        for p in range(PANELS)
    ]

    async def measure() -> tuple[list[float], list[float]]:
        transport = AiohttpTransport(net.ssl_context())  # as ui/metrics/source.py's open_client
        async with net.build_client(None, base_url=url, transport=transport) as client:

            async def fetch_all() -> list[bytes]:
                answers = await asyncio.gather(*(client.get("/api/v1/query_range", params=p) for p in params))
                return [answer.raise_for_status().content for answer in answers]

            await fetch_all()  # warm up: connections
            fetched, decoded = [], []
            for _ in range(_repeat()):
                start = time.perf_counter()
                bodies = await fetch_all()
                fetched.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                for body in bodies:
                    data = results.QUERY_ANSWER.decode(body).data
                    assert data is not None and len(results.series(data)) == SERIES
                decoded.append((time.perf_counter() - start) * 1000)
            return fetched, decoded

    return asyncio.run(measure())


def _moving_rounds(
    page: _PageRig, bare: _BareRig, first: int, *, reload: bool
) -> tuple[list[float], list[float]]:
    """Auto-refresh's rounds: each moves the window's end by MOVE (the ``first``-th move first), the
    page refreshes (incrementally, or the whole window with ``reload``), and the baseline draws the
    same moved window's arrays. Checked afterwards: the queries were of the kind meant, and the page
    drew what the baseline drew."""
    ours: list[float] = []
    base: list[float] = []
    ranges = getattr(page.page.source, "ranges", None)
    assert ranges is not None, "the page's incremental refresh is off"
    before = ranges.partial_queries
    rounds = 2 + _repeat()  # the first two warm up (the rounds before may have been of the other kind)
    for i in range(rounds):
        shift = (first + i) * MOVE
        data = bare.arrays(shift)
        page.move_to(shift)
        elapsed = page.refresh(reload=reload)
        drawn = bare.draw(data)
        if i >= 2:
            ours.append(elapsed)
            base.append(drawn)
    assert ranges.partial_queries - before == (0 if reload else PANELS * rounds), "not the queries meant"
    for view, arrays in zip(page.page.views.values(), data, strict=True):
        assert view.data is not None and len(view.data.series) == SERIES
        assert (view.data.series[0].x == arrays[0][0]).all() and (view.data.series[0].y == arrays[0][1]).all()
    return ours, base


def bench_refresh(app: Any) -> list[dict[str, Any]]:
    with _server() as url:
        page = _PageRig(app, url)
        bare = _BareRig(app)
        ours: list[float] = []
        drawn: list[float] = []
        base: list[float] = []
        for _ in range(2):  # warm up both (first paints, font caches, connections)
            page.refresh()
            bare.draw()
        for _ in range(_repeat()):
            ours.append(page.refresh())
            base.append(bare.draw())
            drawn.append(page.redraw())
        moved, moved_base = _moving_rounds(page, bare, 1, reload=False)
        reloaded, reloaded_base = _moving_rounds(page, bare, 3 + _repeat(), reload=True)
        page.close()
        bare.close()
        fetched, decoded = _bridge_parts(url)
    what = f"{PANELS} panels x {SERIES} series x {POINTS} points"
    return [
        _result(f"refresh {what} (fetched, parsed, drawn)", statistics.median(ours), statistics.median(base)),
        _result(f"redraw {what} (GUI thread only)", statistics.median(drawn), statistics.median(base)),
        _result(
            f"refresh {what} (incremental: window moved by one refresh interval)",
            statistics.median(moved),
            statistics.median(moved_base),
        ),
        _result(
            f"refresh {what} (full: window moved by one refresh interval, the Refresh button)",
            statistics.median(reloaded),
            statistics.median(reloaded_base),
        ),
        _result(
            f"fetch and parse {what} (bridge thread, derived)",
            statistics.median(ours) - statistics.median(drawn),
            statistics.median(base),
        ),
        _result(
            f"of which fetch alone: {PANELS} answers over HTTP",
            statistics.median(fetched),
            statistics.median(base),
        ),
        _result(
            f"of which decode alone: {PANELS} answers to arrays",
            statistics.median(decoded),
            statistics.median(base),
        ),
    ]


def run() -> list[dict[str, Any]]:
    from PySide6.QtWidgets import QApplication

    home = tempfile.mkdtemp(prefix="opsconsole-bench-")
    os.environ["XDG_DATA_HOME"] = home  # the page reads the user's dashboard: none here
    app = QApplication.instance() or QApplication([])
    return bench_refresh(app) + bench_pan(app)


if __name__ == "__main__":
    for item in run():
        print(json.dumps(item))
