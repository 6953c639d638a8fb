"""Metric-name and label completion for a PromQL line edit that stays responsive at any cardinality.

The matching is the core's (``metrics.completion``): names sorted once, a prefix answered by binary
search, ``context_at`` saying whether a metric, a label or a value is being typed. Here is the Qt
side: the popup only ever holds the first :data:`MAX_SHOWN` matches (a QCompleter over the whole
list would build and filter a 100k-row model on every keystroke), and names are fetched off the GUI
thread by whoever owns the completer (``request`` callback), arriving through
:meth:`PromQLCompleter.provide`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, QStringListModel, Qt
from PySide6.QtWidgets import QCompleter, QLineEdit

from ...metrics.completion import KEYWORDS, Context, NameIndex, context_at

MAX_SHOWN = 50


def _key(context: Context) -> tuple[str, str, str]:
    """Which list a context completes from: metric names, a metric's label names, a label's values."""
    if context.kind == "metric":
        return ("metric", "", "")
    if context.kind == "label":
        return ("label", context.metric, "")
    return ("value", context.metric, context.label)


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
        if self.edit.isVisible() and self._context is not None and _key(self._context) == key:
            self.update()

    def matches(self, text: str | None = None, pos: int | None = None) -> list[str]:
        """What the popup offers for ``text`` with the cursor at ``pos`` (the edit's own by default)."""
        text = self.edit.text() if text is None else text
        pos = self.edit.cursorPosition() if pos is None else pos
        context = context_at(text, pos)
        self._context = context
        if context.kind == "none" or (context.kind == "metric" and not context.prefix):
            return []
        key = _key(context)
        index = self.indexes.get(key)
        if index is None:
            if key not in self._asked and self.request is not None:
                self._asked.add(key)
                self.request(*key)
            index = NameIndex(())
        found = index.complete(context.prefix, MAX_SHOWN)
        if context.kind == "metric" and len(found) < MAX_SHOWN:
            found += [k for k in KEYWORDS if k.startswith(context.prefix) and k not in found]
        return found[:MAX_SHOWN]

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
        text, end = self.edit.text(), self.edit.cursorPosition()
        start = end - len(context_at(text, end).prefix)
        self.edit.setText(text[:start] + name + text[end:])
        self.edit.setCursorPosition(start + len(name))

    def _edited(self, _text: str) -> None:
        self.update()
