"""Metric-name and label completion for PromQL input that stays responsive at any cardinality.

Names are kept in one sorted list and a prefix is looked up with two binary searches
(:class:`NameIndex`): O(log n) per keystroke with 100,000 metric names, and the popup only ever holds
the first :data:`MAX_SHOWN` matches (a QCompleter over the whole list would build and filter a 100k
model on every keystroke). Names are fetched off the GUI thread by whoever owns the completer
(``request`` callback), and arrive through :meth:`PromQLCompleter.provide`.

:func:`context_at` reads what is being typed: a metric name, a label name (inside ``{...}`` or
``by (...)``) or a label value (inside quotes after ``label=``).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QStringListModel, Qt
from PySide6.QtWidgets import QCompleter, QLineEdit

MAX_SHOWN = 50
_WORD = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)$")
_VALUE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"([^"]*)$')
_METRIC_BEFORE_BRACE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*$")
_KEYWORDS = (
    "sum", "avg", "min", "max", "count", "rate", "irate", "increase", "histogram_quantile", "by",
    "without", "topk", "bottomk", "quantile", "stddev", "delta", "deriv", "abs", "clamp_min",
    "clamp_max", "max_over_time", "min_over_time", "avg_over_time", "sum_over_time", "vector",
    "label_replace", "absent", "offset", "on", "ignoring", "group_left", "group_right",
)  # fmt: skip


class NameIndex:
    """A sorted list of names with prefix lookup by binary search."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.names = sorted(set(names))

    def __len__(self) -> int:
        return len(self.names)

    def _bounds(self, prefix: str) -> tuple[int, int]:
        lo = bisect.bisect_left(self.names, prefix)
        hi = bisect.bisect_left(self.names, prefix + "\U0010ffff", lo)
        return lo, hi

    def complete(self, prefix: str, limit: int = MAX_SHOWN) -> list[str]:
        """The first ``limit`` names that start with ``prefix``, in order."""
        lo, hi = self._bounds(prefix)
        return self.names[lo : min(hi, lo + limit)]

    def count(self, prefix: str) -> int:
        lo, hi = self._bounds(prefix)
        return hi - lo


@dataclass(slots=True, frozen=True)
class Context:
    """What the cursor is in: ``kind`` is "metric", "label" or "value"; ``prefix`` starts at ``start``."""

    kind: str
    prefix: str
    start: int
    metric: str = ""  # the selector's metric, for label names and values
    label: str = ""  # the label whose value is typed


def context_at(text: str, pos: int) -> Context:
    before = text[:pos]
    value = _VALUE.search(before)
    open_brace = before.rfind("{")
    in_braces = open_brace > before.rfind("}")
    metric = ""
    if in_braces:
        found = _METRIC_BEFORE_BRACE.search(before[:open_brace])
        metric = found.group(1) if found else ""
    if value and in_braces and before.count('"', open_brace) % 2 == 1:
        return Context("value", value.group(2), pos - len(value.group(2)), metric, value.group(1))
    word = _WORD.search(before)
    prefix = word.group(0) if word else ""
    start = pos - len(prefix)
    if in_braces or _GROUPING.search(before):
        return Context("label", prefix, start, metric)
    return Context("metric", prefix, start)


class PromQLCompleter(QObject):
    """Completion for one QLineEdit. ``request(kind, metric, label)`` is called when names of that kind
    are not known yet; the owner fetches them off the GUI thread and hands them to :meth:`provide`."""

    def __init__(self, edit: QLineEdit, request: Callable[[str, str, str], None] | None = None) -> None:
        super().__init__(edit)
        self.edit = edit
        self.request = request
        self.indexes: dict[tuple[str, str, str], NameIndex] = {}
        self._asked: set[tuple[str, str, str]] = set()
        self.model = QStringListModel(self)
        self.completer = QCompleter(self.model, self)
        self.completer.setWidget(edit)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseSensitive)
        self.completer.setMaxVisibleItems(12)
        self.completer.activated.connect(self.insert)
        edit.textEdited.connect(self._edited)
        self._context: Context | None = None

    def provide(self, kind: str, metric: str, label: str, names: Iterable[str]) -> None:
        key = (kind, metric, label)
        self.indexes[key] = NameIndex(names)
        if self.edit.isVisible() and self._context is not None and self._key(self._context) == key:
            self.update()

    def _key(self, context: Context) -> tuple[str, str, str]:
        if context.kind == "metric":
            return ("metric", "", "")
        if context.kind == "label":
            return ("label", context.metric, "")
        return ("value", context.metric, context.label)

    def matches(self, text: str | None = None, pos: int | None = None) -> list[str]:
        """What the popup offers for ``text`` with the cursor at ``pos`` (the edit's own by default)."""
        text = self.edit.text() if text is None else text
        pos = self.edit.cursorPosition() if pos is None else pos
        context = context_at(text, pos)
        self._context = context
        key = self._key(context)
        index = self.indexes.get(key)
        if index is None:
            if key not in self._asked and self.request is not None:
                self._asked.add(key)
                self.request(*key)
            index = NameIndex()
        found = index.complete(context.prefix)
        if context.kind == "metric" and len(found) < MAX_SHOWN:
            found += [k for k in _KEYWORDS if k.startswith(context.prefix) and k not in found]
        return found[:MAX_SHOWN] if context.prefix or context.kind != "metric" else []

    def update(self) -> None:
        found = self.matches()
        if self._context is not None and found == [self._context.prefix]:
            found = []  # the word is complete already
        self.model.setStringList(found)
        if found:
            self.completer.complete()
        elif (popup := self.completer.popup()) is not None:
            popup.hide()

    def popup_items(self) -> list[str]:
        return list(self.model.stringList())

    def insert(self, name: str) -> None:
        context = context_at(self.edit.text(), self.edit.cursorPosition())
        text = self.edit.text()
        end = context.start + len(context.prefix)
        self.edit.setText(text[: context.start] + name + text[end:])
        self.edit.setCursorPosition(context.start + len(name))

    def _edited(self, _text: str) -> None:
        self.update()
