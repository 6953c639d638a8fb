"""How a value is written on an axis, in a legend or a tooltip: bytes as KiB/MiB, seconds as ms/s,
percent, per second. NaN and infinities are written the way Prometheus writes them."""

from __future__ import annotations

import math
from typing import Final

UNITS: Final = ("none", "count", "bytes", "percent", "seconds", "per_second", "per_minute")
_BINARY: Final = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
_SI: Final = ("", "k", "M", "G", "T", "P", "E")


def special_text(value: float) -> str | None:
    """``"NaN"``, ``"+Inf"`` or ``"-Inf"`` as Prometheus writes them; None for a finite number."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return None


def _number(value: float, digits: int = 3) -> str:
    """``value`` with about ``digits`` significant digits, without trailing zeros."""
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _scaled(value: float, base: float, prefixes: tuple[str, ...], suffix: str, sep: str = " ") -> str:
    magnitude = abs(value)
    index = 0
    while magnitude >= base and index < len(prefixes) - 1:
        magnitude /= base
        index += 1
    number = _number(math.copysign(magnitude, value))
    unit = prefixes[index] + suffix
    return f"{number}{sep}{unit}" if unit else number


def format_bytes(value: float) -> str:
    """``1536`` -> ``1.5 KiB`` (binary prefixes, as memory is counted)."""
    return special_text(value) or _scaled(value, 1024.0, _BINARY, "")


def format_seconds(value: float) -> str:
    """``0.0042`` -> ``4.2 ms``; ``95`` -> ``1.58 min``; ``7200`` -> ``2 h``."""
    special = special_text(value)
    if special:
        return special
    magnitude = abs(value)
    if magnitude == 0:
        return "0 s"
    for size, unit in ((86400.0, "d"), (3600.0, "h"), (60.0, "min"), (1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if magnitude >= size:
            return f"{_number(value / size)} {unit}"
    return f"{_number(value / 1e-9)} ns"


def format_count(value: float) -> str:
    """``12345`` -> ``12.3k`` (SI prefixes, for counts and rates)."""
    return special_text(value) or _scaled(value, 1000.0, _SI, "", sep="")


def format_value(value: float, unit: str) -> str:
    """``value`` written for ``unit`` (one of :data:`UNITS`)."""
    special = special_text(value)
    if special:
        return special
    if unit == "bytes":
        return format_bytes(value)
    if unit == "seconds":
        return format_seconds(value)
    if unit == "percent":
        return f"{_number(value)}%"
    if unit == "per_second":
        return f"{format_count(value)}/s"
    if unit == "per_minute":
        return f"{format_count(value)}/min"
    if unit == "count":
        return format_count(value)
    return _number(value, 4)
