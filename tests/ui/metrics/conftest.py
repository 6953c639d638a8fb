"""Fixtures for the Metrics page tests: a real Prometheus scraping a real sandbox (module scope), and
a Metrics page built on a PageContext with a running bridge, shown offscreen at a real size.

``make_page(prometheus_url=..., metrics_url=...)`` builds the page for a profile with those URLs; the
page's refresh timer is left to each test (``refresh()`` is called explicitly, and ``panels_updated``
waits for every panel to report, so no test sleeps).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from opsconsole.config import ConfigSet, Profile
from opsconsole.metrics import dashboard as dashboards
from tests.support.prometheus import prometheus  # noqa: F401  (the fixture, for this folder)

from .fake_prometheus import FakePrometheus, fake_prometheus

PageFactory = Callable[..., Any]


def metrics_profile(prometheus_url: str = "", metrics_url: str = "") -> Profile:
    return Profile(
        name="sandbox",
        label="Test sandbox",
        api_url="http://127.0.0.1:9/api",
        issuer="http://127.0.0.1:9",
        client_id="opsconsole",
        token_storage="memory",
        prometheus_url=prometheus_url,
        metrics_url=metrics_url,
    )


@pytest.fixture
def make_page(qtbot: Any) -> Iterator[PageFactory]:
    from opsconsole.ui.metrics.page import MetricsPage
    from opsconsole.ui.shell.bridge import AsyncBridge
    from opsconsole.ui.shell.context import PageContext

    made: list[tuple[Any, Any]] = []

    def make(prometheus_url: str = "", metrics_url: str = "", *, size: tuple[int, int] = (1400, 1000)) -> Any:
        profile = metrics_profile(prometheus_url, metrics_url)
        bridge = AsyncBridge()
        context = PageContext(ConfigSet.in_memory(profile), bridge=bridge)
        context.set_profile(profile)
        page = MetricsPage(context)
        page.refresh_combo.setCurrentIndex(0)  # auto-refresh off: each test refreshes when it wants
        made.append((page, bridge))
        qtbot.addWidget(page)
        page.resize(*size)
        page.show()
        qtbot.waitExposed(page)
        return page

    yield make
    for page, bridge in made:
        page.close()
        page.deleteLater()
        bridge.shutdown()


@contextmanager
def panels_updated(
    qtbot: Any, page: Any, panel_ids: set[str] | None = None, timeout: int = 30_000
) -> Iterator[None]:
    """Wait, after the ``with`` body, until each panel (all by default) has reported (data or error)."""
    pending = set(page.views) if panel_ids is None else set(panel_ids)

    def seen(panel_id: str) -> None:
        pending.discard(panel_id)

    page.panelUpdated.connect(seen)
    try:
        yield
        qtbot.waitUntil(lambda: not pending, timeout=timeout)
    finally:
        page.panelUpdated.disconnect(seen)


CASES = ("ok", "bad", "exec", "unavailable", "proxy", "slow", "nan", "allnan", "empty")


def case_dashboard() -> dashboards.Dashboard:
    panels = [
        {
            "id": case,
            "title": f"case {case}",
            "unit": "count",
            "layout": {"x": (i % 3) * 4, "y": (i // 3) * 4, "w": 4, "h": 4},
            "queries": [{"expr": case, "legend": "{{job}}"}],
        }
        for i, case in enumerate(CASES)
    ]
    return dashboards.from_json({"title": "cases", "range": "5m", "panels": panels})


@pytest.fixture
def server() -> Iterator[FakePrometheus]:
    """A fake Prometheus answering each test case's query (fake_prometheus.py)."""
    with fake_prometheus() as running:
        yield running


@pytest.fixture
def page(make_page: PageFactory, server: FakePrometheus, qtbot: Any) -> Any:
    """A page on the fake Prometheus showing the case dashboard, its good panels drawn once."""
    page = make_page(server.url)
    page.set_query_timeout(0.5)
    with panels_updated(qtbot, page, {"ok", "nan"}):
        page.set_dashboard(case_dashboard())
    return page
