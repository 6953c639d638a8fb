"""The shared helpers that put server and file text on screen as text: a tooltip shows each part
literally whatever it holds, and a label made by ``plain.label`` never reads its text as markup; the
shell's own labels and status bar show a profile's name as written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import Qt

from opsconsole import config
from opsconsole.ui.shell import plain
from opsconsole.ui.shell.main_window import MainWindow
from tests.ui.conftest import PROFILES_TOML
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


def test_a_profile_named_with_markup_is_shown_as_text(qtbot: Any, theme: Any, tmp_path: Path) -> None:
    # The profile file is the user's, but often shared or generated: its words are shown as written.
    path = tmp_path / "profiles.toml"
    path.write_text(PROFILES_TOML.replace('label = "Staging"', f"label = '{HOSTILE}'"), encoding="utf-8")
    window = MainWindow(config.load(path), profile="staging")
    qtbot.addWidget(window)
    assert shown_label(window.band) == f"STAGING - {HOSTILE}"
    # The status bar's fields are rich text (a coloured dot): their values and tooltips are escaped.
    assert shown_label(window.status.profile) == f"Profile {HOSTILE}"
    window.set_sign_in_state("signed out", f"The provider said: {HOSTILE}")
    assert shown_text(window.status.sign_in.toolTip()) == f"The provider said: {HOSTILE}"
    window.set_live_state("offline")  # no tooltip given: the field's own words, the value escaped
    assert shown_text(window.status.live.toolTip()) == "Live: offline"
    window.close()
