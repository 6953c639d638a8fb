"""``histogram_quantile`` as Prometheus computes it (promql/quantile.go, classic buckets).

Buckets are (upper bound, cumulative count). The result is linear interpolation inside the bucket
that holds the rank ``q * total``; the lowest bucket starts at 0 unless its upper bound is <= 0; a rank
in the +Inf bucket gives the highest finite upper bound; fewer than two buckets, no +Inf bucket or no
observations give NaN; q < 0 gives -Inf and q > 1 +Inf. Counts that go down from one bucket to the
next (possible with rate() over buckets scraped at slightly different moments) are raised to the
running maximum first, as Prometheus does.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable


def bucket_quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float:
    """The ``q``-quantile of a classic histogram given as (upper bound, cumulative count) pairs."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    merged: dict[float, float] = {}
    for bound, count in buckets:
        if math.isnan(bound):
            continue
        merged[bound] = merged.get(bound, 0.0) + count  # same bound twice (coalesceBuckets)
    bounds = sorted(merged)
    if len(bounds) < 2 or not math.isinf(bounds[-1]) or bounds[-1] < 0:
        return math.nan
    counts: list[float] = []
    running = -math.inf
    for bound in bounds:
        running = max(running, merged[bound])  # ensureMonotonic
        counts.append(running)
    total = counts[-1]
    if not total > 0:
        return math.nan
    rank = q * total
    # The first bucket (the +Inf one excluded) whose count reaches the rank (sort.Search).
    index = bisect.bisect_left(counts, rank, 0, len(counts) - 1)
    if index == len(counts) - 1:
        return bounds[-2]
    if index == 0 and bounds[0] <= 0:
        return bounds[0]
    start, end, count = 0.0, bounds[index], counts[index]
    if index > 0:
        start = bounds[index - 1]
        count -= counts[index - 1]
        rank -= counts[index - 1]
    return start + (end - start) * (rank / count)


def parse_bound(text: str) -> float:
    """An ``le`` label as a number (``"+Inf"``, ``"0.25"``); NaN when it is not one."""
    try:
        return float(text)
    except ValueError:
        return math.nan
