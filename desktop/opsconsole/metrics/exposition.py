"""One scrape of a /metrics endpoint: fetched with content negotiation, parsed into metric families.

Prometheus text format 0.0.4 and OpenMetrics 1.0 are parsed with prometheus_client's own parsers
(escaping, NaN/Inf, timestamps, exemplars, histograms and summaries as Prometheus' client library
understands them; measured in bench/metrics_scrape.py). We ask for OpenMetrics first, as Prometheus
does, and read the body with the parser its Content-Type names. Whatever the body holds, the result
is parsed families or a :class:`~.errors.MetricsError` saying what is wrong: never a traceback (the
scrape path is fuzzed in tests/unit/metrics/test_exposition_fuzz.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import parser as openmetrics_parser
from prometheus_client.parser import text_string_to_metric_families

from . import errors
from .units import special_text

ACCEPT: Final = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
MAX_BYTES: Final = 64 * 1024 * 1024  # a larger exposition is a mistake, not something to chart
_MEDIA_OPENMETRICS: Final = "application/openmetrics-text"


@dataclass(slots=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float
    timestamp: float | None = None
    exemplar: dict[str, Any] | None = None


@dataclass(slots=True)
class Family:
    """A metric family: its name (without _total for OpenMetrics counters, as the parsers give it),
    type (counter, gauge, histogram, summary, info, stateset, gaugehistogram, unknown), help, samples."""

    name: str
    type: str
    help: str
    samples: list[Sample] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The contract's shape: ``{"name","type","help","samples":[{"labels":{},"value"}]}`` (the
        sample's own name joins its labels as ``__name__`` when it differs from the family's, as for
        ``_bucket``, ``_sum`` and ``_count``). NaN and infinities are written as Prometheus writes them."""
        return {
            "name": self.name,
            "type": self.type,
            "help": self.help,
            "samples": [_sample_json(self.name, s) for s in self.samples],
        }


def _sample_json(family: str, sample: Sample) -> dict[str, Any]:
    labels = dict(sample.labels)
    if sample.name != family:
        labels = {"__name__": sample.name, **labels}
    out: dict[str, Any] = {"labels": labels, "value": json_number(sample.value)}
    if sample.timestamp is not None:
        out["timestamp"] = sample.timestamp
    if sample.exemplar is not None:
        out["exemplar"] = sample.exemplar
    return out


def json_number(value: float) -> float | str:
    """``value`` for JSON: a number, or ``"NaN"``/``"+Inf"``/``"-Inf"`` (JSON has no such numbers)."""
    return special_text(value) or value


def is_openmetrics(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == _MEDIA_OPENMETRICS


def parse_families(text: str, *, openmetrics: bool) -> Iterable[Metric]:
    """prometheus_client's parser for the format (lazy: errors surface while iterating)."""
    if openmetrics:
        families: Iterable[Metric] = openmetrics_parser.text_string_to_metric_families(text)  # type: ignore[no-untyped-call]
    else:
        families = text_string_to_metric_families(text)
    return families


# What prometheus_client's parsers raise on bad input. Fuzzing (tests/unit/metrics/
# test_exposition_fuzz.py, also run with 6,000 structured examples) found nothing else escaping them.
PARSE_ERRORS: Final = (ValueError,)


# Suffixes a family's samples carry (text 0.0.4 and OpenMetrics, classic and gauge histograms).
_SAMPLE_SUFFIXES: Final = ("", "_total", "_created", "_bucket", "_count", "_sum", "_gcount", "_gsum", "_info")


def family_names(metric: str) -> set[str]:
    """The names the family of ``metric`` may have (``x_total`` is family ``x`` in OpenMetrics and
    ``x_total`` in text 0.0.4; ``x_bucket`` belongs to ``x``)."""
    names = {metric}
    for suffix in _SAMPLE_SUFFIXES[1:]:
        if metric.endswith(suffix) and len(metric) > len(suffix):
            names.add(metric[: -len(suffix)])
    return names


def select_families(text: str, metrics: Iterable[str]) -> str:
    """Only the lines of ``text`` that belong to the families of ``metrics`` (and ``# EOF``).

    The dashboard charts a few families of an exposition that may hold thousands; handing the parser
    only theirs makes a scrape cost what its panels need (bench/metrics_scrape.py). Safe to do by line:
    in both formats a line break inside a label value or help text is escaped (``\\n``). Lines this
    cannot judge cheaply (blank lines, quoted UTF-8 names) are kept, so the parser still sees them.
    """
    families: set[str] = set()
    for metric in metrics:
        families |= family_names(metric)
    samples = {family + suffix for family in families for suffix in _SAMPLE_SUFFIXES}
    kept = []
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith("#"):
            parts = stripped.split(None, 3)
            if stripped.rstrip() == "# EOF" or (
                len(parts) > 2 and (parts[2] in families or parts[2].startswith('"'))
            ):
                kept.append(line)
            continue
        head = stripped.partition("{")[0].split(None, 1)
        if not head or head[0] in samples or head[0].startswith('"'):
            kept.append(line)
    return "\n".join(kept)


def parse_metrics(
    body: bytes, content_type: str = "text/plain", *, only: Iterable[str] | None = None
) -> list[Metric]:
    """prometheus_client's metric families in ``body``, as the parser gives them (the scraper reads
    these directly: no copy per sample); only the families of the metrics in ``only`` when given.
    :class:`~.errors.MetricsError` (kind ``parse``) when the body cannot be read."""
    openmetrics = is_openmetrics(content_type)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.MetricsError(
            f"The exposition is not UTF-8 text (byte {exc.start})", kind="parse"
        ) from None
    if only is not None:
        text = select_families(text, only)
    try:
        return list(parse_families(text, openmetrics=openmetrics))
    except PARSE_ERRORS as exc:
        fmt = "OpenMetrics" if openmetrics else "Prometheus text"
        raise errors.MetricsError(
            f"Not valid {fmt} exposition: {_reason(exc)}", kind="parse", detail=repr(exc)
        ) from None


def parse(body: bytes, content_type: str = "text/plain") -> list[Family]:
    """The families in ``body`` as plain records (what ``metrics scrape`` prints)."""
    return [
        Family(m.name, m.type, m.documentation, [_sample(s) for s in m.samples])
        for m in parse_metrics(body, content_type)
    ]


def _sample(raw: Any) -> Sample:
    timestamp = raw.timestamp
    exemplar = None
    if raw.exemplar is not None:
        ex = raw.exemplar
        exemplar = {
            "labels": dict(ex.labels),
            "value": json_number(float(ex.value)),
            **({"timestamp": float(ex.timestamp)} if ex.timestamp is not None else {}),
        }
    return Sample(
        raw.name,
        dict(raw.labels),
        float(raw.value),
        float(timestamp) if timestamp is not None else None,
        exemplar,
    )


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    first = text.splitlines()[0] if text else ""
    return first[:200]


async def fetch(client: httpx.AsyncClient, url: str, *, limit_s: float = 10.0) -> tuple[bytes, str]:
    """GET ``url`` asking for OpenMetrics first; the body (at most :data:`MAX_BYTES`) and its type.
    ``limit_s`` bounds the request (httpx's timeout, not a task deadline: nothing is left running)."""
    timeout = limit_s
    try:
        async with client.stream(
            "GET", url, headers={"Accept": ACCEPT}, timeout=httpx.Timeout(timeout, connect=min(5.0, timeout))
        ) as response:
            if response.is_error:
                await response.aread()
                raise errors.from_response(response, what="the metrics endpoint")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_BYTES:
                    raise errors.MetricsError(
                        f"The exposition is larger than {MAX_BYTES // (1024 * 1024)} MiB; not scraped",
                        kind="too_large",
                    )
                chunks.append(chunk)
            return b"".join(chunks), response.headers.get("content-type", "text/plain")
    except httpx.HTTPError as exc:
        raise errors.from_transport(exc, url, timeout) from exc


async def scrape(client: httpx.AsyncClient, url: str, *, limit_s: float = 10.0) -> list[Family]:
    """One scrape of ``url``, parsed."""
    body, content_type = await fetch(client, url, limit_s=limit_s)
    return parse(body, content_type)
