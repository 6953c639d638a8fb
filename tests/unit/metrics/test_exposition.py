"""Parsing expositions: text 0.0.4 and OpenMetrics, escaping, NaN/Inf, timestamps, exemplars,
histograms, summaries; clear errors for what does not parse."""

from __future__ import annotations

import json
import math

import pytest

from opsconsole.metrics import exposition
from opsconsole.metrics.errors import MetricsError

TEXT = b"""\
# HELP http_requests_total Requests "served".\\nSecond line.
# TYPE http_requests_total counter
http_requests_total{path="/a\\"b\\\\c\\nd",status="200"} 1027 1395066363000
http_requests_total{path="/x",status="500"} 3
# TYPE temperature gauge
temperature NaN
temperature_max +Inf
temperature_min -Inf
# TYPE latency histogram
latency_bucket{le="0.1"} 2
latency_bucket{le="+Inf"} 5
latency_sum 1.5
latency_count 5
# TYPE rpc summary
rpc{quantile="0.5"} 0.2
rpc_sum 10
rpc_count 40
"""

OPENMETRICS = b"""\
# TYPE requests counter
# HELP requests Requests.
requests_total{path="/a"} 17 1520879607.789 # {trace_id="4bf92f3577b34da6"} 0.67 1520879607.7
requests_created{path="/a"} 1520430000.123 1520879607.789
# TYPE latency histogram
latency_bucket{le="0.5"} 1 # {trace_id="a1"} 0.3
latency_bucket{le="+Inf"} 2
latency_sum 1.2
latency_count 2
# TYPE up gauge
up NaN
# EOF
"""


def by_name(families: list[exposition.Family]) -> dict[str, exposition.Family]:
    return {f.name: f for f in families}


def test_text_format() -> None:
    families = by_name(exposition.parse(TEXT, "text/plain; version=0.0.4; charset=utf-8"))
    requests = families["http_requests"]
    assert requests.type == "counter"
    assert requests.help == 'Requests "served".\nSecond line.'
    first = requests.samples[0]
    assert first.labels == {"path": '/a"b\\c\nd', "status": "200"}
    assert first.value == 1027 and first.timestamp == 1395066363.0
    temps = families["temperature"].samples
    assert math.isnan(temps[0].value)
    assert [s.value for s in families["temperature_max"].samples] == [math.inf]
    assert [s.value for s in families["temperature_min"].samples] == [-math.inf]
    assert [s.name for s in families["latency"].samples] == ["latency_bucket"] * 2 + [
        "latency_sum",
        "latency_count",
    ]
    assert families["rpc"].type == "summary"


def test_openmetrics_with_exemplars_and_created() -> None:
    families = by_name(
        exposition.parse(OPENMETRICS, "application/openmetrics-text; version=1.0.0; charset=utf-8")
    )
    total = families["requests"].samples[0]
    assert total.name == "requests_total" and total.timestamp == pytest.approx(1520879607.789)
    assert total.exemplar == {
        "labels": {"trace_id": "4bf92f3577b34da6"},
        "value": 0.67,
        "timestamp": pytest.approx(1520879607.7),
    }
    assert families["requests"].samples[1].name == "requests_created"
    assert families["latency"].samples[0].exemplar == {"labels": {"trace_id": "a1"}, "value": 0.3}


def test_json_shape_of_the_contract() -> None:
    families = exposition.parse(OPENMETRICS, "application/openmetrics-text")
    out = json.loads(json.dumps([f.to_json() for f in families]))
    up = next(f for f in out if f["name"] == "up")
    assert up == {"name": "up", "type": "gauge", "help": "", "samples": [{"labels": {}, "value": "NaN"}]}
    latency = next(f for f in out if f["name"] == "latency")
    assert latency["samples"][0]["labels"] == {"__name__": "latency_bucket", "le": "0.5"}
    assert latency["samples"][0]["value"] == 1


@pytest.mark.parametrize(
    ("body", "content_type", "fragment"),
    [
        (b'x{a="open} 1\n', "text/plain", "Not valid Prometheus text exposition"),
        (b"x 1\n", "application/openmetrics-text", "Not valid OpenMetrics exposition"),  # no # EOF
        (b"\xff\xfe x 1\n", "text/plain", "not UTF-8 text (byte 0)"),
        (b"x one\n", "text/plain", "Not valid Prometheus text exposition"),
    ],
)
def test_bad_expositions_are_clear_errors(body: bytes, content_type: str, fragment: str) -> None:
    with pytest.raises(MetricsError) as info:
        exposition.parse(body, content_type)
    assert fragment in str(info.value)
    assert info.value.kind == "parse"
    assert "\n" not in str(info.value)


def test_empty_exposition_is_no_metrics() -> None:
    assert exposition.parse(b"", "text/plain") == []
    assert exposition.parse(b"# EOF\n", "application/openmetrics-text") == []


def test_content_negotiation_names_openmetrics_first() -> None:
    assert exposition.ACCEPT.startswith("application/openmetrics-text;version=1.0.0")
    assert exposition.is_openmetrics("application/openmetrics-text; version=1.0.0; charset=utf-8")
    assert not exposition.is_openmetrics("text/plain; version=0.0.4")
