"""The rows of a trace view: depth-first order, depth, subtree extents, self time, and the trace's
problems found and worked around. A pure function of a Trace, run off the GUI thread.

Robustness rules (docs/traces.md):
- Several roots: each span without a parent is a top-level row, earliest first.
- Orphans: spans whose parent is not in the trace go under a synthetic placeholder for that parent
  (flag SYNTHETIC on it, ORPHAN on them), so siblings stay together and nothing is lost.
- Cycles (A's parent is B, B's is A; or a span its own parent): the cycle is broken at its earliest
  span, which becomes a root (flag CYCLE), and the cycle is reported.
- Duplicate span ids: every span is kept as its own row (flag DUPLICATE). When they are a client and
  a server (Zipkin's shared span), the server goes under the client and children go under the server;
  otherwise children go under the first.
- Clock skew: a child that starts before its parent or ends after it (by more than the 1 µs that
  rounding nanoseconds to microseconds explains) is flagged SKEW, and counted.

Per-span columns are ``array``s and a ``bytearray``: a few bytes per span instead of Python objects.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from .model import Span, Trace
from .parsing import gc_paused

__all__ = ["CYCLE", "DUPLICATE", "ORPHAN", "SKEW", "SYNTHETIC", "Layout", "layout"]

SYNTHETIC: Final = 1  # a placeholder for a missing parent, not a real span
ORPHAN: Final = 2  # its parent was not in the trace
CYCLE: Final = 4  # its parent link was dropped to break a cycle
SKEW: Final = 8  # starts before or ends after its parent
DUPLICATE: Final = 16  # another span has the same id

# Tracers keep nanoseconds and round start and duration to microseconds separately, so a child may end
# 1 µs after its parent without any clock being wrong (the sandbox's and OpenTelemetry's do).
ROUNDING_US: Final = 1

_MISSING: Final = -2


@dataclass(slots=True, eq=False)
class Layout:
    """Rows of a trace. Span indices refer to ``spans`` (the trace's, then any placeholders); row
    columns (``order``, ``depth``, ``subtree_end``) are in display order."""

    trace: Trace
    spans: list[Span]
    parent: array[int]  # span -> parent span index, -1 for a root
    order: array[int]  # row -> span index
    depth: array[int]  # row -> nesting depth (0 for roots)
    subtree_end: array[int]  # row -> one past the last row of its subtree
    row_of: array[int]  # span -> row
    flags: bytearray  # span -> SYNTHETIC | ORPHAN | CYCLE | SKEW | DUPLICATE
    roots: list[int] = field(default_factory=list)  # span indices of top-level rows, in order
    problems: list[str] = field(default_factory=list)  # what was wrong with the trace, for people
    _self_us: array[int] | None = field(default=None, repr=False)

    @property
    def self_us(self) -> array[int]:
        """span -> time not covered by its children (clipped to the span). Computed when first asked
        for (the detail panel, the totals): opening a trace does not wait for it."""
        if self._self_us is None:
            self._self_us = _self_times(self.spans, self.order, self.subtree_end)
        return self._self_us

    @property
    def start_us(self) -> int:
        return min((self.spans[i].start_us for i in self.roots), default=0)

    @property
    def end_us(self) -> int:
        return max((s.end_us for s in self.spans), default=0)

    def children(self, index: int) -> Iterator[int]:
        """Span indices of ``index``'s children, earliest first."""
        row = self.row_of[index]
        end = self.subtree_end[row]
        r = row + 1
        while r < end:
            yield self.order[r]
            r = self.subtree_end[r]


def layout(trace: Trace) -> Layout:
    """Lay ``trace`` out (see the module docstring for how broken traces are handled)."""
    with gc_paused():
        return _layout(trace)


def _layout(trace: Trace) -> Layout:
    spans = list(trace.spans)
    n = len(spans)
    problems: list[str] = []
    flags = bytearray(n)

    # Which span a child with parent id X goes under: the first span with that id (built backwards, so
    # that the first one is written last; a dict from pairs is built in C).
    ids = [s.span_id for s in spans]
    target = dict(zip(reversed(ids), range(n - 1, -1, -1), strict=True))
    duplicates: dict[str, list[int]] = {}
    if len(target) < n:
        for i, span_id in enumerate(ids):
            j = target[span_id]
            if j != i:
                duplicates.setdefault(span_id, [j]).append(i)
    shared_servers: dict[int, int] = {}
    for span_id, group in duplicates.items():
        for i in group:
            flags[i] |= DUPLICATE
        clients = [i for i in group if spans[i].kind == "client"]
        servers = [i for i in group if spans[i].kind == "server"]
        if len(group) == 2 and clients and servers:
            shared_servers[servers[0]] = clients[0]
            target[span_id] = servers[0]
            problems.append(
                f"client and server share span id {span_id}: the server span is shown under the client"
            )
        else:
            problems.append(
                f"{len(group)} spans have the id {span_id}: all are shown, children go under the first"
            )

    # Each span's parent index: -1 for a root, _MISSING for a parent id no span has.
    get = target.get
    pids = [s.parent_id for s in spans]
    found = [-1 if pid is None else get(pid, _MISSING) for pid in pids]
    for server, client in shared_servers.items():
        found[server] = client
    missing: dict[str, list[int]] = {}
    if _MISSING in found:
        for i, (t, pid) in enumerate(zip(found, pids, strict=True)):
            if t == _MISSING and pid is not None:
                missing.setdefault(pid, []).append(i)
                found[i] = -1
    parent = array("i", found)

    for pid, kids in missing.items():
        start = min(spans[i].start_us for i in kids)
        end = max(spans[i].end_us for i in kids)
        services = {spans[i].service for i in kids}
        placeholder = Span(
            span_id=pid,
            parent_id=None,
            service=services.pop() if len(services) == 1 else "",
            operation=f"missing span {pid}",
            start_us=start,
            duration_us=end - start,
        )
        index = len(spans)
        spans.append(placeholder)
        parent.append(-1)
        flags.append(SYNTHETIC)
        for i in kids:
            parent[i] = index
            flags[i] |= ORPHAN
        problems.append(
            f"{len(kids)} span{'s' if len(kids) > 1 else ''} name a parent {pid} that is not in the trace: "
            "shown under a placeholder"
        )

    order, depth = _depth_first(spans, parent)
    if len(order) < len(spans):
        _break_cycles(spans, parent, flags, order, problems)
        order, depth = _depth_first(spans, parent)

    total = len(spans)
    rows = [0] * total  # lists, not arrays, while they are filled: no int boxed at each access
    for row, i in enumerate(order):
        rows[i] = row
    row_of = array("i", rows)
    size = [1] * total
    parents = parent.tolist()
    for i in reversed(order):
        p = parents[i]
        if p >= 0:
            size[p] += size[i]
    subtree_end = array("i", [row + size[i] for row, i in enumerate(order)])

    skewed = 0
    starts = [s.start_us for s in spans]
    ends = [s.start_us + s.duration_us for s in spans]  # not the end_us property: 100,000s of calls
    for i, p in enumerate(parents):
        if (
            p >= 0
            and (starts[i] < starts[p] - ROUNDING_US or ends[i] > ends[p] + ROUNDING_US)
            and not flags[p] & SYNTHETIC
        ):
            flags[i] |= SKEW
            skewed += 1
    if skewed:
        problems.append(
            f"{skewed} span{'s' if skewed > 1 else ''} start before or end after {'their' if skewed > 1 else 'its'} "
            "parent (clock skew between hosts?)"
        )

    result = Layout(
        trace=trace,
        spans=spans,
        parent=parent,
        order=order,
        depth=depth,
        subtree_end=subtree_end,
        row_of=row_of,
        flags=flags,
        roots=[i for i in order if parent[i] < 0],
        problems=problems,
    )
    return result


def _depth_first(spans: list[Span], parent: array[int]) -> tuple[array[int], array[int]]:
    """Rows in depth-first order, children by start time (then source order), and their depths."""
    n = len(spans)
    starts = [s.start_us for s in spans]
    parents = parent.tolist()
    kids: list[list[int] | None] = [None] * n
    roots: list[int] = []
    # Spans visited in start order (a stable sort: ties keep the source's order), so that every list
    # of children is built sorted: one sort in C instead of one per parent.
    for i in sorted(range(n), key=starts.__getitem__):
        p = parents[i]
        if p < 0:
            roots.append(i)
        else:
            k = kids[p]
            if k is None:
                kids[p] = [i]
            else:
                k.append(i)
    order: list[int] = []
    depth: list[int] = []
    level = [0] * n
    stack = roots[::-1]
    push, pop = stack.extend, stack.pop
    add_row, add_depth = order.append, depth.append
    while stack:
        i = pop()
        add_row(i)
        d = level[i]
        add_depth(d)
        k = kids[i]
        if k is not None:
            d += 1
            for c in k:
                level[c] = d
            push(reversed(k))
    return array("i", order), array("i", depth)


def _break_cycles(
    spans: list[Span], parent: array[int], flags: bytearray, laid_out: array[int], problems: list[str]
) -> None:
    """Cut every cycle among the spans ``laid_out`` did not reach (each of them is in or under one).

    One pass, following parent links from each unreached span with a mark per span (0 not seen,
    1 on the current walk, 2 done), so a trace of many cycles, or one long one, costs O(n)."""
    state = bytearray(len(spans))
    for i in laid_out:
        state[i] = 2
    for start in range(len(spans)):
        if state[start]:
            continue
        walk: list[int] = []
        i = start
        while i >= 0 and state[i] == 0:
            state[i] = 1
            walk.append(i)
            i = parent[i]
        if i >= 0 and state[i] == 1:  # the walk came back on itself: a new cycle
            cycle = walk[walk.index(i) :]  # in parent-link order: a span, its parent, ...
            at = min(range(len(cycle)), key=lambda k: (spans[cycle[k]].start_us, cycle[k]))
            cut = cycle[at]
            parent[cut] = -1
            flags[cut] |= CYCLE
            names = [spans[j].span_id for j in cycle[at:] + cycle[:at]] + [spans[cut].span_id]
            problems.append(
                f"parent links form a cycle ({' → '.join(names)}): span {spans[cut].span_id} shown as a root"
            )
        for j in walk:
            state[j] = 2


def _self_times(spans: list[Span], order: array[int], subtree_end: array[int]) -> array[int]:
    """Each span's duration less the union of its children's time within it (Jaeger UI's self time)."""
    self_us = array("q", [s.duration_us for s in spans])
    n = len(order)
    for row in range(n):
        end = subtree_end[row]
        if end == row + 1:
            continue  # a leaf: all its time is its own
        i = order[row]
        ps = spans[i].start_us
        pe = ps + spans[i].duration_us
        covered = 0
        cur_s = cur_e = ps
        r = row + 1
        while r < end:
            c = spans[order[r]]
            cs = c.start_us if c.start_us > ps else ps
            ce = c.start_us + c.duration_us
            if ce > pe:
                ce = pe
            if ce > cs:
                if cs > cur_e:
                    covered += cur_e - cur_s
                    cur_s, cur_e = cs, ce
                elif ce > cur_e:
                    cur_e = ce
            r = subtree_end[r]
        covered += cur_e - cur_s
        self_us[i] = spans[i].duration_us - covered
    return self_us
