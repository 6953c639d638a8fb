"""Units on axes and in tooltips; legend formats."""

from __future__ import annotations

import math

import pytest

from opsconsole.metrics.legend import format_legend, placeholders, series_name
from opsconsole.metrics.units import format_bytes, format_count, format_seconds, format_value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0 B"),
        (512, "512 B"),
        (1536, "1.5 KiB"),
        (1024**2 * 300, "300 MiB"),
        (7.5 * 1024**3, "7.5 GiB"),
        (-2048, "-2 KiB"),
    ],
)
def test_bytes(value: float, text: str) -> None:
    assert format_bytes(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0 s"),
        (0.0042, "4.2 ms"),
        (0.25, "250 ms"),
        (1.5, "1.5 s"),
        (95, "1.58 min"),
        (7200, "2 h"),
        (2e-6, "2 µs"),
    ],
)
def test_seconds(value: float, text: str) -> None:
    assert format_seconds(value) == text


def test_counts_rates_and_percent() -> None:
    assert format_count(12345) == "12.3k"
    assert format_count(999) == "999"
    assert format_value(3.14159, "percent") == "3.14%"
    assert format_value(2500, "per_second") == "2.5k/s"
    assert format_value(12, "per_minute") == "12/min"
    assert format_value(0.5, "none") == "0.5"


@pytest.mark.parametrize("unit", ["bytes", "seconds", "percent", "per_second", "count", "none"])
def test_nan_and_infinities_read_as_prometheus_writes_them(unit: str) -> None:
    assert format_value(math.nan, unit) == "NaN"
    assert format_value(math.inf, unit) == "+Inf"
    assert format_value(-math.inf, unit) == "-Inf"


def test_legend_format() -> None:
    labels = {"__name__": "http_requests_total", "path": "/api/users", "status": "200"}
    assert format_legend("{{path}} {{status}}", labels) == "/api/users 200"
    assert format_legend("{{ path }} ({{missing}})", labels) == "/api/users ()"
    assert format_legend("", labels) == 'http_requests_total{path="/api/users", status="200"}'
    assert format_legend("{{missing}}", labels) == 'http_requests_total{path="/api/users", status="200"}'
    assert placeholders("{{path}} {{status}}") == ["path", "status"]


def test_series_name_escapes_like_prometheus() -> None:
    assert series_name({"a": 'x"y\\z\n'}) == '{a="x\\"y\\\\z\\n"}'
    assert series_name({}) == "{}"
    assert series_name({"__name__": "up"}) == "up"
