"""What a label or tooltip puts in front of the reader, for the tests that feed markup through a page.

Qt draws a tooltip, and a label whose format is not PlainText, as rich text when the string looks like
markup; these helpers render the string the way Qt would and return the words a person sees.
"""

from __future__ import annotations

from PySide6.QtGui import Qt, QTextDocument
from PySide6.QtWidgets import QLabel

# Markup that would hide or forge what is read if Qt rendered it: a styled span and bold words.
HOSTILE = '<span style="color:#fff">x</span><b>All healthy</b>'


def shown_text(rich_or_plain: str) -> str:
    """What a tooltip (or an AutoText string) shows: rendered as rich text when Qt would do so."""
    if not Qt.mightBeRichText(rich_or_plain):
        return rich_or_plain
    document = QTextDocument()
    document.setHtml(rich_or_plain)
    return document.toPlainText()


def shown_label(label: QLabel) -> str:
    """What ``label`` shows, following its text format as QLabel does."""
    text = label.text()
    match label.textFormat():
        case Qt.TextFormat.PlainText:
            return text
        case Qt.TextFormat.RichText:
            document = QTextDocument()
            document.setHtml(text)
            return document.toPlainText()
        case _:
            return shown_text(text)
