"""Traces: Jaeger, OTLP and Zipkin readers into one Trace model; layout and analysis for the views.

Qt-free. ``model`` holds the Trace and Span records; ``jaeger``, ``otlp`` and ``zipkin`` parse each
format and read its HTTP API; ``files`` opens a local file of any of them; ``layout``,
``critical_path`` and ``stats`` turn a Trace into rows, the critical path and totals; ``commands``
are the CLI's ``traces search`` and ``traces show``. See docs/traces.md.
"""

from .critical_path import CriticalSection, critical_path, critical_spans
from .files import detect_format, read_trace_file, traces_from_bytes, traces_from_document
from .layout import CYCLE, DUPLICATE, ORPHAN, SKEW, SYNTHETIC, Layout, layout
from .model import (
    Link,
    Process,
    Span,
    SpanEvent,
    Trace,
    TraceFormatError,
    TraceNotFound,
    TraceSummary,
    tag_pairs,
    tag_value,
)
from .query import SearchQuery, parse_duration_us
from .stats import Totals, totals

__all__ = [
    "CYCLE",
    "DUPLICATE",
    "ORPHAN",
    "SKEW",
    "SYNTHETIC",
    "CriticalSection",
    "Layout",
    "Link",
    "Process",
    "SearchQuery",
    "Span",
    "SpanEvent",
    "Totals",
    "Trace",
    "TraceFormatError",
    "TraceNotFound",
    "TraceSummary",
    "critical_path",
    "critical_spans",
    "detect_format",
    "layout",
    "parse_duration_us",
    "read_trace_file",
    "tag_pairs",
    "tag_value",
    "totals",
    "traces_from_bytes",
    "traces_from_document",
]
