"""Incremental range queries: a refresh asks Prometheus only for the end of the window it moved over.

Why: on every auto-refresh a panel asks for the same query over a window that moved forward by a few
steps; re-fetching and re-decoding the whole window is most of a dashboard refresh's cost
(docs/metrics.md, bench/metrics_gui.py). Grafana's Prometheus data source does the same ("incremental
querying" with a query overlap window).

How: :class:`RangeCache` keeps, per slot (a panel's query), the series of the last answer. When the
next query of that slot has the same expression, step and window length, a start on the same step
grid, and a window that moved forward by less than its length, only ``[since, end]`` is asked for,
where ``since`` lies ``overlap`` before the end of the kept answer: points near the end can still
change (samples scraped late, rate windows still filling). The answer is spliced onto the kept points
before ``since``; points that slid out of the window on the left are dropped. A series missing from
the new part keeps its older points until they slide out (a full query shows the same); a new series
comes with its new points. Anything else (another query, step or window length, a window that moved
back or by more than its length, a reload, an error) is a full query, and an error forgets the slot.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field

import numpy as np

from .api import PrometheusAPI, QueryResult
from .results import Series

DEFAULT_OVERLAP = 600.0  # seconds: Grafana's default query overlap window (10m)


@dataclass(slots=True)
class _Kept:
    """The last answer of a slot: what was asked, and its series."""

    expr: str
    step: float
    span: float  # the window's length as the caller gave it (before aligning to the step)
    start: float
    end: float
    series: list[Series]


@dataclass(slots=True)
class RangeCache:
    """The last answer of each slot, to refresh it incrementally (module doc). ``overlap`` seconds
    before the end of the kept answer are always asked for again."""

    overlap: float = DEFAULT_OVERLAP
    full_queries: int = 0  # counts, for the panel's tests and the benchmark
    partial_queries: int = 0
    _kept: dict[Hashable, _Kept] = field(default_factory=dict, init=False, repr=False)

    async def query_range(
        self,
        api: PrometheusAPI,
        slot: Hashable,
        expr: str,
        start: float,
        end: float,
        step: float,
        *,
        span: float | None = None,
        reload: bool = False,
    ) -> QueryResult:
        """``api.query_range(expr, start, end, step)``, from the kept answer of ``slot`` and a query of
        the window's new part when that gives the same series (module doc); a full query otherwise.
        ``span`` is the window's length as chosen (default ``end - start``): a window aligned to the
        step may be a step shorter or longer from one refresh to the next, but it is still the same
        window. A spliced result has no ``body`` (the CLI's JSON output never comes from here)."""
        span = end - start if span is None else span
        # Taken out first: an error or a cancelled query leaves nothing kept, and the next one is full.
        kept = self._kept.pop(slot, None)
        since = None if reload or kept is None else self._since(kept, expr, start, end, step, span)
        if since is None:
            self.full_queries += 1
            result = await api.query_range(expr, start, end, step)
        else:
            assert kept is not None
            self.partial_queries += 1
            part = await api.query_range(expr, since, end, step)
            spliced = splice(kept.series, part.series, start, since, step)
            result = QueryResult(part.result_type, spliced, b"", part.warnings)
        if result.result_type == "matrix":
            self._kept[slot] = _Kept(expr, step, span, start, end, result.series)
        return result

    def _since(
        self, kept: _Kept, expr: str, start: float, end: float, step: float, span: float
    ) -> float | None:
        """Where the query of the new part starts, or None when only a full query will do."""
        if (expr, step) != (kept.expr, kept.step) or not math.isclose(span, kept.span, abs_tol=1e-6):
            return None
        if start < kept.start or end < kept.end:
            return None  # moved back: the kept answer does not cover the new window's start
        steps = (start - kept.start) / step
        if abs(steps - round(steps)) > 1e-6:
            return None  # not on the kept points' grid: they would not match a full query's
        # The last point on the new window's grid at least ``overlap`` before the kept answer's end.
        since = start + math.floor((kept.end - self.overlap - start) / step + 1e-9) * step
        return since if since > start else None  # nothing worth keeping: moved by about the window


def splice(kept: list[Series], fresh: list[Series], start: float, since: float, step: float) -> list[Series]:
    """The series of [start, end]: ``kept``'s points in [start, since) followed by ``fresh``'s (which
    start at ``since``), matched by label set, sorted by labels as Prometheus sorts a matrix."""
    half = step / 2  # timestamps are on one grid; half a step absorbs their millisecond rounding
    merged: dict[tuple[tuple[str, str], ...], Series] = {}
    for s in kept:
        lo = int(np.searchsorted(s.timestamps, start - half))
        hi = int(np.searchsorted(s.timestamps, since - half))
        if hi > lo:
            merged[_key(s.labels)] = Series(s.labels, s.timestamps[lo:hi], s.values[lo:hi])
    for s in fresh:
        key = _key(s.labels)
        old = merged.get(key)
        merged[key] = s if old is None else _joined(old, s)
    return [merged[key] for key in sorted(merged)]


def _joined(old: Series, new: Series) -> Series:
    times = np.concatenate((old.timestamps, new.timestamps))
    return Series(new.labels, times, np.concatenate((old.values, new.values)))


def _key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    # Sorted (name, value) pairs compare as Prometheus' labels.Compare orders a matrix's series.
    return tuple(sorted(labels.items()))
