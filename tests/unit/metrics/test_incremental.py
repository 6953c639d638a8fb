"""Incremental range queries (metrics/incremental.py): a refresh that asks only for the window's new
part gives exactly what a full query of the same window gives, and anything else is a full query.

The server is a real local HTTP server answering like Prometheus from a small world that changes
between refreshes: series start and stop, values are NaN or infinite at some points, samples arrive
late (a point near the end of one answer differs in the next), and data exists only up to "now".
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx
import numpy as np
import pytest

from opsconsole.metrics.api import PrometheusAPI, QueryResult
from opsconsole.metrics.dashboard import Layout, Panel, Query
from opsconsole.metrics.errors import MetricsError
from opsconsole.metrics.incremental import RangeCache
from opsconsole.metrics.panels import align, fetch_panel
from tests.support.stub_http import Request, StubServer, stub_server

STEP = 15.0
SPAN = 600.0  # the window: 40 steps
OVERLAP = 120.0
BASE = 1_700_000_000.0  # a multiple of STEP


def _text(value: float) -> str:
    """A value as Prometheus writes it."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


@dataclass
class World:
    """What the fake server knows: samples up to ``now`` (less a scrape's lag), series that come and
    go, and values overwritten after the fact (``late``: a late scrape changing a recent point)."""

    now: float = BASE
    lag: float = 20.0  # the newest points are not there yet
    leaves: float = BASE + 300  # "leaving" has no point from here on
    arrives: float = BASE + 500  # "arriving" has points from here on
    blip: tuple[float, float] = (BASE + 880, BASE + 940)  # "blip" exists only in here
    late: dict[tuple[str, float], float] = field(default_factory=dict)
    broken: bool = False

    def value(self, job: str, t: float) -> float | None:
        if t > self.now - self.lag:
            return None
        if (job == "leaving" and t >= self.leaves) or (job == "arriving" and t < self.arrives):
            return None
        if job == "blip" and not self.blip[0] <= t < self.blip[1]:
            return None
        if (job, t) in self.late:
            return self.late[(job, t)]
        k = round((t - BASE) / STEP)
        if job == "steady" and k % 7 == 3:
            return math.nan
        if job == "arriving" and k % 5 == 1:
            return math.inf if k % 2 else -math.inf
        return (k % 97) * 0.5 + len(job)

    def answer(self, params: dict[str, str]) -> tuple[int, str, bytes]:
        if self.broken:
            body = {"status": "error", "errorType": "unavailable", "error": "TSDB not ready"}
            return 503, "application/json", json.dumps(body).encode()
        start, end, step = (float(params[k]) for k in ("start", "end", "step"))
        times = [start + i * step for i in range(int((end - start) / step + 1e-9) + 1)]
        jobs = ["steady", "leaving", "arriving", "blip"]
        if params["query"] == "rate(x[1m])":  # another query: other values
            jobs = ["steady"]
        result = []
        for job in sorted(jobs):
            values = [[t, _text(v)] for t in times if (v := self.value(job, t)) is not None]
            if values:
                result.append({"metric": {"job": job}, "values": values})
        body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
        return 200, "application/json", json.dumps(body).encode()


@pytest.fixture
def world() -> Iterator[tuple[World, StubServer]]:
    state = World()

    def respond(request: Request) -> tuple[int, str, bytes]:
        parts = urlsplit(request.path)
        raw = request.body.decode() if request.body else parts.query
        return state.answer({k: v[0] for k, v in parse_qs(raw).items()})

    with stub_server(respond) as server:
        yield state, server


Rig = tuple[World, StubServer, PrometheusAPI, RangeCache]


@pytest.fixture
def rig(world: tuple[World, StubServer], client: httpx.AsyncClient) -> Rig:
    """The world, its server, an API client of it, and an empty cache."""
    state, server = world
    return state, server, PrometheusAPI(client, server.url), RangeCache(overlap=OVERLAP)


def _asked(server: StubServer) -> tuple[float, float, float]:
    """The start, end and step of the server's last query."""
    params = parse_qs(urlsplit(server.requests[-1].path).query)
    return float(params["start"][0]), float(params["end"][0]), float(params["step"][0])


def _assert_same(got: QueryResult, want: QueryResult) -> None:
    """Same series in the same order, same timestamps, same values (NaN equal to NaN)."""
    assert [s.labels for s in got.series] == [s.labels for s in want.series]
    for mine, full in zip(got.series, want.series, strict=True):
        np.testing.assert_array_equal(mine.timestamps, full.timestamps)
        np.testing.assert_array_equal(mine.values, full.values)


async def _refresh(
    cache: RangeCache, api: PrometheusAPI, now: float, expr: str = "up", step: float = STEP
) -> tuple[QueryResult, QueryResult]:
    """A panel's refresh at ``now`` through the cache, and a full query of the same window."""
    start, end = align(now - SPAN, now, step)
    got = await cache.query_range(api, "panel", expr, start, end, step, span=SPAN)
    want = await api.query_range(expr, start, end, step)
    return got, want


async def test_incremental_refreshes_equal_full_queries_as_the_window_moves(
    rig: Rig,
) -> None:
    state, server, api, cache = rig
    seen: set[str] = set()
    state.now = BASE + 700
    # Moves of one step, several, not a whole step (the aligned end stays), and none at all.
    moves = [0, 15, 45, 7, 8, 30, 0, 60, 15, 15, 90, 75, 15, 150, 20, 10, 45, 30, 15, 60]
    for i, move in enumerate(moves):
        before, state.now = state.now, state.now + move
        # A late scrape: a point the last answer had, inside the overlap, now reads otherwise.
        state.late[("steady", align(before - 60, before, STEP)[0])] = 1000.0 + i
        got, want = await _refresh(cache, api, state.now)
        _assert_same(got, want)
        steady = next(s for s in got.series if s.labels["job"] == "steady")
        assert 1000.0 + i in steady.values
        if i:
            start, end = align(state.now - SPAN, state.now, STEP)
            assert _asked(server)[:2] == (start, end)  # the full query's; the refresh's came before
            refresh_start = float(parse_qs(urlsplit(server.requests[-2].path).query)["start"][0])
            assert start < refresh_start < end  # only the new part (and the overlap) was asked for
        seen.update(s.labels["job"] for s in got.series)
    assert cache.full_queries == 1 and cache.partial_queries == len(moves) - 1
    # Every case came up: a series that left (and slid out), one that arrived, one that came and went.
    assert seen == {"steady", "leaving", "arriving", "blip"}
    assert "leaving" not in {s.labels["job"] for s in got.series}


async def test_what_changes_the_query_asks_for_the_whole_window(
    rig: Rig,
) -> None:
    state, server, api, cache = rig
    state.now = BASE + 1000

    async def refresh(expr: str = "up", step: float = STEP, span: float = SPAN, **kw: bool) -> float:
        """The start the server was asked for, after checking the answer against a full query."""
        start, end = align(state.now - span, state.now, step)
        got = await cache.query_range(api, "panel", expr, start, end, step, span=span, **kw)
        asked = _asked(server)[0]
        _assert_same(got, await api.query_range(expr, start, end, step))
        return asked if asked != start else -1.0  # -1: the whole window

    assert await refresh() == -1.0  # nothing kept yet
    state.now += 30
    assert await refresh() > 0  # same query, moved: the new part only
    state.now += 30
    assert await refresh("rate(x[1m])") == -1.0  # another query
    state.now += 30
    assert await refresh("rate(x[1m])", step=30.0) == -1.0  # another step
    assert await refresh("rate(x[1m])", step=30.0) > 0
    assert await refresh("rate(x[1m])", step=30.0, span=1200.0) == -1.0  # another range
    assert await refresh("rate(x[1m])", step=30.0, span=1200.0, reload=True) == -1.0  # the Refresh button
    state.now -= 300
    assert await refresh("rate(x[1m])", step=30.0, span=1200.0) == -1.0  # the window moved back
    state.now += 1200 + 300
    assert await refresh("rate(x[1m])", step=30.0, span=1200.0) == -1.0  # moved by more than the window
    state.now += 30
    assert await refresh("rate(x[1m])", step=30.0, span=1200.0) > 0
    state.broken = True
    state.now += 30
    with pytest.raises(MetricsError):
        await cache.query_range(
            api, "panel", "up", *align(state.now - SPAN, state.now, STEP), STEP, span=SPAN
        )
    state.broken = False
    assert await refresh("rate(x[1m])", step=30.0, span=1200.0) == -1.0  # after an error
    # A start off the kept points' grid (a caller that does not align) cannot share their timestamps.
    start, end = align(state.now - 1200, state.now, 30.0)
    await cache.query_range(api, "panel", "rate(x[1m])", start + 15, end, 30.0, span=1200.0)
    assert _asked(server)[0] == start + 15


async def test_a_panel_refresh_asks_for_steps_on_the_grid_and_keeps_each_query_apart(
    rig: Rig,
) -> None:
    state, server, api, cache = rig
    panel = Panel("p", "p", Layout(0, 0, 1, 1), queries=(Query("up", "{{job}}"), Query("rate(x[1m])")))
    state.now = BASE + 1003.7  # not on the step's grid
    for _ in range(3):
        data = await fetch_panel(api, panel, state.now - SPAN, state.now, 40, 15.0, cache=cache)
        assert data.step is not None and data.step.step == STEP and not data.error
        for request in server.requests[-2:]:
            asked = parse_qs(urlsplit(request.path).query)
            start, end = float(asked["start"][0]), float(asked["end"][0])
            assert start % STEP == 0 and end % STEP == 0 and end - STEP < state.now <= end
        last = state.now
        state.now += 45
    # Two queries, two slots: each refreshed from its own answer, never from the other's.
    assert cache.full_queries == 2 and cache.partial_queries == 4
    state.now = last  # the world as the last refresh saw it
    start, end = align(last - SPAN, last, STEP)
    full = [await api.query_range(q.expr, start, end, STEP) for q in panel.queries]
    want = [(s.labels, s.timestamps, s.values) for result in full for s in result.series]
    got = [(s.labels, s.timestamps, s.values) for s in data.series]
    assert [labels for labels, _, _ in got] == [labels for labels, _, _ in want]
    assert [labels["job"] for labels, _, _ in got] == ["arriving", "blip", "steady", "steady"]
    for (_, x, y), (_, fx, fy) in zip(got, want, strict=True):
        np.testing.assert_array_equal(x, fx)
        np.testing.assert_array_equal(y, fy)
