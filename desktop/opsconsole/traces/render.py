"""Traces as the command line prints them: the contract's JSON, an indented tree, a results table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .layout import CYCLE, ORPHAN, SKEW, SYNTHETIC, Layout
from .model import Span, Trace, TraceFormatError, TraceSummary, tag_pairs

__all__ = ["format_duration", "summaries_table", "trace_json", "trace_tree"]


def format_duration(us: int) -> str:
    """``us`` as people read it: 850µs, 2ms, 12.5ms, 1.25s, 2m3s."""
    if us < 1000:
        return f"{us}µs"
    if us < 1_000_000:
        ms = us / 1000
        return f"{ms:.3g}ms" if ms < 100 else f"{ms:.0f}ms"
    if us < 60_000_000:
        return f"{us / 1e6:.3g}s"
    minutes, seconds = divmod(us // 1_000_000, 60)
    return f"{minutes}m{seconds}s"


def trace_json(trace: Trace) -> dict[str, Any]:
    """The contract's JSON: ``{"trace_id", "spans": [{"span_id", "parent_id", "service", "operation",
    "start_us", "duration_us", "tags"}]}``, spans in the source's order, tags as an object.
    TraceFormatError when a span's tags cannot be read (a reader that kept them encoded finds out now)."""
    return {"trace_id": trace.trace_id, "spans": [_span_json(s) for s in trace.spans]}


def _span_json(s: Span) -> dict[str, Any]:
    details = s.details
    if details.problem:
        raise TraceFormatError(details.problem)
    return {
        "span_id": s.span_id,
        "parent_id": s.parent_id,
        "service": s.service,
        "operation": s.operation,
        "start_us": s.start_us,
        "duration_us": s.duration_us,
        "tags": dict(tag_pairs(details.tags)),
    }


_MARKS = (
    (SYNTHETIC, "placeholder"),
    (ORPHAN, "parent missing"),
    (CYCLE, "cycle broken"),
    (SKEW, "clock skew"),
)


def trace_tree(lay: Layout, critical: set[int] | None = None) -> str:
    """An indented tree: ``service: operation (duration)`` per span, with box-drawing guides."""
    trace = lay.trace
    lines = [
        f"Trace {trace.trace_id}: {len(trace.spans)} spans, {format_duration(lay.end_us - lay.start_us)}, "
        f"services {', '.join(sorted({s.service for s in trace.spans if s.service})) or '-'}"
    ]
    # guides[d]: whether the ancestor at depth d has siblings still to come (draw "│ ").
    guides: list[bool] = []
    n = len(lay.order)
    for row in range(n):
        i = lay.order[row]
        d = lay.depth[row]
        s = lay.spans[i]
        p = lay.parent[i]
        last = lay.subtree_end[row] >= (lay.subtree_end[lay.row_of[p]] if p >= 0 else n)
        del guides[d:]
        prefix = "".join("│ " if more else "  " for more in guides[1:]) if d else ""
        if d:
            prefix += "└─ " if last else "├─ "
        guides.append(not last)
        name = f"{s.service}: {s.operation}" if s.service else s.operation
        notes = [text for flag, text in _MARKS if lay.flags[i] & flag]
        if s.error:
            notes.insert(0, "error")
        if critical is not None and i in critical:
            notes.append("critical")
        extra = f"  [{', '.join(notes)}]" if notes else ""
        lines.append(f"{prefix}{name} ({format_duration(s.duration_us)}){extra}")
    lines.append(f"Total: {format_duration(lay.end_us - lay.start_us)}")
    lines.extend(f"warning: {problem}" for problem in lay.problems + trace.warnings)
    return "\n".join(lines)


def summaries_table(found: list[TraceSummary]) -> str:
    if not found:
        return "No traces found."
    rows = [("TRACE ID", "ROOT", "START", "DURATION", "SPANS", "ERRORS")]
    for t in found:
        start = datetime.fromtimestamp(t.start_us / 1e6).astimezone().strftime("%Y-%m-%d %H:%M:%S")
        root = f"{t.root_service}: {t.root_operation}" if t.root_service else t.root_operation
        rows.append(
            (
                t.trace_id,
                root,
                start,
                format_duration(t.duration_us),
                str(t.span_count),
                str(t.error_count or "-"),
            )
        )
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
