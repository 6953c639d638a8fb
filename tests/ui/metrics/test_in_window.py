"""The Metrics page as the console's window builds it: from the rail's entry, on the window's context
and bridge, only when first shown."""

from __future__ import annotations

import sys
from typing import Any

from opsconsole.config import ConfigSet

from .conftest import metrics_profile
from .fake_prometheus import FakePrometheus


def test_the_window_builds_the_metrics_page_when_shown(qtbot: Any, server: FakePrometheus) -> None:
    from opsconsole.ui.shell.bridge import AsyncBridge
    from opsconsole.ui.shell.main_window import MainWindow

    bridge = AsyncBridge()
    window = MainWindow(ConfigSet.in_memory(metrics_profile(server.url)), bridge=bridge)
    qtbot.addWidget(window)
    try:
        window.resize(1400, 900)
        window.show()
        qtbot.waitExposed(window)
        assert window.page("metrics") is None  # nothing built (or imported for it) before it is shown
        window.show_page("metrics")
        page = window.page("metrics")
        assert type(page).__name__ == "MetricsPage" and "pyqtgraph" in sys.modules
        assert page.context.profile is not None and page.context.profile.prometheus_url == server.url
        # The default dashboard's queries reach the profile's server (which knows only its test queries).
        view = page.views["request_rate"]
        qtbot.waitUntil(lambda: view.banner_kind == "error", timeout=30_000)
        assert view.banner.text().startswith("Bad query: unknown test query 'sum by (path, status)")
    finally:
        window.close()
        bridge.shutdown()


def test_the_prometheus_client_is_closed_on_sign_out_and_at_exit(
    qtbot: Any, server: FakePrometheus, caplog: Any
) -> None:
    # The page's client keeps its connections between refreshes; signing out drops the page without
    # closing it, and so does quitting: aiohttp would log "Unclosed client session" for each.
    import gc
    import logging

    import aiohttp
    import shiboken6

    from opsconsole.ui.shell.bridge import AsyncBridge
    from opsconsole.ui.shell.main_window import MainWindow

    def open_sessions(window: MainWindow) -> list[aiohttp.ClientSession]:
        page = window.page("metrics")
        assert page is not None and page.source is not None
        qtbot.waitUntil(lambda: page.source.client._transport._session is not None, timeout=30_000)
        return [page.source.client._transport._session]

    bridge = AsyncBridge()
    window = MainWindow(ConfigSet.in_memory(metrics_profile(server.url)), bridge=bridge)
    window.resize(1400, 900)
    window.show()
    window.show_page("metrics")
    signed_out = open_sessions(window)
    with caplog.at_level(logging.WARNING):
        window.clear_views()  # what signing out does
        qtbot.waitUntil(lambda: signed_out[0].closed, timeout=10_000)
        at_exit = open_sessions(window)  # the page built again for the next user
        window.close()
        shiboken6.delete(window)  # what the console does at exit (GuiSession.shutdown), then:
        bridge.shutdown()
        assert at_exit[0].closed
        signed_out.clear()
        at_exit.clear()
        gc.collect()
    assert "Unclosed" not in caplog.text
