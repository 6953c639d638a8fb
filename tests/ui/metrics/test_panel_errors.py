"""Bad answers each give a message in their own panel while the other panels keep updating: 400
bad_data, 422, 503, an HTML 502 from a proxy, a timeout, NaN/Inf values and an empty result, served
by a real local HTTP server (fake_prometheus.py)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .conftest import CASES, case_dashboard, panels_updated
from .fake_prometheus import FakePrometheus


def test_each_bad_answer_stays_in_its_panel(make_page: Any, server: FakePrometheus, qtbot: Any) -> None:
    page = make_page(server.url)
    # Long enough that a loaded machine does not time the good answers out too; the "slow" one never comes.
    page.set_query_timeout(2.0)
    with panels_updated(qtbot, page, set(CASES)):
        page.set_dashboard(case_dashboard())
    views = page.views

    def banner(case: str) -> tuple[str, str]:
        return views[case].banner_kind, views[case].banner.text()

    assert banner("ok") == ("", "")
    assert views["ok"].data is not None and views["ok"].data.points > 0
    assert banner("bad") == ("error", 'Bad query: 1:5: parse error: unexpected "}"')
    assert banner("exec") == ("error", "Query failed: found duplicate series for the match group")
    assert banner("unavailable") == ("error", "Prometheus is unavailable: TSDB not ready")
    kind, text = banner("proxy")
    assert kind == "error" and "HTTP 502" in text and "not an answer from Prometheus" in text
    assert "502 Bad Gateway" in text and "<html>" not in text
    kind, text = banner("slow")
    assert kind == "error" and text == "No answer from 127.0.0.1 within 3 s (timed out)"
    kind, text = banner("nan")
    assert kind == "warning" and "NaN" in text and "+Inf" in text and "not drawn" in text
    nan = views["nan"].data
    assert nan is not None and np.isnan(nan.series[0].y).sum() > 0 and np.isfinite(nan.series[0].y).any()
    kind, text = banner("allnan")
    assert kind == "info" and "all" in text and "NaN" in text
    kind, text = banner("empty")
    assert kind == "info" and text.startswith("No data: empty returned no series")
    # Failed panels are empty charts, not stale ones.
    assert not views["bad"].data.series and not views["bad"].legend.isVisible()
    assert views["bad"].footer.text() == ""

    # The next refresh: the good panel gets new points while the bad ones keep their messages.
    first = float(views["ok"].data.series[0].y[-1])
    with panels_updated(qtbot, page, set(CASES)):
        page.refresh()
    assert float(views["ok"].data.series[0].y[-1]) > first
    assert banner("bad")[0] == "error" and banner("proxy")[0] == "error"


def test_a_slow_panel_does_not_hold_up_the_others(make_page: Any, server: FakePrometheus, qtbot: Any) -> None:
    page = make_page(server.url)
    page.set_query_timeout(20)
    with panels_updated(qtbot, page, {"ok", "bad"}):
        page.set_dashboard(case_dashboard())
    assert page.views["slow"].job is not None  # still waiting
    ok_before = server.ok_requests
    with panels_updated(qtbot, page, {"ok"}):
        page.refresh(force=False)  # a tick: the waiting panel is not asked twice
    assert server.ok_requests == ok_before + 1
    assert page.views["slow"].job is not None and page.views["slow"].banner_kind == ""
