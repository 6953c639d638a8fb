"""A trace made ready for the waterfall, off the GUI thread, and which of its rows are shown.

The rest, once the rows are on screen (the critical path, every span's details read), comes as
``background_steps``: a generator of small steps, which the page runs between frames.

``prepare(trace)`` runs the core's layout and critical path and turns the rows into numpy columns
(start, duration, depth, subtree end, service colour index) in display order, so that the view's
paint, the duration filter, collapsing and the minimap are array operations, never a loop over
100,000 Python objects on the GUI thread. ``RowState`` is what the person changed: collapsed rows,
the duration filter, find matches; ``visible`` is the sorted array of layout rows on screen.

No Qt here (numpy only), so the bench and the tests can use it without a display.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from operator import attrgetter

import numpy as np
import numpy.typing as npt

from ...traces import CYCLE, DUPLICATE, ORPHAN, SKEW, SYNTHETIC, Layout, Trace, layout
from ...traces.critical_path import critical_path_steps, run_steps
from ...traces.model import Span, SpanDetails, tag_pairs

__all__ = [
    "CHUNK_ROWS",
    "PreparedTrace",
    "RowState",
    "add_critical_path",
    "background_steps",
    "flag_words",
    "prepare",
]

IntArray = npt.NDArray[np.int64]
CHUNK_ROWS = 64  # rows a step of read_details reads: under a millisecond


@dataclass(slots=True, eq=False)
class PreparedTrace:
    """A laid-out trace with its rows as arrays (display order) and its critical path per span."""

    layout: Layout
    source: str  # where it came from, for the header: "jaeger", a file's path
    start_us: int  # the earliest span (placeholders included)
    end_us: int
    row_start: IntArray  # row -> start, µs after start_us
    row_duration: IntArray  # row -> duration µs
    row_depth: IntArray  # row -> depth
    row_end: IntArray  # row -> one past the last row of its subtree
    row_service: IntArray  # row -> index into services
    row_flags: npt.NDArray[np.uint8]  # row -> the layout's flags
    # row -> 1 when its span is marked as an error, 0 when not, -1 not known yet (the reader may have
    # kept the details encoded): filled as rows are painted (is_error), and all at once by read_details.
    row_error: npt.NDArray[np.int8]
    services: list[str]  # in first-seen display order: the colour index
    # row -> critical sections (start, end), µs after start_us; filled by add_critical_path, which the
    # page runs in the background once the rows are on screen (critical_ready then).
    critical: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    critical_ready: bool = False
    # How many spans are marked as errors: known once read_details has read every span's details (in
    # the background too), None until then.
    error_count: int | None = None
    # find's text: every row's words, lower-cased, one row a line, and where each line starts.
    _find_text: tuple[str, IntArray] | None = field(default=None, repr=False)

    @property
    def rows(self) -> int:
        return len(self.layout.order)

    @property
    def duration_us(self) -> int:
        return self.end_us - self.start_us

    def span(self, row: int) -> Span:
        return self.layout.spans[self.layout.order[row]]

    def parent_row(self, row: int) -> int:
        """The row of ``row``'s parent, or -1 for a top-level row."""
        p = self.layout.parent[self.layout.order[row]]
        return -1 if p < 0 else int(self.layout.row_of[p])

    def has_children(self, row: int) -> bool:
        return int(self.row_end[row]) > row + 1

    def is_error(self, row: int) -> bool:
        """Whether the span of ``row`` is marked as an error (its details read the first time only)."""
        known = int(self.row_error[row])
        if known < 0:
            known = self.row_error[row] = self.span(row).error
        return bool(known)

    def find(self, text: str) -> IntArray:
        """Rows whose service, operation, span id or a tag (key or value) contains ``text``, any case."""
        needle = text.strip().lower()
        if not needle:
            return np.empty(0, dtype=np.int64)
        text_all, starts = self.build_find_text()
        if text_all.count(needle) > self.rows // 64:
            # Matches everywhere: one test a row beats one search a match.
            lines = text_all.split("\n")
            return np.fromiter((r for r, line in enumerate(lines) if needle in line), dtype=np.int64)
        # Few matches: str.find scans the whole trace's text in C, and a match skips the rest of its row.
        found: list[int] = []
        pos = text_all.find(needle)
        while pos >= 0:
            row = int(np.searchsorted(starts, pos, side="right")) - 1
            found.append(row)
            pos = text_all.find(needle, int(starts[row + 1]) if row + 1 < len(starts) else len(text_all))
        return np.array(found, dtype=np.int64)

    @property
    def details_read(self) -> bool:
        """Whether read_details has run: find's text and the error count are ready."""
        return self.error_count is not None

    def build_find_text(self) -> tuple[str, IntArray]:
        """The text find searches: a line a row, lower-cased, all of it as one string; and where each
        line starts in it. Built once, by read_details (which the page runs in the background)."""
        if self._find_text is None:
            self.read_details()
        assert self._find_text is not None
        return self._find_text

    def read_details(self) -> None:
        """Read every span's details once (the reader may have kept them encoded: this decodes them),
        for what needs them all: find's text, the rows' error flags and count. About a second of a
        100,000-span trace: the page runs it a slice at a time once the rows are on screen
        (``background_steps``)."""
        run_steps(self.read_details_steps())

    def read_details_steps(self) -> Generator[None, None, None]:
        """read_details a step (``CHUNK_ROWS`` rows) at a time."""
        lines: list[str] = []
        errors: list[bool] = []
        for row in range(self.rows):
            if row % CHUNK_ROWS == CHUNK_ROWS - 1:
                yield
            span = self.span(row)
            details = span.details
            errors.append(details.error)
            lines.append(_find_line(span, details))
        yield
        lengths = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines)) + 1
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
        flags = np.array(errors, dtype=np.int8)
        # One assignment each: a paint between two steps sees all or nothing.
        self.row_error = flags
        self._find_text = ("\n".join(lines), starts)
        self.error_count = int(flags.sum())


def _find_line(s: Span, details: SpanDetails) -> str:
    parts = [s.service, s.operation, s.span_id]
    parts.extend(f"{k}={v}" for k, v in tag_pairs(details.tags))
    # \x00 between words, so no match spans two of them; no newline inside: lines are rows.
    return "\x00".join(parts).lower().replace("\n", " ")


def prepare(trace: Trace, source: str = "", *, critical: bool = True) -> PreparedTrace:
    """Lay ``trace`` out and make its row columns: the work of opening a trace, for a worker thread.

    ``critical=False`` leaves the critical path for later (add_critical_path): the rows can be shown
    a third sooner, and the path follows a moment after."""
    lay = layout(trace)
    spans = lay.spans
    n = len(lay.order)
    order = np.frombuffer(lay.order, dtype=np.int32).astype(np.int64)
    starts = np.fromiter(map(attrgetter("start_us"), spans), dtype=np.int64, count=len(spans))
    durations = np.fromiter(map(attrgetter("duration_us"), spans), dtype=np.int64, count=len(spans))
    t0 = int(starts.min()) if n else 0
    t1 = int((starts + durations).max()) if n else 0
    index: dict[str, int] = {}
    service_of_span = np.fromiter(
        (index.setdefault(s.service, len(index)) for s in map(spans.__getitem__, lay.order)),
        dtype=np.int64,
        count=n,
    )
    flags = np.frombuffer(bytes(lay.flags), dtype=np.uint8)
    prepared = PreparedTrace(
        layout=lay,
        source=source,
        start_us=t0,
        end_us=t1,
        row_start=starts[order] - t0,
        row_duration=durations[order],
        row_depth=np.frombuffer(lay.depth, dtype=np.int32).astype(np.int64),
        row_end=np.frombuffer(lay.subtree_end, dtype=np.int32).astype(np.int64),
        row_service=service_of_span,
        row_flags=flags[order],
        row_error=np.full(n, -1, dtype=np.int8),
        services=list(index),
    )
    if critical:
        add_critical_path(prepared)
    return prepared


def add_critical_path(prepared: PreparedTrace) -> PreparedTrace:
    """Compute the critical path of ``prepared`` into ``critical``."""
    return run_steps(add_critical_path_steps(prepared))


def add_critical_path_steps(prepared: PreparedTrace) -> Generator[None, None, PreparedTrace]:
    """add_critical_path a step at a time (critical_path_steps')."""
    lay = prepared.layout
    row_of = np.frombuffer(lay.row_of, dtype=np.int32)
    t0 = prepared.start_us
    critical: dict[int, list[tuple[int, int]]] = {}
    for section in (yield from critical_path_steps(lay)):
        critical.setdefault(int(row_of[section.span]), []).append(
            (section.start_us - t0, section.end_us - t0)
        )
    prepared.critical = critical  # one assignment: a paint sees all or nothing
    prepared.critical_ready = True
    return prepared


def background_steps(prepared: PreparedTrace) -> Generator[None, None, PreparedTrace]:
    """What a shown trace still needs, a step of about a millisecond at a time: the critical path, and
    every span's details read for find's text and the error count."""
    if not prepared.critical_ready:
        yield from add_critical_path_steps(prepared)
    if not prepared.details_read:
        yield from prepared.read_details_steps()
    return prepared


_FLAG_WORDS = (
    (SYNTHETIC, "placeholder for a span missing from the trace"),
    (ORPHAN, "its parent is not in the trace"),
    (CYCLE, "its parent link formed a cycle and was cut"),
    (SKEW, "starts before or ends after its parent (clock skew?)"),
    (DUPLICATE, "another span has the same id"),
)


def flag_words(flags: int) -> list[str]:
    """What a row's flags mean, in words, for its badge's tooltip and the detail panel."""
    return [words for bit, words in _FLAG_WORDS if flags & bit]


class RowState:
    """Which rows are shown: collapsed subtrees and the duration filter, over a PreparedTrace."""

    def __init__(self, prepared: PreparedTrace) -> None:
        self.prepared = prepared
        self.collapsed = np.zeros(prepared.rows, dtype=bool)  # per row
        self.min_duration_us = 0
        self.visible: IntArray = np.arange(prepared.rows, dtype=np.int64)

    def update(self) -> None:
        """Recompute ``visible`` (a few ms at 100,000 rows: numpy, and a loop over collapsed rows only)."""
        p = self.prepared
        if self.min_duration_us > 0:
            mask = p.row_duration >= self.min_duration_us
        else:
            mask = np.ones(p.rows, dtype=bool)
        hide_until = 0
        ends = p.row_end
        for r in np.flatnonzero(self.collapsed).tolist():
            if r < hide_until:
                continue  # inside a subtree already hidden
            end = int(ends[r])
            if end > r + 1:
                mask[r + 1 : end] = False
                hide_until = end
        self.visible = np.flatnonzero(mask).astype(np.int64)

    def position(self, row: int) -> int:
        """Where ``row`` is among the visible rows, or -1 when it is hidden."""
        at = int(np.searchsorted(self.visible, row))
        return at if at < len(self.visible) and int(self.visible[at]) == row else -1

    def set_collapsed(self, rows: Iterable[int], collapsed: bool) -> None:
        for r in rows:
            if self.prepared.has_children(r):
                self.collapsed[r] = collapsed
        self.update()

    def collapse_all(self) -> None:
        self.collapsed = self.prepared.row_end > np.arange(self.prepared.rows) + 1
        self.update()

    def expand_all(self) -> None:
        self.collapsed[:] = False
        self.update()

    def collapse_to_depth(self, depth: int) -> None:
        """Show rows down to ``depth`` (0: top-level rows only); deeper subtrees are collapsed."""
        p = self.prepared
        self.collapsed = (p.row_depth >= depth) & (p.row_end > np.arange(p.rows) + 1)
        self.update()

    def set_min_duration(self, us: int) -> None:
        self.min_duration_us = max(0, us)
        self.update()

    def reveal(self, row: int) -> bool:
        """Expand ``row``'s collapsed ancestors; False when the duration filter hides it anyway."""
        p = self.prepared
        changed = False
        r = p.parent_row(row)
        while r >= 0:
            if self.collapsed[r]:
                self.collapsed[r] = False
                changed = True
            r = p.parent_row(r)
        if changed:
            self.update()
        return self.position(row) >= 0
