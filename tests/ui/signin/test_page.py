"""The sign-in GUI: the page, the controller against a real provider, the status bar, scope gating."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton

from opsconsole.auth import AuthStatus
from opsconsole.auth.discovery import DiscoveryCache
from opsconsole.auth.session import Session
from opsconsole.auth.store import MemoryStore
from opsconsole.config import Profile
from opsconsole.ui.shell.bridge import AsyncBridge
from opsconsole.ui.signin.controller import ReauthDialog, SignInController
from opsconsole.ui.signin.page import SignInView
from opsconsole.ui.signin.scopes import ScopeGate
from opsconsole.ui.signin.status import SignInStatus, describe, time_left
from tests.ui.shown import HOSTILE, shown_label
from tests.unit.auth.mini_provider import AUDIENCE, CLIENT_ID, Behaviour, MiniProvider

DEMO = [("admin@sandbox.test", "admin"), ("support@sandbox.test", "support")]


def _profile(issuer: str = "https://login.example.com") -> Profile:
    return Profile(
        name="staging",
        label="Staging",
        environment="staging",
        api_url=f"{issuer}/api",
        issuer=issuer,
        client_id=CLIENT_ID,
        audience=AUDIENCE,
        token_storage="memory",
    )


@pytest.fixture
def provider() -> Iterator[MiniProvider]:
    MemoryStore.clear_all()
    with MiniProvider(Behaviour()) as running:
        yield running
    MemoryStore.clear_all()


@pytest.fixture
def bridge() -> Iterator[AsyncBridge]:
    running = AsyncBridge()
    yield running
    running.shutdown()


def _controller(provider: MiniProvider, bridge: AsyncBridge, opener: Any = None) -> SignInController:
    session = Session(
        _profile(provider.issuer),
        store=MemoryStore(),
        interactive=True,
        discovery=DiscoveryCache(),
        open_browser=opener or provider.browse,
    )
    return SignInController(session, bridge)


def test_the_page_says_where_and_how_and_lists_demo_accounts(qtbot: Any) -> None:
    view = SignInView(_profile(), demo_accounts=DEMO, demo_password="sandbox")
    qtbot.addWidget(view)
    assert view.findChild(type(view.provider), "signInTitle").text() == "Sign in to Staging"
    assert "https://login.example.com" in view.provider.text()
    assert [(a.text(), r.text()) for a, r in view.demo_rows] == DEMO
    assert view.storage_banner.isHidden()
    with qtbot.waitSignal(view.signInRequested):
        view.sign_in_button.click()


def test_no_demo_accounts_outside_the_demo(qtbot: Any) -> None:
    view = SignInView(_profile())
    qtbot.addWidget(view)
    assert view.demo_rows == [] and view.findChild(QPushButton, "signInButton") is not None


def test_the_no_keyring_warning_is_visible(qtbot: Any) -> None:
    view = SignInView(_profile(), storage_warning="No usable keyring on this system (no backend)")
    qtbot.addWidget(view)
    view.show()
    assert view.storage_banner.isVisible()
    assert "No usable keyring" in view.storage_banner.text()
    view.close()


def test_waiting_shows_the_link_and_cancel_and_errors_show_in_words(qtbot: Any) -> None:
    view = SignInView(_profile())
    qtbot.addWidget(view)
    view.show()
    view.set_waiting("https://login.example.com/authorize?x=1")
    assert view.link.text().endswith("x=1") and view.cancel_button.isVisible()
    assert not view.sign_in_button.isEnabled()
    with qtbot.waitSignal(view.cancelRequested):
        view.cancel_button.click()
    view.show_error("The sign-in was declined (access_denied)")
    assert view.error.isVisible() and view.sign_in_button.isEnabled() and not view.link_row.isVisible()
    view.close()


def test_signing_in_through_the_controller(qtbot: Any, provider: MiniProvider, bridge: AsyncBridge) -> None:
    controller = _controller(provider, bridge)
    view = SignInView(controller.session.profile)
    qtbot.addWidget(view)
    controller.attach_view(view)
    with qtbot.waitSignal(controller.signedIn, timeout=15_000) as signed_in:
        view.sign_in_button.click()
    status: AuthStatus = signed_in.args[0]
    assert status.signed_in and status.username == "alice@example.test"
    assert view.sign_in_button.isEnabled() and not view.error.isVisible()


def test_a_refused_sign_in_shows_the_provider_error(qtbot: Any, bridge: AsyncBridge) -> None:
    with MiniProvider(Behaviour(callback="deny")) as provider:
        controller = _controller(provider, bridge)
        view = SignInView(controller.session.profile)
        qtbot.addWidget(view)
        controller.attach_view(view)
        with qtbot.waitSignal(controller.signInFailed, timeout=15_000):
            view.sign_in_button.click()
    assert "declined" in view.error.text() and "access_denied" in view.error.text()


def test_cancel_stops_the_sign_in(qtbot: Any, provider: MiniProvider, bridge: AsyncBridge) -> None:
    controller = _controller(provider, bridge, opener=lambda url: True)  # a browser that never returns
    view = SignInView(controller.session.profile)
    qtbot.addWidget(view)
    view.show()
    controller.attach_view(view)
    view.sign_in_button.click()
    qtbot.waitUntil(lambda: view.link_row.isVisible(), timeout=10_000)
    with qtbot.waitSignal(bridge.jobFinished, timeout=10_000):
        view.cancel_button.click()
    assert not controller.signing_in and view.sign_in_button.isEnabled()
    assert "cancelled" in view.waiting.text()
    view.close()


def test_an_ended_session_asks_again_and_keeps_the_open_form(
    qtbot: Any, provider: MiniProvider, bridge: AsyncBridge
) -> None:
    controller = _controller(provider, bridge)
    form = QLineEdit()  # a half-filled form in some open view
    qtbot.addWidget(form)
    form.setText("half-typed name")
    with qtbot.waitSignal(controller.signedIn, timeout=15_000):
        controller.sign_in()
    provider.refresh_tokens.clear()  # the provider ended the grant

    dialogs: list[ReauthDialog] = []
    controller.sessionEnded.connect(lambda reason: dialogs.append(ReauthDialog(controller, reason)))
    with qtbot.waitSignal(controller.sessionEnded, timeout=15_000):
        bridge.run(controller.session.refresh(force=True))
    dialog = dialogs[0]
    qtbot.addWidget(dialog)
    dialog.show()
    assert "your open views and unsaved forms are kept" in dialog.notice.text()
    with qtbot.waitSignal(controller.signedIn, timeout=15_000):
        dialog.view.sign_in_button.click()
    assert not dialog.isVisible()
    assert form.text() == "half-typed name"


def test_sign_out_is_reported(qtbot: Any, provider: MiniProvider, bridge: AsyncBridge) -> None:
    controller = _controller(provider, bridge)
    with qtbot.waitSignal(controller.signedIn, timeout=15_000):
        controller.sign_in()
    with qtbot.waitSignals([controller.signedOut, controller.statusChanged], timeout=15_000):
        controller.sign_out()
    assert controller.status is not None and not controller.status.signed_in
    assert len(provider.revoked) == 1


def _status(**changes: Any) -> AuthStatus:
    values: dict[str, Any] = {
        "profile": "staging",
        "signed_in": True,
        "subject": "u-42",
        "username": "support@sandbox.test",
        "scopes": ("read:users", "write:users"),
        "access_expires_at": 10_000.0 + 14 * 60 + 5,
        "storage": "keyring",
    }
    values.update(changes)
    return AuthStatus(**values)


def test_the_status_bar_text_counts_down_and_the_tooltip_lists_scopes(qtbot: Any) -> None:
    shown: list[tuple[str, str]] = []
    now = [10_000.0]
    status_field = SignInStatus(lambda text, tip: shown.append((text, tip)), clock=lambda: now[0])
    status_field.update(_status())
    text, tip = shown[-1]
    assert text == "support@sandbox.test \u00b7 14 min left"
    assert "Scopes: read:users, write:users" in tip and "OS keyring" in tip
    assert status_field.ticking
    now[0] += 14 * 60
    status_field.refresh()
    assert shown[-1][0] == "support@sandbox.test \u00b7 5 s left"
    status_field.update(_status(signed_in=False))
    assert shown[-1][0] == "not signed in" and not status_field.ticking
    status_field.stop()


def test_time_left_words() -> None:
    assert [time_left(s) for s in (5, 125, 7500)] == ["5 s", "2 min", "2 h 05 min"]
    text, tip = describe(_status(storage="memory", storage_warning="No usable keyring"), 10_000.0)
    assert text.endswith("\u26a0 not saved")  # the no-keyring case is visible without hovering
    assert "memory for this run only" in tip and "No usable keyring" in tip
    on_purpose, _tip = describe(_status(storage="memory"), 10_000.0)
    assert on_purpose == "support@sandbox.test \u00b7 14 min left"


def test_scope_gate_disables_and_names_the_missing_scope(qtbot: Any) -> None:
    button = QPushButton("Delete user")
    qtbot.addWidget(button)
    button.setToolTip("Delete the selected user")
    action = QAction("Create role")
    gate = ScopeGate()
    gate.require(button, "write:users")
    gate.require(action, "write:roles", "read:roles")
    assert not button.isEnabled() and button.toolTip() == "Sign in to use this"
    gate.set_scopes(["read:users", "read:roles"])
    assert not button.isEnabled()
    assert button.toolTip() == "Needs the scope \u201cwrite:users\u201d, which your sign-in does not have"
    assert "\u201cwrite:roles\u201d" in action.toolTip() and not action.isEnabled()
    assert gate.missing(action) == ("write:roles",)
    gate.set_scopes(["read:users", "write:users", "read:roles", "write:roles"])
    assert button.isEnabled() and button.toolTip() == "Delete the selected user"
    assert action.isEnabled() and gate.allowed(action)


def test_a_banner_with_an_action_never_shows_a_window_of_its_own(qtbot: Any) -> None:
    # Its button was shown before the layout took it in: for a moment a window of its own, which took
    # the activation from the main window (its keyboard shortcuts then went nowhere).
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from opsconsole.ui.signin.banner import Banner

    windows: list[str] = []

    class Watch(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Show and getattr(watched, "isWindow", lambda: False)():
                windows.append(type(watched).__name__)
            return False

    watch = Watch()
    QApplication.instance().installEventFilter(watch)
    try:
        banner = Banner("Sign in to see this.", kind="info", action="Sign in…", closable=True)
    finally:
        QApplication.instance().removeEventFilter(watch)
    qtbot.addWidget(banner)
    assert windows == []
    assert banner.action.parent() is banner and not banner.action.isHidden()
    assert banner.close_button.parent() is banner and not banner.close_button.isHidden()


def test_a_profile_and_accounts_with_markup_are_shown_as_text(qtbot: Any) -> None:
    accounts = [("<b>admin</b>@sandbox.test", "<i>admin</i>")]
    view = SignInView(replace(_profile(), label=HOSTILE), demo_accounts=accounts)
    qtbot.addWidget(view)
    assert shown_label(view.findChild(QLabel, "signInTitle")) == f"Sign in to {HOSTILE}"
    assert [(shown_label(a), shown_label(r)) for a, r in view.demo_rows] == accounts
    view.show_notice(f"The provider said: {HOSTILE}")  # a notice may quote the provider
    assert shown_label(view.waiting) == f"The provider said: {HOSTILE}"
