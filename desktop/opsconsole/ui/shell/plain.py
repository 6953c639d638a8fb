"""Text from a server, an event, a file or a profile, shown as text on every page.

Qt renders a QLabel (``Qt.TextFormat.AutoText``) and every tooltip as rich text whenever the string
looks like markup (``Qt.mightBeRichText``), so a value such as ``<b>All targets healthy</b>`` would be
drawn bold with its tags hidden, and ``<img src=...>`` could draw what the server chose. A label made
here never interprets its text; a tooltip built here is always HTML, with the text escaped and its line
breaks kept, so it shows the text literally whatever Qt guesses.

Both are used on the shell's start-up path (the status bar's fields), so neither touches PySide6's
``Qt`` namespace (see qtprops.py): the tooltip is what ``Qt.convertFromPlainText`` makes in its normal
white-space mode, written out here.
"""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QLabel, QWidget

from .qtprops import set_enum_property


def tooltip(*parts: str) -> str:
    """The non-empty ``parts``, one a line, as a tooltip that shows them literally ("" for none)."""
    text = "\n".join(part for part in parts if part)
    return "<p>" + escape(text, quote=False).replace("\n", "<br>\n") + "</p>" if text else ""


def label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """A QLabel that shows ``text`` (and whatever is set later) as plain text, never as markup."""
    widget = QLabel(text, parent)
    set_enum_property(widget, "textFormat", "PlainText")
    return widget
