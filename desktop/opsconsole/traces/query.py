"""A trace search as the person asked it, and the durations it is written in.

``SearchQuery`` is the same for every backend; each reader turns it into its own parameters (Jaeger's
Go durations, Tempo's seconds, Zipkin's milliseconds). Durations are written as Jaeger UI and
Prometheus write them: ``300us``, ``5ms``, ``1.5s``, ``2h30m``; a lookback may also use days and
weeks (``2d``, ``1w``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from ..errors import OpsError
from .model import TraceSummary

__all__ = ["DurationError", "SearchQuery", "go_duration", "parse_duration_us"]

_UNIT_US: Final[dict[str, float]] = {
    "ns": 1e-3,
    "us": 1.0,
    "µs": 1.0,
    "ms": 1e3,
    "s": 1e6,
    "m": 60e6,
    "h": 3600e6,
    "d": 86_400e6,
    "w": 7 * 86_400e6,
}
_PART: Final = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d|w)")


class DurationError(OpsError, ValueError):
    exit_code = 2


def parse_duration_us(text: str) -> int:
    """Microseconds in ``text`` (``5ms``, ``1h30m``, ``2d``); a bare number is milliseconds."""
    s = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return round(float(s) * 1000)
    pos, total = 0, 0.0
    while s and pos < len(s):
        match = _PART.match(s, pos)
        if match is None:
            break
        total += float(match.group(1)) * _UNIT_US[match.group(2)]
        pos = match.end()
    if not s or pos != len(s):
        raise DurationError(f"invalid duration {text!r}: write it like 300us, 5ms, 1.5s, 1h30m or 2d")
    return round(total)


def go_duration(us: int) -> str:
    """``us`` as a Go duration string, the form Jaeger's query service parses."""
    if us % 1_000_000 == 0:
        return f"{us // 1_000_000}s"
    if us % 1000 == 0:
        return f"{us // 1000}ms"
    return f"{us}us"


@dataclass(slots=True)
class SearchQuery:
    """Which traces to find: the fields of Jaeger UI's search form."""

    service: str | None = None
    operation: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    min_duration_us: int | None = None
    max_duration_us: int | None = None
    lookback_us: int = 3600 * 1_000_000
    end_us: int | None = None  # None: now
    limit: int = 20

    def window_us(self) -> tuple[int, int]:
        """(start, end) of the search in epoch microseconds."""
        end = self.end_us if self.end_us is not None else time.time_ns() // 1000
        return end - self.lookback_us, end

    def newest(self, found: Iterable[TraceSummary]) -> list[TraceSummary]:
        """The newest ``limit`` of ``found``, newest first: backends differ in the order they answer
        in and in how strictly they keep to the limit (Jaeger's is per service), this makes it one.

        Durations are not filtered again here: Jaeger and Zipkin apply them to a matching span, not
        to the whole trace, and the backend's judgement stands."""
        keep = sorted(found, key=lambda t: t.start_us, reverse=True)
        return keep[: self.limit]
