"""The Metrics page against a real Prometheus scraping a real sandbox: the default dashboard charts
real query results, the alert strip shows the server's firing and pending alerts, the legend and
crosshair work on real data, and the same dashboard works in direct-scrape mode."""

from __future__ import annotations

from typing import Any

import numpy as np

from opsconsole.ui.metrics.timerange import TimeRange
from tests.support.prometheus import RunningPrometheus, wait_until

from .conftest import panels_updated


def _wait_for_traffic(prometheus: RunningPrometheus) -> None:
    # Prometheus scrapes /metrics every second: those requests are the sandbox's own HTTP traffic.
    # Five scrapes of request data, so a 5-minute range at a 1 s step has several points per series.
    wait_until(prometheus, "count_over_time(http_requests_total[1m]) >= 5")


def test_default_dashboard_charts_real_query_results(
    make_page: Any, prometheus: RunningPrometheus, qtbot: Any
) -> None:
    _wait_for_traffic(prometheus)
    page = make_page(prometheus.url, f"{prometheus.sandbox.url.rstrip('/')}/metrics")
    assert page.mode == "prometheus"
    with panels_updated(qtbot, page):
        page.set_time_range(TimeRange(300))  # a new range refreshes every panel
    rate = page.views["request_rate"]
    assert rate.banner_kind == "", rate.banner.text()
    assert rate.data is not None and rate.data.series
    assert any("/metrics" in s.name for s in rate.data.series)
    # Real points on the chart: the curve holds the arrays the query returned.
    series = rate.data.series[0]
    x, y = rate.curve(series.name).getData()
    assert len(x) == len(series.x) > 1 and np.isfinite(y).any()
    # The footer tells the step and point count the panel used.
    assert "step " in rate.footer.text() and f"{rate.data.points:,} points" in rate.footer.text()
    for panel_id in ("latency", "active_sessions", "cpu", "memory"):
        view = page.views[panel_id]
        assert view.data is not None and view.data.points > 0, (panel_id, view.banner.text())
    latency = page.views["latency"].data
    assert latency is not None and {s.name for s in latency.series} == {"p50", "p95", "p99"}


def test_alert_strip_shows_firing_and_pending(
    make_page: Any, prometheus: RunningPrometheus, qtbot: Any
) -> None:
    wait_until(
        prometheus, "ALERTS", lambda r: {s["metric"]["alertstate"] for s in r} >= {"firing", "pending"}
    )
    page = make_page(prometheus.url)
    with qtbot.waitSignal(page.alertsUpdated, timeout=30_000):
        page.refresh()
    chips = {c.objectName(): c.text() for c in page.alerts.chips()}
    assert page.alerts.isVisible()
    assert "TestAlwaysFiring" in chips["alert-firing"] and "TestAlwaysPending" in chips["alert-pending"]
    # Firing first.
    assert [a.state for a in page.alerts.alerts][:1] == ["firing"]


def test_legend_click_hides_and_shows_a_series(
    make_page: Any, prometheus: RunningPrometheus, qtbot: Any
) -> None:
    from PySide6.QtCore import Qt

    page = make_page(prometheus.url)
    with panels_updated(qtbot, page, {"latency"}):
        page.refresh()
    view = page.views["latency"]
    item = view.legend.item_named("p95")
    assert item is not None and view.series_visible("p95")
    rect = view.legend.visualItemRect(item)
    qtbot.mouseClick(view.legend.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert not view.series_visible("p95") and view.series_visible("p50")
    assert item.font().strikeOut()
    # Hidden stays hidden across a refresh.
    with panels_updated(qtbot, page, {"latency"}):
        page.refresh()
    assert not view.series_visible("p95")
    qtbot.mouseClick(view.legend.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.series_visible("p95")


def test_crosshair_shows_time_and_values(make_page: Any, prometheus: RunningPrometheus, qtbot: Any) -> None:
    from PySide6.QtCore import QPointF

    page = make_page(prometheus.url)
    with panels_updated(qtbot, page, {"active_sessions"}):
        page.refresh()
    view = page.views["active_sessions"]
    series = view.data.series[0]
    x = float(series.x[-1])
    # The mouse over the plot at that time, as the scene reports it.
    scene_pos = view.view_box.mapViewToScene(QPointF(x, 0))
    view.plot.scene().sigMouseMoved.emit(scene_pos)
    from opsconsole.metrics.units import format_value

    expected = f"sessions: {format_value(float(series.y[-1]), 'count')}"
    assert expected in view.readout.text()
    assert view.readout.text()[:2].isdigit()  # starts with the time, HH:MM:SS


def test_same_dashboard_in_direct_scrape_mode(
    make_page: Any, prometheus: RunningPrometheus, qtbot: Any
) -> None:
    metrics_url = f"{prometheus.sandbox.url.rstrip('/')}/metrics"
    page = make_page(prometheus.url, metrics_url)
    page.set_scrape_interval(0.3)
    page.set_mode("scrape")
    assert page.mode == "scrape" and page.alerts.isHidden()
    # Rates need two scrapes: wait until the request-rate panel has points.
    qtbot.waitUntil(
        lambda: (d := page.views["request_rate"].data) is not None and d.points > 0, timeout=30_000
    )
    qtbot.waitUntil(lambda: (d := page.views["memory"].data) is not None and d.points > 1, timeout=30_000)
    assert "scrape 300ms" in page.views["memory"].footer.text()
    assert page.views["cpu"].banner_kind == ""


def test_direct_scrape_is_the_mode_without_prometheus(
    make_page: Any, prometheus: RunningPrometheus, qtbot: Any
) -> None:
    page = make_page("", f"{prometheus.sandbox.url.rstrip('/')}/metrics")
    assert page.mode == "scrape"
    assert not page.mode_combo.model().item(0).isEnabled()


def test_direct_scrape_missing_metric_stays_in_its_panel(
    make_page: Any, prometheus: RunningPrometheus, qtbot: Any
) -> None:
    from opsconsole.metrics import dashboard as dashboards

    panels = [
        {"id": "sessions", "title": "s", "layout": {"x": 0, "y": 0, "w": 6, "h": 4},
         "scrape": {"metric": "active_sessions", "transform": "value"}},
        {"id": "missing", "title": "m", "layout": {"x": 6, "y": 0, "w": 6, "h": 4},
         "scrape": {"metric": "no_such_metric_total", "transform": "rate"}},
    ]  # fmt: skip
    page = make_page("", f"{prometheus.sandbox.url.rstrip('/')}/metrics")
    page.set_dashboard(dashboards.from_json({"title": "t", "scrape_interval": "1s", "panels": panels}))
    page.set_scrape_interval(0.3)
    qtbot.waitUntil(lambda: (d := page.views["sessions"].data) is not None and d.points > 2, timeout=30_000)
    missing = page.views["missing"]
    assert (
        missing.banner_kind == "error"
        and "no_such_metric_total is not in this scrape" in missing.banner.text()
    )
    assert page.views["sessions"].banner_kind == ""
