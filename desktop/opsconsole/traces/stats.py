"""Totals per service and per operation: where a trace's time went (Jaeger UI's "Trace Statistics").

Placeholders for missing spans are left out: they are not time anyone spent.
"""

from __future__ import annotations

from dataclasses import dataclass

from .layout import SYNTHETIC, Layout

__all__ = ["Totals", "totals"]


@dataclass(slots=True)
class Totals:
    service: str
    operation: str  # "" for per-service totals
    count: int = 0
    total_us: int = 0  # sum of durations (spans of one service may overlap)
    self_us: int = 0  # sum of self times: the time spent in this service or operation itself
    max_us: int = 0
    errors: int = 0

    @property
    def mean_us(self) -> float:
        return self.total_us / self.count if self.count else 0.0


def totals(lay: Layout, *, by_operation: bool = False) -> list[Totals]:
    """One Totals per service (or per service and operation), most self time first."""
    found: dict[tuple[str, str], Totals] = {}
    for i, s in enumerate(lay.spans):
        if lay.flags[i] & SYNTHETIC:
            continue
        key = (s.service, s.operation if by_operation else "")
        t = found.get(key)
        if t is None:
            t = found[key] = Totals(*key)
        t.count += 1
        t.total_us += s.duration_us
        t.self_us += lay.self_us[i]
        if s.duration_us > t.max_us:
            t.max_us = s.duration_us
        if s.error:
            t.errors += 1
    return sorted(found.values(), key=lambda t: (-t.self_us, t.service, t.operation))
