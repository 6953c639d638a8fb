"""The scrape path never crashes: arbitrary bytes and odd-but-structured expositions give a clear
error (MetricsError of kind ``parse``) or parsed data, in both formats, through the whole direct-scrape
transform."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from opsconsole.metrics import exposition
from opsconsole.metrics.errors import MetricsError
from opsconsole.metrics.scraper import DirectScraper
from opsconsole.metrics.transform import ScrapeSpec

CONTENT_TYPES = st.sampled_from(["text/plain; version=0.0.4", "application/openmetrics-text; version=1.0.0"])
SPECS = {
    "rate": ScrapeSpec("x_total", "rate", by=("a",)),
    "gauge": ScrapeSpec("x", "value", match={"a": ".*"}),
    "quantile": ScrapeSpec("x", "quantile", by=()),
    "ratio": ScrapeSpec("x_total", "rate", match={"a": "b.*"}, by=(), denominator={}),
}

names = st.sampled_from(
    ["x", "x_total", "x_bucket", "x_count", "x_sum", "x_created", "y", "x:y", "_", "1x", ""]
)
label_names = st.sampled_from(["a", "le", "quantile", "__name__", "b c", "", "a"])
label_values = st.text(alphabet=st.sampled_from(list('ab\\"\n{}=,# +Inf0.51')), max_size=6)
numbers = st.sampled_from(
    ["1", "0", "-1", "NaN", "+Inf", "-Inf", "Inf", "1e308", "1e309", "0x1", "1_000", "", "nan", "1.5", "-0"]
)
types = st.sampled_from(
    ["counter", "gauge", "histogram", "summary", "untyped", "unknown", "info", "stateset", "bogus", ""]
)


@st.composite
def odd_lines(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 5))
    name = draw(names)
    if kind == 0:
        return f"# TYPE {name} {draw(types)}"
    if kind == 1:
        return f"# HELP {name} {draw(label_values)}"
    if kind == 2:
        return "# EOF"
    labels = draw(st.lists(st.tuples(label_names, label_values), max_size=3))
    body = ",".join(f'{k}="{v}"' for k, v in labels)
    sample = (
        f"{name}{{{body}}} {draw(numbers)}" if labels or draw(st.booleans()) else f"{name} {draw(numbers)}"
    )
    if kind == 4:
        sample += f" {draw(st.sampled_from(['1520879607789', '1.5', '-1', 'x', '']))}"
    if kind == 5:
        sample += f' # {{trace_id="{draw(label_values)}"}} {draw(numbers)}'
    return sample


def check(body: bytes, content_type: str) -> None:
    try:
        families = exposition.parse(body, content_type)
    except MetricsError as exc:
        assert exc.kind == "parse"
        assert str(exc) and "\n" not in str(exc) and "Traceback" not in str(exc)
    else:
        for family in families:
            for sample in family.samples:
                assert isinstance(sample.value, float)
                family.to_json()
    scraper = DirectScraper(None, "http://unused", SPECS, capacity=4)  # type: ignore[arg-type]
    for t in (0.0, 1.0):
        update = scraper.ingest(body, content_type, t)
        assert set(update.errors) == set(SPECS)
    for panel in scraper.panels.values():
        for buffered in panel.series.values():
            _, values = buffered.ring.arrays()
            assert all(isinstance(v, float) or math.isnan(v) for v in values.tolist())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=400), content_type=CONTENT_TYPES)
@example(body=b"\x00", content_type="text/plain")
@example(body=b'# TYPE x histogram\nx_bucket{le="a"} 1\n# EOF\n', content_type="application/openmetrics-text")
def test_arbitrary_bytes(body: bytes, content_type: str) -> None:
    check(body, content_type)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(odd_lines(), max_size=12), content_type=CONTENT_TYPES, eof=st.booleans())
def test_structured_but_odd_expositions(lines: list[str], content_type: str, eof: bool) -> None:
    text = "\n".join(lines) + ("\n# EOF\n" if eof else "\n")
    check(text.encode(), content_type)
