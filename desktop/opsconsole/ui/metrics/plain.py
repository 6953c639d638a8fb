"""Server text in tooltips, shown as text.

Qt renders a tooltip as rich text whenever it looks like markup (``Qt.mightBeRichText``), so a label
value such as ``<b>All targets healthy</b>`` would be drawn bold and its tags hidden. A tooltip built
here is always HTML, with the text escaped and its line breaks kept.
"""

from __future__ import annotations

from PySide6.QtGui import Qt


def tooltip(*parts: str) -> str:
    """The non-empty ``parts``, one a line, as a tooltip that shows them literally ("" for none)."""
    text = "\n".join(part for part in parts if part)
    return Qt.convertFromPlainText(text, Qt.WhiteSpaceMode.WhiteSpaceNormal) if text else ""
