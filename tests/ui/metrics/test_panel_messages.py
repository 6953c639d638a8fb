"""A panel's message and its tooltip show the server's words as words: a long reason is clipped in the
banner but whole in the tooltip (said once), and label values holding markup are never rendered as rich
text, in the banner, its tooltip, the legend's or an alert's."""

from __future__ import annotations

from typing import Any

import httpx

from opsconsole.metrics import errors
from opsconsole.metrics.api import Alert
from opsconsole.ui.metrics.alerts import AlertStrip
from tests.ui.shown import shown_label, shown_text

from .test_chart import T0, panel_view, show

HOSTILE = '<span style="color:#fff">x</span><b>All targets healthy</b>'


def unreadable(why: str) -> errors.MetricsError:
    request = httpx.Request("GET", "http://prometheus:9090/api/v1/query_range?query=up&step=15")
    return errors.malformed(httpx.Response(200, request=request), why)


def test_a_clipped_message_is_whole_in_the_tooltip_and_said_once(qtbot: Any) -> None:
    view = panel_view(qtbot)
    error = unreadable(
        "cannot read the matrix result: point 1's value is not a number in series " + "y" * 300
    )
    view.show_error(error)
    assert view.banner.text().endswith("…")
    tooltip = shown_text(view.banner.toolTip())
    assert tooltip == error.detail
    assert tooltip.endswith("(answer from http://prometheus:9090/api/v1/query_range)")


def test_label_markup_in_a_message_is_shown_as_text(qtbot: Any) -> None:
    view = panel_view(qtbot)
    view.show_error(
        unreadable(
            f'cannot read the matrix result: point 0\'s value is not a number in series {{a="{HOSTILE}"}}'
        )
    )
    assert view.banner.textFormat() == view.readout.textFormat()  # plain, as the readout is
    assert HOSTILE in view.banner.text()
    assert not view.banner.text().startswith("<")  # nothing in front that would make it markup
    assert HOSTILE in shown_text(view.banner.toolTip())
    view.set_message(HOSTILE, "warning")
    assert shown_text(view.banner.toolTip()) == HOSTILE


def test_a_series_named_with_markup_has_a_plain_tooltip(qtbot: Any) -> None:
    view = panel_view(qtbot)
    show(view, (HOSTILE, [1.0, 2.0]))
    assert shown_text(view.legend.item(0).toolTip()) == HOSTILE


def test_an_alert_summary_with_markup_has_a_plain_tooltip(qtbot: Any) -> None:
    strip = AlertStrip()
    qtbot.addWidget(strip)
    strip.set_alerts([Alert("Down", "firing", {"job": "<i>api</i>"}, {"summary": HOSTILE}, "now", 1.0)])
    (chip,) = strip.chips()
    assert shown_text(chip.toolTip()) == f"{HOSTILE}\njob=<i>api</i>\nactive since now"


def test_the_crosshair_readout_shows_a_series_named_with_markup_as_text(qtbot: Any) -> None:
    view = panel_view(qtbot)
    show(view, (HOSTILE, [3.0, 4.0]), ("plain", [1.0, 2.0]))
    view.show_crosshair(T0 + 15)
    assert f"  {HOSTILE}: 4" in shown_label(view.readout)
    lines = shown_text(view.readout.toolTip()).split("\n")  # the readout's parts, one a line, highest first
    assert len(lines) == 2 and lines[0].endswith(f" {HOSTILE}: 4") and lines[1] == "plain: 2"
