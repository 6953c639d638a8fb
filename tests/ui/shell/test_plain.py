"""The shared helpers that put server and file text on screen as text: a tooltip shows each part
literally whatever it holds, and a label made by ``plain.label`` never reads its text as markup."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtGui import Qt

from opsconsole.ui.shell import plain
from tests.ui.shown import HOSTILE, shown_label, shown_text

TEXTS = [
    HOSTILE,
    '<img src="file:///etc/passwd">',
    "<!DOCTYPE html><p>forged</p>",
    "a &lt; b &amp; c",  # an entity Qt would decode if it took the string for markup
    "5 < 6 > 4 & done",
    "first line\n<b>second</b> line",
    "quotes ' and \" stay",
    "caf\u00e9 \u2192 \u6771\u4eac",
]


@pytest.mark.parametrize("text", TEXTS)
def test_a_tooltip_shows_its_text_literally(text: str) -> None:
    tip = plain.tooltip(text)
    assert Qt.mightBeRichText(tip)  # always HTML, so Qt never guesses
    assert shown_text(tip) == text


def test_a_tooltip_puts_each_non_empty_part_on_its_own_line() -> None:
    assert shown_text(plain.tooltip("<b>one</b>", "", "two & three")) == "<b>one</b>\ntwo & three"
    assert plain.tooltip() == "" and plain.tooltip("", "") == ""  # no tooltip rather than an empty box


@pytest.mark.parametrize("text", TEXTS)
def test_a_plain_label_shows_its_text_literally(qtbot: Any, text: str) -> None:
    label = plain.label(text)
    qtbot.addWidget(label)
    assert label.textFormat() == Qt.TextFormat.PlainText
    assert shown_label(label) == text
    label.setText(HOSTILE)  # later text too
    assert shown_label(label) == HOSTILE
