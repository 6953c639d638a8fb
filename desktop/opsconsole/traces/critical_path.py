"""The critical path: the sections of spans that determine a trace's end-to-end latency.

Defined as Jaeger UI computes it (components/TracePage/CriticalPath): start at a root span's end and
walk back in time. At a span, take its last-finishing child (LFC); the span itself is critical from
that child's end up to where the walk came from, then the walk goes down into the child. A span with
no child left that finished before the point reached is critical from its own start, and the walk
returns to its parent at that start, where the next LFC must have finished before it or at that very
microsecond. (Jaeger UI asks for strictly before, which drops a step that began the microsecond the
one before it ended, as instrumented code records sequential calls: the sandbox's own example trace
lost its User Service from the path that way.)

Before walking, children are fitted into their parents the way Jaeger UI sanitises them: a child
wholly outside its (already fitted) parent is dropped with its subtree, one that overflows is clipped
to the parent; FOLLOWS_FROM children do not block their parent and are left out. Each root (and
each orphans' placeholder) gets its own path.

Written as a loop, not recursion: a 100,000-span trace may be 100,000 levels deep. And as steps
(``critical_path_steps``, a generator that yields every ``STEP`` spans or so) for a caller that runs
it a slice at a time between other work, as the trace view does on the GUI thread; ``critical_path``
runs every step at once.
"""

from __future__ import annotations

from array import array
from collections.abc import Generator
from dataclasses import dataclass
from typing import TypeVar

from .layout import Layout

__all__ = ["STEP", "CriticalSection", "critical_path", "critical_path_steps", "critical_spans", "run_steps"]

_NONE: list[int] = []
STEP = 512  # spans a step of critical_path_steps looks at: under a millisecond
T = TypeVar("T")


@dataclass(slots=True, frozen=True)
class CriticalSection:
    span: int  # span index in the layout
    start_us: int
    end_us: int


def run_steps(steps: Generator[None, None, T]) -> T:
    """Run every step of ``steps`` at once; its result."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]  # the generator's return value: a T


def critical_path(lay: Layout) -> list[CriticalSection]:
    """The critical sections of every root's tree, each tree's in time order, trees as laid out."""
    return run_steps(critical_path_steps(lay))


def critical_path_steps(lay: Layout) -> Generator[None, None, list[CriticalSection]]:
    """critical_path a step at a time: yields between steps, returns the sections."""
    spans = lay.spans
    total = len(spans)
    # Fitted start and end per span; `dropped` spans take no part.
    cstart = array("q", [0]) * total
    cend = array("q", [0]) * total
    dropped = bytearray(total)
    for step, i in enumerate(lay.order):  # parents before children
        if step % STEP == STEP - 1:
            yield
        s = spans[i]
        start, end = s.start_us, s.start_us + s.duration_us
        p = lay.parent[i]
        if p >= 0:
            if dropped[p] or s.follows_from:
                dropped[i] = 1
                continue
            ps, pe = cstart[p], cend[p]
            if start >= ps:
                if start >= pe:
                    dropped[i] = 1
                    continue
                end = min(end, pe)
            elif end <= ps:
                dropped[i] = 1
                continue
            else:
                start, end = ps, min(end, pe)
        cstart[i], cend[i] = start, end

    # Children by fitted end, latest first (ties: the earlier-starting child, as Jaeger UI picks);
    # a cursor per span moves down the list as the walk comes back to it with earlier and earlier
    # bounds, so each child is looked at once per parent.
    kids: dict[int, list[int]] = {}
    for step, i in enumerate(lay.order):
        if step % STEP == STEP - 1:
            yield
        p = lay.parent[i]
        if p >= 0 and not dropped[i]:
            kids.setdefault(p, []).append(i)
    for k in kids.values():
        k.sort(key=lambda c: -cend[c])  # stable: ties keep start order
    yield
    cursor: dict[int, int] = {}

    sections: list[CriticalSection] = []
    step = 0
    for root in lay.roots:
        path: list[CriticalSection] = []
        node, bound = root, -1  # bound < 0: the walk arrived at the node's end
        while True:
            step += 1
            if step % STEP == 0:
                yield
            upto = cend[node] if bound < 0 else bound
            lfc = -1
            k = kids.get(node, _NONE)
            if k:
                pos = cursor.get(node, 0)
                if bound >= 0:
                    while pos < len(k) and cend[k[pos]] > bound:  # ended by the bound (module doc)
                        pos += 1
                if pos < len(k):
                    lfc = k[pos]
                    cursor[node] = pos + 1
                else:
                    cursor[node] = pos
            if lfc >= 0:
                if cend[lfc] != upto:
                    path.append(CriticalSection(node, cend[lfc], upto))
                node, bound = lfc, -1
                continue
            if cstart[node] != upto:
                path.append(CriticalSection(node, cstart[node], upto))
            if node == root:
                break
            node, bound = lay.parent[node], cstart[node]
        path.reverse()
        sections.extend(path)
    return sections


def critical_spans(sections: list[CriticalSection]) -> set[int]:
    """The span indices on the critical path."""
    return {s.span for s in sections}
