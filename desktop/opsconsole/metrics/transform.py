"""Direct-scrape mode: successive scrapes of one endpoint turned into chart series.

A panel's scrape form (:class:`ScrapeSpec`) names a metric and a transform:
- ``value``: gauges as they are;
- ``rate``: counters as per-second rates between scrapes (or over ``window`` seconds), with counter
  resets handled as Prometheus' ``rate()`` does (a value lower than the previous one means the counter
  restarted from zero: the increase is the new value);
- ``quantile``: histograms as the chosen quantiles of the observations made between scrapes (or over
  ``window``): ``histogram_quantile(q, sum by (le, ...) (rate(x_bucket[window])))``, each bucket a
  counter with its own reset handling.
Series are matched by label regexes (``match``, fully anchored like ``=~``), summed ``by`` the listed
labels (all labels kept when ``by`` is absent), optionally divided by the same transform of the same
metric under other matchers (``denominator``: an error ratio), and multiplied by ``scale``.

Only the families the panels name are looked at, so the cost beyond parsing grows with the charted
series, not the size of the exposition (bench/metrics_scrape.py).
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client.metrics_core import Metric

from .quantile import bucket_quantile, parse_bound
from .ring import Ring

TRANSFORMS = ("value", "rate", "quantile")
LabelKey = tuple[tuple[str, str], ...]


@dataclass(slots=True, frozen=True)
class ScrapeSpec:
    metric: str
    transform: str = "value"
    match: Mapping[str, str] = field(default_factory=dict)
    by: tuple[str, ...] | None = None
    quantiles: tuple[float, ...] = (0.5, 0.95, 0.99)
    denominator: Mapping[str, str] | None = None
    scale: float = 1.0
    window: float = 0.0


@dataclass(slots=True)
class BufferedSeries:
    labels: dict[str, str]
    ring: Ring
    seen: int = 0  # the scrape that last gave it a point


class _Counter:
    """One raw counter: its value corrected for resets, and the recent (time, corrected) history."""

    __slots__ = ("corrected", "history", "last_raw")

    def __init__(self) -> None:
        self.last_raw = math.nan
        self.corrected = 0.0
        self.history: deque[tuple[float, float]] = deque()

    def observe(self, t: float, raw: float, window: float) -> float | None:
        """Record ``raw`` at ``t``; the increase per second over the window, once there is one."""
        if math.isnan(raw):  # a counter that cannot say: a gap, and the next real value carries on
            return None
        if math.isnan(self.last_raw):
            self.corrected = raw
        elif raw < self.last_raw:  # reset: the counter started again from zero
            self.corrected += raw
        else:
            self.corrected += raw - self.last_raw
        self.last_raw = raw
        history = self.history
        # Keep the newest point at or before (t - window) as the reference, and everything after it.
        while len(history) > 1 and history[1][0] <= t - window:
            history.popleft()
        rate = None
        if history:
            t0, c0 = history[0]
            if t > t0:
                rate = (self.corrected - c0) / (t - t0)
        history.append((t, self.corrected))
        return rate


def _matcher(match: Mapping[str, str]) -> list[tuple[str, re.Pattern[str]]]:
    return [(name, re.compile(pattern)) for name, pattern in match.items()]


def _matches(labels: Mapping[str, str], matchers: Sequence[tuple[str, re.Pattern[str]]]) -> bool:
    return all(rx.fullmatch(labels.get(name, "")) is not None for name, rx in matchers)


def _group(labels: Mapping[str, str], by: tuple[str, ...] | None, drop: str = "") -> LabelKey:
    if by is None:
        return tuple(sorted((k, v) for k, v in labels.items() if k != drop))
    return tuple((k, labels.get(k, "")) for k in by)


class PanelTransform:
    """The state one panel keeps between scrapes, and its charted series."""

    def __init__(self, spec: ScrapeSpec, capacity: int) -> None:
        if spec.transform not in TRANSFORMS:
            raise ValueError(f"unknown transform {spec.transform!r}")
        self.spec = spec
        self.capacity = capacity
        self.series: dict[LabelKey, BufferedSeries] = {}
        self._numerator = _matcher(spec.match)
        self._denominator = _matcher(spec.denominator) if spec.denominator is not None else None
        self._counters: dict[tuple[str, LabelKey], _Counter] = {}
        self._scrapes = 0
        self._now = 0.0
        self._seen: set[tuple[str, LabelKey]] = set()

    # -- one scrape -------------------------------------------------------------------------------

    def ingest(self, families: Mapping[str, Metric], t: float) -> str | None:
        """Add this scrape's points; a message for the panel when its metric is not there."""
        spec = self.spec
        family = _find_family(families, spec.metric, spec.transform)
        if family is None:
            return f"{spec.metric} is not in this scrape"
        # This scrape's time, and the raw counters it touched (the others are gone from the endpoint).
        self._now = t
        self._seen = seen = set[tuple[str, LabelKey]]()
        numerator = self._evaluate(family, self._numerator, "n")
        if self._denominator is not None:
            denominator = self._evaluate(family, self._denominator, "d")
            points = {key: numerator.get(key, 0.0) / d for key, d in denominator.items() if d != 0}
            # 0/0 (no traffic at all) is "no ratio", drawn as a gap rather than as a zero.
            points.update({key: math.nan for key, d in denominator.items() if d == 0})
        else:
            points = numerator
        for stale in self._counters.keys() - seen:  # series gone from the endpoint
            del self._counters[stale]
        self._scrapes += 1
        for key, value in points.items():
            buffered = self.series.get(key)
            if buffered is None:
                buffered = self.series[key] = BufferedSeries(dict(key), Ring(self.capacity))
            buffered.ring.append(t, value * spec.scale)
            buffered.seen = self._scrapes
        # A series gone for a whole buffer's worth of scrapes has nothing left on the chart: drop it,
        # so label churn (a path per user id, say) cannot grow memory without bound.
        for key in [k for k, b in self.series.items() if self._scrapes - b.seen >= self.capacity]:
            del self.series[key]
        return None

    def _evaluate(
        self, family: Metric, matchers: Sequence[tuple[str, re.Pattern[str]]], side: str
    ) -> dict[LabelKey, float]:
        spec = self.spec
        if spec.transform == "value":
            return self._gauges(family, matchers)
        if spec.transform == "rate":
            return self._rates(family, matchers, side)
        return self._quantiles(family, matchers, side)

    def _gauges(
        self, family: Metric, matchers: Sequence[tuple[str, re.Pattern[str]]]
    ) -> dict[LabelKey, float]:
        out: dict[LabelKey, float] = {}
        name, by = self.spec.metric, self.spec.by
        for sample in family.samples:
            if sample.name == name and _matches(sample.labels, matchers):
                key = _group(sample.labels, by)
                out[key] = out.get(key, 0.0) + float(sample.value)
        return out

    def _rates(
        self, family: Metric, matchers: Sequence[tuple[str, re.Pattern[str]]], side: str
    ) -> dict[LabelKey, float]:
        out: dict[LabelKey, float] = {}
        name, by = self.spec.metric, self.spec.by
        for sample in family.samples:
            if sample.name != name or not _matches(sample.labels, matchers):
                continue
            rate = self._observe(sample.labels, float(sample.value), side)
            if rate is not None:
                key = _group(sample.labels, by)
                out[key] = out.get(key, 0.0) + rate
        return out

    def _observe(self, labels: Mapping[str, str], value: float, side: str) -> float | None:
        """Feed one raw counter sample (a counter or a histogram bucket); its rate once it has one."""
        raw_key = (side, _group(labels, None))
        self._seen.add(raw_key)
        counter = self._counters.get(raw_key)
        if counter is None:
            counter = self._counters[raw_key] = _Counter()
        return counter.observe(self._now, value, self.spec.window)

    def _quantiles(
        self, family: Metric, matchers: Sequence[tuple[str, re.Pattern[str]]], side: str
    ) -> dict[LabelKey, float]:
        bucket_name = self.spec.metric + "_bucket"
        by = self.spec.by
        # group -> upper bound -> summed per-second increase
        groups: dict[LabelKey, dict[float, float]] = {}
        for sample in family.samples:
            if sample.name != bucket_name or not _matches(sample.labels, matchers):
                continue
            rate = self._observe(sample.labels, float(sample.value), side)
            if rate is None:
                continue
            bound = parse_bound(sample.labels.get("le", ""))
            buckets = groups.setdefault(_group(sample.labels, by, drop="le"), {})
            buckets[bound] = buckets.get(bound, 0.0) + rate
        out: dict[LabelKey, float] = {}
        for key, buckets in groups.items():
            for q in self.spec.quantiles:
                label = (("quantile", f"{q:g}"), ("percentile", f"p{100 * q:g}"))
                out[(*key, *label)] = bucket_quantile(q, buckets.items())
        return out


def _find_family(families: Mapping[str, Metric], metric: str, transform: str) -> Metric | None:
    """The family that holds ``metric``'s samples: the parsers name counters without ``_total``."""
    family = families.get(metric)
    if family is None and metric.endswith("_total"):
        family = families.get(metric[: -len("_total")])
    return family


def index_families(metrics: Iterable[Metric]) -> dict[str, Metric]:
    """Families by name. An exposition may split a family (it should not): the parts are merged."""
    out: dict[str, Metric] = {}
    for metric in metrics:
        existing = out.get(metric.name)
        if existing is None:
            out[metric.name] = metric
        else:
            existing.samples.extend(metric.samples)
    return out
