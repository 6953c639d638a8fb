"""The pages of the main window, one per feature, as a plain list.

Each :class:`PageSpec` names a page (its key, rail title, icon) and how to build it. Until a feature
lands, its page is an honest placeholder that says which feature brings it and what it will do; it
shows no data, real or fake. A feature's issue replaces its entry's ``create`` with its own view, e.g.::

    PageSpec("users", "Users", "users", feature="Users and roles", summary=...,
             create=view("opsconsole.ui.users_view", "UsersView"))

Pages are built the first time they are shown, so a heavy page (plots) costs nothing at startup.
A page may define ``focus_find()``: Ctrl+F calls it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Protocol, runtime_checkable

from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from .context import PageContext
from .qtprops import set_enum_property
from .widgets import Card

__all__ = ["PAGES", "Findable", "PageContext", "PageFactory", "PageSpec", "PlaceholderPage", "view"]

PageFactory = Callable[[PageContext], QWidget]


@dataclass(slots=True, frozen=True)
class PageSpec:
    key: str  # stable: used in settings and by tests
    title: str  # the rail's text
    icon: str  # resources/icons/nav/<icon>.svg
    feature: str  # the feature (issue) whose view replaces the placeholder
    summary: str  # one sentence: what the page is for
    plans: tuple[str, ...] = ()  # what the page will let people do, a few short lines
    create: PageFactory | None = None  # None: the placeholder

    def build(self, context: PageContext) -> QWidget:
        page = self.create(context) if self.create is not None else PlaceholderPage(self)
        page.setObjectName(f"page-{self.key}")
        return page


@runtime_checkable
class Findable(Protocol):
    """A page that can search within itself (Ctrl+F)."""

    def focus_find(self) -> None: ...


def view(module: str, attribute: str) -> PageFactory:
    """A factory that imports the view's module only when the page is first shown."""

    def create(context: PageContext) -> QWidget:
        cls = getattr(importlib.import_module(module), attribute)
        widget: QWidget = cls(context)
        return widget

    return create


PAGES: list[PageSpec] = [
    PageSpec(
        "users",
        "Users",
        "users",
        feature="Users and roles",
        summary="Find the people who use the system and manage their accounts.",
        plans=(
            "Search users by name or email, filter by role and status",
            "Create, edit, disable, enable and delete accounts",
            "Grant and revoke roles, with a confirmation on production",
        ),
        create=view("opsconsole.ui.users.page", "UsersPage"),
    ),
    PageSpec(
        "roles",
        "Roles",
        "roles",
        feature="Users and roles",
        summary="See what each role may do and who holds it.",
        plans=(
            "List roles with their permissions",
            "Create roles and delete unused ones",
        ),
        create=view("opsconsole.ui.users.page", "RolesPage"),
    ),
    PageSpec(
        "notifications",
        "Notifications",
        "notifications",
        feature="Live notifications",
        summary="Follow the system's notification stream as it happens.",
        create=view("opsconsole.ui.events.page", "NotificationsPage"),
    ),
    PageSpec(
        "metrics",
        "Metrics",
        "metrics",
        feature="Metrics",
        summary="Watch the system's health on charts of its metrics.",
        plans=(
            "Dashboards of PromQL queries from a Prometheus-compatible API",
            "A direct view of one /metrics endpoint",
        ),
        create=view("opsconsole.ui.metrics.page", "MetricsPage"),
    ),
    PageSpec(
        "traces",
        "Traces",
        "traces",
        feature="Traces",
        summary="Find slow or failing requests and see where their time went.",
        plans=(
            "Search traces by service, operation and duration",
            "A span waterfall with the critical path, from Jaeger, Tempo or Zipkin",
        ),
        create=view("opsconsole.ui.traces.page", "TracesPage"),
    ),
]


class PlaceholderPage(QWidget):
    """A page whose feature has not landed: what it will be, and nothing pretending to be data."""

    def __init__(self, spec: PageSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.setAccessibleName(f"{spec.title} page")
        self.setAccessibleDescription(f"Not available yet: coming with the {spec.feature} feature.")

        # Rich text rather than QFont objects: the page is built at startup, and touching QFont from
        # Python costs more than Qt's own rich-text handling.
        title = QLabel(f"<span style='font-size:x-large; font-weight:600'>{escape(spec.title)}</span>")
        title.setObjectName("placeholderTitle")
        status = QLabel(f"<b>Coming with the \u201c{escape(spec.feature)}\u201d feature</b>")
        status.setObjectName("placeholderStatus")

        summary = QLabel(spec.summary)
        summary.setWordWrap(True)

        card = Card()
        card.setObjectName("placeholderCard")
        card_layout = QVBoxLayout(card)
        card_layout.setContentsMargins(24, 20, 24, 22)
        card_layout.setSpacing(8)
        card_layout.addWidget(title)
        card_layout.addWidget(status)
        card_layout.addWidget(summary)
        if spec.plans:
            plans = QLabel(
                "<p style='margin-top:6px'>What this page will do:</p><ul style='margin-left:-20px'>"
                + "".join(f"<li>{escape(line)}</li>" for line in spec.plans)
                + "</ul>"
            )
            plans.setObjectName("placeholderPlans")
            set_enum_property(plans, "textFormat", "RichText")
            plans.setWordWrap(True)
            card_layout.addWidget(plans)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 32, 32, 32)
        # No alignment flag on the card: an aligned widget gets its plain size hint, too short for the
        # wrapped text at the card's real width; a stretch beside and below keeps it top-left instead.
        row = QHBoxLayout()
        row.addWidget(card, 3)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(1)
        card.setMaximumWidth(640)
