"""histogram_quantile semantics: cases worked by hand following Prometheus' promql/quantile.go
(tests/e2e/metrics/test_prometheus.py also checks the function against a real Prometheus)."""

from __future__ import annotations

import math

import pytest

from opsconsole.metrics.quantile import bucket_quantile

INF = math.inf
POSITIVE = [(0.1, 50.0), (0.2, 70.0), (INF, 110.0)]
REQUEST = [(0.1, 10.0), (0.2, 20.0), (0.3, 20.0), (0.5, 30.0), (1.0, 40.0), (INF, 40.0)]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (0.0, 0.0),
        (0.25, 0.055),
        (0.5, 0.1 + 0.1 * (55 - 50) / 20),  # 0.125: rank 55 falls in (0.1, 0.2]
        (0.75, 0.2),  # rank 82.5 is in the +Inf bucket: the highest finite bound
        (1.0, 0.2),
    ],
)
def test_positive_histogram(q: float, expected: float) -> None:
    assert bucket_quantile(q, POSITIVE) == pytest.approx(expected)


def test_interpolates_linearly_inside_the_bucket() -> None:
    # rank 0.5 * 40 = 20 -> bucket (0.1, 0.2], which holds exactly 10 of the 20: its upper bound.
    assert bucket_quantile(0.5, REQUEST) == pytest.approx(0.2)
    # rank 0.9 * 40 = 36 -> bucket (0.5, 1.0] with 10 observations, 6 into it: 0.5 + 0.5 * 0.6.
    assert bucket_quantile(0.9, REQUEST) == pytest.approx(0.8)
    # rank 0.6 * 40 = 24 -> first bucket reaching 24 is le=0.5 (30): 0.3 + 0.2 * (4 / 10).
    assert bucket_quantile(0.6, REQUEST) == pytest.approx(0.38)


def test_edge_cases_as_prometheus() -> None:
    assert bucket_quantile(-0.1, POSITIVE) == -INF
    assert bucket_quantile(1.1, POSITIVE) == INF
    assert math.isnan(bucket_quantile(math.nan, POSITIVE))
    assert math.isnan(bucket_quantile(0.5, [(0.1, 1.0), (0.2, 2.0)]))  # no +Inf bucket
    assert math.isnan(bucket_quantile(0.5, [(INF, 5.0)]))  # fewer than two buckets
    assert math.isnan(bucket_quantile(0.5, [(0.1, 0.0), (INF, 0.0)]))  # no observations
    # The lowest bucket starts at zero unless its bound is <= 0.
    assert bucket_quantile(0.5, [(-1.0, 10.0), (INF, 10.0)]) == -1.0
    assert bucket_quantile(0.1, [(1.0, 10.0), (INF, 10.0)]) == pytest.approx(0.1)


def test_unsorted_duplicate_and_non_monotonic_buckets() -> None:
    shuffled = [(INF, 40.0), (0.3, 20.0), (0.1, 10.0), (1.0, 40.0), (0.5, 30.0), (0.2, 20.0)]
    assert bucket_quantile(0.9, shuffled) == pytest.approx(0.8)
    # Same bound twice is summed (coalesceBuckets), as after sum by (le) of two series.
    assert bucket_quantile(0.5, [(0.1, 5.0), (0.1, 5.0), (INF, 10.0), (INF, 10.0)]) == pytest.approx(0.1)
    assert bucket_quantile(0.25, [(0.1, 5.0), (0.1, 5.0), (INF, 10.0), (INF, 10.0)]) == pytest.approx(0.05)
    # A count lower than its predecessor is raised to it (ensureMonotonic).
    assert bucket_quantile(0.5, [(0.1, 10.0), (0.2, 8.0), (INF, 20.0)]) == pytest.approx(0.1)
