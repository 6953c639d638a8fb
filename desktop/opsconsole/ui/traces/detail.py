"""A span's details for the shell's detail panel: timing, error and status, flags, tags, events,
process or resource, links. Read-only rich text (QTextBrowser): selectable, copyable, screen-reader
readable, and one widget however many tags a span has.

Tag values are often long (URLs, SQL, user agents) and the panel is narrow (the user can widen it:
the shell's splitter, whose width is kept). A long value or key gets the panel's whole width, on the
line under its key, and wraps anywhere (an id or a token has no spaces); one longer than
``ELIDE_AT`` characters is cut there, saying how much more there is. Right-click on a value offers
"Copy value" with the whole of it, however it is shown.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from PySide6.QtCore import QPoint
from PySide6.QtGui import QContextMenuEvent, QGuiApplication, QPalette, QTextCursor, QTextOption, QTextTable
from PySide6.QtWidgets import QMenu, QTextBrowser, QWidget

from ...traces.model import TagValue, tag_pairs
from ...traces.render import format_duration
from .prepared import PreparedTrace, flag_words
from .style import error_color, is_dark

__all__ = ["ELIDE_AT", "SpanDetail", "span_html"]

STACK_VALUE_AT = 32  # a value this long (or a key half as long) goes on its own line, the panel's width
ELIDE_AT = 2_000  # characters of a value shown; the rest is copied with "Copy value"
_VALUE_ANCHOR = "value-"


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


def _tags_table(pairs: list[tuple[str, str]], values: list[tuple[str, str]], muted: str) -> str:
    """Tags as a table, short ones as key and value side by side, long ones stacked; each value is a
    named anchor (not a link) whose index in ``values`` (to which the pair is added) says which."""
    rows = []
    for k, v in pairs:
        name = f"{_VALUE_ANCHOR}{len(values)}"
        values.append((k, v))
        shown = escape(v[:ELIDE_AT])
        if len(v) > ELIDE_AT:
            more = f"… {len(v) - ELIDE_AT:,} more characters (right-click: Copy value)"
            shown += f"<span style='color:{muted}'>{escape(more)}</span>"
        value = f"<a name='{name}'>{shown}</a>"
        key = f"<td style='padding-right:10px; color:{muted}'>{escape(k)}</td>"
        if len(v) < STACK_VALUE_AT and len(k) < STACK_VALUE_AT // 2:
            rows.append(f"<tr>{key}<td style='white-space:pre-wrap'>{value}</td></tr>")
        else:
            rows.append(
                f"<tr><td colspan='2' style='color:{muted}'>{escape(k)}</td></tr>"
                f"<tr><td colspan='2' style='white-space:pre-wrap; padding-left:10px;"
                f" padding-bottom:3px'>{value}</td></tr>"
            )
    return f"<table cellspacing='0' cellpadding='1'>{''.join(rows)}</table>"


def span_html(
    prepared: PreparedTrace,
    row: int,
    muted: str = "#6b7280",
    error: str = "#c62828",
    values: list[tuple[str, str]] | None = None,
) -> str:
    """The detail panel's text for ``row`` of ``prepared`` (``muted``, ``error``: the scheme's colours).
    The tags' and the process's (key, value) pairs are added to ``values``, in their anchors' order."""
    values = [] if values is None else values
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
            "<h4>Tags</h4>"
            + _tags_table([(str(k), _value(v)) for k, v in tag_pairs(details.tags)], values, muted)
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
        parts.append(f"<h4>{label}</h4>" + _tags_table(pairs, values, muted))
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
        # Ids, tokens and URLs have no spaces: break them anywhere rather than scroll sideways.
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        pal = self.palette()
        dark = is_dark(pal)
        muted = pal.color(QPalette.ColorRole.PlaceholderText).name()
        self.values: list[tuple[str, str]] = []  # (key, whole value) of each tag shown, anchors' order
        self.setHtml(span_html(prepared, row, muted, error_color(dark).name(), self.values))

    def value_at(self, pos: QPoint) -> tuple[str, str] | None:
        """The (key, whole value) of the tag whose value is at ``pos`` (viewport coordinates), if any."""
        cursor = self.cursorForPosition(pos)
        table: QTextTable | None = cursor.currentTable()  # None outside a table, whatever the stubs say
        if table is None:
            return None
        # The anchor's name is on its first character only: the first of the value's cell.
        first = table.cellAt(cursor).firstCursorPosition()
        first.movePosition(QTextCursor.MoveOperation.NextCharacter)
        for name in first.charFormat().anchorNames():
            if name.startswith(_VALUE_ANCHOR):
                return self.values[int(name.removeprefix(_VALUE_ANCHOR))]
        return None

    def context_menu(self, pos: QPoint) -> QMenu:
        """The usual menu (copy the selection, select all), and "Copy value" over a tag's value."""
        menu = self.createStandardContextMenu(pos)
        found = self.value_at(pos)
        if found is not None:
            key, value = found
            copy = menu.addAction(f"Copy value of {key}")
            copy.setObjectName("copyTagValue")
            copy.triggered.connect(lambda: QGuiApplication.clipboard().setText(value))
            menu.insertAction(menu.actions()[0], copy)
            menu.insertSeparator(menu.actions()[1])
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.context_menu(event.pos())
        menu.exec(event.globalPos())
        menu.deleteLater()
