"""A span's details for the shell's detail panel: timing, error and status, flags, tags, events,
process or resource, links. Read-only rich text (QTextBrowser): selectable, copyable, screen-reader
readable, and one widget however many tags a span has."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QTextBrowser, QWidget

from ...traces.model import TagValue, tag_pairs
from ...traces.render import format_duration
from .prepared import PreparedTrace, flag_words
from .style import error_color, is_dark

__all__ = ["SpanDetail", "span_html"]


def _value(v: TagValue) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


def _table(pairs: list[tuple[str, str]], muted: str = "#6b7280") -> str:
    rows = "".join(
        f"<tr><td style='padding-right:10px; color:{muted}'>{escape(k)}</td>"
        f"<td style='white-space:pre-wrap'>{escape(v)}</td></tr>"
        for k, v in pairs
    )
    return f"<table cellspacing='0' cellpadding='1'>{rows}</table>"


def span_html(prepared: PreparedTrace, row: int, muted: str = "#6b7280", error: str = "#c62828") -> str:
    """The detail panel's text for ``row`` of ``prepared`` (``muted``, ``error``: the scheme's colours)."""
    span = prepared.span(row)
    details = span.details  # decoded now, if the reader kept them encoded: read once
    index = prepared.layout.order[row]
    offset = span.start_us - prepared.start_us
    parts = [
        f"<p style='font-size:large; font-weight:600'>{escape(span.operation)}</p>",
        f"<p>{escape(span.service or 'unknown service')}</p>",
    ]
    timing = [
        ("Duration", format_duration(span.duration_us)),
        ("Self time", format_duration(int(prepared.layout.self_us[index]))),
        ("Starts at", f"+{format_duration(offset)}"),
        ("Start", datetime.fromtimestamp(span.start_us / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")),
        ("Span id", span.span_id),
        ("Parent id", span.parent_id or "none (a root)"),
    ]
    if details.kind:
        timing.append(("Kind", details.kind))
    if row in prepared.critical:
        on_path = sum(e - s for s, e in prepared.critical[row])
        timing.append(("Critical path", f"{format_duration(on_path)} of this span"))
    parts.append(_table(timing, muted))
    if details.error or details.status_message:
        status = "Error" if details.error else "Status"
        parts.append(
            f"<h4 style='color:{error}'>{status}</h4><p>{escape(details.status_message or 'marked as an error')}</p>"
        )
    problems = flag_words(int(prepared.row_flags[row]))
    if details.problem:
        problems.append(f"its tags and events could not be read: {details.problem}")
    if problems:
        parts.append("<h4>⚠ Problems</h4><ul>" + "".join(f"<li>{escape(w)}</li>" for w in problems) + "</ul>")
    if details.tags:
        parts.append(
            "<h4>Tags</h4>" + _table([(str(k), _value(v)) for k, v in tag_pairs(details.tags)], muted)
        )
    if details.events:
        items = []
        for ev in details.events:
            attrs = ", ".join(f"{k}={_value(v)}" for k, v in tag_pairs(ev.attributes))
            at = f"+{format_duration(ev.time_us - prepared.start_us)}"
            items.append((at, f"{ev.name}" + (f"  ({attrs})" if attrs else "")))
        parts.append(f"<h4>Events ({len(details.events)})</h4>" + _table(items, muted))
    if span.process is not None:
        label = "Process" if prepared.layout.trace.format == "jaeger" else "Resource"
        pairs = [("service", span.process.service)] + [
            (str(k), _value(v)) for k, v in tag_pairs(span.process.tags)
        ]
        parts.append(f"<h4>{label}</h4>" + _table(pairs, muted))
    if span.links:
        parts.append(
            "<h4>Links</h4>"
            + _table([(link.kind, f"{link.trace_id} / {link.span_id}") for link in span.links], muted)
        )
    return "".join(parts)


class SpanDetail(QTextBrowser):
    """The detail panel's content for one span."""

    def __init__(self, prepared: PreparedTrace, row: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("spanDetail")
        span = prepared.span(row)
        self.row = row
        self.setAccessibleName(f"Details of span {span.operation}")
        self.setOpenLinks(False)
        pal = self.palette()
        dark = is_dark(pal)
        muted = pal.color(QPalette.ColorRole.PlaceholderText).name()
        self.setHtml(span_html(prepared, row, muted, error_color(dark).name()))
