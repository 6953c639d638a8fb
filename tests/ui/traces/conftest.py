"""Fixtures for the Traces page's tests: a page on a real bridge, with or without a traces backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from opsconsole.config import ConfigSet, Profile
from opsconsole.ui.shell.bridge import AsyncBridge
from opsconsole.ui.shell.context import PageContext
from opsconsole.ui.traces.page import TracesPage


class Shown:
    """What the page put in the detail panel and the status bar."""

    def __init__(self) -> None:
        self.details: list[tuple[Any, str]] = []
        self.messages: list[str] = []


@pytest.fixture
def make_page(qtbot: Any) -> Iterator[Callable[..., tuple[TracesPage, Shown]]]:
    """``make_page(**profile_overrides)``: a Traces page on its own PageContext and a running bridge."""
    bridges: list[AsyncBridge] = []

    def make(**overrides: Any) -> tuple[TracesPage, Shown]:
        values: dict[str, Any] = {
            "name": "local",
            "api_url": "http://127.0.0.1:9/api",
            "issuer": "http://127.0.0.1:9",
            "client_id": "opsconsole",
            "token_storage": "memory",
        }
        values.update(overrides)
        profile = Profile(**values)
        shown = Shown()
        bridge = AsyncBridge()
        bridges.append(bridge)
        context = PageContext(
            ConfigSet.in_memory(profile),
            bridge=bridge,
            show_message=lambda text, _ms: shown.messages.append(text),
            show_detail=lambda widget, title: shown.details.append((widget, title)),
        )
        context.set_profile(profile)
        page = TracesPage(context)
        qtbot.addWidget(page)
        page.resize(1200, 760)
        return page, shown

    yield make
    for bridge in bridges:
        bridge.shutdown()
