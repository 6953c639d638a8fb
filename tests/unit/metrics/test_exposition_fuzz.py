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


@st.composite
def well_formed(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A valid exposition of a few families in blocks, and the metrics a dashboard asks for."""
    fams = draw(st.lists(st.sampled_from(["a", "b", "c_d", "e"]), min_size=1, max_size=4, unique=True))
    openmetrics = draw(st.booleans())
    lines = []
    wanted = []
    for name in fams:
        kind = draw(st.sampled_from(["counter", "gauge", "histogram"]))
        lines.append(f"# HELP {name} help of {name} \\\\ with \\n escapes")
        lines.append(f"# TYPE {name} {kind}")
        for i in range(draw(st.integers(1, 3))):
            labels = f'x="{i}",y="v\\"q\\n"'
            if kind == "counter":
                lines.append(
                    f"{name}_total{{{labels}}} {draw(numbers.filter(lambda n: n in ('1', '0', '1.5')))}"
                )
                wanted.append(f"{name}_total")
            elif kind == "gauge":
                lines.append(f"{name}{{{labels}}} {draw(st.sampled_from(['1', 'NaN', '+Inf', '-1']))}")
                wanted.append(name)
            else:
                lines += [
                    f'{name}_bucket{{{labels},le="0.5"}} 1',
                    f'{name}_bucket{{{labels},le="+Inf"}} 2',
                    f"{name}_count{{{labels}}} 2",
                    f"{name}_sum{{{labels}}} 0.7",
                ]
                wanted.append(f"{name}_bucket")
    text = "\n".join(lines) + ("\n# EOF\n" if openmetrics else "\n")
    return text, draw(st.lists(st.sampled_from(wanted), max_size=3)), openmetrics  # type: ignore[return-value]


@settings(max_examples=300, deadline=None)
@given(case=well_formed())
def test_selecting_families_parses_them_as_the_whole_text_does(case: tuple[str, list[str], bool]) -> None:
    text, metrics, openmetrics = case
    content_type = "application/openmetrics-text" if openmetrics else "text/plain"
    whole = exposition.parse_metrics(text.encode(), content_type)
    selected = exposition.parse_metrics(text.encode(), content_type, only=metrics)
    names: set[str] = set()
    for metric in metrics:
        names |= exposition.family_names(metric)
    # repr: NaN samples are equal in repr only.
    assert [repr((m.name, m.type, m.documentation, m.samples)) for m in selected] == [
        repr((m.name, m.type, m.documentation, m.samples)) for m in whole if m.name in names
    ]
