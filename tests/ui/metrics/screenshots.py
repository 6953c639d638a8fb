"""Screenshots of the Metrics page for docs/screenshots/ (offscreen, light and dark).

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.ui.metrics.screenshots docs/screenshots

Starts a sandbox with synthetic traffic and a real Prometheus scraping it (tests/support/prometheus.py),
lets a minute of data build up, and writes metrics-prometheus-*.png (the default dashboard over
Prometheus, with the alert strip), metrics-scrape-*.png (the same dashboard scraping /metrics
directly), metrics-editor-*.png (the panel editor) and metrics-errors-*.png (panels with their error
messages, from the fake server of the tests). Takes about two minutes.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

WARM_UP_S = 60.0
SIZE = (1600, 1000)


def _pump(seconds: float, until: Callable[[], bool] | None = None) -> None:
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if until is not None and until():
            return
        time.sleep(0.02)


def _page(prometheus_url: str, metrics_url: str) -> tuple[object, object]:
    from opsconsole.config import ConfigSet
    from opsconsole.ui.metrics.page import MetricsPage
    from opsconsole.ui.shell.bridge import AsyncBridge
    from opsconsole.ui.shell.context import PageContext
    from tests.ui.metrics.conftest import metrics_profile

    profile = metrics_profile(prometheus_url, metrics_url)
    bridge = AsyncBridge()
    context = PageContext(ConfigSet.in_memory(profile), bridge=bridge)
    context.set_profile(profile)
    page = MetricsPage(context)
    page.resize(*SIZE)
    return page, bridge


def _grab_with_popup(window: Any, popup: Any) -> Any:
    """``window`` grabbed with ``popup`` (a separate top-level window) painted where it stands."""
    from PySide6.QtGui import QPainter

    picture = window.grab()
    if popup.isVisible():
        painter = QPainter(picture)
        painter.drawPixmap(window.mapFromGlobal(popup.mapToGlobal(popup.rect().topLeft())), popup.grab())
        painter.end()
    return picture


def _all_drawn(page: object) -> bool:
    return all(v.data is not None or v.banner_kind for v in page.views.values())  # type: ignore[attr-defined]


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path("docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="opsconsole-metrics-shots-"))
    os.environ.update(
        {"XDG_CONFIG_HOME": str(home / "c"), "XDG_DATA_HOME": str(home / "d"), "HOME": str(home)}
    )

    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from opsconsole.sandbox.server import start_background
    from opsconsole.ui.metrics.timerange import TimeRange
    from opsconsole.ui.shell.palette import ThemeController
    from tests.support import prometheus as prom_support
    from tests.support.sandbox import test_settings
    from tests.ui.metrics.conftest import case_dashboard
    from tests.ui.metrics.fake_prometheus import fake_prometheus

    app = QApplication.instance() or QApplication([])
    binary = prom_support.find_binary()
    if binary is None:
        print("no prometheus binary", file=sys.stderr)
        return 1
    sandbox = start_background(test_settings(home / "sandbox", traffic=15.0, users=200))
    prom = prom_support.start(binary, sandbox)
    written: list[Path] = []
    try:
        metrics_url = f"{sandbox.url.rstrip('/')}/metrics"
        scrape_page, scrape_bridge = _page("", metrics_url)
        scrape_page.set_scrape_interval(1.0)  # type: ignore[attr-defined]
        scrape_page.set_time_range(TimeRange(300))  # type: ignore[attr-defined]
        scrape_page.show()  # type: ignore[attr-defined]
        _pump(WARM_UP_S)  # Prometheus and the direct scrape both collect meanwhile
        for scheme in ("light", "dark"):
            theme = ThemeController(app, override=scheme)  # type: ignore[arg-type]
            page, bridge = _page(prom.url, metrics_url)
            page.set_time_range(TimeRange(300))  # type: ignore[attr-defined]
            page.show()  # type: ignore[attr-defined]
            _pump(20, lambda p=page: _all_drawn(p) and p.alerts.isVisible())  # type: ignore[attr-defined]
            _pump(0.5)
            written.append(out / f"metrics-prometheus-{scheme}.png")
            page.grab().save(str(written[-1]))  # type: ignore[attr-defined]

            editor = page.open_editor("request_rate")  # type: ignore[attr-defined]
            row = editor.add_query("", "")
            row.expr.setFocus()
            QTest.keyClicks(row.expr, "sum(rate(http_req")
            _pump(10.0, lambda r=row: bool(r.completer.popup_items()))
            _pump(0.5)
            written.append(out / f"metrics-editor-{scheme}.png")
            _grab_with_popup(editor, row.completer.completer.popup()).save(str(written[-1]))
            editor.reject()
            page.close()  # type: ignore[attr-defined]
            bridge.shutdown()  # type: ignore[attr-defined]

            scrape_page.setPalette(app.palette())  # type: ignore[attr-defined]
            _pump(3.0)
            written.append(out / f"metrics-scrape-{scheme}.png")
            scrape_page.grab().save(str(written[-1]))  # type: ignore[attr-defined]

            with fake_prometheus() as fake:
                page, bridge = _page(fake.url, "")
                page.resize(SIZE[0], 1250)  # type: ignore[attr-defined]  # all nine cases
                page.set_query_timeout(0.5)  # type: ignore[attr-defined]
                page.show()  # type: ignore[attr-defined]
                page.set_dashboard(case_dashboard())  # type: ignore[attr-defined]
                _pump(15, lambda p=page: all(v.job is None for v in p.views.values()))  # type: ignore[attr-defined]
                _pump(0.5)
                written.append(out / f"metrics-errors-{scheme}.png")
                page.grab().save(str(written[-1]))  # type: ignore[attr-defined]
                page.close()  # type: ignore[attr-defined]
                bridge.shutdown()  # type: ignore[attr-defined]
            theme.close()
        scrape_page.close()  # type: ignore[attr-defined]
        scrape_bridge.shutdown()  # type: ignore[attr-defined]
    finally:
        prom_support.stop(prom)
        sandbox.stop()
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
