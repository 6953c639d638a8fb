"""PromQL completion that stays fast at high cardinality: what is being typed, and matching names.

:class:`NameIndex` holds metric names (or label names, or values) sorted once; a prefix look-up is a
binary search and a capped slice, so 100,000 names answer in microseconds and never hand a widget more
than ``limit`` entries. When the prefix matches too few, names containing every typed word (split
at ``_``) follow, with a bounded scan. :func:`context_at` reads the expression left of the cursor and
says whether a metric name, a label name or a label value is being typed (and of which metric and
label), so the editor asks the server for the right list (``label_values(..., match=[metric])``).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

# PromQL words that are not metric names, offered alongside them.
KEYWORDS: Final = (
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
    "count_values", "group", "by", "without", "on", "ignoring", "group_left", "group_right", "offset",
    "bool", "and", "or", "unless", "rate", "irate", "increase", "delta", "idelta", "deriv",
    "histogram_quantile", "label_replace", "label_join", "abs", "absent", "ceil", "floor", "round",
    "clamp_min", "clamp_max", "vector", "scalar", "time", "sort", "sort_desc", "avg_over_time",
    "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "last_over_time",
    "quantile_over_time", "predict_linear", "resets", "changes",
)  # fmt: skip
_SCAN_BUDGET: Final = 200_000  # names looked at by the "contains" fallback, at most

_IDENT: Final = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
_OPEN_SELECTOR: Final = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?\{([^{}]*)$")
_VALUE: Final = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)$')
_LABEL: Final = re.compile(r"(?:^|,)\s*([a-zA-Z_][a-zA-Z0-9_]*)?$")
_GROUPING: Final = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)$")


@dataclass(slots=True, frozen=True)
class Context:
    """What the cursor is in: ``kind`` is "metric", "label", "value" or "none"; ``prefix`` is what is
    typed of the word so far; ``metric`` and ``label`` narrow the list when known."""

    kind: str
    prefix: str = ""
    metric: str = ""
    label: str = ""


def context_at(expr: str, cursor: int | None = None) -> Context:
    """The completion context of ``expr`` with the cursor at ``cursor`` (default: the end)."""
    left = expr[: len(expr) if cursor is None else cursor]
    # Inside a string that is not a label matcher's value: nothing to complete.
    selector = _OPEN_SELECTOR.search(left)
    if selector is not None:
        metric, inside = selector.group(1) or "", selector.group(2)
        value = _VALUE.search(inside)
        if value is not None:
            return Context("value", value.group(3), metric, value.group(1))
        label = _LABEL.search(inside)
        if label is not None:
            return Context("label", label.group(1) or "", metric)
        return Context("none")
    if left.count('"') % 2 == 1:
        return Context("none")
    grouping = _GROUPING.search(left)
    if grouping is not None:
        word = _LABEL.search(grouping.group(1))
        return Context("label", word.group(1) or "" if word else "")
    if left.endswith("[") or re.search(r"\[[0-9a-z]*$", left):
        return Context("none")  # a range duration
    word = _IDENT.search(left)
    return Context("metric", word.group(0) if word else "")


class NameIndex:
    """Names sorted once for fast prefix completion (case-insensitive)."""

    __slots__ = ("_keys", "_names")

    def __init__(self, names: Iterable[str]) -> None:
        pairs = sorted({(n.lower(), n) for n in names})
        self._keys = [k for k, _ in pairs]
        self._names = [n for _, n in pairs]

    def __len__(self) -> int:
        return len(self._names)

    def complete(self, prefix: str, limit: int = 50) -> list[str]:
        """Up to ``limit`` names starting with ``prefix``, then names containing each of its words."""
        key = prefix.lower()
        start = bisect.bisect_left(self._keys, key)
        out: list[str] = []
        for i in range(start, min(start + limit, len(self._keys))):
            if not self._keys[i].startswith(key):
                break
            out.append(self._names[i])
        if len(out) >= limit or not key:
            return out
        words = [w for w in key.split("_") if w]
        if not words:
            return out
        taken = set(out)
        for i, candidate in enumerate(self._keys[:_SCAN_BUDGET]):
            if all(w in candidate for w in words) and self._names[i] not in taken:
                out.append(self._names[i])
                if len(out) >= limit:
                    break
        return out
