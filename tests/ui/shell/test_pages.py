"""The page registry: one honest placeholder per feature, replaceable one entry at a time."""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtWidgets import QAbstractItemView, QLabel, QWidget

from opsconsole.ui.shell.pages import PAGES, PageContext, PageSpec, PlaceholderPage, view


def test_one_page_per_feature_in_rail_order() -> None:
    assert [p.key for p in PAGES] == ["users", "roles", "notifications", "metrics", "traces"]
    assert len({p.key for p in PAGES}) == len(PAGES)
    for spec in PAGES:
        assert spec.feature and spec.summary.endswith(".")


def test_placeholders_say_what_is_coming_and_show_no_data(qtbot: Any) -> None:
    for spec in PAGES:
        page = PlaceholderPage(spec)
        qtbot.addWidget(page)
        text = " ".join(label.text() for label in page.findChildren(QLabel))
        assert f"Coming with the \u201c{spec.feature}\u201d feature" in text
        assert spec.summary in text
        for plan in spec.plans:
            assert plan in text
        # Nothing that could pass for data: no tables, lists or trees.
        assert page.findChildren(QAbstractItemView) == []


def test_view_imports_the_module_only_when_the_page_is_built(qtbot: Any, config_set: Any) -> None:
    module = "tests.ui.shell.sample_view"
    sys.modules.pop(module, None)
    spec = PageSpec("users", "Users", "users", feature="Users and roles", summary="s.",
                    create=view(module, "SampleView"))  # fmt: skip
    assert module not in sys.modules
    context = PageContext(config_set)
    page = spec.build(context)
    qtbot.addWidget(page)
    assert module in sys.modules
    assert type(page).__name__ == "SampleView"
    assert page.objectName() == "page-users"
    assert page.context is context


def test_build_names_the_placeholder_page(qtbot: Any, config_set: Any) -> None:
    page = PAGES[2].build(PageContext(config_set))
    qtbot.addWidget(page)
    assert isinstance(page, QWidget) and page.objectName() == "page-notifications"
