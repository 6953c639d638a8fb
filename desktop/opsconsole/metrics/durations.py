"""Prometheus durations ("15s", "1h30m", "500ms", "7d") read and written, and step rounding targets."""

from __future__ import annotations

import re

from .errors import UsageError

_UNITS: dict[str, float] = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 7 * 86400.0,
    "y": 365 * 86400.0,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_ORDER = ("y", "w", "d", "h", "m", "s", "ms")


class DurationError(UsageError):
    """A duration that cannot be read (a usage error on the command line)."""


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration (``1h30m``, ``15s``, ``500ms``) or a plain number of seconds."""
    cleaned = text.strip().lower()
    if not cleaned:
        raise DurationError("empty duration", hint="use a duration such as 15s, 5m, 1h30m or 7d")
    try:
        seconds = float(cleaned)
    except ValueError:
        pos = 0
        seconds = 0.0
        for match in _PART.finditer(cleaned):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if pos != len(cleaned) or pos == 0:
            raise DurationError(
                f"not a duration: {text!r}", hint="use a duration such as 15s, 5m, 1h30m or 7d"
            ) from None
    if not 0 < seconds < float("inf"):
        raise DurationError(f"a duration must be positive: {text!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest Prometheus duration for ``seconds`` (``90`` -> ``1m30s``, ``0.25`` -> ``250ms``)."""
    ms = round(seconds * 1000)
    if ms <= 0:
        return "0s"
    parts = []
    for unit in _ORDER:
        size = round(_UNITS[unit] * 1000)
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
